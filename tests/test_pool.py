"""Pool: worker processes, async Services in the caller's loop, failures kept to their run.

Runs on asyncio, asyncio with uvloop, and trio (see conftest). Most tests share one
two-worker Pool per backend and leave it as they found it; a test that needs other
settings, or that closes or breaks its Pool, starts its own.
"""

from __future__ import annotations

import asyncio
import builtins
import gc
import os
import random
import signal
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import sniffio

from kobako_async import (
    FILLABLE,
    Execution,
    FuelExhaustedError,
    InvalidScriptError,
    Job,
    JobError,
    KobakoError,
    MapResult,
    MemoryLimitError,
    MessageSizeError,
    NoServiceError,
    Pool,
    PoolClosedError,
    PoolFullError,
    PoolTimeoutError,
    Sandbox,
    SandboxError,
    ServiceError,
    Symbol,
    TimeoutError,
    TrapError,
    WorkerCrashedError,
)
from kobako_async._pool import CANCEL_GRACE_S, WATCHDOG_GRACE_S

pytestmark = pytest.mark.anyio

WORKER_MODULE = "kobako_async._worker"


# ---- helpers ----


@asynccontextmanager
async def open_pool(**kwargs: Any) -> AsyncIterator[Pool]:
    """``async with Pool(**kwargs)``."""
    async with Pool(**kwargs) as pool:
        yield pool


@pytest.fixture(scope="module")
async def pool(anyio_backend: object) -> AsyncIterator[Pool]:
    """One two-worker Pool per backend, shared by the tests that leave it usable."""
    async with open_pool(workers=2) as shared:
        shared.bind("Echo", lambda *args: list(args))
        shared.bind("Fill")
        yield shared


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


class Gate:
    """An async Service a run waits in: ``entered`` is set when a run calls ``wait``,
    which returns its argument once the test calls ``open``."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.opened = anyio.Event()
        self.cancelled = anyio.Event()
        self.calls = 0

    async def wait(self, value: object = None) -> object:
        self.calls += 1
        self.entered.set()
        try:
            await self.opened.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise
        return value

    def open(self) -> None:
        self.opened.set()


class Barrier:
    """An async Service: each call returns once ``parties`` calls are waiting."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.full = anyio.Event()

    async def arrive(self) -> int:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.full.set()
        await self.full.wait()
        return self.arrived


class Conn:
    """An object with no wire form: it reaches the guest as a Kobako::Handle."""

    def __init__(self, n: int) -> None:
        self.n = n

    def query(self, q: str) -> str:
        return f"{self.n}:{q}"


class Db:
    """Makes Conns (sync and async) and checks what comes back."""

    def __init__(self) -> None:
        self.made: list[Conn] = []

    def connect(self, n: int = 0) -> Conn:
        self.made.append(Conn(n))
        return self.made[-1]

    async def aconnect(self, n: int = 0) -> Conn:
        await anyio.lowlevel.checkpoint()
        return self.connect(n)

    def is_last(self, conn: object) -> bool:
        return conn is self.made[-1]


