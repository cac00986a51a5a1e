"""Run limits (timeout, memory, fuel, Service calls, message size) and the isolation
profiles (hermetic, permissive), through the real guest."""

from __future__ import annotations

import builtins
import math
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from kobako_async import (
    FuelExhaustedError,
    KobakoError,
    MemoryLimitError,
    MessageSizeError,
    Pool,
    Sandbox,
    SandboxError,
    ServiceCallLimitError,
    TimeoutError,
    TrapError,
    guest_info,
)
from kobako_async._deadline import (
    EPOCH_TICK_S,
    MAIN_THREAD_CHECK_TICKS,
    MAX_CHECK_TICKS,
    EpochTicker,
    RunDeadline,
    StopReason,
    TickClock,
)
from kobako_async._guest import get_runner
from kobako_async._limits import MAX_TIMEOUT_S

MiB = 1 << 20


class Recorder:
    """A Service that records each call that reaches the host."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def echo(self, value: Any) -> Any:
        self.calls.append("echo")
        return value

    def blob(self, size: int) -> str:
        self.calls.append("blob")
        return "x" * size

    def nap(self, seconds: float) -> float:
        self.calls.append("nap")
        time.sleep(seconds)
        return seconds

    def mark(self) -> None:
        self.calls.append("mark")


def works(sandbox: Sandbox) -> bool:
    """The Sandbox still runs a script (with a Service call) after a failure."""
    return sandbox.run("[1 + 1, Svc.echo(:ok)]", bind={"Svc": Recorder()}).value == [2, "ok"]


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs), time.perf_counter() - started
    except KobakoError as exc:
        return exc, time.perf_counter() - started


@pytest.fixture
def svc() -> Recorder:
    return Recorder()


def sandbox_with(svc: Recorder, **limits: Any) -> Sandbox:
    return Sandbox(**limits).bind("Svc", svc)


# ---- timeout ----


@pytest.mark.parametrize(
    "script",
    ["loop {}", "while true; end", "(1..).each {}", "x = 3; loop { x *= x }"],
    ids=["loop", "while", "endless-range", "bigint-squaring"],
)
def test_busy_script_times_out_promptly(script: str) -> None:
    """A busy script with timeout=0.2 raises TimeoutError within 2x of 0.25 s."""
    sandbox = Sandbox(timeout=0.2)
    err, elapsed = timed(sandbox.run, script)
    assert type(err) is TimeoutError
    assert 0.15 <= elapsed < 0.5
    assert 0.15 <= err.execution.usage.wall_time_s <= elapsed
    assert works(sandbox)


def test_timeout_error_is_a_trap_error_and_a_builtin_timeout_error() -> None:
    """TimeoutError is catchable as TrapError, KobakoError and builtins.TimeoutError."""
    with pytest.raises(builtins.TimeoutError) as info:
        Sandbox(timeout=0.05).run("loop {}")
    assert isinstance(info.value, TrapError) and isinstance(info.value, KobakoError)
    assert "0.05 s" in str(info.value)


def test_service_time_counts_but_is_not_interrupted(svc: Recorder) -> None:
    """A Service sleeping past the timeout is not cut short; the run times out as soon
    as the guest runs again, and the script's next statement never happens."""
    sandbox = sandbox_with(svc, timeout=0.2)
    err, elapsed = timed(sandbox.run, "Svc.nap(0.3); Svc.mark")
    assert type(err) is TimeoutError
    assert elapsed >= 0.3  # the epoch deadline fires only when wasm resumes
    assert elapsed < 0.8
    assert svc.calls == ["nap"]
    assert works(sandbox)


def test_service_time_accumulates(svc: Recorder) -> None:
    """Two Service calls that each fit the timeout but together exceed it time out."""
    sandbox = sandbox_with(svc, timeout=0.2)
    err, _ = timed(sandbox.run, "Svc.nap(0.12); Svc.nap(0.12); Svc.mark")
    assert type(err) is TimeoutError
    assert svc.calls == ["nap", "nap"]


def test_epoch_ticks_count_elapsed_time() -> None:
    """The ticker owes one tick per EPOCH_TICK_S elapsed, however late it wakes: a
    wake-up delayed by load pays every tick that fell due, so deadlines hold."""
    clock = TickClock(100.0)
    assert clock.owed(100.0) == 0
    assert clock.owed(100.0 + EPOCH_TICK_S * 1.5) == 1
    assert clock.owed(100.0 + EPOCH_TICK_S * 1.9) == 0
    assert clock.owed(100.0 + EPOCH_TICK_S * 41.5) == 40  # a wake-up 200 ms late
    assert clock.owed(100.0 + EPOCH_TICK_S * 42.5) == 1
    assert clock.owed(99.0) == 0  # never negative


