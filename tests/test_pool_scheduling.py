"""Pool scheduling against fake workers (tests/fake_worker.py): queueing order and
room, queue_timeout, cancellation at each stage of a run, the watchdog, the retry of
a never-started run, recycling, aclose, and exact stats.

No process is started, so each test takes milliseconds; the grace periods are scaled
down (``fast_graces``). Real processes stay in test_pool.py and test_pool_faults.py
for SIGKILL, signals and RSS. After each test the Pool still keeps "idle + busy +
starting + vacant = workers", and its live workers are exactly the fakes still alive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from tests.fake_worker import (
    FAKE_PID_BASE,
    KILLED,
    LAST_REPLY,
    TAKE,
    Busy,
    CallService,
    Die,
    FakeBackend,
    Garbage,
    HalfFrame,
    Hang,
    Hold,
    IgnoreCancel,
    Plans,
    Return,
    SlowCancel,
    Stall,
    Wait,
)

import kobako_async as kobako
from kobako_async import (
    Execution,
    KobakoError,
    Pool,
    PoolClosedError,
    PoolFullError,
    PoolTimeoutError,
    WorkerCrashedError,
    _pool,
)

pytestmark = pytest.mark.anyio

TEST_BOUND_S = 5.0
"""Every test ends well within this (milliseconds as a rule): past it, it failed."""
GRACE_S = 0.05
WATCHDOG_TICK_S = 0.005


@pytest.fixture(autouse=True)
def fast_graces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scale the Pool's grace periods down from seconds to milliseconds."""
    monkeypatch.setattr(_pool, "WATCHDOG_GRACE_S", GRACE_S)
    monkeypatch.setattr(_pool, "WATCHDOG_TICK_S", WATCHDOG_TICK_S)
    monkeypatch.setattr(_pool, "CANCEL_GRACE_S", GRACE_S)


# ---- helpers ----


def slots(pool: Pool) -> int:
    return len(pool._idle) + len(pool._busy) + pool._starting + pool._vacant