async def eventually(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 - the conditions are not events
            await anyio.sleep(0.01)


def proc_status(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a dict; empty once the process is gone (reaped)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def is_live(pid: int) -> bool:
    """The process exists and is not a zombie."""
    state = proc_status(pid).get("State", "")
    return bool(state) and not state.startswith(("Z", "X"))


async def all_slots_live(pool: Pool) -> set[int]:
    """Make every slot start its worker (one run each, all in flight at once); their pids."""
    barrier = Barrier(pool.workers)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(pool.workers):
                tg.start_soon(partial(pool.run, "B.arrive", bind={"B": barrier}))
    pids = set(pool.worker_pids())
    assert len(pids) == pool.workers
    return pids


def loop_kind() -> str:
    """The event loop running the caller: trio, asyncio, or uvloop."""
    library = sniffio.current_async_library()
    if library == "asyncio" and type(asyncio.get_running_loop()).__module__.startswith("uvloop"):
        return "uvloop"
    return library


def backend_kind(anyio_backend: object) -> str:
    if isinstance(anyio_backend, tuple):
        return "uvloop" if anyio_backend[1].get("use_uvloop") else anyio_backend[0]
    return str(anyio_backend)


def same_execution(got: Execution, expected: Execution) -> None:
    assert got.value == expected.value
    assert type(got.value) is type(expected.value)
    assert (got.stdout, got.stderr) == (expected.stdout, expected.stderr)
    assert (got.stdout_truncated, got.stderr_truncated) == (
        expected.stdout_truncated,
        expected.stderr_truncated,
    )
    assert got.usage.memory_peak_bytes == expected.usage.memory_peak_bytes
    assert got.usage.wall_time_s > 0


# ---- lifecycle ----


async def test_enter_returns_with_workers_ready() -> None:
    """After ``async with Pool(workers=2)`` two live worker children are up; exit reaps them."""
    async with open_pool(workers=2) as pool:
        pids = pool.worker_pids()
        assert len(set(pids)) == 2
        for pid in pids:
            status = proc_status(pid)
            assert is_live(pid) and int(status["PPid"]) == os.getpid()
            assert WORKER_MODULE in cmdline(pid)
        assert pool.stats() == dict.fromkeys(
            ("queued", "running", "completed", "failed", "crashed", "recycled"), 0
        )
        started = time.perf_counter()
        assert (await pool.run("1 + 1")).value == 2
        assert time.perf_counter() - started < 0.5  # no module load left for the first run
    assert pool.worker_pids() == []
    assert not any(proc_status(pid) for pid in pids)


async def test_workers_that_cannot_start_fail_the_enter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Workers that die during start-up (the guest vanished after ``Pool()`` checked it)
    make ``async with`` raise PoolClosedError saying so; nothing is left running."""
    pool = Pool(workers=2)
    monkeypatch.setenv("KOBAKO_WASM", str(tmp_path / "missing.wasm"))
    with pytest.raises(PoolClosedError, match="could not start a worker: it exited during"):
        async with pool:
            raise AssertionError("entered")  # pragma: no cover
    assert pool.worker_pids() == []
    with pytest.raises(PoolClosedError):
        await pool.run("nil")


async def test_run_before_enter_or_after_exit_is_refused() -> None:
    """A Pool not yet entered, or already closed, raises PoolClosedError; re-entry fails."""
    pool = Pool(workers=1)
    with pytest.raises(PoolClosedError, match="not open"):
        await pool.run("nil")
    async with pool:
        pass
    with pytest.raises(PoolClosedError, match="closed"):
        await pool.run("nil")
    with pytest.raises(PoolClosedError):
        await pool.run_nowait("nil")
    with pytest.raises(PoolClosedError):
        async for _ in pool.map(["nil"]):
            pass
    with pytest.raises(RuntimeError, match="only once"):
        await pool.__aenter__()


async def test_closed_pool_leaves_nothing_unclosed() -> None:
    """Collecting a closed Pool emits no ResourceWarning (no pipe or process left open)."""
    async with Pool(workers=1) as pool:
        await pool.run("nil")
    del pool
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"max_queue": 0}, {"max_runs_per_worker": -1}])
def test_bad_pool_arguments(kwargs: dict[str, int]) -> None:
    """workers, max_queue and max_runs_per_worker must be positive ints."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Pool(**kwargs)


# ---- same results and errors as Sandbox.run ----


@pytest.mark.parametrize(
    "script",
    [
        "nil",
        "1 + 1",
        '[1, -2.5, "héllo", :sym, {a: nil, 2**70 => [true, false]}, "\\xff"]',
        'puts "out"; warn "err"; print 1, 2; :done',
        's = "x" * 1024; 1100.times { print s }; 1',  # over the 1 MiB stdout cap
        "[rand(1_000_000), Time.now.to_i]",  # hermetic: seeded, fixed clock
        "a = Array.new(100_000) { |i| i }; a.size",
    ],
    ids=["nil", "int", "values", "output", "stdout-cap", "hermetic", "array"],
)
async def test_run_matches_sandbox(pool: Pool, sandbox: Sandbox, script: str) -> None:
    """Pool.run returns the Execution Sandbox.run does: value, output, flags, memory."""
    same_execution(await pool.run(script), sandbox.run(script))


async def test_seed_and_limit_overrides_match_sandbox(pool: Pool, sandbox: Sandbox) -> None:
    """Per-run seed (and limits) reach the worker as they do the Sandbox."""
    script = "Array.new(5) { rand(1000) }"
    for seed in (1, 2):
        got, expected = await pool.run(script, seed=seed), sandbox.run(script, seed=seed)
        same_execution(got, expected)
    assert (await pool.run(script, seed=1)).value != (await pool.run(script, seed=2)).value


@pytest.mark.parametrize(
    "script",
    [
        'def check(x)\n  raise ArgumentError, "bad #{x}"\nend\ncheck(7)\n',
        "x = 1\ny = )\n",
        "1..2",
        "Missing::Thing",
        "def f(n) = f(n + 1); f(0)",
        "Echo.nope",
    ],
    ids=["raise", "syntax", "no-wire-form", "name-error", "stack", "no-method"],
)
async def test_errors_match_sandbox(pool: Pool, script: str) -> None:
    """A failing script raises the same error class, message and backtrace as in a Sandbox."""
    sandbox = Sandbox().bind("Echo", lambda *args: list(args))
    with pytest.raises(KobakoError) as expected:
        sandbox.run(script)
    with pytest.raises(type(expected.value)) as got:
        await pool.run(script)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)
    for attr in ("klass", "message", "backtrace"):
        assert getattr(got.value, attr, None) == getattr(expected.value, attr, None)
    same_execution(got.value.execution, expected.value.execution)  # type: ignore[attr-defined]


async def test_memory_limit_error(pool: Pool, sandbox: Sandbox) -> None:
    """Reaching a per-run memory_limit raises MemoryLimitError, as in a Sandbox."""
    script = 'a = []; loop { a << "x" * 1000 }'
    with pytest.raises(MemoryLimitError) as expected:
        sandbox.run(script, memory_limit=16 << 20)
    with pytest.raises(MemoryLimitError) as got:
        await pool.run(script, memory_limit=16 << 20)
    assert str(got.value) == str(expected.value)
    assert got.value.execution.usage.memory_peak_bytes > 8 << 20
    assert (await pool.run("1")).value == 1


@pytest.mark.parametrize(
    ("script", "match"),
    [("puts \0 1", "NUL byte at offset 5"), (5, "must be a str"), ('"\ud800"', "UTF-8")],
    ids=["nul", "int", "surrogate"],
)
async def test_invalid_script_is_refused_before_queueing(
    pool: Pool, script: Any, match: str
) -> None:
    """An unusable script raises InvalidScriptError at once; nothing is queued or counted."""
    before = pool.stats()
    with pytest.raises(InvalidScriptError, match=match):
        await pool.run(script)
    with pytest.raises(InvalidScriptError, match=match):
        await pool.run_nowait(script)
    assert pool.stats() == before


async def test_service_error_carries_the_exception(pool: Pool) -> None:
    """A Service raising gives ServiceError whose __cause__ is that very exception (sync/async)."""
    raised: list[Exception] = []

    def sync_fail(x: int) -> None:
        raised.append(KeyError(x))
        raise raised[-1]

    async def async_fail() -> None:
        await anyio.lowlevel.checkpoint()
        raised.append(ValueError("async boom"))
        raise raised[-1]

    with pytest.raises(ServiceError) as info:
        await pool.run("puts :before; Bad.call(3)", bind={"Bad": sync_fail})
    assert (info.value.klass, info.value.message) == ("KeyError", "3")
    assert info.value.__cause__ is raised[0]
    assert info.value.execution.stdout == "before\n"

    with pytest.raises(ServiceError) as info:
        await pool.run("Bad.call", bind={"Bad": async_fail})
    assert (info.value.klass, info.value.message) == ("ValueError", "async boom")
    assert info.value.__cause__ is raised[1]

    rescued = "begin; Bad.call; rescue Kobako::ServiceError => e; e.message; end"
    assert (await pool.run(rescued, bind={"Bad": async_fail})).value == "ValueError: async boom"


# ---- Services ----


async def test_async_service_is_awaited_in_the_callers_loop(
    pool: Pool, anyio_backend: object
) -> None:
    """An ``async def`` Service runs in the caller's thread and event loop, and may await."""
    gate = Gate()
    seen: list[tuple[int, str]] = []

    async def probe(x: int) -> int:
        seen.append((threading.get_ident(), loop_kind()))
        return await gate.wait(x * 2)  # type: ignore[return-value]

    result: list[Execution] = []

    async def run() -> None:
        result.append(await pool.run("P.call(21) + 1", bind={"P": probe}))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await gate.entered.wait()
            assert not result  # the run waits on the Event this test holds
            gate.open()
    assert result[0].value == 43
    assert seen == [(threading.get_ident(), backend_kind(anyio_backend))]
    assert loop_kind() == backend_kind(anyio_backend)


async def test_sync_services_and_objects(pool: Pool) -> None:
    """Sync functions, lambdas, objects' methods (with keywords) and async methods all work."""

    class Calc:
        def __init__(self) -> None:
            self.total = 0

        def add(self, a: int, b: int = 0, *, scale: int = 1) -> int:
            self.total += (a + b) * scale
            return self.total

        async def aadd(self, a: int) -> int:
            await anyio.lowlevel.checkpoint()
            return self.add(a)

    calc = Calc()
    script = "[Calc.add(1, 2), Calc.add(1, scale: 10), Calc.aadd(4), Echo.call(1, :a), Sq.call(9)]"
    value = (await pool.run(script, bind={"Calc": calc, "Sq": lambda x: x * x})).value
    assert value == [3, 13, 17, [1, Symbol("a")], 81]
    assert calc.total == 17


async def test_per_run_bind_fills_and_shadows_for_one_run(pool: Pool) -> None:
    """``bind=`` fills a fillable path or shadows a bound one for that run only."""
    with pytest.raises(NoServiceError, match="not filled"):
        await pool.run("Fill.call")
    assert (await pool.run("Fill.call(1)", bind={"Fill": lambda x: x + 1})).value == 2
    assert (await pool.run("Echo.call(1)", bind={"Echo": lambda x: -x})).value == -1
    assert (await pool.run("Echo.call(1)")).value == [1]
    with pytest.raises(NoServiceError, match="not filled"):
        await pool.run("Fill.call")
    with pytest.raises(ValueError, match="needs an object"):
        await pool.run("nil", bind={"Fill": FILLABLE})


async def test_messages_larger_than_a_pipe_buffer(pool: Pool) -> None:
    """A request, a Service reply and call, and an outcome of megabytes all cross the
    pipes (which hold 64 KiB) intact, in both directions."""
    big = "y" * (3 << 20)
    value = (await pool.run("s = Big.call; [s.size, s[-1]]", bind={"Big": lambda: big})).value
    assert value == [3 << 20, "y"]
    assert (await pool.run("# " + "a" * (1 << 20) + "\n7")).value == 7
    assert (await pool.run("Echo.call('q' * (2 << 20))[0].size")).value == 2 << 20
    assert (await pool.run("'z' * (5 << 20)")).value == "z" * (5 << 20)


async def test_handles_live_in_the_parent(pool: Pool) -> None:
    """Host objects become Handles; passed back or returned, they are the very same objects."""
    db = Db()
    script = "a = Db.connect(1); b = Db.aconnect(2); [Db.is_last(b), a.query('q'), b, {k: [a]}]"
    value = (await pool.run(script, bind={"Db": db})).value
    a, b = db.made
    assert value[0] is True and value[1] == "1:q"
    assert value[2] is b and value[3][Symbol("k")][0] is a


async def test_runs_interleave_their_service_coroutines(pool: Pool) -> None:
    """Two runs whose async Services each wait for the other's both finish: no serializing."""
    a_in, b_in = anyio.Event(), anyio.Event()

    async def a() -> str:
        a_in.set()
        await b_in.wait()
        return "a"

    async def b() -> str:
        b_in.set()
        await a_in.wait()
        return "b"

    values: dict[str, object] = {}

    async def run(name: str, service: Callable[[], Any]) -> None:
        values[name] = (await pool.run("S.call", bind={"S": service})).value

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "a", a)
            tg.start_soon(run, "b", b)
    assert values == {"a": "a", "b": "b"}