def test_timeout_cannot_be_rescued() -> None:
    """The timeout is a trap, not a Ruby exception: rescue and ensure do not see it."""
    sandbox = Sandbox(timeout=0.1)
    script = "begin; loop {}; rescue Exception; :rescued; ensure; puts 'ensure'; end"
    err, _ = timed(sandbox.run, script)
    assert type(err) is TimeoutError
    assert err.execution.stdout == ""


def test_quick_run_is_not_affected_by_timeout(svc: Recorder) -> None:
    """A run that finishes inside its timeout returns normally, Service time included."""
    sandbox = sandbox_with(svc, timeout=0.5)
    assert sandbox.run("Svc.nap(0.05); Svc.echo(7)").value == 7


def test_per_run_timeout_override(svc: Recorder) -> None:
    """run(timeout=...) shortens or lifts the Sandbox's timeout for that run only."""
    long = sandbox_with(svc, timeout=30)
    err, elapsed = timed(long.run, "loop {}", timeout=0.1)
    assert type(err) is TimeoutError and elapsed < 1.0
    short = sandbox_with(svc, timeout=0.05)
    assert short.run("Svc.nap(0.15); :done", timeout=None).value == "done"
    assert type(timed(short.run, "Svc.nap(0.15); :done")[0]) is TimeoutError


def test_timeout_none_disables_the_deadline(svc: Recorder) -> None:
    """Sandbox(timeout=None) lets a run take as long as it takes."""
    sandbox = sandbox_with(svc, timeout=None)
    assert sandbox.run("Svc.nap(0.15); x = 0; 100_000.times { x += 1 }; x").value == 100_000


# ---- memory ----


@pytest.mark.parametrize(
    "script",
    [
        'a = []; loop { a << "x" * 1000 }',
        "a = []; loop { a << [1, 2, 3] }",
        's = "a"; loop { s += s }',
    ],
    ids=["strings", "arrays", "doubling"],
)
def test_growing_allocation_hits_memory_limit(script: str) -> None:
    """A script that keeps allocating raises MemoryLimitError (a TrapError); its
    usage reports the peak guest memory, which never exceeds the limit."""
    limit = 16 * MiB
    sandbox = Sandbox(memory_limit=limit)
    with pytest.raises(MemoryLimitError) as info:
        sandbox.run(script)
    assert isinstance(info.value, TrapError)
    assert str(limit) in str(info.value)
    assert limit // 2 <= info.value.execution.usage.memory_peak_bytes <= limit
    assert works(sandbox)


def test_single_huge_allocation_hits_memory_limit() -> None:
    """One allocation over the limit fails at once, without growing memory to it."""
    sandbox = Sandbox(memory_limit=16 * MiB)
    err, elapsed = timed(sandbox.run, '"a" * (64 << 20)')
    assert type(err) is MemoryLimitError
    assert err.execution.usage.memory_peak_bytes < 16 * MiB
    assert elapsed < 1.0


def test_usage_reports_peak_memory_of_a_successful_run() -> None:
    """memory_peak_bytes covers what the run allocated, and stays small for nil."""
    sandbox = Sandbox()
    small = sandbox.run("nil").usage.memory_peak_bytes
    big = sandbox.run('s = "a" * (8 << 20); s.size').usage.memory_peak_bytes
    assert 0 < small < 8 * MiB
    assert big >= small + 8 * MiB


def test_script_raising_no_memory_error_is_not_a_memory_limit() -> None:
    """raise NoMemoryError from a script is a plain SandboxError: no limit was reached."""
    with pytest.raises(SandboxError) as info:
        Sandbox().run("raise NoMemoryError, 'mine'")
    assert type(info.value) is SandboxError
    assert (info.value.klass, info.value.message) == ("NoMemoryError", "mine")


def test_failed_allocation_can_be_rescued() -> None:
    """A failed allocation raises NoMemoryError in the guest; a script that rescues
    it and stops allocating returns normally."""
    script = "begin; 'a' * (100 << 20); rescue NoMemoryError => e; e.class.to_s; end"
    assert Sandbox(memory_limit=32 * MiB).run(script).value == "NoMemoryError"


def test_per_run_memory_limit_override() -> None:
    """run(memory_limit=...) tightens or lifts the Sandbox's limit for that run only."""
    sandbox = Sandbox(memory_limit=8 * MiB)
    assert sandbox.run('"a" * (20 << 20); :ok', memory_limit=None).value == "ok"
    assert sandbox.run('"a" * (20 << 20); :ok', memory_limit=64 * MiB).value == "ok"
    with pytest.raises(MemoryLimitError):
        sandbox.run('"a" * (20 << 20); :ok')
    # 4 MiB holds the booted guest (a nil run peaks near 2 MiB), not an 8 MiB string
    tight = Sandbox()
    assert tight.run("nil", memory_limit=4 * MiB).value is None
    with pytest.raises(MemoryLimitError, match=r"memory limit \(4194304 bytes\)"):
        tight.run('("a" * (8 << 20)).size', memory_limit=4 * MiB)
    assert tight.run('("a" * (8 << 20)).size').value == 8 * MiB
    with pytest.raises(MemoryLimitError, match=f"memory limit \\({3 * MiB} bytes\\)"):
        Sandbox().run('"a" * (4 << 20); :ok', memory_limit=3 * MiB)