@asynccontextmanager
async def fake_pool(
    plans: Plans | None = None, *, workers: int = 1, **kwargs: Any
) -> AsyncIterator[tuple[Pool, FakeBackend]]:
    """An open Pool of fake workers, checked when the test body is done: no run left
    queued or running, every slot accounted for, no worker leaked or lost."""
    with anyio.fail_after(TEST_BOUND_S):
        async with FakeBackend(plans) as backend:
            pool = Pool(workers=workers, **kwargs)
            pool._start_worker = backend.start_worker  # the seam: mypy checks the fake fits
            async with pool:
                yield pool, backend
                await eventually(lambda: pool._background == 0 and pool._starting == 0)
                stats = pool.stats()
                assert (stats["queued"], stats["running"]) == (0, 0)
                assert slots(pool) == pool.workers
                assert set(pool._workers) == backend.live()


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate`` holds (the test's fail_after bounds the wait)."""
    while not predicate():  # noqa: ASYNC110 - the conditions are not events
        await anyio.sleep(0.001)


def queued_are(pool: Pool, count: int) -> bool:
    return pool.stats()["queued"] == count


def stats(
    *, completed: int = 0, failed: int = 0, crashed: int = 0, recycled: int = 0
) -> dict[str, int]:
    """The stats of an idle Pool with these counts."""
    return {
        "queued": 0,
        "running": 0,
        "completed": completed,
        "failed": failed,
        "crashed": crashed,
        "recycled": recycled,
    }


class Runs:
    """Runs started in the background; each one's Execution or KobakoError by name."""

    def __init__(self, pool: Pool, tg: anyio.abc.TaskGroup) -> None:
        self.pool = pool
        self.tg = tg
        self.results: dict[str, Execution | KobakoError] = {}
        self.order: list[str] = []  # the order the runs returned or raised in
        self.finished: set[str] = set()  # their tasks ended (cancelled ones included)
        self.scopes: dict[str, anyio.CancelScope] = {}

    def start(self, script: str, **kwargs: Any) -> None:
        scope = self.scopes[script] = anyio.CancelScope()

        async def one() -> None:
            try:
                with scope:
                    try:
                        self.results[script] = await self.pool.run(script, **kwargs)
                    except KobakoError as exc:
                        self.results[script] = exc
                    self.order.append(script)
            finally:
                self.finished.add(script)

        self.tg.start_soon(one)

    def cancel(self, script: str) -> None:
        self.scopes[script].cancel()

    def ended(self, script: str) -> bool:
        return script in self.finished

    def value(self, script: str) -> object:
        result = self.results[script]
        assert isinstance(result, Execution), result
        return result.value


class Gate:
    """An async Service that waits until the test opens it."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.opened = anyio.Event()
        self.cancelled = False

    async def wait(self) -> str:
        self.entered.set()
        try:
            await self.opened.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        return "opened"


@asynccontextmanager
async def background(pool: Pool) -> AsyncIterator[Runs]:
    async with anyio.create_task_group() as tg:
        yield Runs(pool, tg)


async def cancelled_and_gone(pool: Pool, runs: Runs, script: str) -> None:
    """Cancel the run ``script`` and wait until its cleanup is over."""
    runs.cancel(script)
    await eventually(lambda: pool._background == 0 and not pool._busy)


# ---- queueing ----


async def test_queued_runs_get_the_worker_first_in_first_out() -> None:
    """With the one worker busy, queued runs get it in the order they queued."""
    gate = anyio.Event()
    async with fake_pool({"hold": (Hold(gate),)}) as (pool, backend):
        async with background(pool) as runs:
            runs.start("hold")
            await eventually(lambda: backend.taken == ["hold"])
            for queued, script in enumerate(["a", "b", "c", "d"], 1):
                runs.start(script)
                await eventually(partial(queued_are, pool, queued))
            gate.set()
        assert backend.taken == ["hold", "a", "b", "c", "d"]
        assert runs.order == ["hold", "a", "b", "c", "d"]
        assert [runs.value(s) for s in runs.order] == ["hold", "a", "b", "c", "d"]
        assert pool.stats() == stats(completed=5)


async def test_the_worker_idle_the_shortest_takes_the_next_run() -> None:
    """Of two idle workers, the one that finished last takes the next run."""
    first, second = anyio.Event(), anyio.Event()
    async with fake_pool({"one": (Hold(first),), "two": (Hold(second),)}, workers=2) as (
        pool,
        backend,
    ):
        async with background(pool) as runs:
            runs.start("one")
            runs.start("two")
            await eventually(lambda: len(backend.taken) == 2)
            second.set()
            await eventually(lambda: "two" in runs.results)
            first.set()
        (last,) = (worker for worker in backend.workers if worker.taken == ["one"])
        assert (await pool.run("next")).value == "next"
        assert last.taken == ["one", "next"]


async def test_queue_room_is_workers_plus_max_queue() -> None:
    """workers + max_queue runs are admitted; run_nowait refuses the next, and run waits
    for room outside the queue, then runs after the queued ones."""
    gate = anyio.Event()
    async with fake_pool({"hold": (Hold(gate),)}, max_queue=2) as (pool, backend):
        async with background(pool) as runs:
            runs.start("hold")
            await eventually(lambda: backend.taken == ["hold"])
            runs.start("a")
            await eventually(partial(queued_are, pool, 1))
            runs.start("b")
            await eventually(partial(queued_are, pool, 2))
            with pytest.raises(PoolFullError, match=r"^the queue holds 2 runs$"):
                await pool.run_nowait("refused")
            runs.start("waits")
            admission = pool._admission
            assert admission is not None
            await eventually(lambda: admission.statistics().tasks_waiting == 1)
            assert pool.stats()["queued"] == 2
            gate.set()
        assert backend.taken == ["hold", "a", "b", "waits"]
        assert "refused" not in backend.sent
        assert pool.stats() == stats(completed=4)


async def test_queue_timeout_while_waiting_for_queue_room() -> None:
    """A run that finds no queue room within queue_timeout fails without being sent."""
    gate = anyio.Event()
    async with fake_pool({"hold": (Hold(gate),)}, max_queue=1) as (pool, backend):
        async with background(pool) as runs:
            runs.start("hold")
            await eventually(lambda: backend.taken == ["hold"])
            runs.start("queued")
            await eventually(partial(queued_are, pool, 1))
            with pytest.raises(
                PoolTimeoutError,
                match=r"^no worker was free in time: the run waited for queue room past",
            ):
                await pool.run("late", queue_timeout=0.01)
            gate.set()
        assert backend.sent == ["hold", "queued"]
        assert pool.stats() == stats(completed=2)


async def test_queue_timeout_while_waiting_for_a_worker() -> None:
    """A queued run that gets no worker within queue_timeout leaves the queue unsent."""
    gate = anyio.Event()
    async with fake_pool({"hold": (Hold(gate),)}, queue_timeout=0.01) as (pool, backend):
        async with background(pool) as runs:
            runs.start("hold")
            await eventually(lambda: backend.taken == ["hold"])
            with pytest.raises(
                PoolTimeoutError,
                match=r"^no worker was free in time: the run waited for a worker past",
            ):
                await pool.run("late")
            assert pool.stats()["queued"] == 0
            gate.set()
        assert backend.sent == ["hold"]
        assert (await pool.run("after")).value == "after"
        assert pool.stats() == stats(completed=2)


async def test_queue_timeout_does_not_bound_a_run_that_has_its_worker() -> None:
    """queue_timeout bounds the wait for a worker, not the run itself."""
    async with fake_pool({"slow": (Busy(0.05),)}) as (pool, _):
        execution = await pool.run("slow", queue_timeout=0.001)
        assert type(execution.value) is str and execution.value == "slow"
        assert pool.stats() == stats(completed=1)


# ---- cancellation at each stage ----


async def test_cancelling_a_queued_run_takes_it_out_of_the_queue() -> None:
    """A queued run whose caller is cancelled leaves the queue at once and is never sent;
    the worker then serves the next run."""
    gate = anyio.Event()
    async with fake_pool({"hold": (Hold(gate),)}) as (pool, backend):
        async with background(pool) as runs:
            runs.start("hold")
            await eventually(lambda: backend.taken == ["hold"])
            runs.start("cancelled")
            await eventually(partial(queued_are, pool, 1))
            runs.cancel("cancelled")
            await eventually(lambda: runs.ended("cancelled"))
            assert pool.stats()["queued"] == 0
            gate.set()
        assert (await pool.run("next")).value == "next"
        assert backend.sent == ["hold", "next"]
        assert "cancelled" not in runs.results
        assert pool.stats() == stats(completed=2)


async def test_cancelling_while_the_run_frame_is_half_written_kills_the_worker() -> None:
    """Cancelled while its Run frame is half-written, the run leaves a torn stream: the
    worker is killed and replaced, and never sees the run."""
    async with fake_pool({"stalled": (Stall(10),)}) as (pool, backend):
        async with background(pool) as runs:
            runs.start("stalled")
            await eventually(lambda: backend.workers[0].torn)
            await cancelled_and_gone(pool, runs, "stalled")
        first = backend.workers[0]
        assert (first.ended, first.status) == ("killed", KILLED)
        assert backend.sent == [] and backend.taken == []
        assert (await pool.run("next")).value == "next"
        assert pool.worker_pids() == [FAKE_PID_BASE + 1]
        assert pool.stats() == stats(completed=1)


async def test_cancelling_a_sent_run_before_the_worker_takes_it_keeps_the_worker() -> None:
    """A Cancel that reaches the worker before it takes the run ends the run there
    ("cancelled before it started"); the worker is kept."""
    gate = anyio.Event()
    async with fake_pool({"slow-to-take": (Wait(gate), TAKE, Busy(10))}) as (pool, backend):
        worker = backend.workers[0]
        async with background(pool) as runs:
            runs.start("slow-to-take")
            await eventually(lambda: backend.sent == ["slow-to-take"])
            runs.cancel("slow-to-take")
            await eventually(lambda: len(worker.cancels) == 1)
            gate.set()
            await eventually(lambda: pool._background == 0 and not pool._busy)
        assert worker.ended is None
        assert (await pool.run("next")).value == "next"
        assert pool.worker_pids() == [worker.pid] and worker.runs == 2
        assert pool.stats() == stats(completed=1)


async def test_cancelling_a_running_guest_stops_it_and_keeps_the_worker() -> None:
    """A cancelled caller's running guest is stopped by a Cancel; the worker is kept."""
    gate = anyio.Event()  # never set: only the Cancel ends the run
    async with fake_pool({"busy": (Hold(gate),)}) as (pool, backend):
        worker = backend.workers[0]
        async with background(pool) as runs:
            runs.start("busy")
            await eventually(lambda: backend.taken == ["busy"])
            await cancelled_and_gone(pool, runs, "busy")
        assert len(worker.cancels) == 1 and worker.ended is None
        assert (await pool.run("next")).value == "next"
        assert pool.worker_pids() == [worker.pid]
        assert pool.stats() == stats(completed=1)


async def test_cancelling_during_a_service_call_cancels_the_service_and_keeps_the_worker() -> None:
    """Cancelled while its Service runs in the parent, the run's Service is cancelled, its
    guest stopped without a Reply, and the worker kept."""
    service = Gate()
    plans: Plans = {"calls": (CallService("G", "wait"), Return(LAST_REPLY))}
    async with fake_pool(plans) as (pool, backend):
        pool.bind("G", service)
        worker = backend.workers[0]
        async with background(pool) as runs:
            runs.start("calls")
            await service.entered.wait()
            await cancelled_and_gone(pool, runs, "calls")
        assert service.cancelled
        assert worker.replies == [] and len(worker.cancels) == 1 and worker.ended is None
        assert (await pool.run("next")).value == "next"
        assert pool.worker_pids() == [worker.pid]
        assert pool.stats() == stats(completed=1)


async def test_cancelling_after_the_run_ended_sends_nothing() -> None:
    """A caller cancelled after its run returned costs the worker nothing."""
    async with fake_pool() as (pool, backend):
        with anyio.CancelScope() as scope:
            execution = await pool.run("quick")
            scope.cancel()
            await anyio.lowlevel.checkpoint()
        assert execution.value == "quick"
        assert backend.workers[0].cancels == []
        assert pool.stats() == stats(completed=1)


@pytest.mark.parametrize(
    ("stages", "kept"),
    [
        pytest.param((SlowCancel(0.005),), True, id="stops-within-grace"),
        pytest.param((SlowCancel(10),), False, id="stops-after-grace"),
        pytest.param((IgnoreCancel(),), False, id="ignores-cancel"),
    ],
)
async def test_a_guest_slow_to_stop_is_killed_after_the_cancel_grace(
    monkeypatch: pytest.MonkeyPatch, stages: tuple[Any, ...], kept: bool
) -> None:
    """A cancelled guest that stops within CANCEL_GRACE_S keeps its worker; one that does
    not is killed and replaced (not counted as a crash)."""
    monkeypatch.setattr(_pool, "CANCEL_GRACE_S", 0.5 if kept else GRACE_S)
    gate = anyio.Event()
    async with fake_pool({"stubborn": (TAKE, *stages, Hold(gate))}) as (pool, backend):
        worker = backend.workers[0]
        async with background(pool) as runs:
            runs.start("stubborn")
            await eventually(lambda: backend.taken == ["stubborn"])
            await cancelled_and_gone(pool, runs, "stubborn")
        assert worker.ended == (None if kept else "killed")
        assert (await pool.run("next")).value == "next"
        assert len(backend.workers) == (1 if kept else 2)
        assert pool.stats() == stats(completed=1)


# ---- the watchdog ----


async def test_watchdog_kills_a_run_that_overruns_its_timeout() -> None:
    """A worker that does not stop its guest at the timeout is killed at timeout + grace:
    the run fails with TimeoutError and the worker is replaced."""
    async with fake_pool({"hangs": (TAKE, Hang())}, timeout=0.02) as (pool, backend):
        with pytest.raises(kobako.TimeoutError, match=r"^run exceeded its timeout of 0\.02 s$"):
            await pool.run("hangs")
        assert backend.workers[0].ended == "killed"
        assert (await pool.run("next")).value == "next"
        assert pool.stats() == stats(completed=1, failed=1)


async def test_watchdog_stops_a_service_call_that_overruns_the_timeout() -> None:
    """A Service that outlasts the run's timeout + grace is cancelled and the worker
    killed: TimeoutError."""
    service = Gate()
    async with fake_pool({"calls": (CallService("G", "wait"),)}, timeout=0.02) as (
        pool,
        backend,
    ):
        pool.bind("G", service)
        with pytest.raises(kobako.TimeoutError, match=r"^run exceeded its timeout of 0\.02 s$"):
            await pool.run("calls")
        assert service.cancelled
        assert backend.workers[0].ended == "killed"
        assert pool.stats() == stats(failed=1)


async def test_watchdog_covers_a_run_frame_stuck_half_written() -> None:
    """A run whose Run frame cannot be written is killed at timeout + grace too."""
    async with fake_pool({"stuck": (Stall(10),)}, timeout=0.02) as (pool, backend):
        with pytest.raises(kobako.TimeoutError, match=r"^run exceeded its timeout of 0\.02 s$"):
            await pool.run("stuck")
        assert backend.workers[0].ended == "killed" and backend.sent == []
        assert pool.stats() == stats(failed=1)


async def test_a_timeout_the_worker_enforces_keeps_the_worker() -> None:
    """A guest stopped by the worker's own deadline is a TimeoutError with no kill."""
    async with fake_pool({"loops": (Busy(10),)}, timeout=0.02) as (pool, backend):
        with pytest.raises(kobako.TimeoutError, match=r"^run exceeded its timeout of 0\.02 s$"):
            await pool.run("loops")
        assert backend.workers[0].ended is None
        assert (await pool.run("next")).value == "next"
        assert pool.worker_pids() == [backend.workers[0].pid]
        assert pool.stats() == stats(completed=1, failed=1)


async def test_watchdog_leaves_runs_without_a_timeout_alone() -> None:
    """A run with timeout=None outlasting every grace period is not killed."""
    async with fake_pool({"long": (Busy(0.1),)}, timeout=None) as (pool, backend):
        assert (await pool.run("long")).value == "long"
        assert backend.workers[0].ended is None
        assert pool.stats() == stats(completed=1)


@pytest.mark.parametrize(
    "run_timeout", [pytest.param(1.0, id="timeout"), pytest.param(None, id="none")]
)
async def test_a_worker_dying_during_a_service_call_fails_the_run(
    run_timeout: float | None,
) -> None:
    """The watchdog stops the Service call of a run whose worker died meanwhile, with or
    without a timeout: the run fails with WorkerCrashedError, the Service is cancelled,
    the worker replaced."""
    service = Gate()
    plans: Plans = {"calls": (CallService("G", "wait"),)}
    async with fake_pool(plans, timeout=run_timeout) as (pool, backend):
        pool.bind("G", service)
        async with background(pool) as runs:
            runs.start("calls")
            await service.entered.wait()
            # past the watchdog's first ticks after the run began: it must keep watching
            await anyio.sleep(10 * WATCHDOG_TICK_S)
            backend.workers[0].crash()
        error = runs.results["calls"]
        assert type(error) is WorkerCrashedError
        assert str(error) == f"worker {FAKE_PID_BASE} died (exit status {KILLED})"
        assert error.exit_status == KILLED
        assert service.cancelled
        assert (await pool.run("next")).value == "next"
        assert pool.stats() == stats(completed=1, failed=1, crashed=1)


# ---- retry: only a run no worker started ----


async def test_a_run_whose_worker_died_before_taking_it_runs_on_another() -> None:
    """A worker that dies before taking a run costs the run nothing: it is sent again to
    a replacement, and runs once."""
    async with fake_pool({"x": [(Die(),), ()]}) as (pool, backend):
        execution = await pool.run("x")
        assert type(execution.value) is str and execution.value == "x"
        assert backend.sent == ["x", "x"] and backend.taken == ["x"]
        assert [w.ended for w in backend.workers] == ["died", None]
        assert pool.stats() == stats(completed=1, crashed=1)


async def test_a_run_no_worker_would_take_fails_after_three_attempts() -> None:
    """A run whose every worker dies before taking it fails on the third with
    WorkerCrashedError."""
    async with fake_pool({"x": (Die(7),)}) as (pool, backend):
        with pytest.raises(
            WorkerCrashedError, match=rf"^worker {FAKE_PID_BASE + 2} died \(exit status 7\)$"
        ):
            await pool.run("x")
        assert backend.sent == ["x", "x", "x"] and backend.taken == []
        assert pool.stats() == stats(failed=1, crashed=3)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        pytest.param((TAKE, Die(3)), r"died \(exit status 3\)", id="dies-after-taking"),
        pytest.param((Busy(0.005), Die(3)), r"died \(exit status 3\)", id="dies-while-running"),
        pytest.param((HalfFrame(),), r"died \(exit status 1\)", id="half-written-done"),
    ],
)
async def test_a_run_the_worker_started_is_never_retried(plan: Any, message: str) -> None:
    """A worker that dies after taking its run fails that run (WorkerCrashedError): it
    is not sent again, since it may have had effects."""
    async with fake_pool({"x": plan}) as (pool, backend):
        with pytest.raises(WorkerCrashedError, match=rf"^worker {FAKE_PID_BASE} {message}$"):
            await pool.run("x")
        assert backend.sent == ["x"] and backend.taken == ["x"]
        assert (await pool.run("next")).value == "next"
        assert pool.stats() == stats(completed=1, failed=1, crashed=1)


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param((Garbage(),), id="before-taking"),
        pytest.param((TAKE, Garbage()), id="after-taking"),
        pytest.param((TAKE, Garbage(b"\xff\xff\xff\xff")), id="oversized-frame"),
    ],
)
async def test_a_worker_that_breaks_the_protocol_is_killed_and_its_run_fails(plan: Any) -> None:
    """Bytes that are not a valid frame fail the run (never retried: the stream is
    unusable, whatever the worker did) and the worker is killed."""
    async with fake_pool({"x": plan}) as (pool, backend):
        with pytest.raises(
            WorkerCrashedError, match=rf"^worker {FAKE_PID_BASE} broke the protocol \(frame "
        ):
            await pool.run("x")
        assert backend.sent == ["x"]
        assert backend.workers[0].ended == "killed"
        assert (await pool.run("next")).value == "next"
        assert pool.stats() == stats(completed=1, failed=1, crashed=1)


