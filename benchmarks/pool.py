"""What the process Pool costs and what it buys, on the stock asyncio loop and on uvloop.

- IPC floor: a round trip of one framed msgpack message (a ``Run`` of ``nil``, encoded
  and decoded with ``kobako_async._protocol``) to a tiny child Python process that
  echoes length-prefixed frames over its stdin/stdout pipes, the parent doing its IO
  as the Pool does (non-blocking pipes and ``anyio.wait_readable``); the least any
  worker round trip can cost. For reference, the same through anyio's process
  streams;
- in-process: a fresh ``Sandbox().run("nil")``, no event loop (p50);
- a busy floor: the same echo, but the child spins for the in-process p50 before it
  answers. That is the least a worker as fast as in-process could cost, including
  what it costs the parent to sleep through the run and wake up again (on a VM,
  much more than in the back-to-back echo of the IPC floor);
- sequential ``await pool.run("nil")`` on one worker, p50/p99, and the CPU time the
  parent and the worker spend per run; the target is p50 ≤ IPC floor + in-process
  + 30 µs;
- throughput of a CPU-bound script, fib(20), with 1 worker and with 2 (target: 2
  workers ≥ 1.8× one), measured in alternating rounds so that load from other
  processes hits both alike; the load average is recorded before and after;
- throughput of ``run("nil")`` at concurrency 256 on a Pool of one worker per CPU,
  next to in-process Sandboxes run from threads (``anyio.to_thread`` with a
  ``CapacityLimiter`` of one thread per CPU);
- a proxied async Service call, amortized: (one run making 1,000 calls − one run of
  the same loop without them) / 1,000; the target is ≤ IPC floor + 20 µs;
- RSS of each worker (``VmRSS`` in /proc/<pid>/status), fresh and after the load.

Figures only; the targets are judged in ``report``.
Run alone with ``python -m benchmarks.pool [--quick] [--json]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from .stats import latency_summary, run_summary

FIB_20 = "def fib(n) = n < 2 ? n : fib(n-1) + fib(n-2); fib(20)"
CALLS = 1000
EMPTY_LOOP = f"i = 0; while i < {CALLS}; i += 1; end; i"
CALL_LOOP = f"i = 0; while i < {CALLS}; Noop.call; i += 1; end; i"
CONCURRENCY = 256

_ECHO_CHILD = """\
import os, struct, sys, time

SPIN_S = float(sys.argv[1])

def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            raise SystemExit(0)
        buf += chunk
    return buf

while True:
    header = read_exact(4)
    body = read_exact(struct.unpack(">I", header)[0])
    until = time.perf_counter() + SPIN_S
    while time.perf_counter() < until:
        pass
    os.write(1, header + body)
