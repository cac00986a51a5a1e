"""What the guest's Regexp (Oniguruma) costs.

- a fresh run that compiles and matches one literal, next to a fresh ``run("nil")``
  in the same loop (the difference is what a first regexp costs a run);
- gsub and scan over a 100 KB string, per run;
- time to Regexp::TimeoutError for a catastrophic pattern (the backtracking bound).

Figures only. Run alone with ``python -m benchmarks.regexp [--quick]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .stats import latency_summary

SUBJECT_100K = 's = "lorem ipsum dolor " * 5000'
SCRIPTS = {
    "nil": "nil",
    "one_match": '"order-1234" =~ /(\\d+)/; $1',
    "gsub_100k": SUBJECT_100K + "; s.gsub(/o(r|l)/) { $1.upcase }.size",
    "scan_100k": SUBJECT_100K + "; s.scan(/\\w+/).size",
    "catastrophic": '("a" * 40 + "!") =~ /(a+)+$/',
}


def _latency(run: Any, script: str, runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            run(script)
        except Exception as exc:  # the catastrophic case ends in an error on purpose
            if "Regexp::TimeoutError" not in str(exc):
                raise
        times.append(time.perf_counter() - started)
    return latency_summary(times)


def measure(*, quick: bool) -> dict[str, Any]:
    """Latency summaries (seconds) of each script on one Sandbox, interleaved by round."""
    from kobako_async import Sandbox

    sandbox = Sandbox(timeout=10.0)
    for _ in range(50):
        sandbox.run("nil")
    light = 200 if quick else 2000
    heavy = 5 if quick else 21
    rounds = 2 if quick else 5
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in SCRIPTS}
    for _ in range(rounds):
        for name, script in SCRIPTS.items():
            runs = light // rounds if name in ("nil", "one_match") else heavy
            samples[name].append(_latency(sandbox.run, script, runs))
    # each figure is the median over rounds of that round's p50
    return {
        name: {"p50_s": sorted(s["p50_s"] for s in rounds_)[len(rounds_) // 2], "rounds": rounds_}
        for name, rounds_ in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    from . import __main__ as harness
    from . import report

    return harness.module_main(
        "python -m benchmarks.regexp",
        __doc__,
        lambda quick, pythonpath: measure(quick=quick),
        report.render_regexp,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