async def test_a_replacement_that_cannot_start_fails_one_queued_run() -> None:
    """When a worker's replacement fails to start, the first queued run fails with
    PoolClosedError instead of waiting, and the next queued run gets a fresh start."""
    gate = anyio.Event()
    async with fake_pool({"dies": (Hold(gate), Die())}) as (pool, backend):
        async with background(pool) as runs:
            runs.start("dies")
            await eventually(lambda: backend.taken == ["dies"])
            runs.start("first")
            await eventually(partial(queued_are, pool, 1))
            runs.start("second")
            await eventually(partial(queued_are, pool, 2))
            backend.fail_starts = 1
            gate.set()
        assert type(runs.results["dies"]) is WorkerCrashedError
        error = runs.results["first"]
        assert type(error) is PoolClosedError
        assert str(error) == "could not start a worker: fake worker start failed"
        assert runs.value("second") == "second"
        assert [w.taken for w in backend.workers] == [["dies"], ["second"]]
        assert pool.stats() == stats(completed=1, failed=1, crashed=1)


async def test_a_failed_start_with_no_queued_run_leaves_the_slot_to_the_next_run() -> None:
    """A replacement that fails to start with nothing queued leaves its slot vacant;
    the next run starts a worker for it."""
    gate = anyio.Event()
    async with fake_pool({"dies": (Hold(gate), Die())}) as (pool, backend):
        async with background(pool) as runs:
            runs.start("dies")
            await eventually(lambda: backend.taken == ["dies"])
            backend.fail_starts = 1
            gate.set()
        await eventually(lambda: pool._background == 0)
        assert (pool._vacant, len(pool._idle), backend.fail_starts) == (1, 0, 0)
        assert (await pool.run("next")).value == "next"
        assert pool.stats() == stats(completed=1, failed=1, crashed=1)


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
async def test_a_worker_that_died_idle_costs_no_run(workers: int) -> None:
    """Workers that died while idle (however many) are found out by the next run, which
    goes to a replacement: it spends none of its attempts on them."""
    async with fake_pool(workers=workers) as (pool, backend):
        for worker in backend.workers:
            worker.crash()
        assert (await pool.run("x")).value == "x"
        assert backend.taken == ["x"]
        assert pool.stats() == stats(completed=1, crashed=workers)


