"""The asyncio-native Pool: pre-started worker processes, async Services in the parent.

Each worker slot is a task in the Pool's task group that owns one worker process:
it takes a run from the bounded queue, sends it, serves the run's Service calls
(awaiting them in this event loop), and reports the outcome to the caller. The
worker enforces the timeout (epoch interruption); the slot backs it up with a
watchdog, forwards cancellation, and replaces a worker that dies, overruns, or
reaches ``max_runs_per_worker``. A failure is reported to its own run only.
"""

from __future__ import annotations

import enum
import itertools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import wasmtime
from anyio.abc import Process, TaskGroup

from . import _protocol as proto
from ._errors import KobakoError, PoolClosedError, PoolFullError, WorkerCrashedError
from ._guest import GuestTrap
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
STARTUP_TIMEOUT_S = 60.0
_READ_BYTES = 1 << 16


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


@dataclass(eq=False)
class _Pending:
    """A run between ``Pool.run`` and its outcome."""

    run_id: int
    request: bytes
    limits: Limits
    dispatcher: Dispatcher
    finished: anyio.Event = field(default_factory=anyio.Event)
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    service_scope: anyio.CancelScope | None = None
    worker: _Worker | None = None  # set when a slot takes the run
    ended: bool = False  # the worker is done with it
    execution: Execution | None = None
    error: BaseException | None = None

    def settle(
        self, execution: Execution | None = None, error: BaseException | None = None
    ) -> None:
        if not self.finished.is_set():
            self.execution, self.error = execution, error
            self.finished.set()

    def cancel(self) -> None:
        self.cancel_requested.set()
        if self.service_scope is not None:
            self.service_scope.cancel()