async def test_many_runs_in_flight(pool: Pool) -> None:
    """Many concurrent runs all get their own result; at most ``workers`` run at once."""
    active = peak = 0

    async def work(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.005)
        active -= 1
        return i

    results: dict[int, object] = {}

    async def run(i: int) -> None:
        results[i] = (await pool.run(f"W.call({i}) * 2", bind={"W": work})).value

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(run, i)
    assert results == {i: 2 * i for i in range(40)}
    assert peak == pool.workers


# ---- the queue ----


async def test_bounded_queue() -> None:
    """With max_queue runs waiting, run_nowait raises PoolFullError and run waits for room."""
    gate = Gate()
    async with open_pool(workers=1, max_queue=1) as pool:
        results: dict[str, object] = {}

        async def run(name: str, script: str, nowait: bool = False) -> None:
            runner = pool.run_nowait if nowait else pool.run
            results[name] = (await runner(script, bind={"G": gate})).value

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, "busy", "G.wait(1)")
                await gate.entered.wait()  # the worker is taken
                tg.start_soon(run, "queued", "2", True)
                await eventually(lambda: pool.stats()["queued"] == 1)
                with pytest.raises(PoolFullError, match="holds 1 runs"):
                    await pool.run_nowait("3")
                tg.start_soon(run, "waiting", "4")
                with anyio.move_on_after(0.1):
                    await eventually(lambda: "waiting" in results)
                assert pool.stats()["queued"] == 1 and "waiting" not in results
                gate.open()
        assert results == {"busy": 1, "queued": 2, "waiting": 4}
        assert pool.stats()["completed"] == 3


# ---- cancellation and timeouts ----


async def test_cancelling_the_caller_stops_a_busy_guest(pool: Pool) -> None:
    """Cancelling the task awaiting run stops the guest at once and keeps its worker."""
    pids = await all_slots_live(pool)
    before = pool.stats()
    started = anyio.Event()
    scope = anyio.CancelScope()

    async def victim() -> None:
        with scope:
            await pool.run("Started.call; loop {}", bind={"Started": started.set})
            raise AssertionError("the run was not cancelled")  # pragma: no cover

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(victim)
            await started.wait()
            await anyio.sleep(0.05)  # let it spin in the busy loop
            scope.cancel()
    cancelled = time.perf_counter()
    assert scope.cancelled_caught
    await eventually(lambda: pool.stats()["running"] == 0)
    assert time.perf_counter() - cancelled < CANCEL_GRACE_S  # stopped, not killed after grace
    assert set(pool.worker_pids()) == pids
    assert (await pool.run("1")).value == 1
    assert await all_slots_live(pool) == pids  # the same workers serve the next runs
    assert pool.stats()["crashed"] == before["crashed"]


async def test_cancelling_the_caller_during_a_service_call(pool: Pool) -> None:
    """Cancelling the caller while its run awaits a Service cancels the Service too."""
    pids = await all_slots_live(pool)
    gate = Gate()
    with anyio.fail_after(10):
        with anyio.move_on_after(0.2) as scope:
            await pool.run("G.wait; loop {}", bind={"G": gate})
        assert scope.cancelled_caught
        await gate.cancelled.wait()
        await eventually(lambda: pool.stats()["running"] == 0)
    assert gate.calls == 1
    assert await all_slots_live(pool) == pids


async def test_cancelling_a_queued_run_never_starts_it(pool: Pool) -> None:
    """A run cancelled while it waits in the queue is skipped: its script never runs."""
    gate, never = Gate(), Gate()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(pool.workers):
                tg.start_soon(partial(pool.run, "G.wait", bind={"G": gate}))
            await eventually(lambda: gate.calls == pool.workers)
            with anyio.move_on_after(0.05):
                await pool.run("N.wait", bind={"N": never})
            assert pool.stats()["queued"] == 0  # it left the queue when cancelled
            gate.open()
        await eventually(lambda: pool.stats()["queued"] == 0 and pool.stats()["running"] == 0)
    assert never.calls == 0


async def test_timeout_stops_a_busy_loop(pool: Pool) -> None:
    """A run over its timeout raises TimeoutError (a TrapError and builtin one); worker kept."""
    pids = await all_slots_live(pool)
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match="timeout of 0.2 s") as info:
        await pool.run("loop {}", timeout=0.2)
    assert time.perf_counter() - started < 0.2 + WATCHDOG_GRACE_S  # the worker stopped it
    assert isinstance(info.value, TrapError) and isinstance(info.value, builtins.TimeoutError)
    assert await all_slots_live(pool) == pids


