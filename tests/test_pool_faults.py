"""Pool fault injection: Services that misbehave, workers killed at each stage, signals
to the parent and to its process group, and a parent killed outright.

After each fault: no result is lost or crossed, ``run``/``map`` raise nothing but a
KobakoError (or the caller's own exception), the Pool serves on or closes cleanly,
and no process is left behind. Signal and orphan cases run the parent as a
subprocess script in its own session, so the signals reach nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from kobako_async import (
    Job,
    KobakoError,
    MapResult,
    MessageSizeError,
    Pool,
    ServiceError,
    TimeoutError,
    WorkerCrashedError,
)

pytestmark = pytest.mark.anyio

SUBPROCESS_WAIT_S = 60.0


# ---- helpers ----


def worker_children() -> list[int]:
    """Live children of this process that are Pool workers (by command line)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        for pid in children:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if b"kobako_async._worker" in command and is_live(int(pid)):
                found.append(int(pid))
    return found


@pytest.fixture(scope="module")
async def pool(anyio_backend: object) -> AsyncIterator[Pool]:
    """One two-worker Pool per backend with a 5 s timeout, left serving by each test;
    once it is closed, no worker process of this test process is left."""
    async with Pool(workers=2, timeout=5.0) as shared:
        yield shared
    assert worker_children() == []


