"""``python -m benchmarks``: measure kobako_async, print a table, write JSON.

Measures cold start (fresh processes, disk cache warm and cold), the latency of a
fresh ``run("nil")``, two compute-bound scripts in the guest and in a native mruby
built from the same source (built on first use under build/native-mruby), and
memory: guest bytes per run and process RSS growth over many runs, and the cost of a
Service call next to a bare wasm → Python host call (``benchmarks.services``).
How soon the timeout, memory limit and fuel stop a hostile run (``benchmarks.limits``).
JSON.parse / JSON.generate of a ~100 KB document in the guest (``benchmarks.json``).
The process Pool next to the IPC floor and in-process runs (``benchmarks.pool``).
What Regexp costs in the guest (``benchmarks.regexp``).
Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import COMPUTE_SCRIPTS, ROOT, guest, limits, native, pool, regexp, report, services
from . import json as json_bench
from .stats import run_summary

LABELS = {"xor_loop": "XOR loop, 100k iterations", "fib25": "fib(25)"}


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def module_main(
    prog: str,
    description: str | None,
    measure: Callable[[bool, str | None], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
    argv: list[str] | None,
) -> int:
    """The command line of one area's module (``python -m benchmarks.pool`` ...)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    results = measure(args.quick, _ensure_importable())
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


def _ensure_importable() -> str | None:
    """Make kobako_async importable from the source tree if it is not installed.

    Returns the directory children need on PYTHONPATH, or None.
    """
    if importlib.util.find_spec("kobako_async") is not None:
        return None
    src = str(ROOT / "src")
    sys.path.insert(0, src)
    return src


def _git_head() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def _meta() -> dict[str, Any]:
    from importlib import metadata

    import kobako_async

    wasm = Path(os.environ.get("KOBAKO_WASM") or ROOT / "data" / "kobako.wasm")
    blob = wasm.read_bytes() if wasm.exists() else b""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": _git_head(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wasmtime": metadata.version("wasmtime"),
        "kobako_async": str(Path(kobako_async.__file__).parent),
        "wasm": {"path": str(wasm), "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()},
        "gcc": native.gcc_version(),
    }


def _compute(binary: Path | None, native_error: str | None, *, runs: int) -> dict[str, Any]:
    """Each compute script in the guest, then in native mruby, and their ratio."""
    out: dict[str, Any] = {}
    for name, script in COMPUTE_SCRIPTS.items():
        _log(f"timing {name} in the guest and natively")
        value, times = guest.script_runs(script, warmup=1, runs=runs)
        entry: dict[str, Any] = {
            "label": LABELS[name],
            "script": script,
            "value": value,
            "guest": run_summary(times),
        }
        if binary is None:
            entry["native"] = None
            entry["native_error"] = native_error
        else:
            try:
                nat = native.run_native(binary, script, warmup=1, runs=runs)
            except RuntimeError as exc:
                entry["native"], entry["native_error"] = None, str(exc)
            else:
                entry["native"] = run_summary(nat.times_s)
                entry["native_value"] = nat.value
                entry["values_match"] = nat.value == repr(value)
                entry["ratio_min"] = min(times) / min(nat.times_s)
                entry["ratio_median"] = entry["guest"]["median_s"] / entry["native"]["median_s"]
        out[name] = entry
    return out


def measure(*, quick: bool, with_native: bool) -> dict[str, Any]:
    """Run every benchmark and return the results (seconds and bytes)."""
    started = time.perf_counter()
    pythonpath = _ensure_importable()
    results: dict[str, Any] = {"meta": _meta()}

    binary: Path | None = None
    native_error: str | None = "skipped (--no-native)"
    if with_native:
        try:
            binary = native.ensure_native()
            native_error = None
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            native_error = str(exc)
            _log(f"no native mruby: {exc}")

    saved = os.environ.get(guest.CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="kobako-bench-cache-") as cache:
        # this process and the warm-cache children share one cache, filled on first use
        os.environ[guest.CACHE_ENV] = cache
        try:
            _log("cold start (fresh processes)")
            results["cold_start"] = guest.cold_start(
                Path(cache),
                warm_runs=3 if quick else 7,
                cold_runs=1 if quick else 3,
                pythonpath=pythonpath,
            )
            _log('fresh run("nil") latency')
            results["nil_run"] = guest.nil_latency(
                warmup=100 if quick else 300, runs=300 if quick else 3000
            )
            results["compute"] = _compute(binary, native_error, runs=3 if quick else 7)
            _log("memory and RSS growth")
            results["memory"] = guest.memory(
                leak_blocks=2 if quick else 5, leak_runs=200 if quick else 1000
            )
            _log("Service calls and bare host calls")
            results["services"] = services.measure(quick=quick)
            _log("time to stop a run at each limit")
            results["limits"] = limits.measure(quick=quick)
            _log("Pool: IPC floor, latency, throughput, Service calls, worker RSS")
            results["pool"] = pool.measure(quick=quick, pythonpath=pythonpath)
            _log("Regexp: a literal per run, gsub and scan over 100 KB, the backtracking bound")
            results["regexp"] = regexp.measure(quick=quick)
            _log("JSON parse and generate, ~100 KB")
            results["json"] = json_bench.measure(quick=quick)
        finally:
            if saved is None:
                os.environ.pop(guest.CACHE_ENV, None)
            else:
                os.environ[guest.CACHE_ENV] = saved
    results["meta"]["duration_s"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--json", action="store_true", help="print JSON to stdout (table to stderr)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON results to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--no-native", action="store_true", help="skip the native mruby comparison")
    args = parser.parse_args(argv)

    results = measure(quick=args.quick, with_native=not args.no_native)
    payload = json.dumps(results, indent=2, default=str)
    table = report.render(results)
    if args.out:
        args.out.write_text(payload + "\n")
    if args.json:
        print(payload)
        print(table, file=sys.stderr)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