async def test_timeout_covers_a_hanging_service(pool: Pool) -> None:
    """A run stuck in an async Service still ends in TimeoutError (by the watchdog at latest)."""
    gate = Gate()
    started = time.perf_counter()
    with anyio.fail_after(0.2 + WATCHDOG_GRACE_S + 5):
        with pytest.raises(TimeoutError):
            await pool.run("G.wait", bind={"G": gate}, timeout=0.2)
    assert time.perf_counter() - started < 0.2 + WATCHDOG_GRACE_S + 1
    assert gate.cancelled.is_set()
    assert (await pool.run("1")).value == 1


# ---- crashes and recycling ----


async def test_sigkill_fails_only_that_run_and_replaces_the_worker(
    pool: Pool, anyio_backend: object
) -> None:
    """SIGKILL of a worker mid-run: that run gets WorkerCrashedError(-9), others finish."""
    pids = await all_slots_live(pool)
    before = pool.stats()
    gate = Gate()
    outcome: dict[str, object] = {}

    async def run_with(name: str, script: str, bind: dict[str, Any]) -> None:
        try:
            outcome[name] = (await pool.run(script, bind=bind)).value
        except KobakoError as exc:
            outcome[name] = exc

    async def run(name: str, script: str) -> None:
        await run_with(name, script, {"G": gate})

    def spinning() -> list[int]:
        return [p for p in pids if proc_status(p).get("State", "").startswith("R")]

    started = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "waiting", "G.wait(:fine)")
            await gate.entered.wait()  # that worker now blocks on its Service reply
            tg.start_soon(
                partial(run_with, "spinning", "S.call; loop {}", {"S": started.set, "G": gate})
            )
            await started.wait()  # and this one spins: the only worker in state R
            await eventually(lambda: len(spinning()) == 1)
            (victim,) = spinning()
            os.kill(victim, signal.SIGKILL)
            await eventually(lambda: "spinning" in outcome)
            gate.open()
    crashed = outcome["spinning"]
    assert isinstance(crashed, WorkerCrashedError) and isinstance(crashed, TrapError)
    assert crashed.exit_status == -signal.SIGKILL
    assert str(victim) in str(crashed) and crashed.execution.value is None
    assert outcome["waiting"] == "fine"
    assert victim not in pool.worker_pids()
    now = await all_slots_live(pool)
    assert now - pids and now & pids == pids - {victim}
    assert pool.stats()["crashed"] == before["crashed"] + 1


async def test_worker_killed_while_idle_fails_no_run() -> None:
    """A worker that died while idle is replaced; the next run succeeds, at once after
    the kill or later, and the death is counted as a crash but not as a failed run."""
    async with open_pool(workers=1) as pool:
        with anyio.fail_after(30):
            for i in range(3):
                (pid,) = pool.worker_pids()
                os.kill(pid, signal.SIGKILL)
                if i == 2:
                    await eventually(partial(lambda p: not is_live(p), pid))  # surely dead
                assert (await pool.run(f"{i}")).value == i
                await eventually(lambda: len(pool.worker_pids()) == 1)
                assert pid not in pool.worker_pids()
        stats = pool.stats()
        assert (stats["crashed"], stats["failed"], stats["completed"]) == (3, 0, 3)


async def test_recycling_after_max_runs_per_worker() -> None:
    """After max_runs_per_worker runs a worker is replaced by a fresh one, counted as recycled."""
    async with open_pool(workers=1, max_runs_per_worker=3) as pool:
        (first,) = pool.worker_pids()
        for i in range(3):
            assert (await pool.run(f"{i}")).value == i
        await eventually(lambda: pool.stats()["recycled"] == 1)
        await eventually(lambda: not proc_status(first))  # stopped and reaped
        assert (await pool.run("X = 1")).value == 1
        (second,) = pool.worker_pids()
        assert second != first
        for _ in range(2):
            await pool.run("nil")
        await eventually(lambda: pool.stats()["recycled"] == 2)
        assert pool.stats()["crashed"] == 0 and pool.stats()["completed"] == 6


_NOISE = """\
import os, sys, threading, time

def _flood():
    # the worker moves its protocol pipe off fd 1 first; wait for fd 1 to share fd 2's file
    while os.readlink("/proc/self/fd/1") != os.readlink("/proc/self/fd/2"):
        time.sleep(0.001)
    frame = b"\\x00\\x00\\x00\\x03\\x91\\x00\\x01"  # looks like a protocol frame
    for i in range(1500):
        print("noise from print()", i)
        os.write(1, b"noise on fd 1 " * 40 + frame + b"\\n")
        os.write(2, b"noise on fd 2 " * 40 + frame + b"\\n")
        if i == 20:
            open(os.environ["KOBAKO_TEST_NOISE"], "w").close()
        time.sleep(0.001)

if os.environ.get("KOBAKO_TEST_NOISE"):
    threading.Thread(target=_flood, daemon=True).start()
"""


