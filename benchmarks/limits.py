"""How quickly the run limits stop a hostile script.

- timeout: wall time from ``run("loop {}")`` to its TimeoutError with ``timeout=0.2``
  (target: ≤ 0.2 s + 50 ms), and the same for a run whose Service sleeps past the
  deadline (the deadline can only fire once the guest runs again);
- memory limit: wall time to MemoryLimitError for a script that grows memory in small
  steps until the 64 MiB default, and for one allocation far over it;
- fuel: wall time to FuelExhaustedError for ``loop {}`` with 100 M units of fuel;
- timeout with a large memory limit: wall time to TimeoutError at ``timeout=0.05``
  under ``memory_limit=4 GiB`` for one ``Array.new(n)`` of 64 MiB, 512 MiB and 1 GiB of
  values: the overshoot is the guest's first touch of that memory (page faults) in a
  bulk-memory instruction the epoch cannot interrupt, plus the slot reset.

Figures only; the target is judged in ``report``. Run alone with
``python -m benchmarks.limits [--quick]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .stats import latency_summary

TIMEOUT_S = 0.2
FUEL = 100_000_000
MEMORY_LIMIT = 64 << 20
LARGE_TIMEOUT_S = 0.05
LARGE_MEMORY_LIMIT = 4 << 30
# Array.new(n): 8-byte values (NaN boxing); 2**27 - 1 is the largest Array there is
LARGE_ARRAYS = {"64MiB": 1 << 23, "512MiB": 1 << 26, "1GiB": (1 << 27) - 1}
SCRIPTS = {
    "timeout_loop": "loop {}",
    "timeout_service": "Nap.call(0.3); loop {}",
    "memory_growth": 'a = []; loop { a << "x" * 1000 }',
    # 1 GiB - 1 byte: the longest String there is (1 GiB hits the size cap instead)
    "memory_one_allocation": '"a" * ((1 << 30) - 1)',
    "fuel_loop": "loop {}",
}


def _nap(seconds: float) -> None:
    time.sleep(seconds)


def _time_to_error(
    run: Any, script: str, error: type[BaseException], *, runs: int
) -> dict[str, Any]:
    """latency_summary of the wall time from calling ``run(script)`` to ``error``."""
    times = []
    peaks = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            run(script)
        except error as exc:
            times.append(time.perf_counter() - started)
            peaks.append(exc.execution.usage.memory_peak_bytes)  # type: ignore[attr-defined]
        else:
            raise RuntimeError(f"{script!r} did not raise {error.__name__}")
    return {**latency_summary(times), "memory_peak_bytes": max(peaks)}


def _large_allocations(runs: int) -> dict[str, Any]:
    """Time to TimeoutError (timeout 0.05 s, memory_limit 4 GiB) per Array size."""
    from kobako_async import Sandbox, TimeoutError

    sandbox = Sandbox(timeout=LARGE_TIMEOUT_S, memory_limit=LARGE_MEMORY_LIMIT)
    return {
        name: _time_to_error(sandbox.run, f"Array.new({n}); loop {{}}", TimeoutError, runs=runs)
        for name, n in LARGE_ARRAYS.items()
    }


def measure(*, quick: bool) -> dict[str, Any]:
    """Time-to-error of each limit (seconds), over a few runs each."""
    from kobako_async import (
        FuelExhaustedError,
        MemoryLimitError,
        Sandbox,
        TimeoutError,
    )

    runs = 5 if quick else 11
    timed = Sandbox(timeout=TIMEOUT_S).bind("Nap", _nap)
    timed.run("nil")  # warm
    memory = Sandbox(timeout=None, memory_limit=MEMORY_LIMIT)
    fuel = Sandbox(timeout=None, fuel=FUEL)
    fuel.run("nil")  # the metered engine loads on first use
    return {
        "timeout_s": TIMEOUT_S,
        "memory_limit_bytes": MEMORY_LIMIT,
        "fuel": FUEL,
        "timeout_loop": _time_to_error(timed.run, SCRIPTS["timeout_loop"], TimeoutError, runs=runs),
        "timeout_service": _time_to_error(
            timed.run, SCRIPTS["timeout_service"], TimeoutError, runs=max(3, runs // 2)
        ),
        "memory_growth": _time_to_error(
            memory.run, SCRIPTS["memory_growth"], MemoryLimitError, runs=runs
        ),
        "memory_one_allocation": _time_to_error(
            memory.run, SCRIPTS["memory_one_allocation"], MemoryLimitError, runs=runs
        ),
        "fuel_loop": _time_to_error(fuel.run, SCRIPTS["fuel_loop"], FuelExhaustedError, runs=runs),
        "timeout_large_allocation": {
            "timeout_s": LARGE_TIMEOUT_S,
            "memory_limit_bytes": LARGE_MEMORY_LIMIT,
            **_large_allocations(2 if quick else 5),
        },
    }


def main(argv: list[str] | None = None) -> int:
    from . import __main__ as harness
    from . import report

    return harness.module_main(
        "python -m benchmarks.limits",
        __doc__,
        lambda quick, pythonpath: measure(quick=quick),
        report.render_limits,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
