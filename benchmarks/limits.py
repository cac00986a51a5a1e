"""How quickly the run limits stop a hostile script.

- timeout: wall time from ``run("loop {}")`` to its TimeoutError with ``timeout=0.2``
  (target: ≤ 0.2 s + 50 ms), and the same for a run whose Service sleeps past the
  deadline (the deadline can only fire once the guest runs again);
- memory limit: wall time to MemoryLimitError for a script that grows memory in small
  steps until the 64 MiB default, and for one allocation far over it;
- fuel: wall time to FuelExhaustedError for ``loop {}`` with 100 M units of fuel.

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
SCRIPTS = {
    "timeout_loop": "loop {}",
    "timeout_service": "Nap.call(0.3); loop {}",
    "memory_growth": 'a = []; loop { a << "x" * 1000 }',
    "memory_one_allocation": '"a" * (1 << 30)',
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