async def test_worker_noise_never_corrupts_the_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker printing and writing to fds 1 and 2 (frames even) keeps serving runs."""
    (tmp_path / "sitecustomize.py").write_text(_NOISE)
    marker = tmp_path / "flooding"
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("KOBAKO_TEST_NOISE", str(marker))
    counter = 0

    async def tick() -> int:
        nonlocal counter
        counter += 1
        await anyio.lowlevel.checkpoint()
        return counter

    async with open_pool(workers=2) as pool:
        await eventually(marker.exists)  # the children are flooding
        results: list[object] = []

        async def run(i: int) -> None:
            script = f'puts "out"; n = 0; 50.times {{ n = T.call }}; [{i}, n > 0]'
            results.append((await pool.run(script, bind={"T": tick})).value)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(run, i)
        assert sorted(results) == [[i, True] for i in range(20)]  # type: ignore[type-var]
        assert counter == 1000
        assert pool.stats()["crashed"] == 0 and pool.stats()["completed"] == 20


# ---- load and storms ----


def rss_bytes(pid: int) -> int:
    return int(proc_status(pid)["VmRSS"].split()[0]) * 1024


async def test_load_runs_echo_their_own_ids_and_worker_rss_stays_flat() -> None:
    """20,000 runs at concurrency 500, each echoing its own id through an async Service:
    none lost, duplicated or crossed. Worker RSS after 10,000 runs each stays within 10%
    of RSS after 1,000."""
    total, concurrency = 20_000, 500
    calls: dict[int, int] = {}
    results: dict[int, object] = {}
    early: dict[int, int] = {}

    async def echo(i: int) -> int:
        await anyio.lowlevel.checkpoint()  # let other runs' Services interleave
        calls[i] = calls.get(i, 0) + 1
        return i

    async with open_pool(workers=2, max_runs_per_worker=total) as pool:
        pool.bind("Echo", echo)
        pids = pool.worker_pids()
        ids = iter(range(total))

        async def drain() -> None:
            for i in ids:  # the tasks share the iterator: each id is taken once
                results[i] = (await pool.run(f"[{i}, Echo.call({i})]")).value
                if len(results) == 2_000:  # about 1,000 runs per worker
                    early.update((pid, rss_bytes(pid)) for pid in pids)

        with anyio.fail_after(600):
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(drain)
        late = {pid: rss_bytes(pid) for pid in pids}
        assert pool.worker_pids() == pids
        stats = pool.stats()
    assert results == {i: [i, i] for i in range(total)}
    assert calls == dict.fromkeys(range(total), 1)
    assert (stats["completed"], stats["failed"], stats["crashed"]) == (total, 0, 0)
    for pid in pids:
        assert late[pid] <= early[pid] * 1.1, (pid, early[pid], late[pid])


async def test_cancellation_storm_leaves_the_pool_serving(pool: Pool) -> None:
    """Hundreds of runs cancelled at random moments (queued, computing, awaiting a
    Service) leave nothing stuck and no worker killed; the Pool then serves normally."""
    pids = await all_slots_live(pool)
    before = pool.stats()
    rng = random.Random(5)
    gate = Gate()  # never opened: a run waiting in it stays there until cancelled
    scripts = [
        "loop {}",
        "G.wait",
        "nil",
        "i = 0; while i < 200_000; i += 1; end; i",
        "S.call; loop {}",
        "3.times { S.call }; G.wait",
    ]

    service_calls = 0

    def service() -> None:
        nonlocal service_calls
        service_calls += 1

    async def victim() -> None:
        script, delay = rng.choice(scripts), rng.uniform(0, 0.03)
        with anyio.move_on_after(delay):
            await pool.run(script, bind={"G": gate, "S": service})

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(victim)
                await anyio.sleep(rng.uniform(0, 0.003))  # a storm that lasts
        await eventually(lambda: pool.stats()["running"] == pool.stats()["queued"] == 0, 30)
    assert gate.calls > 5 and gate.cancelled.is_set() and service_calls > 5  # it hit guests
    assert (await pool.run("1 + 1")).value == 2
    assert await all_slots_live(pool) == pids  # each guest was stopped, no worker killed
    assert pool.stats()["crashed"] == before["crashed"]


# ---- closing ----


async def test_aclose_waits_for_in_flight_and_queued_runs() -> None:
    """aclose refuses new runs but lets the in-flight and queued ones finish, then reaps."""
    gate = Gate()
    results: dict[str, object] = {}
    refused: list[BaseException] = []
    closed = anyio.Event()
    with anyio.fail_after(20):
        # the runs' task group encloses the Pool: aclose is called where the Pool was entered
        async with anyio.create_task_group() as tg, open_pool(workers=1) as pool:
            (pid,) = pool.worker_pids()

            async def run(name: str, script: str) -> None:
                results[name] = (await pool.run(script, bind={"G": gate})).value

            async def check_then_open() -> None:
                with anyio.move_on_after(0.1):
                    await closed.wait()  # aclose must not return while runs are pending
                assert not closed.is_set() and not results
                for runner in (pool.run, pool.run_nowait):
                    try:
                        await runner("3")
                    except PoolClosedError as exc:
                        refused.append(exc)
                gate.open()

            tg.start_soon(run, "in-flight", "G.wait(1)")
            await gate.entered.wait()
            tg.start_soon(run, "queued", "2")
            await eventually(lambda: pool.stats()["queued"] == 1)
            tg.start_soon(check_then_open)
            await pool.aclose()
            closed.set()
            assert results == {"in-flight": 1, "queued": 2}
            assert len(refused) == 2
            assert pool.worker_pids() == [] and not proc_status(pid)


async def test_aclose_cancel_fails_in_flight_and_queued_runs() -> None:
    """aclose(cancel=True) fails in-flight and queued runs with PoolClosedError, promptly."""
    gate = Gate()
    errors: dict[str, BaseException] = {}
    with anyio.fail_after(CANCEL_GRACE_S + 5):
        async with anyio.create_task_group() as tg, open_pool(workers=1) as pool:
            (pid,) = pool.worker_pids()

            async def run(name: str, script: str) -> None:
                try:
                    await pool.run(script, bind={"G": gate})
                except KobakoError as exc:
                    errors[name] = exc

            tg.start_soon(run, "in-flight", "G.wait(1)")
            await gate.entered.wait()
            tg.start_soon(run, "queued", "2")
            await eventually(lambda: pool.stats()["queued"] == 1)
            started = time.perf_counter()
            await pool.aclose(cancel=True)
            assert time.perf_counter() - started < CANCEL_GRACE_S
            assert pool.worker_pids() == [] and not proc_status(pid)
            assert gate.cancelled.is_set()
            with pytest.raises(PoolClosedError):
                await pool.run("nil")
            await pool.aclose()  # closing again is a no-op
    assert set(errors) == {"in-flight", "queued"}
    assert all(isinstance(e, PoolClosedError) for e in errors.values())


async def test_aclose_from_another_task() -> None:
    """aclose called from a task other than the Pool's owner closes it all the same,
    waiting for the run in flight; the owner's exit afterwards is a no-op."""
    gate = Gate()
    results: list[object] = []
    with anyio.fail_after(20):
        async with open_pool(workers=1) as pool:
            (pid,) = pool.worker_pids()
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    results.append((await pool.run("G.wait(7)", bind={"G": gate})).value)

                tg.start_soon(run)
                await gate.entered.wait()
                tg.start_soon(pool.aclose)
                await eventually(lambda: pool._state.value == "closing")
                with pytest.raises(PoolClosedError):
                    await pool.run("nil")
                assert not results and is_live(pid)
                gate.open()
            assert results == [7]
            assert pool.worker_pids() == [] and not proc_status(pid)
            with pytest.raises(PoolClosedError):
                await pool.run("nil")


async def test_aclose_cancel_from_another_task_and_inside_a_scope() -> None:
    """aclose(cancel=True) works from any task; aclose works inside a scope opened after
    the Pool was entered."""
    gate = Gate()
    errors: list[BaseException] = []
    with anyio.fail_after(20):
        async with open_pool(workers=1) as pool:
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    try:
                        await pool.run("G.wait", bind={"G": gate})
                    except PoolClosedError as exc:
                        errors.append(exc)

                tg.start_soon(run)
                await gate.entered.wait()
                tg.start_soon(partial(pool.aclose, cancel=True))
            assert len(errors) == 1 and gate.cancelled.is_set()
            assert pool.worker_pids() == []
        async with open_pool(workers=1) as pool:
            with anyio.CancelScope():
                await pool.aclose()
            assert pool.worker_pids() == []


# ---- map ----


async def test_map_yields_in_completion_order_with_failures_as_values(pool: Pool) -> None:
    """map yields each result as it completes, tagged with its index; failures are values."""
    gate = Gate()
    inputs: list[str | Job] = [
        Job("G.wait(:slow)", bind={"G": gate}),
        "1 + 1",
        'raise "boom"',
        "nil",
    ]
    got: list[MapResult] = []
    with anyio.fail_after(20):
        async for result in pool.map(inputs):
            got.append(result)
            if len(got) == 3:
                gate.open()  # the first input finishes only after the other three
    assert [r.index for r in got][-1] == 0 and sorted(r.index for r in got) == [0, 1, 2, 3]
    by_index = {r.index: r for r in got}
    assert by_index[0].execution is not None and by_index[0].execution.value == "slow"
    assert by_index[1].execution is not None and by_index[1].execution.value == 2
    failed = by_index[2]
    assert failed.execution is None and isinstance(failed.error, SandboxError)
    assert failed.error.message == "boom"
    assert by_index[3].error is None and by_index[3].execution is not None


