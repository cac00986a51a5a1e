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

Which run gets which worker, and when workers start, is decided in one place
(``_assign``), called whenever a worker or a run comes or goes; while the Pool is
open it keeps "idle + busy + starting + vacant = workers". A run waits at most its
``queue_timeout`` for queue room and a worker. The run itself lives in ``_run``, the
worker handle in ``_process`` and ``map`` in ``_map``.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import itertools
import os
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import wasmtime
from anyio.abc import TaskGroup

from . import _protocol as proto
from ._errors import (
    KobakoError,
    PoolClosedError,
    PoolFullError,
    PoolTimeoutError,
    WorkerCrashedError,
)
from ._guest import GuestTrap
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
    check_seconds,
)
from ._map import Inputs, Job, MapBatch, MapResult
from ._process import (
    CANCEL_GRACE_S,
    START_ERRORS,
    StartWorker,
    WorkerGone,
    WorkerHandle,
    WorkerProcess,
    start_failure,
)
from ._run import Aborted, AbortReason, Run, RunState, is_ending, outcome, serve_calls
from ._sandbox import Execution, Usage, build_request, trap_error
from ._services import FILLABLE, Dispatcher, add_binding, merge_run_bindings

__all__ = ["CANCEL_GRACE_S", "WATCHDOG_GRACE_S", "Job", "MapResult", "Pool"]

MAX_QUEUE = 1000
MAX_RUNS_PER_WORKER = 10_000
WATCHDOG_GRACE_S = 2.0
WATCHDOG_TICK_S = 0.1
DISPATCH_ATTEMPTS = 3
_COUNTS = ("completed", "failed", "crashed", "recycled")


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(eq=False, slots=True)
class _Waiter:
    """A run queued for a worker: ``event`` is set once it has one (or an error)."""

    event: anyio.Event
    worker: WorkerHandle | None = None
    error: BaseException | None = None