def test_memory_limit_none_allows_more_than_the_default() -> None:
    """Sandbox(memory_limit=None) lets a run use more than the 64 MiB default."""
    ex = Sandbox(memory_limit=None).run('s = "a" * (80 << 20); s.size')
    assert ex.value == 80 * MiB
    assert ex.usage.memory_peak_bytes > 64 * MiB


# ---- fuel ----


def test_fuel_stops_an_endless_loop() -> None:
    """With fuel, loop {} raises FuelExhaustedError (a TrapError) long before any timeout."""
    sandbox = Sandbox(fuel=1_000_000, timeout=None)
    err, elapsed = timed(sandbox.run, "loop {}")
    assert type(err) is FuelExhaustedError and isinstance(err, TrapError)
    assert elapsed < 1.0
    assert sandbox.run("1 + 1").value == 2


FUEL_SCRIPT = "x = 0; 1000.times { |i| x += i * i }; x"


def _fuel_outcome(fuel: int) -> object:
    try:
        return Sandbox(fuel=fuel, timeout=None).run(FUEL_SCRIPT).value
    except FuelExhaustedError:
        return FuelExhaustedError


def test_fuel_is_deterministic() -> None:
    """The same script with the same fuel always ends the same way, to the instruction:
    the least fuel that suffices succeeds every time and one less fails every time."""
    low, high = 1, 1 << 26
    assert _fuel_outcome(high) == 332_833_500
    while low < high:
        mid = (low + high) // 2
        if _fuel_outcome(mid) is FuelExhaustedError:
            low = mid + 1
        else:
            high = mid
    assert [_fuel_outcome(low) for _ in range(5)] == [332_833_500] * 5
    assert [_fuel_outcome(low - 1) for _ in range(5)] == [FuelExhaustedError] * 5


def test_per_run_fuel_override() -> None:
    """run(fuel=...) meters one run of an unmetered Sandbox, and fuel=None lifts it."""
    with pytest.raises(FuelExhaustedError):
        Sandbox().run("loop {}", fuel=100_000)
    assert Sandbox(fuel=1000).run(FUEL_SCRIPT, fuel=None).value == 332_833_500
    with pytest.raises(FuelExhaustedError):
        Sandbox(fuel=1000).run(FUEL_SCRIPT)


# ---- Service calls ----


def test_service_call_limit(svc: Recorder) -> None:
    """max_service_calls calls succeed; the next raises ServiceCallLimitError, unserved."""
    sandbox = sandbox_with(svc, max_service_calls=3)
    assert sandbox.run("3.times.map { |i| Svc.echo(i) }").value == [0, 1, 2]
    svc.calls.clear()
    with pytest.raises(ServiceCallLimitError) as info:
        sandbox.run("4.times { |i| Svc.echo(i) }")
    assert isinstance(info.value, SandboxError)
    assert info.value.klass == "Kobako::ServiceCallLimitError"
    assert "more than 3" in info.value.message
    assert svc.calls == ["echo"] * 3
    assert works(sandbox)


def test_service_call_limit_holds_when_rescued(svc: Recorder) -> None:
    """A script that rescues ServiceCallLimitError keeps running, but the host serves
    no more than max_service_calls calls."""
    sandbox = sandbox_with(svc, max_service_calls=5)
    script = """
      refused = 0
      20.times { begin; Svc.echo(1); rescue Kobako::ServiceCallLimitError; refused += 1; end }
      refused
    """
    assert sandbox.run(script).value == 15
    assert svc.calls == ["echo"] * 5


def test_service_call_limit_is_per_run(svc: Recorder) -> None:
    """Each run gets the full max_service_calls budget."""
    sandbox = sandbox_with(svc, max_service_calls=2)
    for _ in range(3):
        assert sandbox.run("[Svc.echo(1), Svc.echo(2)]").value == [1, 2]


def test_zero_service_calls(svc: Recorder) -> None:
    """max_service_calls=0 refuses the first call."""
    with pytest.raises(ServiceCallLimitError):
        sandbox_with(svc, max_service_calls=0).run("Svc.echo(1)")
    assert svc.calls == []


def test_service_call_limit_none(svc: Recorder) -> None:
    """max_service_calls=None lifts the limit."""
    sandbox = sandbox_with(svc, max_service_calls=None)
    assert sandbox.run("n = 0; 3000.times { n += Svc.echo(1) }; n").value == 3000