async def test_map_jobs_carry_bind_and_seed(pool: Pool, sandbox: Sandbox) -> None:
    """A Job's bind and seed apply to its run only."""
    jobs = [Job("[V.call, rand(1000)]", bind={"V": lambda i=i: i}, seed=i) for i in range(4)]
    got = {r.index: r.execution.value async for r in pool.map(jobs) if r.execution}
    assert got == {i: [i, sandbox.run("rand(1000)", seed=i).value] for i in range(4)}


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_map_respects_concurrency(pool: Pool, concurrency: int) -> None:
    """At most ``concurrency`` of map's runs are in flight at once (seen by a Service)."""
    active = peak = 0

    async def work() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.02)
        active -= 1

    jobs = [Job("W.call", bind={"W": work}) for _ in range(6)]
    with anyio.fail_after(20):
        results = [r async for r in pool.map(jobs, concurrency=concurrency)]
    assert len(results) == 6 and all(r.error is None for r in results)
    assert peak == concurrency


# trio warns about any async generator abandoned unexhausted; aclosing() avoids it (below)
@pytest.mark.filterwarnings(
    "ignore:Async generator 'kobako_async._pool.Pool.map' was garbage collected:ResourceWarning"
)
async def test_map_early_break_does_not_hang() -> None:
    """Leaving ``async for`` over map early neither hangs nor errors; the Pool serves on."""
    with anyio.fail_after(20):  # covers the Pool's exit too: it must not wait on the batch
        async with open_pool(workers=2) as pool:
            async for result in pool.map(["nil"] * 200, concurrency=4):
                assert result.error is None
                break
            await eventually(lambda: pool.stats()["running"] == pool.stats()["queued"] == 0)
            assert (await pool.run("1")).value == 1
            assert pool.stats()["completed"] < 50  # the rest of the batch was dropped


async def test_map_early_exit_from_aclosing_is_clean(pool: Pool) -> None:
    """Leaving map early inside ``aclosing()`` stops the batch at once, warning-free."""
    before = pool.stats()["completed"]
    with anyio.fail_after(20):
        async with aclosing(pool.map(["nil"] * 200, concurrency=4)) as results:
            async for result in results:
                assert result.error is None
                break
        await eventually(lambda: pool.stats()["running"] == pool.stats()["queued"] == 0)
    assert pool.stats()["completed"] - before < 50
    assert (await pool.run("1")).value == 1


async def test_map_job_with_bad_bind_leaves_the_pool_serving() -> None:
    """A Job with an invalid bind fails that input (or map) only; the Pool keeps serving."""
    with anyio.fail_after(20):
        async with open_pool(workers=1) as pool:
            indices: list[int] = []
            try:
                async for result in pool.map(["1", Job("2", bind={"bad path": 1}), "3"]):
                    indices.append(result.index)
            except ValueError:
                pass  # raised to the consumer, as run raises it to its caller: fine
            else:
                assert sorted(indices) == [0, 1, 2]
            assert (await pool.run("4")).value == 4


# ---- stats ----


async def test_stats_counts(pool: Pool) -> None:
    """stats() counts queued and running runs now, and completed and failed ones so far."""
    before = pool.stats()
    gate = Gate()
    for script in ("1", "nil", "[]"):
        await pool.run(script)
    for script in ('raise "x"', "loop {}"):
        with pytest.raises(KobakoError):
            await pool.run(script, timeout=0.1)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(pool.workers + 1):
                tg.start_soon(partial(pool.run, "G.wait", bind={"G": gate}))
            await eventually(lambda: gate.calls == pool.workers)
            assert pool.stats()["running"] == pool.workers and pool.stats()["queued"] == 1
            gate.open()
    after = pool.stats()
    assert after["completed"] - before["completed"] == 3 + pool.workers + 1
    assert after["failed"] - before["failed"] == 2
    assert after["running"] == after["queued"] == 0
    assert after["crashed"] == before["crashed"] and after["recycled"] == before["recycled"]


# ---- map: every job ends as a MapResult (issue 12 item 3) ----


class Hostile:
    """A Service object whose every attribute lookup raises KeyError."""

    def __getattr__(self, name: str) -> object:
        raise KeyError(name)


async def collect(batch: Any) -> list[MapResult]:
    """Every result of ``batch``, read through ``async with`` (the structured form)."""
    async with batch as results:
        return [r async for r in results]


@pytest.mark.parametrize(
    ("job", "cause"),
    [
        (Job("1", bind=[("A", 1)]), TypeError),  # type: ignore[arg-type]
        (Job("1", bind={"bad path": 1}), ValueError),
        (Job("1", seed=-1), ValueError),
        (Job("1", timeout=float("nan")), ValueError),
        (Job("1", queue_timeout=0), ValueError),
    ],
    ids=["bind-as-list", "bad-path", "bad-seed", "nan-timeout", "zero-queue-timeout"],
)
async def test_map_bad_job_is_its_own_job_error(
    pool: Pool, job: Job, cause: type[Exception]
) -> None:
    """A Job with bad arguments ends as its own MapResult carrying a JobError whose
    cause is the argument error; the other jobs succeed and the Pool keeps serving."""
    with anyio.fail_after(20):
        results = await collect(pool.map(["1", job, "3"]))
        by_index = {r.index: r for r in results}
        assert sorted(by_index) == [0, 1, 2]
        bad = by_index[1]
        assert bad.execution is None and type(bad.error) is JobError
        assert type(bad.error.__cause__) is cause
        assert str(bad.error).startswith(f"job 1 failed: {cause.__name__}: ")
        assert [by_index[i].execution.value for i in (0, 2)] == [1, 3]  # type: ignore[union-attr]
        assert (await pool.run("4")).value == 4
        assert pool.stats()["running"] == pool.stats()["queued"] == 0


async def test_map_service_whose_getattr_raises_ends_its_job_only() -> None:
    """A Service whose ``__getattr__`` raises fails only its own job, with
    NoServiceError (never a bare KeyError out of map); the Pool's exit does not hang."""
    with anyio.fail_after(30):
        async with open_pool(workers=1) as pool:
            results = await collect(pool.map(["1", Job("H.anything", bind={"H": Hostile()}), "3"]))
            by_index = {r.index: r for r in results}
            assert sorted(by_index) == [0, 1, 2]
            assert type(by_index[1].error) is NoServiceError
            assert (await pool.run("4")).value == 4


