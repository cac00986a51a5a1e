"""A fake Pool worker that speaks ``_protocol`` in memory, for the Pool's unit tests.

``FakeBackend.start_worker`` goes in ``Pool._start_worker``. Each ``FakeWorker`` is a
``_process.WorkerHandle`` with no process behind it: the frames the Pool sends are
decoded with the protocol's own ``FrameReader`` and acted on by a task standing in
for the worker's main loop; what the worker answers travels as framed bytes that the
Pool decodes with another ``FrameReader``, so a half-written frame or garbage reaches
it as bytes, as from a pipe.

What a worker does with a run is scripted by the run's script text: ``plans`` maps a
script to a ``Plan`` (every run of that script) or a list of Plans (one per Run frame
sent, the last repeating, so a retry can go differently). A script with no plan
returns its own text. A Plan is a sequence of stages, run in order:

- before the run is taken: ``Stall`` (first stage only: the Pool's write of the Run
  frame stalls half-written), ``Pause``, ``Wait``, ``Die``, ``Hang``, ``Garbage``;
- ``TAKE``: the worker takes the run (sets the "started" word); a Cancel already
  sent ends the run here, as in the real worker. The guest's stages (``Busy``,
  ``Hold``, ``CallService``, ``Return``, ``HalfFrame``) take the run first if no
  ``TAKE`` did;
- the guest: ``Busy``/``Hold`` (stopped by a Cancel, and ``Busy`` by the run's
  timeout, as the worker's epoch deadline does), ``CallService`` (waits for the
  Reply; a Cancel ends the run), ``IgnoreCancel``, ``SlowCancel``;
- the end: ``Return`` (a Done with a value), ``HalfFrame`` (half a Done, then the
  process dies), ``Die``, ``Hang``. A plan that runs out of stages returns the
  script's text.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import msgpack
import wasmtime
from anyio.abc import TaskGroup, TaskStatus

from kobako_async import _protocol as proto
from kobako_async._codec import pack, to_wire
from kobako_async._process import WorkerGone, WorkerState

FAKE_PID_BASE = 900_000
"""Fake pids start here (no real process has them on a test machine)."""
STOP_WAIT_S = 1.0
"""How long ``stop`` waits for a worker to exit by itself before killing it."""
KILLED = -9
"""The exit status of a worker the Pool killed (as for SIGKILL)."""


# ---- stages ----


@dataclass(frozen=True)
class Stall:
    """The Pool's write of the Run frame stalls half-written for ``seconds`` (the pipe
    is full): the handle is TORN meanwhile, and the worker sees nothing of the Run."""

    seconds: float


@dataclass(frozen=True)
class Pause:
    """The worker waits ``seconds`` before going on, reading nothing."""

    seconds: float


@dataclass(frozen=True)
class Wait:
    """The worker waits until the test sets ``event`` before going on, reading nothing."""

    event: anyio.Event


@dataclass(frozen=True)
class Take:
    """The worker takes the run: it writes the started word, then acts on a Cancel
    already sent."""


TAKE = Take()


@dataclass(frozen=True)
class Busy:
    """The guest computes for ``seconds``; a Cancel or the run's timeout stops it."""

    seconds: float


@dataclass(frozen=True)
class Hold:
    """The guest computes until the test sets ``event``; a Cancel stops it."""

    event: anyio.Event


@dataclass(frozen=True)
class CallService:
    """The guest calls ``target.method(*args)`` and waits for the Reply."""

    target: str
    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class IgnoreCancel:
    """From here on the guest does not see Cancels (a busy loop with no deadline)."""


@dataclass(frozen=True)
class SlowCancel:
    """From here on a Cancel takes ``seconds`` to stop the guest."""

    seconds: float


LAST_REPLY = object()
"""``Return(LAST_REPLY)``: return the value of the last Service Reply."""


@dataclass(frozen=True)
class Return:
    """The guest ends with ``value`` (a Done)."""

    value: Any


@dataclass(frozen=True)
class Die:
    """The worker process exits with ``status``."""

    status: int = 1


@dataclass(frozen=True)
class Hang:
    """The worker stops responding to anything until it is killed."""


@dataclass(frozen=True)
class HalfFrame:
    """The worker writes half of its Done frame, then dies (status 1)."""


@dataclass(frozen=True)
class Garbage:
    """The worker writes ``data`` (not a valid frame), then hangs."""

    data: bytes = b"\x00\x00\x00\x03\xc1\xc1\xc1"  # a frame whose body is not msgpack