# ---- message size ----


def test_oversized_call_is_refused(svc: Recorder) -> None:
    """A Service call over max_message_bytes raises MessageSizeError; the Service never runs."""
    sandbox = sandbox_with(svc, max_message_bytes=1024)
    assert sandbox.run('Svc.echo("x" * 900).size').value == 900
    with pytest.raises(MessageSizeError) as info:
        sandbox.run('Svc.echo("x" * 2000)')
    assert isinstance(info.value, SandboxError)
    assert "call of" in info.value.message
    assert svc.calls == ["echo"]
    assert works(sandbox)


def test_oversized_reply_is_refused(svc: Recorder) -> None:
    """A Service reply over max_message_bytes raises MessageSizeError in the script."""
    sandbox = sandbox_with(svc, max_message_bytes=1024)
    assert sandbox.run("Svc.blob(900).size").value == 900
    with pytest.raises(MessageSizeError, match="reply of"):
        sandbox.run("Svc.blob(2000)")
    rescued = "begin; Svc.blob(2000); rescue Kobako::MessageSizeError; :rescued; end"
    assert sandbox.run(rescued).value == "rescued"


def test_oversized_outcome_is_refused() -> None:
    """An outcome (value plus output) over max_message_bytes raises MessageSizeError."""
    sandbox = Sandbox(max_message_bytes=1024)
    assert sandbox.run('"x" * 900').value == "x" * 900
    for script in ('"x" * 2000', 'print "x" * 2000; nil', 'raise "x" * 2000'):
        with pytest.raises(MessageSizeError, match="outcome") as info:
            sandbox.run(script)
        assert info.value.execution.value is None
    assert works(sandbox)


# ---- bad values ----


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("timeout", math.nan),
        ("timeout", "1"),
        ("memory_limit", 0),
        ("memory_limit", (1 << 20) - 1),
        ("memory_limit", (4 << 30) + 1),
        ("memory_limit", 1.5e6),
        ("memory_limit", True),
        ("fuel", 0),
        ("fuel", -5),
        ("fuel", 1.0),
        ("max_service_calls", -1),
        ("max_service_calls", "10"),
        ("max_message_bytes", 1023),
        ("max_message_bytes", None),
        ("max_message_bytes", 1 << 32),
        ("profile", "strict"),
        ("profile", None),
    ],
    ids=repr,
)
def test_bad_limit_is_refused_at_construction(name: str, value: object) -> None:
    """A limit of the wrong type or out of range raises ValueError from Sandbox()."""
    with pytest.raises(ValueError, match=name):
        Sandbox(**{name: value})


@pytest.mark.parametrize(
    "value",
    [math.inf, -math.inf, 1e300, MAX_TIMEOUT_S * 2, True, False, "1", 10**400],
    ids=repr,
)
def test_unusable_timeout_is_refused(value: object) -> None:
    """A timeout that cannot be honoured (infinite, astronomically large, a bool, not a
    number) is refused with ValueError, at construction and per run."""
    with pytest.raises(ValueError, match="timeout"):
        Sandbox(timeout=value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        Sandbox().run("1", timeout=value)  # type: ignore[arg-type]


def test_longest_timeout_is_accepted() -> None:
    """The documented maximum (one day) and None are accepted and run."""
    assert Sandbox(timeout=MAX_TIMEOUT_S).run("1").value == 1
    assert Sandbox(timeout=None).run("1", timeout=MAX_TIMEOUT_S).value == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", 0),
        ("timeout", -0.5),
        ("memory_limit", 1),
        ("fuel", 0),
        ("seed", -1),
        ("seed", 1 << 32),
        ("seed", 1.5),
        ("seed", True),
    ],
    ids=repr,
)
def test_bad_per_run_value_is_refused(name: str, value: object) -> None:
    """A bad per-run override or seed raises ValueError before anything runs."""
    with pytest.raises(ValueError, match=name):
        Sandbox().run("1", **{name: value})


# ---- hermetic profile ----


def test_hermetic_clock_is_the_unix_epoch() -> None:
    """In the hermetic profile Time.now is fixed at the Unix epoch and does not advance."""
    sandbox = Sandbox()
    script = "t = Time.now; x = 0; 100_000.times { x += 1 }; [t.to_i, t.usec, t.year, Time.now - t]"
    assert sandbox.run(script).value == [0, 0, 1970, 0.0]
    assert sandbox.run("Time.now.utc.to_s").value == "1970-01-01 00:00:00 UTC"


RANDOM_SCRIPT = "[rand, rand(1000), Random.rand, [1, 2, 3, 4, 5, 6, 7, 8].shuffle]"


