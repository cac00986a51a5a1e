"""The asyncio-native Pool: pre-started worker processes, async Services in the parent.

A run is carried by the task that awaits it: ``Pool.run`` takes an idle worker (or
waits in a bounded FIFO for one), writes the Run frame to the worker's pipe, serves
the run's Service calls in this event loop, and reads the Done. No task hand-off
sits on that path. The worker enforces the timeout (epoch interruption); a watchdog
task kills a worker that overruns it by a grace period. A run whose caller is
cancelled is handed to a background task that stops the guest (Cancel) and returns
the worker. A worker that dies fails only the run it had taken; one that died
before starting its run is replaced and the run goes to another worker. "Started"
is read from a word of memory the worker shares with the parent and sets to the run
id before it runs anything: the pipe cannot tell, since a worker being killed may
still take the frame out of it on its way down.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import itertools
import mmap
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import wasmtime
from anyio.abc import Process, TaskGroup

from . import _protocol as proto
from ._errors import KobakoError, PoolClosedError, PoolFullError, WorkerCrashedError
from ._guest import CapturedOutput, GuestTrap
from ._guestfile import check_guest
from ._limits import (
    KEEP,
    MAX_MESSAGE_BYTES,
    MAX_SERVICE_CALLS,
    MEMORY_LIMIT_BYTES,
    STDERR_LIMIT_BYTES,
    STDOUT_LIMIT_BYTES,
    TIMEOUT_S,
    Limits,
    Profile,
)
from ._sandbox import Execution, Usage, build_request, finish, trap_error
from ._services import FILLABLE, Dispatcher, add_binding, merge_run_bindings

MAX_QUEUE = 1000
MAX_RUNS_PER_WORKER = 10_000
CANCEL_GRACE_S = 1.0
WATCHDOG_GRACE_S = 2.0
WATCHDOG_TICK_S = 0.1
STARTUP_TIMEOUT_S = 60.0
EXIT_WAIT_S = 1.0
DISPATCH_ATTEMPTS = 3
_READ_BYTES = 1 << 16
_COUNTS = ("completed", "failed", "crashed", "recycled")


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Job:
    """One script for ``Pool.map``, with its per-run options."""

    script: str
    bind: Mapping[str, Any] | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class MapResult:
    """One ``Pool.map`` result: the input's index and its Execution or error."""

    index: int
    execution: Execution | None
    error: KobakoError | None


class _WorkerGone(Exception):
    """The worker's pipe broke or hit EOF: the process died (or is dying)."""


class _Aborted(Exception):
    """The Pool stopped the run (watchdog or ``aclose(cancel=True)``); see ``_Run.aborted``."""


@dataclass(eq=False, slots=True)
class _Run:
    """One run from ``Pool.run`` to its outcome."""

    run_id: int
    frame: bytes  # the encoded Run message
    limits: Limits
    dispatcher: Dispatcher
    worker: _Worker | None = None
    sent: bool = False  # the whole Run frame is in the worker's pipe
    deadline: float | None = None  # time.monotonic() past which the watchdog kills
    scope: anyio.CancelScope | None = None  # while the run serves Service calls
    aborted: str | None = None  # "watchdog" or "closed": why the Pool stopped it


@dataclass(eq=False, slots=True)
class _Waiter:
    """A run queued for a worker: ``event`` is set once it has one (or an error)."""

    event: anyio.Event
    worker: _Worker | None = None
    error: BaseException | None = None