@pytest.mark.parametrize("structured", [True, False], ids=["async-with", "async-for"])
async def test_map_inputs_that_raise_reach_the_consumer_after_in_flight_jobs(
    pool: Pool, structured: bool
) -> None:
    """An input iterable that raises makes map raise that exception to its consumer,
    after the results of the jobs already started; the Pool keeps serving."""
    gate = Gate()

    def inputs() -> Any:
        yield Job("G.wait(:first)", bind={"G": gate})
        yield "2"
        raise LookupError("the inputs broke")

    got: list[MapResult] = []

    async def consume(results: Any) -> None:
        async for result in results:
            got.append(result)
            if result.index == 1:
                gate.open()  # the in-flight job 0 ends only after the inputs broke

    with anyio.fail_after(20):
        with pytest.raises(LookupError, match="the inputs broke"):
            if structured:
                async with pool.map(inputs()) as results:
                    await consume(results)
            else:
                await consume(pool.map(inputs()))
    assert sorted(r.index for r in got) == [0, 1]
    assert {r.index: r.execution.value for r in got if r.execution} == {0: "first", 1: 2}
    assert (await pool.run("5")).value == 5


async def test_map_takes_an_async_iterable(pool: Pool) -> None:
    """Inputs may come from an async iterable (an async generator, say)."""

    async def inputs() -> AsyncIterator[str | Job]:
        for i in range(5):
            await anyio.lowlevel.checkpoint()
            yield f"{i} * 10" if i % 2 else Job(f"{i} * 10", seed=i)

    with anyio.fail_after(20):
        results = await collect(pool.map(inputs()))
    assert {r.index: r.execution.value for r in results if r.execution} == {
        i: i * 10 for i in range(5)
    }


async def test_map_keeps_trap_errors_as_results(pool: Pool) -> None:
    """A job stopped by a limit (TimeoutError, FuelExhaustedError) is yielded with that
    exact error, never dropped."""
    jobs = [
        Job("loop {}", timeout=0.2),
        "1",
        Job("loop {}", fuel=100_000, timeout=5.0),
        Job('raise "x"'),
    ]
    with anyio.fail_after(20):
        results = await collect(pool.map(jobs))
    by_index = {r.index: r for r in results}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert type(by_index[0].error) is TimeoutError
    assert by_index[1].execution is not None and by_index[1].execution.value == 1
    assert type(by_index[2].error) is FuelExhaustedError
    assert type(by_index[3].error) is SandboxError


async def test_map_left_early_from_async_with_cancels_the_rest(pool: Pool) -> None:
    """Leaving ``async with pool.map(...)`` early cancels its runs: the Pool is idle
    soon after, having run only a few of the 200 jobs."""
    before = pool.stats()["completed"]
    with anyio.fail_after(20):
        async with pool.map(["nil"] * 200, concurrency=4) as results:
            async for result in results:
                assert result.error is None
                break
        await eventually(lambda: pool.stats()["running"] == pool.stats()["queued"] == 0)
    assert pool.stats()["completed"] - before < 50
    assert (await pool.run("1")).value == 1


async def test_map_batch_is_read_once(pool: Pool) -> None:
    """A map batch runs once: entering it again is a RuntimeError, and iterating it
    again yields nothing."""
    batch = pool.map(["1", "2"])
    assert sorted(r.execution.value for r in await collect(batch) if r.execution) == [1, 2]
    with pytest.raises(RuntimeError, match="only once"):
        async with batch:
            pass  # pragma: no cover
    assert [r async for r in batch] == []


@pytest.mark.parametrize("inputs", [5, "1 + 1", Job("1"), None], ids=repr)
async def test_map_refuses_inputs_that_are_not_an_iterable(pool: Pool, inputs: object) -> None:
    """map's inputs must be an iterable of scripts and Jobs: one script (a str is an
    iterable of characters) or Job is a TypeError at the call."""
    with pytest.raises(TypeError, match="map takes an iterable of scripts and Jobs, not "):
        pool.map(inputs)  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
async def test_map_refuses_bad_concurrency(pool: Pool, concurrency: object) -> None:
    """concurrency must be a positive int."""
    with pytest.raises(ValueError, match="concurrency must be a positive int"):
        pool.map(["1"], concurrency=concurrency)  # type: ignore[arg-type]


# ---- queue_timeout and per-run options (issue 12 item 13) ----


async def test_queue_timeout_raises_pool_timeout_error_without_running() -> None:
    """A run that finds no free worker within queue_timeout (per run or per Pool)
    raises PoolTimeoutError and never starts; the busy run is unaffected."""
    calls = 0

    def count() -> None:
        nonlocal calls
        calls += 1

    gate = Gate()
    with anyio.fail_after(30):
        async with open_pool(workers=1, queue_timeout=0.1) as pool:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(pool.run, "G.wait", bind={"G": gate}))
                await gate.entered.wait()
                with pytest.raises(PoolTimeoutError, match="no worker was free in time"):
                    await pool.run("C.call", bind={"C": count}, queue_timeout=0.05)
                with pytest.raises(PoolTimeoutError) as caught:
                    await pool.run("C.call", bind={"C": count})  # the Pool's 0.1 s
                assert isinstance(caught.value, builtins.TimeoutError)
                assert not isinstance(caught.value, TimeoutError)  # not a guest timeout
                results = await collect(
                    pool.map([Job("C.call", bind={"C": count}, queue_timeout=0.05)])
                )
                assert type(results[0].error) is PoolTimeoutError
                assert pool.stats()["queued"] == 0
                gate.open()
            assert calls == 0
            assert (await pool.run("C.call; 1", bind={"C": count}, queue_timeout=None)).value == 1
            assert calls == 1


async def test_queue_timeout_bounds_waiting_for_queue_room() -> None:
    """queue_timeout also bounds the wait for queue room (max_queue full)."""
    gate = Gate()
    with anyio.fail_after(30):
        async with open_pool(workers=1, max_queue=1) as pool:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(pool.run, "G.wait", bind={"G": gate}))
                await gate.entered.wait()
                tg.start_soon(pool.run, "1")
                await eventually(lambda: pool.stats()["queued"] == 1)
                with pytest.raises(PoolTimeoutError, match="queue room"):
                    await pool.run("2", queue_timeout=0.05)
                gate.open()
            assert (await pool.run("3")).value == 3


@pytest.mark.parametrize(
    ("bind", "error", "match"),
    [
        ([("A", 1)], TypeError, "bind must be a mapping of paths to objects, not list"),
        ({"bad path": 1}, ValueError, "invalid service path 'bad path'"),
        ({"Fill": FILLABLE}, ValueError, "per-run binding for 'Fill' needs an object"),
    ],
    ids=["list", "bad-path", "fillable"],
)
async def test_bad_bind_is_refused_at_the_call(
    pool: Pool, bind: object, error: type[Exception], match: str
) -> None:
    """run raises TypeError/ValueError for a malformed bind before queueing; the Pool
    keeps serving."""
    before = pool.stats()
    with pytest.raises(error, match=match):
        await pool.run("1", bind=bind)  # type: ignore[arg-type]
    assert pool.stats() == before
    assert (await pool.run("2")).value == 2


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "1"], ids=repr)
def test_bad_queue_timeout_is_refused(value: object) -> None:
    """queue_timeout must be seconds in (0, 86400] or None."""
    with pytest.raises(ValueError, match="queue_timeout must be seconds"):
        Pool(workers=1, queue_timeout=value)  # type: ignore[arg-type]