def test_hermetic_randomness_is_deterministic() -> None:
    """rand, Random.rand and shuffle repeat exactly between runs with the default seed,
    and with an explicit seed."""
    sandbox = Sandbox()
    first = sandbox.run(RANDOM_SCRIPT).value
    assert sandbox.run(RANDOM_SCRIPT).value == first
    assert sandbox.run(RANDOM_SCRIPT, seed=0).value == first  # the default seed is 0
    seeded = sandbox.run(RANDOM_SCRIPT, seed=12345).value
    assert sandbox.run(RANDOM_SCRIPT, seed=12345).value == seeded
    assert Sandbox().run(RANDOM_SCRIPT, seed=12345).value == seeded


def test_different_seeds_differ() -> None:
    """Different seeds give different sequences."""
    sandbox = Sandbox()
    values = {repr(sandbox.run(RANDOM_SCRIPT, seed=s).value) for s in (1, 2, 3, 2**32 - 1)}
    assert len(values) == 4


def test_srand_inside_a_run_does_not_leak() -> None:
    """A script's srand affects only its own run."""
    sandbox = Sandbox()
    first = sandbox.run("rand").value
    sandbox.run("srand(99); rand")
    assert sandbox.run("rand").value == first


def test_random_new_follows_the_run_seed() -> None:
    """Random.new without an argument is seeded from the run's seed: the same for the
    same seed, different for different seeds, and each Random.new in a run differs."""
    sandbox = Sandbox()
    script = "[Random.new.rand, Random.new.rand(1000), Random.new.bytes(4)]"
    values = {repr(sandbox.run(script, seed=s).value) for s in (1, 2, 3)}
    assert len(values) == 3
    first = sandbox.run(script, seed=2).value
    assert Sandbox().run(script, seed=2).value == first
    assert sandbox.run(script).value == sandbox.run(script, seed=0).value
    one, two = sandbox.run("[Random.new.rand, Random.new.rand]").value
    assert one != two


def test_seeded_random_new_is_unchanged() -> None:
    """Random.new(seed) still gives the sequence of that seed, whatever the run's seed."""
    sandbox = Sandbox()
    script = "Random.new(42).rand"
    assert sandbox.run(script, seed=1).value == sandbox.run(script, seed=2).value
    assert Sandbox(profile="permissive").run(script).value == sandbox.run(script).value


# ---- permissive profile ----


def test_permissive_clock_is_real() -> None:
    """In the permissive profile Time.now is the host's clock."""
    now = Sandbox(profile="permissive").run("Time.now.to_f").value
    assert isinstance(now, float)
    assert Sandbox(profile="permissive").run("Time.now.year").value >= 2025
    assert abs(now - time.time()) < 60


def test_permissive_randomness_differs_between_runs() -> None:
    """In the permissive profile each run gets fresh entropy; an explicit seed still
    makes it repeatable."""
    sandbox = Sandbox(profile="permissive")
    values = {repr(sandbox.run(RANDOM_SCRIPT).value) for _ in range(3)}
    assert len(values) == 3
    assert sandbox.run(RANDOM_SCRIPT, seed=7).value == sandbox.run(RANDOM_SCRIPT, seed=7).value
    assert sandbox.run(RANDOM_SCRIPT, seed=7).value == Sandbox().run(RANDOM_SCRIPT, seed=7).value


def test_permissive_random_new_differs_between_runs() -> None:
    """In the permissive profile Random.new without a seed differs between runs."""
    sandbox = Sandbox(profile="permissive")
    assert len({sandbox.run("Random.new.rand").value for _ in range(3)}) == 3


# ---- no host access, in either profile ----


HOST_CONSTANTS = ["File", "IO", "ENV", "ARGV", "Socket", "Dir", "Process", "Signal", "Thread"]


@pytest.mark.parametrize("profile", ["hermetic", "permissive"])
def test_no_filesystem_environment_arguments_or_network(profile: Any) -> None:
    """File, IO, ENV, ARGV, Socket, Dir, Process, Signal and Thread are absent."""
    sandbox = Sandbox(profile=profile)
    script = f"{HOST_CONSTANTS!r}.map {{ |c| Object.const_defined?(c) }}"
    assert sandbox.run(script).value == [False] * len(HOST_CONSTANTS)
    assert works(sandbox)