def proc_state(pid: int) -> str:
    """The State line of /proc/<pid>/status; empty once the process is reaped."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""
    for line in text.splitlines():
        if line.startswith("State:"):
            return line.split(":", 1)[1].strip()
    return ""


def is_live(pid: int) -> bool:
    """The process exists and is not a zombie."""
    state = proc_state(pid)
    return bool(state) and not state.startswith(("Z", "X"))


async def eventually(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 - the conditions are not events
            await anyio.sleep(0.01)


async def assert_serving(pool: Pool) -> None:
    """Every worker slot serves a run again (all at once, so a dead idle worker is
    found and replaced), and then every worker is live and the Pool idle."""
    arrived, full = 0, anyio.Event()

    async def arrive() -> int:
        nonlocal arrived
        arrived += 1
        if arrived == pool.workers:
            full.set()
        await full.wait()
        return 42

    results: list[object] = []

    async def one() -> None:
        results.append((await pool.run("B.call", bind={"B": arrive})).value)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(pool.workers):
                tg.start_soon(one)
        await eventually(lambda: pool.stats()["running"] == pool.stats()["queued"] == 0)
    assert results == [42] * pool.workers
    assert len(pool.worker_pids()) == pool.workers
    assert all(is_live(pid) for pid in pool.worker_pids())


def worker_serving(pool: Pool, service: object) -> int:
    """The pid of the worker carrying the run that has ``service`` bound (read from the
    Pool's private table of runs in flight)."""
    for run in pool._runs:
        if run.worker is not None and any(o is service for o in run.dispatcher.bindings.values()):
            return run.worker.pid
    raise AssertionError("no run in flight has that service bound")


class Gate:
    """An async Service a run waits in until the test opens it."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.opened = anyio.Event()

    async def wait(self, value: object = None) -> object:
        self.entered.set()
        await self.opened.wait()
        return value


class Boom(BaseException):
    """A BaseException of the application's own."""


# ---- Services that misbehave ----


def _raiser(exc: BaseException) -> Callable[[], Any]:
    def service() -> Any:
        raise exc

    return service


def _async_raiser(exc: BaseException) -> Callable[[], Any]:
    async def service() -> Any:
        await anyio.lowlevel.checkpoint()
        raise exc

    return service


BASE_EXCEPTIONS = [
    pytest.param(KeyboardInterrupt, id="KeyboardInterrupt"),
    pytest.param(SystemExit, id="SystemExit"),
    pytest.param(GeneratorExit, id="GeneratorExit"),
    pytest.param(Boom, id="own-BaseException"),
]


@pytest.mark.parametrize("make", [_raiser, _async_raiser], ids=["sync", "async"])
@pytest.mark.parametrize("kind", BASE_EXCEPTIONS)
async def test_service_base_exception_reaches_the_caller_and_keeps_the_worker(
    pool: Pool, kind: type[BaseException], make: Callable[[BaseException], Any]
) -> None:
    """A Service raising a BaseException that is not an Exception (KeyboardInterrupt,
    SystemExit...) stops the guest and re-raises it to the caller, as Python code
    expects; the worker is kept (not killed) and serves the next run."""
    before = set(pool.worker_pids())
    crashed = pool.stats()["crashed"]
    with anyio.fail_after(20):
        with pytest.raises(kind, match="from the service"):
            await pool.run("S.call; loop {}", bind={"S": make(kind("from the service"))})
        await assert_serving(pool)
    assert set(pool.worker_pids()) == before
    assert pool.stats()["crashed"] == crashed


@pytest.mark.parametrize(
    ("exc", "klass"),
    [
        (ValueError("bad value"), "ValueError"),
        (KeyError("k"), "KeyError"),
        (RecursionError("deep"), "RecursionError"),
        (MemoryError("host memory"), "MemoryError"),
        (StopAsyncIteration("stop"), "StopAsyncIteration"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
async def test_service_exception_is_a_service_error(pool: Pool, exc: Exception, klass: str) -> None:
    """Any Exception from a Service (sync or async) is a ServiceError naming its class,
    rescuable in Ruby; nothing else escapes run."""
    for make in (_raiser, _async_raiser):
        with pytest.raises(ServiceError) as caught:
            await pool.run("S.call", bind={"S": make(exc)})
        assert type(caught.value) is ServiceError and caught.value.klass == klass
        rescued = await pool.run(
            "begin; S.call; rescue => e; e.class.name; end", bind={"S": make(exc)}
        )
        assert rescued.value == "Kobako::ServiceError"
    await assert_serving(pool)


@pytest.mark.parametrize("anyio_backend", ["asyncio"], scope="module")
async def test_service_cancelling_itself_is_a_service_error(pool: Pool) -> None:
    """An async Service that raises CancelledError (its own upstream call cancelled)
    while the caller is not cancelled gives a ServiceError, not a cancellation."""

    async def cancelled() -> None:
        raise asyncio.CancelledError("upstream cancelled")

    got: BaseException | None = None
    try:
        await pool.run("S.call", bind={"S": cancelled})
    except BaseException as exc:  # noqa: BLE001 - the test is not cancelled: look at it
        got = exc
    await assert_serving(pool)
    assert type(got) is ServiceError


async def test_service_that_hangs_is_stopped_by_the_timeout(pool: Pool) -> None:
    """A Service that never returns ends its run with TimeoutError at the run's
    timeout (the watchdog); the Pool serves on."""

    async def hang() -> None:
        await anyio.sleep_forever()

    with anyio.fail_after(20):
        with pytest.raises(TimeoutError, match="timeout of 0.3 s"):
            await pool.run("S.call", bind={"S": hang}, timeout=0.3)
        await assert_serving(pool)


@pytest.mark.parametrize(
    ("value", "klass"),
    [
        (lambda: "\ud800", "UnicodeEncodeError"),  # a lone surrogate
        (lambda: (lambda a: (a.append(a), a)[1])([]), "ValueError"),  # a cycle
    ],
    ids=["lone-surrogate", "cycle"],
)
async def test_unencodable_reply_is_a_rescuable_service_error(
    pool: Pool, value: Callable[[], Any], klass: str
) -> None:
    """A Service reply that cannot be encoded is a Service error the script can
    rescue (never a raw exception out of run, never a dead worker)."""
    script = "begin; S.call; :unreached; rescue => e; [e.class.name, e.message]; end"
    got = (await pool.run(script, bind={"S": value})).value
    assert got[0] == "Kobako::ServiceError" and klass in got[1]
    with pytest.raises(ServiceError, match=klass):
        await pool.run("S.call", bind={"S": value})
    await assert_serving(pool)


async def test_enormous_reply_is_a_rescuable_message_size_error(pool: Pool) -> None:
    """A Service reply over max_message_bytes (16 MiB) is a rescuable MessageSizeError;
    unrescued, run raises MessageSizeError; the worker survives."""
    before = set(pool.worker_pids())

    def enormous() -> str:
        return "z" * (20 << 20)

    script = "begin; S.call; rescue => e; e.class.name; end"
    assert (await pool.run(script, bind={"S": enormous})).value == "Kobako::MessageSizeError"
    with pytest.raises(MessageSizeError, match="over max_message_bytes"):
        await pool.run("S.call", bind={"S": enormous})
    assert set(pool.worker_pids()) == before


# ---- map under faults ----


async def test_map_with_every_kind_of_fault_loses_and_crosses_nothing(pool: Pool) -> None:
    """A batch mixing good jobs with failing Services, bad Jobs, limits and a killed
    worker yields exactly one result per input, each with its own value or a
    KobakoError; the Pool serves on."""
    killed = anyio.Event()

    def kill_my_worker() -> None:
        os.kill(worker_serving(pool, kill_my_worker), signal.SIGKILL)
        killed.set()

    jobs: list[str | Job] = []
    for i in range(40):
        match i % 8:
            case 1:
                jobs.append(Job("S.call", bind={"S": _raiser(ValueError(f"job {i}"))}))
            case 2:
                jobs.append(Job("1", bind=[("A", 1)]))  # type: ignore[arg-type]
            case 3:
                jobs.append(Job("loop {}", timeout=0.1))
            case 5 if i == 5:
                jobs.append(Job("K.call; loop {}", bind={"K": kill_my_worker}))
            case _:
                jobs.append(f"[{i}, {i} * 2]")
    with anyio.fail_after(60):
        async with pool.map(jobs, concurrency=4) as results:
            got: list[MapResult] = [r async for r in results]
    assert sorted(r.index for r in got) == list(range(40))
    for r in got:
        assert (r.execution is None) != (r.error is None)
        if r.error is not None:
            assert isinstance(r.error, KobakoError)
        if r.index % 8 in (0, 4, 6, 7) or (r.index % 8 == 5 and r.index != 5):
            assert r.execution is not None and r.execution.value == [r.index, r.index * 2]
    by_index = {r.index: r for r in got}
    assert type(by_index[5].error) is WorkerCrashedError and killed.is_set()
    assert type(by_index[3].error) is TimeoutError
    await assert_serving(pool)


async def test_async_inputs_that_raise_mid_iteration(pool: Pool) -> None:
    """An async generator of inputs that raises after some items: their results come
    first, then map raises the generator's exception; the Pool serves on."""

    async def inputs() -> AsyncIterator[str]:
        for i in range(3):
            yield f"{i}"
        raise ConnectionError("the input stream dropped")

    got: list[MapResult] = []
    with anyio.fail_after(20), pytest.raises(ConnectionError, match="input stream dropped"):
        async with pool.map(inputs()) as results:
            async for result in results:
                got.append(result)
    assert {r.index: r.execution.value for r in got if r.execution} == {0: 0, 1: 1, 2: 2}
    await assert_serving(pool)


async def test_map_job_base_exception_stops_the_batch_and_reaches_the_consumer(
    pool: Pool,
) -> None:
    """A Service's KeyboardInterrupt in one job cancels the rest of the batch and is
    raised to map's consumer; the Pool serves on."""
    jobs = [Job("S.call", bind={"S": _raiser(KeyboardInterrupt("stop the batch"))})]
    jobs += [Job("G.wait", bind={"G": Gate()}) for _ in range(3)]
    with anyio.fail_after(20), pytest.raises(KeyboardInterrupt, match="stop the batch"):
        async with pool.map(jobs) as results:
            async for _ in results:
                pass
    await assert_serving(pool)


# ---- workers killed at each stage ----


async def test_worker_killed_mid_service_call_fails_that_run_only(pool: Pool) -> None:
    """SIGKILL of a worker while the parent serves its Service call: the Service is
    cancelled and that run gets WorkerCrashedError(-9) without waiting for it; a
    concurrent run is untouched."""
    gate, other = Gate(), Gate()
    cancelled = anyio.Event()
    outcome: dict[str, object] = {}

    async def never() -> None:
        gate.entered.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async def run(name: str, script: str, bind: dict[str, Any]) -> None:
        try:
            outcome[name] = (await pool.run(script, bind=bind)).value
        except KobakoError as exc:
            outcome[name] = exc

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "victim", "N.call", {"N": never})
            await gate.entered.wait()
            tg.start_soon(run, "bystander", "O.wait(:fine)", {"O": other})
            await other.entered.wait()
            victim = worker_serving(pool, never)
            os.kill(victim, signal.SIGKILL)
            await eventually(lambda: "victim" in outcome)
            assert cancelled.is_set()
            other.opened.set()
    crashed = outcome["victim"]
    assert type(crashed) is WorkerCrashedError and crashed.exit_status == -signal.SIGKILL
    assert str(victim) in str(crashed)
    assert outcome["bystander"] == "fine"
    await assert_serving(pool)


async def test_worker_killed_mid_frame_fails_that_run_only(pool: Pool) -> None:
    """SIGKILL of a worker while the parent writes it a reply larger than a pipe
    buffer (the frame half-written) gives WorkerCrashedError, never a hang."""
    victim: list[int] = []

    def big_reply() -> str:
        victim.append(worker_serving(pool, big_reply))
        os.kill(victim[0], signal.SIGKILL)
        return "r" * (8 << 20)

    with anyio.fail_after(30):
        with pytest.raises(WorkerCrashedError) as caught:
            await pool.run("S.call.size", bind={"S": big_reply}, memory_limit=256 << 20)
        assert caught.value.exit_status == -signal.SIGKILL
        assert str(victim[0]) in str(caught.value)
        await assert_serving(pool)


async def test_worker_killed_idle_and_mid_run_in_a_row(pool: Pool) -> None:
    """Workers SIGKILLed while idle and while running are replaced; every later run
    succeeds and none is lost."""
    with anyio.fail_after(60):
        for round_ in range(3):
            await assert_serving(pool)
            pid = pool.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)  # idle
            assert (await pool.run(f"{round_}")).value == round_
            started = anyio.Event()
            mark = started.set  # one bound method, to find its run by
            async with anyio.create_task_group() as tg:
                results: list[object] = []

                async def spin(mark: Callable[[], None], results: list[object]) -> None:
                    try:
                        await pool.run("S.call; loop {}", bind={"S": mark}, timeout=10)
                    except WorkerCrashedError as exc:
                        results.append(exc.exit_status)

                tg.start_soon(spin, mark, results)
                await started.wait()
                os.kill(worker_serving(pool, mark), signal.SIGKILL)
            assert results == [-signal.SIGKILL]
        await assert_serving(pool)


# ---- signals and orphans: the parent as a subprocess script ----

_PARENT = textwrap.dedent(
    """
    import os, signal, sys, time
    import anyio
    from kobako_async import Pool, PoolClosedError

    backend, scenario = sys.argv[1], sys.argv[2]

    def say(*words):
        print(*words, flush=True)

    async def main():
        async with Pool(workers=2, timeout=None) as pool:
            entered, release = anyio.Event(), anyio.Event()

            async def hold():
                entered.set()
                await release.wait()
                return "held"

            result = {}

            async def go(script, bind):
                try:
                    result["v"] = (await pool.run(script, bind=bind)).value
                except PoolClosedError as exc:
                    result["v"] = "closed"

            if scenario == "graceful":  # the application handles SIGINT itself
                with anyio.open_signal_receiver(signal.SIGINT) as signals:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(go, "H.call", {"H": hold})
                        await entered.wait()
                        say("pids", *pool.worker_pids())
                        async for _ in signals:
                            break
                        release.set()
                say("result", result["v"])
                say("after", (await pool.run("1 + 1")).value)
                return
            async with anyio.create_task_group() as tg:
                if scenario == "spin":  # a guest with no deadline, and no end
                    tg.start_soon(go, "H.call; loop {}", {"H": entered.set})
                else:
                    tg.start_soon(go, "H.call", {"H": hold})
                await entered.wait()
                if scenario == "spin-forked":
                    child = os.fork()
                    if child == 0:  # holds every pipe open: no EOF reaches the workers
                        time.sleep(120)
                        os._exit(0)
                    say("fork", child)
                    tg.start_soon(go, "H.call; loop {}", {"H": lambda: say("spinning")})
                say("pids", *pool.worker_pids())
                await anyio.sleep_forever()

    def interrupted(exc):  # a KeyboardInterrupt, maybe inside the script's task group
        inner = getattr(exc, "exceptions", ())
        return isinstance(exc, KeyboardInterrupt) or any(map(interrupted, inner))

    try:
        anyio.run(main, backend=backend)
    except BaseException as exc:
        if not interrupted(exc):
            raise
        say("interrupted")
    say("closed")
    """
)

BACKENDS = [pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")]


class Parent:
    """A parent process running ``_PARENT`` in its own session."""

    def __init__(self, backend: str, scenario: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _PARENT, backend, scenario],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
        )
        self.lines: list[str] = []

    def read_until(self, prefix: str) -> list[str]:
        """The words of the first stdout line starting with ``prefix``."""
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"parent exited before {prefix!r}: {self.finish()}")
            self.lines.append(line.strip())
            if line.startswith(prefix):
                return line.split()[1:]

    def finish(self) -> tuple[int, str, str]:
        """Wait for the parent; (exit status, the rest of stdout, stderr)."""
        out, err = self.process.communicate(timeout=SUBPROCESS_WAIT_S)
        return self.process.returncode, "\n".join([*self.lines, out]), err

    def kill(self) -> None:
        """Kill the parent's group if it still runs, and close our ends of its pipes
        (a process it forked may hold theirs, so they are not read to the end)."""
        # the whole group, even with the parent gone: workers a failing test left
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def gone_within(pids: list[int], seconds: float = 10.0) -> list[int]:
    """The pids still live after up to ``seconds`` (polling)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(is_live(p) for p in pids):
        time.sleep(0.02)
    return [p for p in pids if is_live(p)]


@pytest.fixture
def parents() -> Any:
    """Parents started by a test; anything of theirs still live is killed after it."""
    started: list[Parent] = []
    yield lambda backend, scenario: started.append(Parent(backend, scenario)) or started[-1]
    for parent in started:
        parent.kill()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_to_the_group_leaves_shutdown_to_the_parent(parents: Any, backend: str) -> None:
    """A terminal Ctrl-C (SIGINT to the process group) reaches the workers too, which
    ignore it: the application finishes its in-flight run, runs another and closes
    the Pool; no worker prints a traceback and none is left."""
    parent: Parent = parents(backend, "graceful")
    pids = [int(p) for p in parent.read_until("pids")]
    os.killpg(parent.process.pid, signal.SIGINT)
    status, out, err = parent.finish()
    assert (status, "Traceback" in err) == (0, False), err
    assert "result held" in out and "after 2" in out and "closed" in out
    assert gone_within(pids) == []


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "group"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_interrupting_the_parent_closes_the_pool(
    parents: Any, backend: str, to_group: bool
) -> None:
    """SIGINT that interrupts the parent (KeyboardInterrupt) closes the Pool on the
    way out: the parent exits normally, no worker prints a traceback, none is left."""
    parent: Parent = parents(backend, "hold")
    pids = [int(p) for p in parent.read_until("pids")]
    if to_group:
        os.killpg(parent.process.pid, signal.SIGINT)
    else:
        os.kill(parent.process.pid, signal.SIGINT)
    status, out, err = parent.finish()
    assert status == 0 and "interrupted" in out and "closed" in out, err
    assert "kobako_async" not in err  # no worker traceback
    assert gone_within(pids) == []


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "group"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_leaves_no_worker_behind(parents: Any, backend: str, to_group: bool) -> None:
    """SIGTERM kills the parent (Python's default), or the whole group: no worker
    outlives it, even one whose guest spins with no deadline."""
    parent: Parent = parents(backend, "spin")
    pids = [int(p) for p in parent.read_until("pids")]
    if to_group:
        os.killpg(parent.process.pid, signal.SIGTERM)
    else:
        os.kill(parent.process.pid, signal.SIGTERM)
    status, _, _ = parent.finish()
    assert status == -signal.SIGTERM
    assert gone_within(pids) == []


@pytest.mark.parametrize("scenario", ["spin", "spin-forked"], ids=["pipe-eof", "pipe-held"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_parent_sigkill_leaves_no_orphan(parents: Any, backend: str, scenario: str) -> None:
    """A parent SIGKILLed while its workers run ``loop {}`` with no timeout leaves no
    orphan: each worker exits, whether its pipe ends (EOF) or is held open by a
    process the parent forked (then the parent-death signal and the pid check act)."""
    parent: Parent = parents(backend, scenario)
    fork = None
    if scenario == "spin-forked":
        fork = int(parent.read_until("fork")[0])
    pids = [int(p) for p in parent.read_until("pids")]
    if scenario == "spin-forked":
        parent.read_until("spinning")  # both workers spin
    try:
        os.kill(parent.process.pid, signal.SIGKILL)
        parent.process.wait(timeout=SUBPROCESS_WAIT_S)
        assert gone_within(pids) == []
        if fork is not None:
            assert is_live(fork)  # it held the pipes the whole time
    finally:
        if fork is not None and is_live(fork):
            os.kill(fork, signal.SIGKILL)