"""

LOOPS: dict[str, dict[str, Any]] = {
    "asyncio": {"use_uvloop": False},
    "uvloop": {"use_uvloop": True},
}


def _log(msg: str) -> None:
    print(f"[bench] pool: {msg}", file=sys.stderr, flush=True)


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return None


async def _timed(call: Callable[[], Awaitable[object]], *, warmup: int, runs: int) -> list[float]:
    """Wall seconds of each of ``runs`` sequential awaits of ``call()``, after warm-up."""
    for _ in range(warmup):
        await call()
    clock = time.perf_counter_ns
    times = []
    for _ in range(runs):
        started = clock()
        await call()
        times.append((clock() - started) / 1e9)
    return times


async def _throughput(
    call: Callable[[], Awaitable[object]], *, total: int, concurrency: int
) -> dict[str, Any]:
    """``total`` awaits of ``call()`` from ``concurrency`` tasks at once: runs per second."""
    remaining = total

    async def drain() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(drain)
    elapsed = time.perf_counter() - started
    return {
        "runs": total,
        "concurrency": concurrency,
        "elapsed_s": elapsed,
        "runs_per_s": total / elapsed,
    }


async def ipc_floor(
    *, warmup: int, runs: int, spin_s: float = 0.0, streams: bool = False
) -> dict[str, Any]:
    """p50/p99 of one framed message to an echoing child process and back; the child
    spins for ``spin_s`` before it answers. The parent does its IO as the Pool does
    (non-blocking pipes, ``anyio.wait_readable``), or with ``streams`` through anyio's
    process streams."""
    from kobako_async import _protocol as proto
    from kobako_async._limits import Limits
    from kobako_async._sandbox import build_request
    from kobako_async._services import Dispatcher

    limits = Limits()
    request = build_request("nil", limits, Dispatcher({}, limits), None)
    command = [sys.executable, "-c", _ECHO_CHILD, str(spin_s)]
    reader = proto.FrameReader()
    run_ids = iter(range(1, 1 << 62))
    if streams:
        process = await anyio.open_process(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        async def send(data: bytes) -> None:
            await stdin.send(data)

        async def receive() -> bytes:
            return await stdout.receive(1 << 16)

        async def close() -> None:
            await stdin.aclose()

    else:
        child_in, to_child = os.pipe()
        from_child, child_out = os.pipe()
        try:
            process = await anyio.open_process(command, stdin=child_in, stdout=child_out)
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(to_child, False)
        os.set_blocking(from_child, False)

        async def send(data: bytes) -> None:
            os.write(to_child, data)  # a small frame: the pipe has room

        async def receive() -> bytes:
            while True:
                try:
                    return os.read(from_child, 1 << 16)
                except BlockingIOError:
                    await anyio.wait_readable(from_child)

        async def close() -> None:
            os.close(to_child)

    async def round_trip() -> None:
        run = proto.Run(next(run_ids), request, 5.0, 64 << 20, None, 0, 16 << 20)
        await send(proto.encode(run))
        while isinstance(message := reader.next_message(), proto._NeedData):
            reader.feed(await receive())
        assert message == run

    try:
        for _ in range(warmup):
            await round_trip()
        parent = time.process_time()
        times = await _timed(round_trip, warmup=0, runs=runs)
        parent = (time.process_time() - parent) / runs
    finally:
        await close()
        with anyio.move_on_after(2):
            await process.wait()
        if process.returncode is None:
            process.kill()
        await process.aclose()
        if not streams:
            os.close(from_child)
    size = len(proto.encode(proto.Run(1, request, 5.0, 64 << 20, None, 0, 16 << 20)))
    return {"message_bytes": size, "parent_cpu_per_trip_s": parent} | latency_summary(times)


async def pool_nil(*, warmup: int, runs: int) -> dict[str, Any]:
    """Sequential ``await pool.run("nil")`` on a one-worker Pool; worker RSS fresh and after."""
    from kobako_async import Pool

    async with Pool(workers=1) as pool:
        (pid,) = pool.worker_pids()
        fresh = _rss_bytes(pid)
        for _ in range(warmup):
            await pool.run("nil")
        parent, worker = time.process_time(), _cpu_s(pid)
        times = await _timed(lambda: pool.run("nil"), warmup=0, runs=runs)
        parent = (time.process_time() - parent) / runs
        worker_end = _cpu_s(pid)
        after = _rss_bytes(pid)
    return {
        "latency": latency_summary(times),
        "parent_cpu_per_run_s": parent,
        "worker_cpu_per_run_s": (
            None if worker is None or worker_end is None else (worker_end - worker) / runs
        ),
        "rss_fresh_bytes": fresh,
        "rss_after_bytes": after,
    }


async def cpu_scaling(*, runs: int, rounds: int = 3) -> dict[str, Any]:
    """Throughput of fib(20) with 1 and with 2 workers, each kept busy (4 runs in flight
    per worker), in ``rounds`` alternating rounds of ``runs // rounds`` runs; the
    median round of each. Also the cores the workers got (their CPU time over the wall
    time): below the worker count, other processes held the rest."""
    from kobako_async import Pool

    out: dict[str, Any] = {"script": FIB_20, "rounds": rounds, "loadavg_before": os.getloadavg()}
    per_round = max(1, runs // rounds)
    rates: dict[int, list[float]] = {1: [], 2: []}
    cores: dict[int, list[float]] = {1: [], 2: []}
    async with Pool(workers=1, timeout=None) as one, Pool(workers=2, timeout=None) as two:
        pools = {1: one, 2: two}
        for workers, pool in pools.items():  # warm up
            fib = partial(pool.run, FIB_20)
            await _throughput(fib, total=4 * workers, concurrency=workers)
        for _ in range(rounds):
            for workers, pool in pools.items():
                fib = partial(pool.run, FIB_20)
                pids = pool.worker_pids()
                cpu_before = [_cpu_s(pid) or 0.0 for pid in pids]
                result = await _throughput(fib, total=per_round, concurrency=4 * workers)
                cpu = sum((_cpu_s(pid) or 0.0) - b for pid, b in zip(pids, cpu_before, strict=True))
                rates[workers].append(result["runs_per_s"])
                cores[workers].append(cpu / result["elapsed_s"])
    for workers in (1, 2):
        out[f"workers_{workers}"] = {
            "runs": per_round * rounds,
            "runs_per_s": statistics.median(rates[workers]),
            "rounds_runs_per_s": rates[workers],
            "cores_used": statistics.median(cores[workers]),
        }
    out["speedup"] = out["workers_2"]["runs_per_s"] / out["workers_1"]["runs_per_s"]
    out["loadavg_after"] = os.getloadavg()
    return out


async def nil_throughput(*, runs: int) -> dict[str, Any]:
    """run("nil") from 256 tasks: a Pool of one worker per CPU vs Sandboxes in threads."""
    from kobako_async import Pool, Sandbox

    cpus = os.cpu_count() or 1
    out: dict[str, Any] = {"workers": cpus, "threads": cpus}
    async with Pool(workers=cpus) as pool:
        await _throughput(lambda: pool.run("nil"), total=4 * CONCURRENCY, concurrency=CONCURRENCY)
        out["pool"] = await _throughput(
            lambda: pool.run("nil"), total=runs, concurrency=CONCURRENCY
        )
        out["worker_rss_bytes"] = [_rss_bytes(pid) for pid in pool.worker_pids()]
    sandbox = Sandbox()
    limiter = anyio.CapacityLimiter(cpus)

    def in_thread() -> Awaitable[object]:
        return anyio.to_thread.run_sync(sandbox.run, "nil", limiter=limiter)

    await _throughput(in_thread, total=4 * CONCURRENCY, concurrency=CONCURRENCY)
    out["threads_in_process"] = await _throughput(in_thread, total=runs, concurrency=CONCURRENCY)
    out["ratio"] = out["pool"]["runs_per_s"] / out["threads_in_process"]["runs_per_s"]
    return out


async def service_call(*, warmup: int, samples: int) -> dict[str, Any]:
    """A proxied async (and, for scale, sync) Service call, amortized over 1,000 in one run."""
    from kobako_async import Pool

    async def noop_async() -> None:
        return None

    def noop_sync() -> None:
        return None

    out: dict[str, Any] = {"calls_per_run": CALLS}
    async with Pool(workers=1, timeout=None) as pool:
        empty = await _timed(lambda: pool.run(EMPTY_LOOP), warmup=warmup, runs=samples)
        out["empty_loop"] = run_summary(empty)
        for name, service in (("async", noop_async), ("sync", noop_sync)):
            call = partial(pool.run, CALL_LOOP, bind={"Noop": service})
            loop = await _timed(call, warmup=warmup, runs=samples)
            out[name] = run_summary(loop) | {
                "per_call_s": (statistics.median(loop) - statistics.median(empty)) / CALLS
            }
    return out


def in_process_nil(*, warmup: int, runs: int) -> dict[str, Any]:
    """p50/p99 of a fresh ``Sandbox().run("nil")`` in this process."""
    from kobako_async import Sandbox

    sandbox = Sandbox()
    for _ in range(warmup):
        sandbox.run("nil")
    clock = time.perf_counter_ns
    times = []
    for _ in range(runs):
        started = clock()
        sandbox.run("nil")
        times.append((clock() - started) / 1e9)
    return latency_summary(times)


async def _one_loop(quick: bool, in_process_p50: float) -> dict[str, Any]:
    _log("IPC floor")
    floor = await ipc_floor(warmup=100 if quick else 300, runs=500 if quick else 3000)
    _log("IPC through anyio's process streams")
    streams = await ipc_floor(
        warmup=100 if quick else 300, runs=500 if quick else 3000, streams=True
    )
    _log("busy floor")
    busy = await ipc_floor(
        warmup=100 if quick else 300, runs=500 if quick else 3000, spin_s=in_process_p50
    )
    _log('sequential run("nil")')
    nil = await pool_nil(warmup=100 if quick else 300, runs=500 if quick else 3000)
    _log("fib(20) on 1 and 2 workers")
    cpu = await cpu_scaling(runs=60 if quick else 300)
    _log(f"run(nil) at concurrency {CONCURRENCY}, Pool vs threads")
    burst = await nil_throughput(runs=1500 if quick else 8000)
    _log("amortized Service call")
    svc = await service_call(warmup=2 if quick else 5, samples=7 if quick else 31)
    return {
        "ipc_floor": floor,
        "busy_floor": busy,
        "streams_floor": streams,
        "pool_nil": nil,
        "nil_p50_target_s": floor["p50_s"] + in_process_p50 + 30e-6,
        "cpu_scaling": cpu,
        "nil_throughput": burst,
        "service_call": svc,
        "service_call_target_s": floor["p50_s"] + 20e-6,
    }


@contextmanager
def _child_pythonpath(pythonpath: str | None) -> Iterator[None]:
    """Let worker processes import kobako_async from ``pythonpath`` (if not installed)."""
    saved = os.environ.get("PYTHONPATH")
    if pythonpath:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, saved]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def measure(*, quick: bool, pythonpath: str | None = None) -> dict[str, Any]:
    """Every Pool measurement, on each event loop available."""
    started = time.perf_counter()
    _log('in-process run("nil")')
    inproc = in_process_nil(warmup=100 if quick else 300, runs=500 if quick else 3000)
    results: dict[str, Any] = {
        "in_process_nil": inproc,
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "loops": {},
    }
    with _child_pythonpath(pythonpath):
        for name, options in LOOPS.items():
            if options.get("use_uvloop"):
                try:
                    import uvloop  # noqa: F401
                except ImportError:
                    results["loops"][name] = None
                    _log("uvloop is not installed: skipped")
                    continue
            _log(f"--- {name} event loop")
            results["loops"][name] = anyio.run(
                _one_loop, quick, inproc["p50_s"], backend="asyncio", backend_options=options
            )
    results["loadavg_end"] = os.getloadavg()
    results["duration_s"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    from . import __main__ as harness
    from . import report

    return harness.module_main(
        "python -m benchmarks.pool",
        __doc__,
        lambda quick, pythonpath: measure(quick=quick, pythonpath=pythonpath),
        report.render_pool,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