Stage = (
    Stall
    | Pause
    | Wait
    | Take
    | Busy
    | Hold
    | CallService
    | IgnoreCancel
    | SlowCancel
    | Return
    | Die
    | Hang
    | HalfFrame
    | Garbage
)
Plan = tuple[Stage, ...]
Plans = dict[str, Plan | list[Plan]]


def outcome_payload(value: Any) -> bytes:
    """The guest's outcome for a run that returned ``value`` with no output."""
    return pack([0, to_wire(value, None), b"", b"", False, False, False])


class _Cancelled(Exception):
    """A Cancel stopped the guest."""


class _Ended(Exception):
    """The worker process is gone (died, hung until killed)."""


# ---- the backend: starts workers and keeps their record ----


class FakeBackend:
    """Starts FakeWorkers for a Pool and records what they did. Enter it (it owns the
    workers' tasks) around the Pool.

    Attributes:
        workers: every worker started, in start order.
        sent: the script of every Run frame delivered to a worker, in order.
        taken: the script of every run a worker took, in order.
        fail_starts: how many of the next starts fail with OSError.
    """

    def __init__(self, plans: Plans | None = None, *, fail_starts: int = 0) -> None:
        self.plans: Plans = dict(plans or {})
        self.fail_starts = fail_starts
        self.workers: list[FakeWorker] = []
        self.sent: list[str] = []
        self.taken: list[str] = []
        self._attempts: dict[str, int] = {}
        self._pids = itertools.count(FAKE_PID_BASE)
        self._tg: TaskGroup | None = None

    async def __aenter__(self) -> FakeBackend:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        assert self._tg is not None
        for worker in self.workers:
            worker.terminate()
        # the workers' tasks end quietly once killed: whatever the test raised goes on
        # as it was, not wrapped in an ExceptionGroup
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        return None

    async def start_worker(self, max_frame_bytes: int) -> FakeWorker:
        """A started worker that has said Ready (``Pool._start_worker``).

        Raises:
            OSError: ``fail_starts`` asked for a failure.
        """
        if self.fail_starts > 0:
            self.fail_starts -= 1
            raise OSError("fake worker start failed")
        assert self._tg is not None, "enter the FakeBackend first"
        worker = FakeWorker(self, next(self._pids), max_frame_bytes)
        self.workers.append(worker)
        await self._tg.start(worker.serve)
        ready = await worker.receive()
        assert isinstance(ready, proto.Ready) and ready.pid == worker.pid
        return worker

    def live(self) -> set[FakeWorker]:
        return {worker for worker in self.workers if not worker.exited}

    def _plan(self, script: str) -> Plan:
        plan = self.plans.get(script, ())
        if isinstance(plan, list):
            attempt = self._attempts.get(script, 0)
            self._attempts[script] = attempt + 1
            return plan[min(attempt, len(plan) - 1)]
        return plan


# ---- the worker ----