class _Worker:
    """One worker process and the parent's ends of its protocol pipes (non-blocking).

    Only the task that holds the worker reads, writes or closes the pipes; others
    may only ``terminate`` the process, which that task then sees as EOF.
    """

    def __init__(
        self, process: Process, to_worker: int, from_worker: int, started: mmap.mmap
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.runs = 0
        self.torn = False  # a frame is half-written: the stream is unusable
        self._out = to_worker
        self._in = from_worker
        self._reader = proto.FrameReader()
        self._started = started  # the id of the last run the worker started
        self._open = True

    @classmethod
    async def start(cls) -> _Worker:
        """A started worker that has said Ready. Raises OSError, _WorkerGone,
        ProtocolError, TimeoutError."""
        child_in, to_worker = os.pipe()
        from_worker, child_out = os.pipe()
        started_fd = _shared_word()
        try:
            started = mmap.mmap(started_fd, proto.STARTED_BYTES)
            process = await anyio.open_process(
                [sys.executable, "-m", "kobako_async._worker", str(started_fd)],
                stdin=child_in,
                stdout=child_out,
                stderr=None,
                pass_fds=(started_fd,),
            )
        except BaseException:
            os.close(to_worker)
            os.close(from_worker)
            raise
        finally:
            for fd in (child_in, child_out, started_fd):
                os.close(fd)
        os.set_blocking(to_worker, False)
        os.set_blocking(from_worker, False)
        worker = cls(process, to_worker, from_worker, started)
        try:
            with anyio.fail_after(STARTUP_TIMEOUT_S):
                ready = await worker.receive()
            if not isinstance(ready, proto.Ready):
                raise proto.ProtocolError(f"expected Ready, got {type(ready).__name__}")
        except _WorkerGone:
            status = await worker.reap()
            raise _WorkerGone(
                f"it exited during start-up with status {status} (its stderr is ours)"
            ) from None
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def send(self, frame: bytes) -> None:
        """Write one whole frame. Raises _WorkerGone."""
        try:
            sent = os.write(self._out, frame)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise _WorkerGone(f"writing to it failed: {exc}") from None
        if sent == len(frame):
            return
        self.torn = True  # until the rest is written: cancelled meanwhile, it is dropped
        rest = memoryview(frame)[sent:]
        while rest:
            await anyio.wait_writable(self._out)
            try:
                rest = rest[os.write(self._out, rest) :]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise _WorkerGone(f"writing to it failed: {exc}") from None
        self.torn = False

    async def receive(self) -> proto.Message:
        """The next message. Raises _WorkerGone at EOF, ProtocolError on bad bytes."""
        while isinstance(message := self._reader.next_message(), proto._NeedData):
            try:
                data = os.read(self._in, _READ_BYTES)
            except BlockingIOError:
                await anyio.wait_readable(self._in)
                continue
            except OSError as exc:
                raise _WorkerGone(f"reading from it failed: {exc}") from None
            if not data:
                raise _WorkerGone("its pipe closed")
            self._reader.feed(data)
        return message

    def started(self, run_id: int) -> bool:
        """Whether the worker started run ``run_id`` (it may be dead by now)."""
        return proto.read_started(self._started) == run_id

    def terminate(self) -> None:
        """SIGKILL the process now; the holder of the worker sees EOF."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def kill(self) -> int | None:
        """Kill, reap and close; the exit status."""
        with anyio.CancelScope(shield=True):
            self.terminate()
            status = await self.process.wait()
            await self.process.aclose()
            self._close()
        return status

    async def reap(self) -> int | None:
        """The exit status of a worker whose pipe closed. It gets a moment to exit by
        itself: killing first would reap it behind asyncio's child watcher's back."""
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(EXIT_WAIT_S):
                await self.process.wait()
        return await self.kill()

    async def stop(self) -> None:
        """Ask the worker to exit (its input pipe closes), killing it if it lingers."""
        with anyio.CancelScope(shield=True):
            if self._open:
                os.close(self._out)
                self._out = -1
            with anyio.move_on_after(CANCEL_GRACE_S):
                await self.process.wait()
            await self.kill()

    def _close(self) -> None:
        if self._open:
            self._open = False
            for fd in (self._out, self._in):
                if fd >= 0:
                    os.close(fd)
            self._started.close()


_START_ERRORS = (OSError, _WorkerGone, proto.ProtocolError, TimeoutError)


def _start_failure(exc: BaseException) -> BaseException | None:
    """The worker start-up error in ``exc`` (a task group's, maybe nested), if that is
    what it is rather than a cancellation or a bug."""
    group = getattr(exc, "exceptions", None)  # an ExceptionGroup (a backport on 3.10)
    if isinstance(group, tuple):
        for inner in group:
            found = _start_failure(inner)
            if found is not None:
                return found
        return None
    return exc if isinstance(exc, _START_ERRORS) else None


def _shared_word() -> int:
    """A file descriptor of STARTED_BYTES of memory to share with a worker."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kobako-worker-started")
    else:  # pragma: no cover - not Linux
        handle = tempfile.TemporaryFile()
        fd = os.dup(handle.fileno())
        handle.close()
    os.ftruncate(fd, proto.STARTED_BYTES)
    return fd


class Pool:
    """Runs scripts on pre-started worker processes, with async Services.

    Use as ``async with Pool(...) as pool``. Services may be ``async def``
    functions, sync callables or objects; they run in the caller's event loop.

    The limit arguments are those of ``Sandbox``, per run.

    Args:
        workers: worker processes (default: the CPU count).
        max_queue: runs waiting for a worker before ``run`` waits.
        max_runs_per_worker: runs after which a worker is replaced.

    Raises:
        ValueError: an argument is out of its range.
        GuestLoadError: the guest file is missing, corrupt or for another ABI
            (checked here, before any worker starts).
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float | None = TIMEOUT_S,
        memory_limit: int | None = MEMORY_LIMIT_BYTES,
        fuel: int | None = None,
        max_service_calls: int | None = MAX_SERVICE_CALLS,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        stdout_limit: int = STDOUT_LIMIT_BYTES,
        stderr_limit: int = STDERR_LIMIT_BYTES,
        profile: Profile = "hermetic",
        max_queue: int = MAX_QUEUE,
        max_runs_per_worker: int = MAX_RUNS_PER_WORKER,
    ) -> None:
        workers = (os.cpu_count() or 1) if workers is None else workers
        for name, value in (
            ("workers", workers),
            ("max_queue", max_queue),
            ("max_runs_per_worker", max_runs_per_worker),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        check_guest()  # a bad guest file fails here, in the parent, not in every worker
        self.workers = workers
        self.max_queue = max_queue
        self.max_runs_per_worker = max_runs_per_worker
        self.limits = Limits(
            timeout=timeout,
            memory_limit=memory_limit,
            fuel=fuel,
            max_service_calls=max_service_calls,
            max_message_bytes=max_message_bytes,
            stdout_limit=stdout_limit,
            stderr_limit=stderr_limit,
            profile=profile,
        )
        self._bindings: dict[str, Any] = {}
        self._state = _State.NEW
        self._tg: TaskGroup | None = None
        self._admission: anyio.Semaphore | None = None  # queue room: made in the event loop
        self._workers: dict[_Worker, None] = {}  # live workers, in start order
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()  # held by a run (or by a run's cleanup)
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._runs: set[_Run] = set()  # runs holding a worker
        self._vacant = 0  # worker slots with no worker and no start under way
        self._starting = 0
        self._background = 0  # cleanup and replacement tasks under way
        self._changed: anyio.Event | None = None  # set on progress, while closing
        self._cancelling = False  # aclose(cancel=True) was called
        self._closed: anyio.Event | None = None
        self._watchdog_wake: anyio.Event | None = None  # set when the watchdog sleeps
        self._run_ids = itertools.count(1)
        self._counts = dict.fromkeys(_COUNTS, 0)

    # ---- lifecycle ----

    async def __aenter__(self) -> Pool:
        if self._state is not _State.NEW:
            raise RuntimeError("a Pool can be entered only once")
        self._admission = anyio.Semaphore(self.workers + self.max_queue, fast_acquire=True)
        self._closed = anyio.Event()
        tg = self._tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            async with anyio.create_task_group() as starting:
                for _ in range(self.workers):
                    starting.start_soon(self._start_first)
            tg.start_soon(self._watchdog)
        except BaseException as exc:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)
            await self._kill_all()
            self._state = _State.CLOSED
            failure = _start_failure(exc)
            if failure is None:
                raise
            raise PoolClosedError(f"could not start a worker: {failure}") from exc
        self._state = _State.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._tg is not None
        try:
            await self.aclose(cancel=exc_info[0] is not None)
        finally:
            # what is left are map producers whose consumer went away
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)

    async def aclose(self, *, cancel: bool = False) -> None:
        """Stop taking runs; wait for queued and in-flight ones (or cancel them, which
        fails them with PoolClosedError), then stop the workers. Any task may call it."""
        if self._state is _State.NEW:
            self._state = _State.CLOSED
        if self._state is _State.CLOSED:
            return
        assert self._closed is not None
        if self._state is _State.CLOSING:
            if cancel:
                self._cancel_all()
            await self._closed.wait()
            return
        self._state = _State.CLOSING
        try:
            if cancel:
                self._cancel_all()
            await self._until_quiet()
        except BaseException:
            with anyio.CancelScope(shield=True):
                self._cancel_all()
                await self._until_quiet()
                await self._stop_all()
            raise
        with anyio.CancelScope(shield=True):
            await self._stop_all()

    def _cancel_all(self) -> None:
        self._cancelling = True
        error = PoolClosedError("the Pool was closed with the run in flight")
        while self._waiters:
            waiter = self._waiters.popleft()
            waiter.error = error
            waiter.event.set()
        for run in list(self._runs):
            self._abort(run, "closed")
        for worker in self._busy:
            worker.terminate()  # a cancelled run's cleanup

    async def _until_quiet(self) -> None:
        while self._waiters or self._busy or self._background:
            self._changed = anyio.Event()
            await self._changed.wait()

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def _stop_all(self) -> None:
        async with anyio.create_task_group() as tg:
            for worker in list(self._workers):
                tg.start_soon(worker.stop)
        self._workers.clear()
        self._idle.clear()
        self._state = _State.CLOSED
        assert self._closed is not None
        self._closed.set()

    async def _kill_all(self) -> None:
        for worker in list(self._workers):
            await worker.kill()
        self._workers.clear()
        self._idle.clear()

    # ---- configuration and introspection ----

    def bind(self, path: str, obj: Any = FILLABLE) -> Pool:
        """Expose ``obj`` (async or sync) as the constant ``path``; see ``Sandbox.bind``."""
        add_binding(self._bindings, path, obj)
        return self

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes."""
        return [worker.pid for worker in self._workers]

    def stats(self) -> dict[str, int]:
        """Counts. Now: queued (runs waiting for a worker), running (workers busy with
        a run, or stopping a cancelled one). So far: completed, failed (runs that raised),
        crashed (worker deaths), recycled (workers replaced after max_runs_per_worker)."""
        return {"queued": len(self._waiters), "running": len(self._busy), **self._counts}

    # ---- running ----

    async def run(
        self,
        script: str,
        *,
        bind: Mapping[str, Any] | None = None,
        seed: int | None = None,
        timeout: float | None = KEEP,  # noqa: ASYNC109 - enforced in the worker
        memory_limit: int | None = KEEP,
        fuel: int | None = KEEP,
    ) -> Execution:
        """Run ``script`` on a worker; waits for queue room. Same result and errors
        as ``Sandbox.run``, plus WorkerCrashedError and PoolClosedError."""
        run = self._prepare(
            script, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        assert self._admission is not None
        try:
            self._admission.acquire_nowait()
        except anyio.WouldBlock:
            await self._admission.acquire()
            if self._state is not _State.OPEN:
                self._admission.release()
                raise PoolClosedError("the Pool is closed") from None
        try:
            return await self._execute(run)
        finally:
            self._admission.release()

    async def run_nowait(
        self,
        script: str,
        *,
        bind: Mapping[str, Any] | None = None,
        seed: int | None = None,
        timeout: float | None = KEEP,  # noqa: ASYNC109 - enforced in the worker
        memory_limit: int | None = KEEP,
        fuel: int | None = KEEP,
    ) -> Execution:
        """Like ``run``, but raises PoolFullError instead of waiting for queue room."""
        run = self._prepare(
            script, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        assert self._admission is not None
        try:
            self._admission.acquire_nowait()
        except anyio.WouldBlock:
            raise PoolFullError(f"the queue holds {self.max_queue} runs") from None
        try:
            return await self._execute(run)
        finally:
            self._admission.release()

    async def map(
        self, inputs: Iterable[str | Job], *, concurrency: int | None = None
    ) -> AsyncIterator[MapResult]:
        """Run many scripts; yield each result in completion order, tagged with its index.

        Failures are values (``MapResult.error``), so one bad script does not stop
        the batch. At most ``concurrency`` runs (default: twice the workers) are
        queued or running at once.
        """
        if self._tg is None or self._state is not _State.OPEN:
            raise PoolClosedError("the Pool is not open")
        limit = concurrency or 2 * self.workers
        send, receive = anyio.create_memory_object_stream[MapResult](limit)
        self._tg.start_soon(self._map_produce, inputs, anyio.CapacityLimiter(limit), send)
        async with receive:
            async for result in receive:
                yield result

    async def _map_produce(
        self,
        inputs: Iterable[str | Job],
        limiter: anyio.CapacityLimiter,
        send: anyio.abc.ObjectSendStream[MapResult],
    ) -> None:
        async def one(index: int, item: str | Job) -> None:
            try:
                job = item if isinstance(item, Job) else Job(item)
                try:
                    result = MapResult(
                        index, await self.run(job.script, bind=job.bind, seed=job.seed), None
                    )
                except (KobakoError, ValueError, TypeError) as exc:
                    # a bad Job (a malformed bind, say) is its own failure, not the batch's
                    error = exc if isinstance(exc, KobakoError) else KobakoError(str(exc))
                    result = MapResult(index, None, error)
                try:
                    await send.send(result)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    batch.cancel_scope.cancel()  # the consumer stopped reading
            finally:
                limiter.release_on_behalf_of(index)

        async with send, anyio.create_task_group() as batch:
            for index, item in enumerate(inputs):
                await limiter.acquire_on_behalf_of(index)
                batch.start_soon(one, index, item)

    def _prepare(
        self, script: str, bind: Mapping[str, Any] | None, seed: int | None, **overrides: Any
    ) -> _Run:
        if self._state is not _State.OPEN:
            raise PoolClosedError(
                "the Pool is not open" if self._state is _State.NEW else "the Pool is closed"
            )
        limits = self.limits.override(**overrides)
        bindings = merge_run_bindings(self._bindings, bind) if bind else self._bindings
        dispatcher = Dispatcher(bindings, limits)
        request = build_request(script, limits, dispatcher, seed)
        run_id = next(self._run_ids)
        frame = proto.encode(
            proto.Run(
                run_id,
                request,
                limits.timeout,
                limits.memory_limit,
                limits.fuel,
                limits.clock_ns(),
            )
        )
        return _Run(run_id, frame, limits, dispatcher)

    async def _execute(self, run: _Run) -> Execution:
        for attempt in range(1, DISPATCH_ATTEMPTS + 1):
            worker = await self._checkout()
            execution = await self._drive(worker, run, retry=attempt < DISPATCH_ATTEMPTS)
            if execution is not None:
                return execution
        raise AssertionError("unreachable: the last attempt never retries")  # pragma: no cover

    async def _drive(self, worker: _Worker, run: _Run, *, retry: bool) -> Execution | None:
        """Carry ``run`` through ``worker``, which it holds. The Execution, or None when
        the worker died before taking the run and ``retry`` allows another worker."""
        timeout = run.limits.timeout
        if timeout is not None:
            run.deadline = time.monotonic() + timeout + WATCHDOG_GRACE_S
            if self._watchdog_wake is not None:
                self._watchdog_wake.set()
        run.worker, run.sent = worker, False
        self._runs.add(run)
        started = time.perf_counter()
        try:
            await worker.send(run.frame)
            run.sent = True
            done = await worker.receive()
            if not (isinstance(done, proto.Done) and done.run_id == run.run_id):
                done = await self._serve_calls(worker, run, done)
        except (_WorkerGone, _Aborted, proto.ProtocolError) as exc:
            self._runs.discard(run)
            await self._lost(worker, run, exc, retry, started)
            return None
        except BaseException:
            # the caller was cancelled: a background task stops the guest
            self._runs.discard(run)
            self._spawn(self._abandon, worker, run)
            raise
        self._runs.discard(run)
        wall_time_s = time.perf_counter() - started
        if run.aborted is not None:
            self._retire(worker, kill=True)  # the Pool killed it just as the run ended
        else:
            self._ran(worker)
        return self._outcome(run, done, wall_time_s)

    async def _serve_calls(self, worker: _Worker, run: _Run, message: proto.Message) -> proto.Done:
        """Serve the run's Service calls (``message`` is the first) until its Done.
        Raises _Aborted when the Pool stops the run meanwhile."""
        with anyio.CancelScope() as scope:
            run.scope = scope
            if run.aborted is not None:
                scope.cancel()
            try:
                while True:
                    if isinstance(message, proto.Call) and message.run_id == run.run_id:
                        reply = await run.dispatcher.dispatch_async(message.payload)
                        frame = proto.encode(proto.Reply(run.run_id, message.call_id, reply))
                        await worker.send(frame)
                    elif isinstance(message, proto.Done) and message.run_id == run.run_id:
                        return message
                    elif not isinstance(message, (proto.Call, proto.Done)):
                        raise proto.ProtocolError(
                            f"unexpected {type(message).__name__} from a worker"
                        )
                    message = await worker.receive()
            finally:
                run.scope = None
        raise _Aborted

    async def _lost(
        self,
        worker: _Worker,
        run: _Run,
        exc: Exception,
        retry: bool,
        started: float,
    ) -> None:
        """The worker died, broke the protocol, or was stopped by the Pool under ``run``:
        replace it, and return None to retry the run or raise its error."""
        broke = isinstance(exc, proto.ProtocolError)
        if run.aborted is None and not broke and retry and not worker.started(run.run_id):
            # it died before it took the run: nothing ran, so another worker may
            self._counts["crashed"] += 1
            self._retire(worker, kill=False)
            return None
        status = await (worker.kill() if broke or run.aborted else worker.reap())
        self._retire(worker, kill=False, reaped=True)
        self._counts["failed"] += 1
        wall_time_s = time.perf_counter() - started
        if run.aborted == "closed":
            raise PoolClosedError("the Pool was closed with the run in flight")
        if run.aborted == "watchdog":
            trap = GuestTrap("watchdog", wasmtime.TrapCode.INTERRUPT)
            raise trap_error(trap, run.limits, wall_time_s)
        self._counts["crashed"] += 1
        reason = f"broke the protocol ({exc})" if broke else "died"
        empty = Execution(None, "", "", False, False, Usage(wall_time_s, 0))
        raise WorkerCrashedError(
            f"worker {worker.pid} {reason} (exit status {status})", empty, status
        )

    async def _abandon(self, worker: _Worker, run: _Run) -> None:
        """After the caller was cancelled: stop its guest and keep the worker, or kill
        the worker if it does not stop within CANCEL_GRACE_S."""
        try:
            if worker.torn or run.aborted is not None:
                raise _WorkerGone("cannot be reused")
            if not run.sent:
                self._release(worker)  # the Run never reached it
                return
            await worker.send(proto.encode(proto.Cancel(run.run_id)))
            with anyio.move_on_after(CANCEL_GRACE_S):
                while True:
                    message = await worker.receive()
                    if isinstance(message, proto.Done) and message.run_id == run.run_id:
                        self._ran(worker)
                        return
            raise _WorkerGone("did not stop in time")  # not a crash: it was busy
        except (_WorkerGone, proto.ProtocolError):
            self._retire(worker, kill=True)

    def _outcome(self, run: _Run, done: proto.Done, wall_time_s: float) -> Execution:
        try:
            if done.payload is None:
                code = wasmtime.TrapCode(done.trap_code) if done.trap_code is not None else None
                trap = GuestTrap(done.trap_message, code)
                trap.memory_bytes = done.memory_bytes
                trap.output = CapturedOutput(
                    done.stdout, done.stderr, done.stdout_truncated, done.stderr_truncated
                )
                raise trap_error(trap, run.limits, wall_time_s)
            usage = Usage(wall_time_s, done.memory_bytes)
            execution = finish(done.payload, usage, run.dispatcher, run.limits)
        except KobakoError:
            self._counts["failed"] += 1
            raise
        self._counts["completed"] += 1
        return execution

    def _abort(self, run: _Run, reason: str) -> None:
        """Stop ``run`` from outside its task: kill its worker, cancel its Service call."""
        if run.aborted is None:
            run.aborted = reason
        if run.scope is not None:
            run.scope.cancel()
        if run.worker is not None:
            run.worker.terminate()

    async def _watchdog(self) -> None:
        """Kill the workers of runs that overran their timeout by WATCHDOG_GRACE_S."""
        while True:
            if not any(run.deadline is not None for run in self._runs):
                self._watchdog_wake = anyio.Event()
                await self._watchdog_wake.wait()
                self._watchdog_wake = None
            await anyio.sleep(WATCHDOG_TICK_S)
            now = time.monotonic()
            for run in list(self._runs):
                if run.deadline is not None and now > run.deadline and run.aborted is None:
                    self._abort(run, "watchdog")

    # ---- workers ----

    async def _checkout(self) -> _Worker:
        """An idle worker for the caller's run, waiting in FIFO order if there is none."""
        if self._cancelling:  # a run retried after aclose(cancel=True)
            raise PoolClosedError("the Pool was closed with the run in flight")
        if self._idle and not self._waiters:
            worker = self._idle.pop()
            self._busy.add(worker)
            return worker
        waiter = _Waiter(anyio.Event())
        self._waiters.append(waiter)
        self._fill_vacancies()
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.worker is not None:
                self._release(waiter.worker)  # handed over just as the caller left
            elif waiter.error is None:
                self._waiters.remove(waiter)
                self._poke()
            raise
        if waiter.error is not None:
            raise waiter.error
        assert waiter.worker is not None
        return waiter.worker

    def _release(self, worker: _Worker) -> None:
        """A held worker is free: to the first queued run (still held), else idle."""
        if self._waiters:
            waiter = self._waiters.popleft()
            waiter.worker = worker
            waiter.event.set()
            return
        self._busy.discard(worker)
        self._idle.append(worker)
        self._poke()

    def _ran(self, worker: _Worker) -> None:
        """A held worker finished a run: release it, or recycle it after max_runs_per_worker."""
        worker.runs += 1
        if worker.runs < self.max_runs_per_worker:
            self._release(worker)
        else:
            self._counts["recycled"] += 1
            self._retire(worker, kill=False, stop=True)

    def _retire(
        self, worker: _Worker, *, kill: bool, stop: bool = False, reaped: bool = False
    ) -> None:
        """A held worker leaves the Pool: stop, kill or reap it (in the background,
        unless the caller ``reaped`` it already) and start a replacement."""
        self._busy.discard(worker)
        self._workers.pop(worker, None)
        if not reaped:
            end = worker.stop if stop else worker.kill if kill else worker.reap
            self._spawn(end)
        self._vacant += 1
        if self._state is _State.OPEN:
            self._start_replacements(self._vacant)
        else:
            self._fill_vacancies()
        self._poke()

    def _fill_vacancies(self) -> None:
        """Start workers for queued runs that no start under way will serve."""
        self._start_replacements(len(self._waiters) - self._starting)

    def _start_replacements(self, wanted: int) -> None:
        for _ in range(min(wanted, self._vacant)):
            self._vacant -= 1
            self._starting += 1
            self._spawn(self._replace)

    async def _replace(self) -> None:
        try:
            worker = await _Worker.start()
        except _START_ERRORS as exc:
            self._vacant += 1
            if self._waiters:  # tell one queued run, rather than leave it waiting
                waiter = self._waiters.popleft()
                waiter.error = PoolClosedError(f"could not start a worker: {exc}")
                waiter.event.set()
            return
        finally:
            self._starting -= 1
        self._workers[worker] = None
        self._busy.add(worker)
        self._release(worker)

    async def _start_first(self) -> None:
        worker = await _Worker.start()
        self._workers[worker] = None
        self._idle.append(worker)

    def _spawn(self, func: Callable[..., Awaitable[object]], *args: Any) -> None:
        """Run ``func`` as a background task of the Pool, counted until it ends."""
        assert self._tg is not None
        self._background += 1

        async def counted() -> None:
            try:
                await func(*args)
            finally:
                self._background -= 1
                self._poke()

        self._tg.start_soon(counted)