# ---- recycling ----


async def test_workers_are_recycled_after_max_runs_per_worker() -> None:
    """A worker that ran max_runs_per_worker runs is stopped (not killed) and replaced."""
    async with fake_pool(max_runs_per_worker=2) as (pool, backend):
        for n in range(5):
            assert (await pool.run(f"run {n}")).value == f"run {n}"
        assert [w.taken for w in backend.workers] == [
            ["run 0", "run 1"],
            ["run 2", "run 3"],
            ["run 4"],
        ]
        assert [w.ended for w in backend.workers] == ["stopped", "stopped", None]
        assert [w.runs for w in backend.workers] == [2, 2, 1]
        assert pool.stats() == stats(completed=5, recycled=2)


# ---- aclose with runs at each stage ----


def aclose_plans(gate: anyio.Event) -> Plans:
    return {
        "running": (Hold(gate),),
        "calling": (CallService("G", "wait"), Return(LAST_REPLY)),
        "slow-to-take": (Wait(gate), TAKE, Return("taken")),
    }


async def start_one_of_each(pool: Pool, backend: FakeBackend, runs: Runs) -> None:
    """A run at each stage: running, in a Service call, sent but not taken, queued."""
    runs.start("running")
    runs.start("calling")
    runs.start("slow-to-take")
    await eventually(lambda: len(backend.sent) == 3 and len(backend.taken) == 2)
    runs.start("queued")
    await eventually(partial(queued_are, pool, 1))