@pytest.mark.parametrize("profile", ["hermetic", "permissive"])
@pytest.mark.parametrize(
    "script",
    [
        "File.read('/etc/passwd')",
        "IO.sysopen('/etc/passwd')",
        "ENV.to_h",
        "ARGV.first",
        "Socket.tcp('example.com', 80)",
        "Dir.entries('/')",
        "Process.pid",
        "open('/etc/passwd')",
        "syscall(39)",
        "`id`",
        "system('id')",
        "exec('id')",
        "spawn('id')",
        "load '/etc/passwd'",
        "require_relative 'x'",
        "$stdin.read",
        "STDIN.gets",
        "gets",
    ],
)
def test_host_access_raises_and_the_next_run_works(profile: Any, script: str) -> None:
    """Every way to reach files, processes, the environment or the network raises a
    SandboxError, and the Sandbox keeps working."""
    sandbox = Sandbox(profile=profile)
    with pytest.raises(SandboxError) as info:
        sandbox.run(script)
    assert type(info.value) is SandboxError
    assert info.value.klass in ("NameError", "NoMethodError", "NotImplementedError", "LoadError")
    assert works(sandbox)


# ---- output of a stopped run (issue 12 item 10) ----


def test_timeout_keeps_what_the_script_printed() -> None:
    """A TimeoutError carries the stdout and stderr the script wrote before it."""
    with pytest.raises(TimeoutError, match="timeout of 0.3 s") as info:
        Sandbox(timeout=0.3).run('puts "step 1 done"; warn "careful"; loop {}')
    ex = info.value.execution
    assert (ex.stdout, ex.stderr) == ("step 1 done\n", "careful\n")
    assert (ex.stdout_truncated, ex.stderr_truncated) == (False, False)


def test_fuel_exhaustion_keeps_what_the_script_printed() -> None:
    """A FuelExhaustedError carries the output written before the fuel ran out."""
    with pytest.raises(FuelExhaustedError, match="fuel") as info:
        Sandbox(timeout=None, fuel=10_000_000).run('print "a", "b"; $stderr.write("e"); loop {}')
    assert (info.value.execution.stdout, info.value.execution.stderr) == ("ab", "e")


def test_output_of_a_stopped_run_keeps_the_output_limit() -> None:
    """Output read after a trap is cut at stdout_limit and flagged as truncated."""
    with pytest.raises(TimeoutError) as info:
        Sandbox(timeout=0.1, stdout_limit=5).run('print "x" * 100; loop {}')
    assert info.value.execution.stdout == "xxxxx"
    assert info.value.execution.stdout_truncated is True


def test_memory_limit_keeps_what_the_script_printed() -> None:
    """A MemoryLimitError carries the output written before memory ran out."""
    with pytest.raises(MemoryLimitError) as info:
        Sandbox(memory_limit=16 * MiB).run('puts "before"; a = []; loop { a << "x" * 1000 }')
    assert info.value.execution.stdout == "before\n"


@pytest.mark.anyio
async def test_pool_timeout_and_fuel_keep_what_the_script_printed() -> None:
    """The Pool's TimeoutError and FuelExhaustedError carry the worker guest's output."""
    async with Pool(workers=1, timeout=0.3) as pool:
        with pytest.raises(TimeoutError) as timed_out:
            await pool.run('puts "step 1 done"; loop {}')
        with pytest.raises(FuelExhaustedError) as no_fuel:
            await pool.run('warn "w"; loop {}', timeout=None, fuel=10_000_000)
        assert (await pool.run("1 + 1")).value == 2
    assert timed_out.value.execution.stdout == "step 1 done\n"
    assert no_fuel.value.execution.stderr == "w\n"


# ---- the deadline (issue 12 item 14) ----


def test_deadline_checks_against_the_runs_own_start() -> None:
    """A deadline check stops a run only once its timeout has elapsed since its own
    start; before that it re-arms, rounding the ticks left up."""
    deadline = RunDeadline(0.2, 100.0, main_thread=False)
    assert deadline.ticks_to_next_check(100.0) == 40
    assert deadline.ticks_to_next_check(100.1026) == 20  # 97.4 ms left
    assert deadline.ticks_to_next_check(100.1971) == 1  # 2.9 ms left: one more tick
    assert deadline.stop is None
    assert deadline.ticks_to_next_check(100.2) is None
    assert deadline.stop is StopReason.TIMEOUT


def test_deadline_checks_are_capped() -> None:
    """A far deadline, or none, is still checked every MAX_CHECK_TICKS (every
    MAIN_THREAD_CHECK_TICKS on the main thread); a requested stop ends the run at the
    next check and keeps the first reason."""
    assert RunDeadline(None, 0.0, main_thread=False).ticks_to_next_check(5.0) == MAX_CHECK_TICKS
    far = RunDeadline(60.0, 0.0, main_thread=True)
    assert far.ticks_to_next_check(1.0) == MAIN_THREAD_CHECK_TICKS
    far.request_stop(StopReason.INTERRUPTED)
    far.request_stop(StopReason.TIMEOUT)
    assert far.ticks_to_next_check(1.0) is None
    assert far.stop is StopReason.INTERRUPTED


