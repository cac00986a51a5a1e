"""Measurements of kobako_async itself: cold start, per-run latency, memory."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ARRAY_100K, SMALL_ALLOC
from .stats import latency_summary, run_summary

CACHE_ENV = "KOBAKO_CACHE_DIR"

# Runs in a fresh interpreter; json and time are imported before the clock starts.
_COLD_START = """\
import json, time
t0 = time.perf_counter()
import kobako_async
t1 = time.perf_counter()
sandbox = kobako_async.Sandbox()
t2 = time.perf_counter()
sandbox.run("nil")
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "sandbox_s": t2 - t1, "first_run_s": t3 - t2}))
"""
_BASELINE = "import json, time\n"


def _child_env(cache_dir: Path, pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ, **{CACHE_ENV: str(cache_dir)})
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


def _spawn(code: str, env: dict[str, str]) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter: (its wall time from spawn to exit, its stdout)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child failed: {done.stderr.strip()}")
    return elapsed, done.stdout


def _one_cold_start(env: dict[str, str]) -> dict[str, float]:
    process_s, out = _spawn(_COLD_START, env)
    sample: dict[str, float] = json.loads(out)
    sample["import_and_sandbox_s"] = sample["import_s"] + sample["sandbox_s"]
    sample["process_s"] = process_s
    return sample


def _summarize(samples: list[dict[str, float]]) -> dict[str, Any]:
    return {key: run_summary([s[key] for s in samples]) for key in samples[0]}


def cold_start(
    warm_cache: Path, *, warm_runs: int, cold_runs: int, pythonpath: str | None
) -> dict[str, Any]:
    """The first Sandbox() and the first run in fresh processes, disk cache warm and cold.

    ``warm_cache`` is filled by a first, untimed child; each cold child gets an
    empty cache dir of its own, so it compiles the module.
    """
    warm_env = _child_env(warm_cache, pythonpath)
    _one_cold_start(warm_env)
    warm = [_one_cold_start(warm_env) for _ in range(warm_runs)]
    cold = []
    for _ in range(cold_runs):
        with tempfile.TemporaryDirectory(prefix="kobako-bench-cold-") as empty:
            cold.append(_one_cold_start(_child_env(Path(empty), pythonpath)))
    baseline = [_spawn(_BASELINE, warm_env)[0] for _ in range(warm_runs)]
    return {
        "warm_cache": _summarize(warm),
        "cold_cache": _summarize(cold),
        "python_startup": run_summary(baseline),
    }


def time_runs(run: Callable[[str], object], script: str, *, warmup: int, runs: int) -> list[float]:
    """Wall seconds of each of ``runs`` calls ``run(script)``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        run(script)
    clock = time.perf_counter_ns
    times = []
    for _ in range(runs):
        started = clock()
        run(script)
        times.append((clock() - started) / 1e9)
    return times


def nil_latency(*, warmup: int, runs: int) -> dict[str, Any]:
    """p50/p99 of a fresh ``run("nil")``, with the default timeout and with none."""
    from kobako_async import Sandbox

    return {
        label: latency_summary(time_runs(sandbox.run, "nil", warmup=warmup, runs=runs))
        for label, sandbox in (
            ("default_timeout", Sandbox()),
            ("no_timeout", Sandbox(timeout=None)),
        )
    }


def script_runs(script: str, *, warmup: int, runs: int) -> tuple[object, list[float]]:
    """The value of ``script`` and the wall time of each run, with Sandbox(timeout=None)."""
    from kobako_async import Sandbox

    sandbox = Sandbox(timeout=None)
    value = sandbox.run(script).value
    return value, time_runs(sandbox.run, script, warmup=warmup, runs=runs)


def _rss_bytes() -> int | None:
    """This process's resident set size (None where /proc has none).

    smaps_rollup counts pages exactly; statm's counters may lag by a per-CPU batch.
    """
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")


def _rss_growth(
    run: Callable[[str], object], script: str, *, warmup: int, blocks: int, per_block: int
) -> dict[str, Any]:
    """RSS before and after each block of ``per_block`` runs; growth per 1000 runs."""
    for _ in range(warmup):
        run(script)
    gc.collect()
    samples = [_rss_bytes()]
    for _ in range(blocks):
        for _ in range(per_block):
            run(script)
        gc.collect()
        samples.append(_rss_bytes())
    first, last = samples[0], samples[-1]
    growth = None
    if first is not None and last is not None:
        growth = (last - first) * 1000 / (blocks * per_block)
    return {"runs": blocks * per_block, "rss_bytes": samples, "growth_bytes_per_1000_runs": growth}


def memory(*, leak_blocks: int, leak_runs: int) -> dict[str, Any]:
    """Guest memory per run, and process RSS growth over many runs (a leak shows as > 0)."""
    from kobako_async import Sandbox

    sandbox = Sandbox()
    peaks = {
        "nil": sandbox.run("nil").usage.memory_peak_bytes,
        "small_alloc": sandbox.run(SMALL_ALLOC).usage.memory_peak_bytes,
        "array_100k": sandbox.run(ARRAY_100K).usage.memory_peak_bytes,
    }
    big_runs = max(1, leak_runs // 50)
    rss = {
        "nil": _rss_growth(
            sandbox.run, "nil", warmup=leak_runs, blocks=leak_blocks, per_block=leak_runs
        ),
        "small_alloc": _rss_growth(
            sandbox.run, SMALL_ALLOC, warmup=leak_runs, blocks=leak_blocks, per_block=leak_runs
        ),
        "array_100k": _rss_growth(
            sandbox.run, ARRAY_100K, warmup=big_runs, blocks=leak_blocks, per_block=big_runs
        ),
    }
    return {
        "scripts": {"nil": "nil", "small_alloc": SMALL_ALLOC, "array_100k": ARRAY_100K},
        "guest_peak_bytes": peaks,
        "rss": rss,
    }