async def test_aclose_waits_for_runs_at_every_stage() -> None:
    """aclose() refuses new runs, lets running, calling, unsent and queued runs finish,
    then stops every worker."""
    gate, service = anyio.Event(), Gate()
    async with FakeBackend(aclose_plans(gate)) as backend:
        pool = Pool(workers=3)
        pool._start_worker = backend.start_worker  # the seam: mypy checks the fake fits
        with anyio.fail_after(TEST_BOUND_S):
            async with pool, background(pool) as runs:
                pool.bind("G", service)
                await start_one_of_each(pool, backend, runs)
                closing = anyio.Event()

                async def close() -> None:
                    await pool.aclose()
                    closing.set()

                runs.tg.start_soon(close)
                await eventually(lambda: pool._state is _pool._State.CLOSING)
                with pytest.raises(PoolClosedError, match=r"^the Pool is closed$"):
                    await pool.run("refused")
                assert not closing.is_set()
                gate.set()
                service.opened.set()
                await closing.wait()
        assert {s: runs.value(s) for s in runs.results} == {
            "running": "running",
            "calling": "opened",
            "slow-to-take": "taken",
            "queued": "queued",
        }
        assert [w.ended for w in backend.workers] == ["stopped"] * 3
        assert pool.stats() == stats(completed=4)


async def test_aclose_cancel_fails_runs_at_every_stage() -> None:
    """aclose(cancel=True) fails running, calling, unsent and queued runs with
    PoolClosedError, cancels their Service calls and kills their workers."""
    gate, service = anyio.Event(), Gate()  # never opened
    async with FakeBackend(aclose_plans(gate)) as backend:
        pool = Pool(workers=3)
        pool._start_worker = backend.start_worker  # the seam: mypy checks the fake fits
        with anyio.fail_after(TEST_BOUND_S):
            async with pool, background(pool) as runs:
                pool.bind("G", service)
                await start_one_of_each(pool, backend, runs)
                await pool.aclose(cancel=True)
        assert set(runs.results) == {"running", "calling", "slow-to-take", "queued"}
        for script, error in runs.results.items():
            assert type(error) is PoolClosedError, script
            assert str(error) == "the Pool was closed with the run in flight"
        assert service.cancelled
        assert [w.ended for w in backend.workers] == ["killed"] * 3
        assert sorted(backend.taken) == ["calling", "running"]
        assert pool.stats() == stats(failed=3)