def test_a_short_timeout_never_fires_early() -> None:
    """timeout=0.005 with a script needing ~2.4 ms: no run raises TimeoutError before
    5 ms have passed (on an idle machine none raises at all)."""
    sandbox = Sandbox(timeout=0.005)
    script = "x = 0; i = 0; while i < 15_000; x += i; i += 1; end; x"
    for _ in range(100):
        try:
            assert sandbox.run(script).value == 112_492_500
        except TimeoutError as exc:
            assert exc.execution.usage.wall_time_s >= 0.005


def test_timeout_is_never_early() -> None:
    """Every TimeoutError of `loop {}` at 0.2 s comes after at least 0.2 s."""
    sandbox = Sandbox(timeout=0.2)
    for _ in range(10):
        with pytest.raises(TimeoutError) as info:
            sandbox.run("loop {}")
        assert info.value.execution.usage.wall_time_s >= 0.2


def test_timeout_is_not_late_by_a_fraction() -> None:
    """`loop {}` at timeout=1.0 stops well within 10% of it (a deadline 15% late fails)."""
    err, elapsed = timed(Sandbox(timeout=1.0).run, "loop {}")
    assert type(err) is TimeoutError
    assert 1.0 <= err.execution.usage.wall_time_s <= elapsed < 1.1


def _hold_the_gil(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))


def test_deadline_holds_under_gil_holding_threads() -> None:
    """With 3 threads holding the GIL, `loop {}` at 0.5 s on another thread still stops
    before 1.25 s: the ticker adds every tick that fell due, not one per wake-up (one
    tick per late wake-up takes 2-3 s here)."""
    stop = threading.Event()
    hogs = [threading.Thread(target=_hold_the_gil, args=(stop,)) for _ in range(3)]
    result: list[Any] = []
    runner = threading.Thread(
        target=lambda: result.append(timed(Sandbox(timeout=0.5).run, "loop {}"))
    )
    for thread in hogs:
        thread.start()
    try:
        runner.start()
        runner.join(10)
    finally:
        stop.set()
        for thread in hogs:
            thread.join()
    [(err, elapsed)] = result
    assert type(err) is TimeoutError
    assert 0.5 <= elapsed < 1.25


def test_ticker_counts_elapsed_time_not_wake_ups() -> None:
    """Under 3 GIL-holding threads the ticker's wake-ups come late, yet over 0.5 s it
    adds at least 80% of the ticks that fell due."""
    ticker = EpochTicker(lambda: None)
    stop = threading.Event()
    hogs = [threading.Thread(target=_hold_the_gil, args=(stop,)) for _ in range(3)]
    for thread in hogs:
        thread.start()
    ticker.acquire()
    started = time.monotonic()
    try:
        stop.wait(0.5)
    finally:
        elapsed = time.monotonic() - started
        ticker.release()
        stop.set()
        for thread in hogs:
            thread.join()
    assert ticker.ticks >= 0.8 * (elapsed / EPOCH_TICK_S) - 2


def test_interrupt_stops_a_run_without_a_timeout() -> None:
    """GuestRunner.interrupt (a Pool's Cancel) stops a run of another thread even
    with timeout=None: it raises TimeoutError's trap code, and the runner works on."""
    sandbox = Sandbox(timeout=None)
    runner = get_runner()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(timed(sandbox.run, "loop {}")))
    thread.start()
    while not runner.interrupt(thread.ident or 0):
        time.sleep(0.001)  # until the run has started
    thread.join(10)
    [(err, _)] = result
    assert type(err) is TimeoutError
    assert runner.interrupt(thread.ident or 0) is False
    assert works(sandbox)


# ---- memory_limit against the guest (issue 12 item 16) ----


def test_memory_limit_below_a_nil_run_is_refused() -> None:
    """A memory_limit below what `nil` needs is refused at construction and per run,
    naming the minimum; the minimum itself runs `nil`."""
    least = get_runner().min_memory_bytes
    assert get_runner().initial_memory_bytes < least < 3 * MiB
    message = f"memory_limit must be at least {least} bytes"
    with pytest.raises(ValueError, match=message):
        Sandbox(memory_limit=2 * MiB)
    with pytest.raises(ValueError, match=message):
        Sandbox().run("nil", memory_limit=least - 1)
    assert Sandbox(memory_limit=least).run("nil").value is None
    assert Sandbox().run(":ok", memory_limit=least).value == "ok"


@pytest.mark.anyio
async def test_pool_refuses_the_same_memory_floor_as_the_sandbox() -> None:
    """Pool() and pool.run refuse a memory_limit below the Sandbox's measured floor
    (read from the guest file, in the parent), and the floor itself runs `nil`."""
    least = get_runner().min_memory_bytes
    assert guest_info().min_memory_limit_bytes == least
    message = f"memory_limit must be at least {least} bytes"
    with pytest.raises(ValueError, match=message):
        Pool(workers=1, memory_limit=2 * MiB)
    async with Pool(workers=1, memory_limit=least) as pool:
        assert (await pool.run("nil")).value is None
        with pytest.raises(ValueError, match=message):
            await pool.run("nil", memory_limit=least - 1)
        assert (await pool.run(":ok")).value == "ok"