class Pool:
    """Runs scripts on pre-started worker processes, with async Services.

    Use as ``async with Pool(...) as pool``. Services may be ``async def``
    functions, sync callables or objects; they run in the caller's event loop.

    The limit arguments are those of ``Sandbox``, per run.

    Args:
        workers: worker processes (default: the CPU count).
        max_queue: runs waiting for a worker before ``run`` waits.
        max_runs_per_worker: runs after which a worker is replaced.
        queue_timeout: seconds a run may wait for queue room and a free worker before
            ``run`` raises PoolTimeoutError, or None (the default: no bound).

    Raises:
        ValueError: an argument is out of its range (memory_limit below what the guest
            needs to run ``nil`` included), or the limits together need
            frames larger than the protocol carries (max_message_bytes,
            stdout_limit and stderr_limit).
        GuestLoadError: the guest file is missing, corrupt or for another ABI
            (checked here, before any worker starts).
    """

    # how a worker slot gets its worker: a seam for a fake worker in tests
    _start_worker: StartWorker = staticmethod(WorkerProcess.start)

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
        queue_timeout: float | None = None,
    ) -> None:
        workers = (os.cpu_count() or 1) if workers is None else workers
        for name, value in (
            ("workers", workers),
            ("max_queue", max_queue),
            ("max_runs_per_worker", max_runs_per_worker),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        check_seconds("queue_timeout", queue_timeout)
        # a bad guest file fails here, in the parent, not in every worker
        self._min_memory_limit = check_guest().min_memory_limit_bytes
        self.workers = workers
        self.queue_timeout = queue_timeout
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
        self._check_memory_limit(self.limits)
        self._frame_cap = proto.frame_cap(max_message_bytes, stdout_limit, stderr_limit)
        if self._frame_cap > proto.FRAME_LIMIT_BYTES:
            raise ValueError(
                "max(max_message_bytes, stdout_limit + stderr_limit) must be at most"
                f" {proto.FRAME_LIMIT_BYTES - proto.FRAME_SLACK_BYTES} bytes in a Pool (a"
                f" worker's frame carries an outcome or its output), got {max_message_bytes},"
                f" {stdout_limit} + {stderr_limit}"
            )
        self._bindings: dict[str, Any] = {}
        self._state = _State.NEW
        self._tg: TaskGroup | None = None
        self._admission: anyio.Semaphore | None = None  # queue room: made in the event loop
        self._workers: dict[WorkerHandle, None] = {}  # live workers, in start order
        self._idle: list[WorkerHandle] = []
        self._busy: set[WorkerHandle] = set()  # held by a run (or by a run's cleanup)
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._runs: set[Run] = set()  # runs holding a worker
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
            failure = start_failure(exc)
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
            # what is left are map batches iterated without `async with`, unfinished
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
            self._abort(run, AbortReason.CLOSED)
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
        inputs: Mapping[str, Any] | None = None,
        bind: Mapping[str, Any] | None = None,
        seed: int | None = None,
        timeout: float | None = KEEP,  # noqa: ASYNC109 - enforced in the worker
        memory_limit: int | None = KEEP,
        fuel: int | None = KEEP,
        queue_timeout: float | None = KEEP,
    ) -> Execution:
        """Run ``script`` on a worker; waits for queue room and a worker (at most
        ``queue_timeout``). Same result and errors as ``Sandbox.run``, plus:

        Raises:
            PoolTimeoutError: no worker was free within ``queue_timeout``.
            WorkerCrashedError: the worker died under the run.
            PoolClosedError: the Pool is not open, or was closed over the run.
            MessageSizeError: the encoded ``inputs`` are over max_message_bytes.
            ValueError, TypeError: bad ``inputs``, ``bind``, ``seed`` or limit arguments.
        """
        run = self._prepare(
            script, inputs, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        until = self._queue_deadline(queue_timeout)
        assert self._admission is not None
        try:
            self._admission.acquire_nowait()
        except anyio.WouldBlock:
            with self._queue_wait(until, "for queue room"):
                await self._admission.acquire()
            if self._state is not _State.OPEN:
                self._admission.release()
                raise PoolClosedError("the Pool is closed") from None
        try:
            return await self._execute(run, until)
        finally:
            self._admission.release()

    async def run_nowait(
        self,
        script: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        bind: Mapping[str, Any] | None = None,
        seed: int | None = None,
        timeout: float | None = KEEP,  # noqa: ASYNC109 - enforced in the worker
        memory_limit: int | None = KEEP,
        fuel: int | None = KEEP,
        queue_timeout: float | None = KEEP,
    ) -> Execution:
        """Like ``run``, but raises PoolFullError instead of waiting for queue room."""
        run = self._prepare(
            script, inputs, bind, seed, timeout=timeout, memory_limit=memory_limit, fuel=fuel
        )
        until = self._queue_deadline(queue_timeout)
        assert self._admission is not None
        try:
            self._admission.acquire_nowait()
        except anyio.WouldBlock:
            raise PoolFullError(f"the queue holds {self.max_queue} runs") from None
        try:
            return await self._execute(run, until)
        finally:
            self._admission.release()

    def map(self, inputs: Inputs, *, concurrency: int | None = None) -> MapBatch:
        """Run many scripts (``str`` or ``Job``, from an iterable or async iterable);
        the results in completion order, each tagged with its input's index.

        Use ``async with pool.map(inputs) as results: async for r in results``: the
        batch then belongs to the calling task, and leaving the block cancels what is
        left of it. ``async for r in pool.map(inputs)`` also works; the batch then
        runs under the Pool until the iterator is closed or dropped.

        Failures are values (``MapResult.error``): a KobakoError as ``run`` raises it,
        any other Exception from a job (a bad Job argument) as a JobError whose
        ``__cause__`` it is. An input iterable that raises makes the iteration raise
        that exception after the jobs in flight settled and were yielded. At most
        ``concurrency`` runs (default: twice the workers) are queued or running.

        Raises:
            PoolClosedError: the Pool is not open.
            TypeError: ``inputs`` is not an iterable (or is one script or Job).
            ValueError: ``concurrency`` is not a positive int.
        """
        if self._tg is None or self._state is not _State.OPEN:
            raise PoolClosedError("the Pool is not open")
        if not isinstance(inputs, (Iterable, AsyncIterable)) or isinstance(inputs, (str, Job)):
            raise TypeError(
                f"map takes an iterable of scripts and Jobs, not {type(inputs).__name__}"
            )
        if concurrency is None:
            concurrency = 2 * self.workers
        elif not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
        tg = self._tg
        return MapBatch(self._run_job, inputs, concurrency, lambda batch: tg.start_soon(batch))

    async def _run_job(self, job: Job) -> Execution:
        return await self.run(
            job.script,
            inputs=job.inputs,
            bind=job.bind,
            seed=job.seed,
            timeout=job.timeout,
            memory_limit=job.memory_limit,
            fuel=job.fuel,
            queue_timeout=job.queue_timeout,
        )

    def _check_memory_limit(self, limits: Limits) -> None:
        """Raises ValueError for a memory_limit below what the guest needs to run ``nil``."""
        if limits.memory_limit is not None and limits.memory_limit < self._min_memory_limit:
            raise ValueError(
                f"memory_limit must be at least {self._min_memory_limit} bytes (what the"
                f" guest needs to run `nil`), got {limits.memory_limit}"
            )

    def _prepare(
        self,
        script: str,
        inputs: Mapping[str, Any] | None,
        bind: Mapping[str, Any] | None,
        seed: int | None,
        **overrides: Any,
    ) -> Run:
        if self._state is not _State.OPEN:
            raise PoolClosedError(
                "the Pool is not open" if self._state is _State.NEW else "the Pool is closed"
            )
        if bind is not None and not isinstance(bind, Mapping):
            raise TypeError(
                f"bind must be a mapping of paths to objects, not {type(bind).__name__}"
            )
        limits = self.limits.override(**overrides)
        self._check_memory_limit(limits)
        bindings = merge_run_bindings(self._bindings, bind) if bind else self._bindings
        dispatcher = Dispatcher(bindings, limits)
        # inputs are encoded here, in the parent: their Handles join the run's table
        request = build_request(script, limits, dispatcher, seed, inputs)
        run_id = next(self._run_ids)
        frame = proto.encode(
            proto.Run(
                run_id,
                request,
                limits.timeout,
                limits.memory_limit,
                limits.fuel,
                limits.clock_ns(),
                limits.max_message_bytes,
            )
        )
        return Run(run_id, frame, limits, dispatcher)

    def _queue_deadline(self, queue_timeout: float | None) -> float | None:
        """The time.monotonic() by which a run must have a worker, or None."""
        if queue_timeout is KEEP:
            queue_timeout = self.queue_timeout
        else:
            check_seconds("queue_timeout", queue_timeout)
        return None if queue_timeout is None else time.monotonic() + queue_timeout

    @contextlib.contextmanager
    def _queue_wait(self, until: float | None, what: str) -> Iterator[None]:
        """Bound a wait of a queued run by its queue deadline: PoolTimeoutError past it."""
        if until is None:
            yield
            return
        with anyio.move_on_after(max(0.0, until - time.monotonic())) as scope:
            yield
        if scope.cancelled_caught:
            raise PoolTimeoutError(
                f"no worker was free in time: the run waited {what} past its queue_timeout"
            )

    async def _execute(self, run: Run, until: float | None) -> Execution:
        for attempt in range(1, DISPATCH_ATTEMPTS + 1):
            worker = await self._checkout(until)
            execution = await self._drive(worker, run, retry=attempt < DISPATCH_ATTEMPTS)
            if execution is not None:
                return execution
        raise AssertionError("unreachable: the last attempt never retries")  # pragma: no cover

    async def _drive(self, worker: WorkerHandle, run: Run, *, retry: bool) -> Execution | None:
        """Carry ``run`` through ``worker``, which it holds. The Execution, or None when
        the worker died before taking the run and ``retry`` allows another worker."""
        timeout = run.limits.timeout
        if timeout is not None:
            run.deadline = time.monotonic() + timeout + WATCHDOG_GRACE_S
        if self._watchdog_wake is not None:
            self._watchdog_wake.set()  # also without a deadline: it watches Service calls
        run.worker, run.state = worker, RunState.SENDING
        self._runs.add(run)
        started = time.perf_counter()
        try:
            await worker.send(run.frame)
            run.state = RunState.SENT
            message = await worker.receive()
            ending = await serve_calls(worker, run, message)
        except (WorkerGone, Aborted, proto.ProtocolError) as exc:
            self._runs.discard(run)
            await self._lost(worker, run, exc, retry, started)
            run.state = RunState.PREPARED
            return None
        except BaseException:
            # the caller was cancelled, or a Service raised a BaseException
            # (KeyboardInterrupt, SystemExit): a background task stops the guest, and
            # the caller gets the exception
            self._runs.discard(run)
            self._spawn(self._abandon, worker, run)
            raise
        run.state = RunState.ENDED
        self._runs.discard(run)
        wall_time_s = time.perf_counter() - started
        if run.aborted is not None:
            self._retire(worker, kill=True)  # the Pool killed it just as the run ended
        else:
            self._ran(worker)
        try:
            execution = outcome(run, ending, wall_time_s)
        except KobakoError:
            self._counts["failed"] += 1
            raise
        self._counts["completed"] += 1
        return execution

    async def _lost(
        self,
        worker: WorkerHandle,
        run: Run,
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
        if run.aborted is AbortReason.CLOSED:
            raise PoolClosedError("the Pool was closed with the run in flight")
        if run.aborted is AbortReason.WATCHDOG:
            trap = GuestTrap("watchdog", wasmtime.TrapCode.INTERRUPT)
            raise trap_error(trap, run.limits, wall_time_s)
        self._counts["crashed"] += 1
        reason = f"broke the protocol ({exc})" if broke else "died"
        empty = Execution(None, "", "", False, False, Usage(wall_time_s, 0))
        raise WorkerCrashedError(
            f"worker {worker.pid} {reason} (exit status {status})", empty, status
        )

    async def _abandon(self, worker: WorkerHandle, run: Run) -> None:
        """After the caller left the run (cancelled, or a Service's BaseException): stop
        its guest and keep the worker, or kill the worker if it does not stop within
        CANCEL_GRACE_S."""
        try:
            if worker.torn or run.aborted is not None:
                raise WorkerGone("cannot be reused")
            if run.state is not RunState.SENT:
                self._release(worker)  # the Run never reached it
                return
            await worker.send(proto.encode(proto.Cancel(run.run_id)))
            with anyio.move_on_after(CANCEL_GRACE_S):
                while True:
                    message = await worker.receive()
                    if is_ending(run, message):
                        self._ran(worker)
                        return
                    # a Service call made before the guest saw the Cancel goes unanswered:
                    # the worker stops the guest when it reads the Cancel
            raise WorkerGone("did not stop in time")  # not a crash: it was busy
        except (WorkerGone, proto.ProtocolError):
            self._retire(worker, kill=True)

    def _abort(self, run: Run, reason: AbortReason) -> None:
        """Stop ``run`` from outside its task: kill its worker, cancel its Service call."""
        if run.aborted is None:
            run.aborted = reason
        if run.scope is not None:
            run.scope.cancel()
        if run.worker is not None:
            run.worker.terminate()

    async def _watchdog(self) -> None:
        """Kill the workers of runs that overran their timeout by WATCHDOG_GRACE_S, and
        stop the Service call of a run whose worker died meanwhile, timeout or not (the
        run's task reads nothing from the worker while a Service runs)."""
        while True:
            if not self._runs:
                self._watchdog_wake = anyio.Event()
                await self._watchdog_wake.wait()
                self._watchdog_wake = None
            await anyio.sleep(WATCHDOG_TICK_S)
            now = time.monotonic()
            for run in list(self._runs):
                if run.aborted is not None:
                    continue
                if run.deadline is not None and now > run.deadline:
                    self._abort(run, AbortReason.WATCHDOG)
                elif run.in_call and run.worker and run.worker.exited:
                    self._abort(run, AbortReason.WORKER_DIED)

    # ---- workers ----

    async def _checkout(self, until: float | None) -> WorkerHandle:
        """An idle worker for the caller's run, waiting in FIFO order if there is none
        (until ``until``: then PoolTimeoutError)."""
        if self._cancelling:  # a run retried after aclose(cancel=True)
            raise PoolClosedError("the Pool was closed with the run in flight")
        self._drop_dead_idle()
        if self._idle and not self._waiters:
            worker = self._idle.pop()
            self._busy.add(worker)
            return worker
        waiter = _Waiter(anyio.Event())
        self._waiters.append(waiter)
        self._assign()
        try:
            with self._queue_wait(until, "for a worker"):
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

    def _drop_dead_idle(self) -> None:
        """Retire idle workers that died meanwhile (a run would spend an attempt on
        each, and all of its attempts on as many)."""
        for worker in [worker for worker in self._idle if worker.exited]:
            self._idle.remove(worker)
            self._busy.add(worker)  # held, as _retire wants it
            self._counts["crashed"] += 1
            self._retire(worker, kill=False)

    def _release(self, worker: WorkerHandle) -> None:
        """A held worker is free: idle, and to the first queued run if there is one."""
        self._busy.discard(worker)
        self._idle.append(worker)
        self._assign()

    def _assign(self, *, replace: bool = False) -> None:
        """The Pool's one scheduling decision, made whenever a worker or a run comes
        or goes: hand idle workers to queued runs (first come, first served; the
        worker idle the shortest first, its caches warm), and start workers for
        vacant slots: every one after a worker left an open Pool (``replace``), else
        as many as queued runs that no start under way will serve."""
        while self._waiters and self._idle:
            waiter = self._waiters.popleft()
            worker = self._idle.pop()
            self._busy.add(worker)
            waiter.worker = worker
            waiter.event.set()
        if replace and self._state is _State.OPEN:
            wanted = self._vacant
        else:
            wanted = len(self._waiters) - self._starting
        for _ in range(min(wanted, self._vacant)):
            self._vacant -= 1
            self._starting += 1
            self._spawn(self._replace)
        if self._state is _State.OPEN:
            slots = len(self._idle) + len(self._busy) + self._starting + self._vacant
            assert slots == self.workers, f"{slots} worker slots, expected {self.workers}"
        self._poke()

    def _ran(self, worker: WorkerHandle) -> None:
        """A held worker finished a run: release it, or recycle it after max_runs_per_worker."""
        worker.runs += 1
        if worker.runs < self.max_runs_per_worker:
            self._release(worker)
        else:
            self._counts["recycled"] += 1
            self._retire(worker, kill=False, stop=True)

    def _retire(
        self, worker: WorkerHandle, *, kill: bool, stop: bool = False, reaped: bool = False
    ) -> None:
        """A held worker leaves the Pool: stop, kill or reap it (in the background,
        unless the caller ``reaped`` it already) and start a replacement."""
        self._busy.discard(worker)
        self._workers.pop(worker, None)
        if not reaped:
            end = worker.stop if stop else worker.kill if kill else worker.reap
            self._spawn(end)
        self._vacant += 1
        self._assign(replace=True)

    async def _replace(self) -> None:
        try:
            worker = await self._start_worker(self._frame_cap)
        except START_ERRORS as exc:
            self._starting -= 1
            self._vacant += 1
            if self._waiters:  # tell one queued run, rather than leave it waiting
                waiter = self._waiters.popleft()
                waiter.error = PoolClosedError(f"could not start a worker: {exc}")
                waiter.event.set()
            self._assign()  # the other queued runs get another start
            return
        except BaseException:
            self._starting -= 1
            raise
        self._starting -= 1
        self._workers[worker] = None
        self._idle.append(worker)
        self._assign()

    async def _start_first(self) -> None:
        worker = await self._start_worker(self._frame_cap)
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