async def test_fuel_reaches_the_worker(pool: Pool, sandbox: Sandbox) -> None:
    """fuel set per run, per Job, or per Pool meters the guest as in the Sandbox."""
    with pytest.raises(FuelExhaustedError, match=r"used up its fuel \(100000\)"):
        await pool.run("loop {}", fuel=100_000, timeout=5.0)
    with pytest.raises(FuelExhaustedError):
        sandbox.run("loop {}", fuel=100_000, timeout=5.0)
    assert (await pool.run("1 + 1", fuel=10_000_000)).value == 2
    async with open_pool(workers=1, fuel=100_000, timeout=5.0) as metered:
        with pytest.raises(FuelExhaustedError):
            await metered.run("loop {}")


async def test_job_carries_every_per_run_option(pool: Pool) -> None:
    """A Job's timeout, memory_limit and fuel apply to its run, as run's arguments do."""
    jobs = [
        Job("loop {}", timeout=0.2),
        Job('"x" * (8 << 20)', memory_limit=4 << 20),
        Job("loop {}", fuel=50_000, timeout=5.0),
        Job('"x" * (8 << 20); :ok', memory_limit=64 << 20),
    ]
    with anyio.fail_after(20):
        results = {r.index: r for r in await collect(pool.map(jobs))}
    assert type(results[0].error) is TimeoutError
    assert type(results[1].error) is MemoryLimitError
    assert type(results[2].error) is FuelExhaustedError
    assert results[3].execution is not None and results[3].execution.value == Symbol("ok")


async def test_queue_is_served_first_in_first_out() -> None:
    """Runs waiting for a worker get one in the order they queued."""
    gate = Gate()
    order: list[int] = []
    with anyio.fail_after(30):
        async with open_pool(workers=1) as pool:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(pool.run, "G.wait", bind={"G": gate}))
                await gate.entered.wait()
                for i in range(4):
                    tg.start_soon(partial(pool.run, f"O.call({i})", bind={"O": order.append}))
                    await eventually(partial(lambda n: pool.stats()["queued"] == n, i + 1))
                gate.open()
    assert order == [0, 1, 2, 3]


# ---- the frame cap follows the limits (issue 12 item 8) ----


async def test_outcome_over_max_message_bytes_is_message_size_error_as_in_sandbox() -> None:
    """A 70 MB outcome under a 1 GiB memory limit gives the Sandbox's MessageSizeError
    in the Pool too, and the worker survives it."""
    script = '"x" * 70_000_000'
    with pytest.raises(MessageSizeError) as in_sandbox:
        Sandbox(memory_limit=1 << 30).run(script)
    async with open_pool(workers=1, memory_limit=1 << 30) as pool:
        (pid,) = pool.worker_pids()
        with pytest.raises(MessageSizeError) as in_pool:
            await pool.run(script)
        assert str(in_pool.value) == str(in_sandbox.value)
        assert in_pool.value.message.startswith("the run's outcome is 70000")
        assert in_pool.value.execution.usage.memory_peak_bytes > 70_000_000
        assert pool.worker_pids() == [pid] and pool.stats()["crashed"] == 0
        assert (await pool.run("1")).value == 1


async def test_service_call_past_the_frame_cap_is_never_framed() -> None:
    """A 70 MB Service call, past the parent's frame cap as well as max_message_bytes,
    is the Sandbox's rescuable MessageSizeError in the Pool: the worker sends only its
    size, so it is not killed for breaking the protocol."""
    script = 'begin; Echo.call("x" * 70_000_000); rescue => e; [e.class.name, e.message]; end'
    sandbox = Sandbox(memory_limit=1 << 30).bind("Echo", lambda *a: 0)
    expected = sandbox.run(script).value
    assert type(expected) is list and expected[0] == "Kobako::MessageSizeError"
    size = expected[1].removeprefix("Service call of ").split(" ")[0]
    assert size.isdigit() and 70_000_000 < int(size) < 70_000_100
    assert expected[1] == f"Service call of {size} bytes is over max_message_bytes (16777216)"
    async with open_pool(workers=1, memory_limit=1 << 30) as pool:
        pool.bind("Echo", lambda *a: 0)
        (pid,) = pool.worker_pids()
        assert (await pool.run(script)).value == expected
        assert pool.worker_pids() == [pid] and pool.stats()["crashed"] == 0
        assert (await pool.run("1")).value == 1


async def test_large_reply_under_a_large_max_message_bytes_works_as_in_sandbox() -> None:
    """A 70 MiB Service reply under max_message_bytes=128 MiB reaches the script in the
    Pool as in the Sandbox."""
    size = 70 << 20
    script = "s = S.call; [s.size, s[0], s[-1]]"
    expected = [size, "y", "y"]
    sandbox = Sandbox(memory_limit=1 << 30, max_message_bytes=128 << 20)
    assert sandbox.bind("S", lambda: "y" * size).run(script).value == expected
    async with open_pool(workers=1, memory_limit=1 << 30, max_message_bytes=128 << 20) as pool:
        pool.bind("S", lambda: "y" * size)
        assert (await pool.run(script)).value == expected
        assert pool.stats()["crashed"] == 0


async def test_service_call_over_max_message_bytes_is_rescuable_as_in_sandbox(
    pool: Pool,
) -> None:
    """A Service call over max_message_bytes is refused with the Sandbox's rescuable
    MessageSizeError; it counts as a call, and the worker survives it."""
    script = 'begin; Echo.call("x" * 17_000_000); rescue => e; [e.class.name, e.message]; end'
    pids = set(pool.worker_pids())
    got = (await pool.run(script, memory_limit=256 << 20)).value
    big = Sandbox(memory_limit=256 << 20)
    assert got == big.bind("Echo", lambda *a: list(a)).run(script).value
    assert got[0] == "Kobako::MessageSizeError"
    assert got[1].startswith("Service call of 1700")
    assert got[1].endswith("over max_message_bytes (16777216)")
    assert set(pool.worker_pids()) == pids
    limited = Sandbox(max_service_calls=1, memory_limit=256 << 20)
    limited.bind("E", lambda *a: 1)
    two = 'E.call; begin; E.call("x" * 17_000_000); rescue => e; e.class.name; end'
    async with open_pool(workers=1, max_service_calls=1, memory_limit=256 << 20) as one_call:
        one_call.bind("E", lambda *a: 1)
        assert (await one_call.run(two)).value == limited.run(two).value


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_message_bytes": (1 << 32) - 1},
        {"stdout_limit": (1 << 32) - 1, "stderr_limit": 1 << 20},
    ],
    ids=["max_message_bytes", "output"],
)
def test_limits_a_frame_cannot_carry_are_refused(kwargs: dict[str, int]) -> None:
    """Limits whose outcome frame would not fit the protocol's 4-byte length are
    refused when the Pool is made."""
    with pytest.raises(ValueError, match="must be at most .* bytes in a Pool"):
        Pool(workers=1, **kwargs)