# ---- signals (issue 12 item 12, the Sandbox part) ----

SIGINT_CHILD = """
import sys, time
import kobako_async

calls = []
def nap(seconds):
    calls.append("nap")
    print("in service", flush=True)
    time.sleep(seconds)
def mark():
    calls.append("mark")

sandbox = kobako_async.Sandbox(timeout=None).bind("Nap", nap).bind("Mark", mark)
sandbox.run("nil")
print("ready", flush=True)
try:
    sandbox.run(sys.argv[1])
except KeyboardInterrupt:
    print("interrupted", calls, flush=True)
print("after", sandbox.run("1 + 1").value, flush=True)
"""


def _interrupt_child(script: str, wait_for: str) -> list[str]:
    """Run SIGINT_CHILD on ``script``, send SIGINT once it prints ``wait_for``; its
    output lines after that."""
    child = subprocess.Popen(
        [sys.executable, "-c", SIGINT_CHILD, script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        while (line := child.stdout.readline()) != f"{wait_for}\n":
            assert line, "the child ended before it was ready"
        time.sleep(0.1)  # into the guest (a late signal would only be caught later)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=15)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0
    return out.splitlines()


def test_sigint_stops_a_run_without_a_timeout() -> None:
    """SIGINT to a process running `loop {}` with timeout=None on the main thread
    stops the guest and raises KeyboardInterrupt; the next run works."""
    assert _interrupt_child("loop {}", "ready")[-2:] == ["interrupted []", "after 2"]


def test_sigint_during_a_service_call_stops_the_run_after_it() -> None:
    """SIGINT while a Service runs lets that call finish, then stops the guest before
    the script's next statement and raises KeyboardInterrupt."""
    lines = _interrupt_child("Nap.call(0.5); Mark.call; loop {}", "in service")
    assert lines[-2:] == ["interrupted ['nap']", "after 2"]


def test_signal_handler_that_returns_lets_the_run_finish() -> None:
    """A SIGINT handler that returns runs during the guest and the run finishes."""
    code = SIGINT_CHILD.replace(
        "sandbox.run(sys.argv[1])",
        "import signal; seen = []; signal.signal(signal.SIGINT, lambda *a: seen.append(1));"
        " print(sandbox.run(sys.argv[1]).value, seen, flush=True)",
    )
    script = "Nap.call(0); i = 0; while i < 3_000_000; i += 1; end; i"
    child = subprocess.Popen(
        [sys.executable, "-c", code, script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        while child.stdout.readline() != "in service\n":
            pass
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=15)
    finally:
        child.kill()
        child.wait()
    assert out.splitlines()[-2:] == ["3000000 [1]", "after 2"]


def test_run_leaves_signal_handlers_and_the_wakeup_fd_alone() -> None:
    """After a run on the main thread, SIGINT's handler and the wakeup fd (asyncio
    sets one) are what they were before."""
    handler = signal.getsignal(signal.SIGINT)
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write)
    try:
        assert Sandbox().run(":ok").value == "ok"
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        assert signal.set_wakeup_fd(previous) == write
        os.close(read)
        os.close(write)


def test_huge_allocation_stays_within_the_timeout() -> None:
    """One 1 GiB Array under memory_limit=4 GiB and timeout=0.05 still stops promptly
    (the guest's memset/memcpy are interruptible loops): well under 0.5 s, where one
    bulk-memory instruction took 0.8-5 s."""
    err, elapsed = timed(Sandbox(timeout=0.05, memory_limit=4 << 30).run, "Array.new(2**27 - 1); 1")
    assert type(err) is TimeoutError
    assert 0.05 <= err.execution.usage.wall_time_s <= elapsed < 0.5


def test_a_service_may_run_another_guest(svc: Recorder) -> None:
    """A Service that runs a nested Sandbox.run on the same thread leaves the outer
    run's deadline, clock and Service calls intact: it then loops, calls, times out."""
    inner = Sandbox(timeout=1.0)
    nested = Sandbox(timeout=0.3).bind("Svc", svc).bind("Inner", lambda: inner.run("6 * 7").value)
    assert nested.run(
        "x = Inner.call; i = 0; while i < 100_000; i += 1; end; [x, Svc.echo(i)]"
    ).value == [42, 100_000]
    with pytest.raises(TimeoutError, match="0.3 s") as info:
        nested.run("Inner.call; Svc.mark; loop {}")
    assert info.value.execution.usage.wall_time_s >= 0.3
    assert svc.calls == ["echo", "mark"]
