"""Order statistics over timing samples."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile ``pct`` (0-100] of ``samples``."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(samples: Sequence[float]) -> dict[str, float | int]:
    """n, min, p50, p90, p99, max and mean of ``samples`` (seconds)."""
    return {
        "n": len(samples),
        "min_s": min(samples),
        "p50_s": percentile(samples, 50),
        "p90_s": percentile(samples, 90),
        "p99_s": percentile(samples, 99),
        "max_s": max(samples),
        "mean_s": statistics.fmean(samples),
    }


def run_summary(samples: Sequence[float]) -> dict[str, object]:
    """min and median of a few timed runs (seconds), with the runs themselves."""
    return {
        "n": len(samples),
        "min_s": min(samples),
        "median_s": statistics.median(samples),
        "runs_s": list(samples),
    }