class _Pipe:
    """Bytes from the worker to the Pool: written whole, read in chunks, EOF once
    closed and drained."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._closed = False
        self._readable = anyio.Event()

    def write(self, data: bytes) -> None:
        if not self._closed:
            self._data += data
            self._readable.set()

    def close(self) -> None:
        self._closed = True
        self._readable.set()

    async def read(self) -> bytes:
        """The bytes written so far, waiting for some; b"" at EOF."""
        while not self._data and not self._closed:
            self._readable = anyio.Event()
            await self._readable.wait()
        data = bytes(self._data)
        self._data.clear()
        return data


@dataclass(eq=False)
class _RunInWorker:
    run: proto.Run
    script: str
    plan: Plan
    taken: bool = False
    ignore_cancel: bool = False
    cancel_delay_s: float = 0.0
    calls: int = 0
    cancelled: anyio.Event = field(default_factory=anyio.Event)


class FakeWorker:
    """One fake worker: the WorkerHandle the Pool holds, and the task acting as the
    worker's main loop.

    Attributes:
        ended: how the process ended: None (alive), "stopped" (it exited when its input
            closed), "killed" (by the Pool), "died" (a Die or HalfFrame stage, or ``crash``).
        status: the exit status, once it ended.
        cancels: run ids of the Cancels it received.
        taken: the scripts of the runs it took, in order.
        replies: the decoded Reply payloads it received, in order.
    """

    def __init__(self, backend: FakeBackend, pid: int, max_frame_bytes: int) -> None:
        self.pid = pid
        self.runs = 0
        self.state = WorkerState.READY
        self.ended: str | None = None
        self.status: int | None = None
        self.cancels: list[int] = []
        self.taken: list[str] = []
        self.replies: list[Any] = []
        self._backend = backend
        self._to_worker = proto.FrameReader(proto.FRAME_LIMIT_BYTES)
        self._from_worker = proto.FrameReader(max_frame_bytes)
        self._pipe = _Pipe()
        self._inbox: deque[proto.Message] = deque()
        self._arrived = anyio.Event()
        self._input_closed = False
        self._plans: dict[int, tuple[str, Plan]] = {}
        self._current: _RunInWorker | None = None
        self._started_run = 0
        self._scope: anyio.CancelScope | None = None
        self._exited = anyio.Event()

    def __repr__(self) -> str:
        return f"<FakeWorker pid={self.pid} {self.ended or 'alive'} runs={self.runs}>"

    # ---- the WorkerHandle side (the Pool's) ----

    @property
    def torn(self) -> bool:
        return self.state is WorkerState.TORN

    @property
    def exited(self) -> bool:
        return self.status is not None

    async def send(self, frame: bytes) -> None:
        """Deliver one frame to the worker. Raises WorkerGone once it has exited."""
        if self.exited or self._input_closed:
            raise WorkerGone("writing to it failed: [Errno 32] Broken pipe")
        self._to_worker.feed(frame)
        message = self._to_worker.next_message()
        assert not isinstance(message, proto._NeedData), "the Pool sends whole frames"
        if isinstance(message, proto.Run):
            script = msgpack.unpackb(message.request)[0].decode()
            plan = self._backend._plan(script)
            self._plans[message.run_id] = (script, plan)
            if plan and isinstance(plan[0], Stall):
                self.state = WorkerState.TORN  # cancelled meanwhile, it stays torn
                seconds = plan[0].seconds
                await _first(partial(anyio.sleep, seconds), self._exited.wait)
                self.state = WorkerState.READY
                if self.exited:  # a killed reader breaks the pipe under the writer
                    raise WorkerGone("writing to it failed: [Errno 32] Broken pipe")
            self._backend.sent.append(script)
        elif isinstance(message, proto.Cancel):
            # the real worker's watcher thread acts on a Cancel as soon as it arrives
            self.cancels.append(message.run_id)
            current = self._current
            if current is not None and current.run.run_id == message.run_id:
                if current.taken and not current.ignore_cancel:
                    current.cancelled.set()
        self._inbox.append(message)
        self._arrived.set()

    async def receive(self) -> proto.Message:
        """The next message. Raises WorkerGone at EOF, ProtocolError on bad bytes."""
        while isinstance(message := self._from_worker.next_message(), proto._NeedData):
            data = await self._pipe.read()
            if not data:
                raise WorkerGone("its pipe closed")
            self._from_worker.feed(data)
        return message

    def started(self, run_id: int) -> bool:
        return self._started_run == run_id

    def terminate(self) -> None:
        """Kill the worker now (SIGKILL); the holder sees EOF."""
        self._exit(KILLED, "killed")

    async def kill(self) -> int | None:
        self.terminate()
        return self.status

    async def reap(self) -> int | None:
        if not self.exited:
            with anyio.move_on_after(STOP_WAIT_S):
                await self._exited.wait()
        return await self.kill()

    async def stop(self) -> None:
        """Close the worker's input: an idle worker exits (status 0)."""
        self._input_closed = True
        self._arrived.set()
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(STOP_WAIT_S):
                await self._exited.wait()
            await self.kill()

    def crash(self, status: int = KILLED) -> None:
        """The process dies now, from outside (the OOM killer, say)."""
        self._exit(status, "died")

    # ---- the worker side ----

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The worker's main loop: Ready, then one Run at a time until input closes."""
        with anyio.CancelScope() as self._scope:
            task_status.started()
            self._write(proto.Ready(self.pid))
            try:
                while (message := await self._next()) is not None:
                    if isinstance(message, proto.Run):
                        await self._serve_run(message)
                    # a Reply or Cancel of a run that already ended is stale: dropped
            except _Ended:
                return
            self._exit(0, "stopped")

    async def _next(self) -> proto.Message | None:
        while not self._inbox:
            if self._input_closed:
                return None
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return self._inbox.popleft()

    async def _serve_run(self, run: proto.Run) -> None:
        script, plan = self._plans.pop(run.run_id)
        current = self._current = _RunInWorker(run, script, plan)
        try:
            for stage in plan:
                if not await self._stage(current, stage):
                    return
            if not current.taken and not self._take(current):
                return
            self._write(proto.Done(run.run_id, outcome_payload(script), 0, None, ""))
        except _Cancelled:
            if current.cancel_delay_s:
                await anyio.sleep(current.cancel_delay_s)
            self._write(proto.Done(run.run_id, None, 0, _INTERRUPT, "cancelled"))
        finally:
            self._current = None

    async def _stage(self, current: _RunInWorker, stage: Stage) -> bool:
        """Act out one stage; False once the run is over."""
        run = current.run
        guest = isinstance(stage, (Busy, Hold, CallService, Return, HalfFrame))
        if (isinstance(stage, Take) or guest) and not current.taken:
            if not self._take(current):
                return False
        match stage:
            case Stall() | Take():
                pass
            case Pause(seconds):
                await anyio.sleep(seconds)
            case Wait(event):
                await event.wait()
            case Busy(seconds):
                limit = seconds if run.timeout is None else min(seconds, run.timeout)
                with anyio.move_on_after(limit):
                    await current.cancelled.wait()
                    raise _Cancelled
                if limit < seconds:  # the epoch deadline stopped the guest
                    self._write(proto.Done(run.run_id, None, 0, _INTERRUPT, "timeout"))
                    return False
            case Hold(event):
                await _first(event.wait, current.cancelled.wait)
                if current.cancelled.is_set():
                    raise _Cancelled
            case CallService(target, method, args):
                await self._call(current, target, method, args)
            case IgnoreCancel():
                current.ignore_cancel = True
            case SlowCancel(seconds):
                current.cancel_delay_s = seconds
            case Return(value):
                if value is LAST_REPLY:
                    value = self.replies[-1][1]
                self._write(proto.Done(run.run_id, outcome_payload(value), 0, None, ""))
                return False
            case Die(status):
                self._exit(status, "died")
                raise _Ended
            case Hang():
                await anyio.sleep_forever()
            case HalfFrame():
                frame = proto.encode(proto.Done(run.run_id, outcome_payload(None), 0, None, ""))
                self._pipe.write(frame[: len(frame) // 2])
                self._exit(1, "died")
                raise _Ended
            case Garbage(data):
                self._pipe.write(data)
                await anyio.sleep_forever()
        return True

    def _take(self, current: _RunInWorker) -> bool:
        """Take the run; False if a Cancel for it came first (the run is then over)."""
        current.taken = True
        self._started_run = current.run.run_id
        self._backend.taken.append(current.script)
        self.taken.append(current.script)
        if current.run.run_id in self.cancels:
            self._write(
                proto.Done(current.run.run_id, None, 0, None, "cancelled before it started")
            )
            return False
        return True

    async def _call(self, current: _RunInWorker, target: str, method: str, args: Any) -> None:
        run_id = current.run.run_id
        current.calls += 1
        payload = pack([target, method, list(args), {}])
        self._write(proto.Call(run_id, current.calls, payload))
        while True:
            message = await self._next()
            if message is None:
                raise _Cancelled  # the input closed: nobody takes the outcome
            if isinstance(message, proto.Cancel) and message.run_id == run_id:
                if not current.ignore_cancel:
                    raise _Cancelled
            if isinstance(message, proto.Reply) and message.run_id == run_id:
                self.replies.append(msgpack.unpackb(message.payload))
                return

    def _write(self, message: proto.Message) -> None:
        self._pipe.write(proto.encode(message))

    def _exit(self, status: int, how: str) -> None:
        if self.status is None:
            self.status, self.ended = status, how
            self.state = WorkerState.CLOSED
            self._pipe.close()
            self._exited.set()
        if self._scope is not None:
            self._scope.cancel()


_INTERRUPT = wasmtime.TrapCode.INTERRUPT.value


async def _first(*waits: Callable[[], Any]) -> None:
    """Return once the first of ``waits`` returns."""
    async with anyio.create_task_group() as tg:

        async def wait(func: Callable[[], Any]) -> None:
            await func()
            tg.cancel_scope.cancel()

        for func in waits:
            tg.start_soon(wait, func)
