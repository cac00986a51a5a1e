"""What run inputs cost: a fresh ``Sandbox.run("price * qty")`` with three inputs next
to the same script with the values pasted in as literals.

Interleaved samples (one of each in turn, so drift hits both alike); the ratio of
p50s is the figure. Run with ``python -m benchmarks.inputs [--quick]``; prints JSON.
Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import sys
import time

from kobako_async import Sandbox

from .stats import latency_summary

INPUTS = {"price": 10.5, "qty": 3, "discount": 0.25}
WITH_INPUTS = "price * qty"
PASTED = "10.5 * 3"  # the values pasted into the source


def measure(samples: int) -> dict[str, object]:
    """p50 and friends of both forms, and their p50 ratio."""
    sandbox = Sandbox()
    for _ in range(200):  # warm the caches and the pooled slots
        sandbox.run(WITH_INPUTS, inputs=INPUTS)
        sandbox.run(PASTED)
    with_inputs: list[float] = []
    pasted: list[float] = []
    for _ in range(samples):
        t0 = time.perf_counter()
        sandbox.run(WITH_INPUTS, inputs=INPUTS)
        t1 = time.perf_counter()
        sandbox.run(PASTED)
        t2 = time.perf_counter()
        with_inputs.append(t1 - t0)
        pasted.append(t2 - t1)
    a, b = latency_summary(with_inputs), latency_summary(pasted)
    return {
        "with_inputs": a,
        "pasted_literals": b,
        "p50_ratio": float(a["p50_s"]) / float(b["p50_s"]),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    samples = 500 if "--quick" in sys.argv else 3000
    print(json.dumps(measure(samples), indent=2))


if __name__ == "__main__":
    main()