class _Worker:
    """One worker process and its framed pipes."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.reader = proto.FrameReader()
        self.runs = 0
        self.pid = process.pid

    @classmethod
    async def start(cls) -> _Worker:
        process = await anyio.open_process(
            [sys.executable, "-m", "kobako_async._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
        )
        worker = cls(process)
        try:
            with anyio.fail_after(STARTUP_TIMEOUT_S):
                ready = await worker.receive()
            if not isinstance(ready, proto.Ready):
                raise proto.ProtocolError(f"expected Ready, got {type(ready).__name__}")
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def send(self, message: proto.Message) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(proto.encode(message))

    async def receive(self) -> proto.Message:
        """The next message. Raises EOFError when the worker is gone."""
        assert self.process.stdout is not None
        while isinstance(message := self.reader.next_message(), proto._NeedData):
            try:
                data = await self.process.stdout.receive(_READ_BYTES)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                raise EOFError from None
            self.reader.feed(data)
        return message

    async def kill(self) -> int | None:
        with anyio.CancelScope(shield=True):
            if self.process.returncode is None:
                self.process.kill()
            status = await self.process.wait()
            await self.process.aclose()
        return status

    async def stop(self) -> None:
        """Ask the worker to exit (stdin closes), killing it if it lingers."""
        with anyio.CancelScope(shield=True):
            assert self.process.stdin is not None
            try:
                await self.process.stdin.aclose()
            except (anyio.BrokenResourceError, OSError):
                pass
            with anyio.move_on_after(CANCEL_GRACE_S):
                await self.process.wait()
            await self.kill()


class Pool:
    """Runs scripts on pre-started worker processes, with async Services.

    Use as ``async with Pool(...) as pool``. Services may be ``async def``
    functions, sync callables or objects; they run in the caller's event loop.

    Args:
        workers: worker processes (default: the CPU count).
        max_queue: runs waiting for a worker before ``run`` waits.
        max_runs_per_worker: runs after which a worker is replaced.
        The remaining arguments are the limits of ``Sandbox``, per run.
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
        self.workers = workers
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
        self._send, self._receive = anyio.create_memory_object_stream[_Pending](max_queue)
        self._state = _State.NEW
        self._tg: TaskGroup | None = None
        self._slots: dict[int, _Worker | None] = {}
        self._in_flight: set[_Pending] = set()
        self._run_ids = itertools.count(1)
        self._counts = dict.fromkeys(("completed", "failed", "crashed", "recycled"), 0)

    # ---- lifecycle ----

    async def __aenter__(self) -> Pool:
        if self._state is not _State.NEW:
            raise RuntimeError("a Pool can be entered only once")
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        try:
            async with anyio.create_task_group() as starting:
                for slot in range(self.workers):
                    starting.start_soon(self._start_slot, slot)
        except BaseException:
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)
            await self._kill_all()
            raise
        self._state = _State.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose(cancel=exc_info[0] is not None)

    async def aclose(self, *, cancel: bool = False) -> None:
        """Stop taking runs; wait for queued and in-flight ones (or cancel them)."""
        if self._state in (_State.CLOSING, _State.CLOSED) or self._tg is None:
            self._state = _State.CLOSED
            return
        self._state = _State.CLOSING
        self._send.close()
        if cancel:
            error = PoolClosedError("the Pool was closed with the run in flight")
            for job in list(self._in_flight):
                job.settle(error=error)
            while True:
                try:
                    self._receive.receive_nowait().settle(error=error)
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
            self._tg.cancel_scope.cancel()
        try:
            await self._tg.__aexit__(None, None, None)
        finally:
            self._receive.close()
            await self._kill_all()
            self._state = _State.CLOSED

    async def _kill_all(self) -> None:
        for slot, worker in list(self._slots.items()):
            if worker is not None:
                await worker.kill()
            self._slots[slot] = None

    # ---- configuration and introspection ----

    def bind(self, path: str, obj: Any = FILLABLE) -> Pool:
        """Expose ``obj`` (async or sync) as the constant ``path``; see ``Sandbox.bind``."""
        add_binding(self._bindings, path, obj)
        return self

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes."""
        return [w.pid for w in self._slots.values() if w is not None]

    def stats(self) -> dict[str, int]:
        """Counts: queued, running, completed, failed, crashed, recycled."""
        queued = self._send.statistics().current_buffer_used
        return {"queued": queued, "running": len(self._in_flight), **self._counts}

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
        job = self._prepare(
            script, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        try:
            await self._send.send(job)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise PoolClosedError("the Pool is closed") from None
        return await self._outcome(job)

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
        job = self._prepare(
            script, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        try:
            self._send.send_nowait(job)
        except anyio.WouldBlock:
            raise PoolFullError(
                f"the queue holds {self._send.statistics().max_buffer_size} runs"
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise PoolClosedError("the Pool is closed") from None
        return await self._outcome(job)

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
    ) -> _Pending:
        if self._state is not _State.OPEN:
            raise PoolClosedError(
                "the Pool is not open" if self._state is _State.NEW else "the Pool is closed"
            )
        limits = self.limits.override(**overrides)
        bindings = merge_run_bindings(self._bindings, bind) if bind else self._bindings
        dispatcher = Dispatcher(bindings, limits)
        request = build_request(script, limits, dispatcher, seed)
        return _Pending(next(self._run_ids), request, limits, dispatcher)

    async def _outcome(self, job: _Pending) -> Execution:
        try:
            await job.finished.wait()
        except BaseException:
            # the caller was cancelled: stop the guest, keep the worker
            job.cancel()
            if job.worker is not None and not job.ended and self._tg is not None:
                self._tg.start_soon(self._forward_cancel, job.worker, job)
            raise
        if job.error is not None:
            raise job.error
        assert job.execution is not None
        return job.execution

    # ---- worker slots ----

    async def _start_slot(self, slot: int) -> None:
        self._slots[slot] = await _Worker.start()
        assert self._tg is not None
        self._tg.start_soon(self._serve_slot, slot)

    async def _serve_slot(self, slot: int) -> None:
        async for job in self._receive:
            if job.cancel_requested.is_set() or job.finished.is_set():
                continue
            self._in_flight.add(job)
            try:
                await self._serve_on_slot(slot, job)
            finally:
                self._in_flight.discard(job)
        worker = self._slots.get(slot)
        if worker is not None:
            await worker.stop()
            self._slots[slot] = None

    async def _serve_on_slot(self, slot: int, job: _Pending) -> None:
        worker = self._slots[slot]
        if worker is not None and worker.process.returncode is not None:
            # it died while idle: replace it without failing anyone's run
            self._counts["crashed"] += 1
            await worker.kill()
            worker = self._slots[slot] = None
        if worker is None:
            try:
                worker = self._slots[slot] = await _Worker.start()
            except (OSError, EOFError, proto.ProtocolError, TimeoutError) as exc:
                job.settle(error=PoolClosedError(f"could not start a worker: {exc}"))
                return
        keep = await self._serve(worker, job)
        worker.runs += 1
        if not keep:
            await worker.kill()
            self._slots[slot] = None
        elif worker.runs >= self.max_runs_per_worker:
            await worker.stop()
            self._slots[slot] = None
            self._counts["recycled"] += 1

    async def _serve(self, worker: _Worker, job: _Pending) -> bool:
        """Carry one run through ``worker``. Returns whether the worker is still usable."""
        started = time.perf_counter()
        limits = job.limits
        run = proto.Run(
            job.run_id,
            job.request,
            limits.timeout,
            limits.memory_limit,
            limits.fuel,
            limits.clock_ns(),
        )
        watchdog = None if limits.timeout is None else limits.timeout + WATCHDOG_GRACE_S
        job.worker = worker
        with anyio.move_on_after(watchdog) as watch:
            try:
                await worker.send(run)
                done = await self._pump(worker, job)
            except (
                EOFError,
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
                proto.ProtocolError,
            ) as exc:
                status = await worker.kill()
                if job.cancel_requested.is_set():
                    return False  # killed for not stopping in time: not a crash
                self._counts["crashed"] += 1
                empty = Execution(
                    None, "", "", False, False, Usage(time.perf_counter() - started, 0)
                )
                broke = isinstance(exc, proto.ProtocolError)
                reason = f"broke the protocol ({exc})" if broke else "died"
                job.settle(
                    error=WorkerCrashedError(
                        f"worker {worker.pid} {reason} (exit status {status})", empty, status
                    )
                )
                self._counts["failed"] += 1
                return False
        job.ended = True
        if watch.cancelled_caught:
            self._counts["failed"] += 1
            job.settle(
                error=trap_error(
                    GuestTrap("watchdog", wasmtime.TrapCode.INTERRUPT),
                    limits,
                    time.perf_counter() - started,
                )
            )
            return False
        if job.cancel_requested.is_set():
            return True  # its Done arrived: the worker stopped the guest and is fine
        self._settle(job, done, time.perf_counter() - started)
        return True

    async def _pump(self, worker: _Worker, job: _Pending) -> proto.Done:
        """Serve the run's Service calls until its Done arrives."""
        while True:
            message = await worker.receive()
            if isinstance(message, proto.Done) and message.run_id == job.run_id:
                job.ended = True
                return message
            if isinstance(message, proto.Call) and message.run_id == job.run_id:
                if job.cancel_requested.is_set():
                    continue  # the worker was told to stop: it expects no reply
                with anyio.CancelScope() as scope:
                    job.service_scope = scope
                    reply = await job.dispatcher.dispatch_async(message.payload)
                job.service_scope = None
                if not scope.cancelled_caught:
                    await worker.send(proto.Reply(job.run_id, message.call_id, reply))
            elif not isinstance(message, (proto.Done, proto.Call)):
                raise proto.ProtocolError(f"unexpected {type(message).__name__} from a worker")

    async def _forward_cancel(self, worker: _Worker, job: _Pending) -> None:
        try:
            await worker.send(proto.Cancel(job.run_id))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the worker is gone already
        await anyio.sleep(CANCEL_GRACE_S)
        if not job.ended:
            await worker.kill()  # it did not stop in time; the slot replaces it

    def _settle(self, job: _Pending, done: proto.Done, wall_time_s: float) -> None:
        try:
            if done.payload is None:
                code = wasmtime.TrapCode(done.trap_code) if done.trap_code is not None else None
                trap = GuestTrap(done.trap_message, code)
                trap.memory_bytes = done.memory_bytes
                raise trap_error(trap, job.limits, wall_time_s)
            usage = Usage(wall_time_s, done.memory_bytes)
            execution = finish(done.payload, usage, job.dispatcher, job.limits)
        except KobakoError as exc:
            self._counts["failed"] += 1
            job.settle(error=exc)
        else:
            self._counts["completed"] += 1
            job.settle(execution=execution)
