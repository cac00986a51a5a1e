"""What a Service call costs, next to what any wasm → Python call costs.

- amortized: (one run making 1,000 Service calls − one run of the same loop without
  them) / 1,000, for a no-argument function and for a method taking two Integers;
- for the breakdown, the same loop calling a guest-only BasicObject whose
  ``method_missing`` has the proxies' signature, and nothing of the host;
- fresh run: ``run("Noop.call")`` against ``run("nil")``, the price of the first call;
- host side alone: ``Dispatcher.dispatch`` on a recorded call payload, no guest;
- bare host call, in this process: a tiny wat module whose exported ``spin(n)`` calls
  an imported Python function ``n`` times, with the import's signature the same as
  ``kobako.dispatch`` (4 × i32 → i64). Defined two ways: ``Linker.define_func``
  (wasmtime-py's checked trampoline: it reads the types and boxes every value) and
  ``wasmtime_linker_define_func_unchecked`` with a ctypes callback over raw values,
  the style ``_HostCalls`` uses.

Figures only; the target (amortized ≤ 2× a bare host call) is judged in ``report``.
Run alone with ``python -m benchmarks.services [--quick]``.
"""

from __future__ import annotations

import ctypes
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from .stats import latency_summary

CALLS = 1000
EMPTY_LOOP = f"i = 0; while i < {CALLS}; i += 1; end; i"
CALL_LOOPS = {
    "noop": f"i = 0; while i < {CALLS}; Noop.call; i += 1; end; i",
    "method_2_args": f"i = 0; while i < {CALLS}; Svc.add(i, 1); i += 1; end; i",
    # no host at all: what the proxy's Ruby side (method_missing with *args, **kwargs
    # and &block) costs by itself, for the breakdown
    "ruby_method_missing": "class P < BasicObject; def method_missing(n, *a, **k, &b) = nil; end\n"
    f"p = P.new; i = 0; while i < {CALLS}; p.call; i += 1; end; i",
}
BARE_ITERATIONS = 20_000

_SPIN_WAT = """
(module
  (import "host" "f" (func $f (param i32 i32 i32 i32) (result i64)))
  (func (export "spin") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc
          (i64.add (local.get $acc)
            (call $f (local.get $i) (i32.const 1) (i32.const 2) (i32.const 3))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $acc)))
"""

_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()


class _Svc:
    def add(self, a: int, b: int) -> int:
        return a + b


def _sandbox() -> Any:
    from kobako_async import Sandbox

    return Sandbox().bind("Noop", lambda: None).bind("Svc", _Svc())


def _wall(fn: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - started) / 1e9


_NIL_REPLY = b"\x92\x00\xc0"  # msgpack [REPLY_VALUE, nil]


def _stub_dispatch(_self: Any, _payload: bytes) -> bytes:
    return _NIL_REPLY


def amortized(*, warmup: int, samples: int) -> dict[str, Any]:
    """Seconds per Service call, amortized over CALLS calls in one run.

    Each sample times the call loop and the empty loop back to back; the figure is
    (median of the call runs − median of the empty runs) / CALLS, and the same by min.
    ``noop_stub_dispatch`` is the no-argument loop with ``Dispatcher.dispatch``
    replaced by a constant reply: the guest, the crossing and ``_HostCalls`` alone.
    """
    from kobako_async._services import Dispatcher

    sandbox = _sandbox()
    out: dict[str, Any] = {"calls_per_run": CALLS, "empty_script": EMPTY_LOOP}
    original = Dispatcher.dispatch
    for name, script in [*CALL_LOOPS.items(), ("noop_stub_dispatch", CALL_LOOPS["noop"])]:
        if name == "noop_stub_dispatch":
            Dispatcher.dispatch = _stub_dispatch  # type: ignore[method-assign]
        try:
            out[name] = _amortized_one(sandbox, script, warmup=warmup, samples=samples)
        finally:
            Dispatcher.dispatch = original  # type: ignore[method-assign]
    return out


def _amortized_one(sandbox: Any, script: str, *, warmup: int, samples: int) -> dict[str, Any]:
    if sandbox.run(script).value != CALLS:
        raise RuntimeError(f"benchmark script did not run {CALLS} iterations: {script}")
    for _ in range(warmup):
        sandbox.run(script)
        sandbox.run(EMPTY_LOOP)
    with_calls, empty = [], []
    for _ in range(samples):
        with_calls.append(_wall(lambda: sandbox.run(script)))
        empty.append(_wall(lambda: sandbox.run(EMPTY_LOOP)))
    return {
        "script": script,
        "run_with_calls_median_s": statistics.median(with_calls),
        "run_empty_median_s": statistics.median(empty),
        "per_call_s": (statistics.median(with_calls) - statistics.median(empty)) / CALLS,
        "per_call_by_min_s": (min(with_calls) - min(empty)) / CALLS,
        "n": samples,
    }


def fresh_run(*, warmup: int, runs: int) -> dict[str, Any]:
    """Latency of a fresh run making one Service call, against a fresh ``run("nil")``."""
    sandbox = _sandbox()
    scripts = {"nil": "nil", "one_call": "Noop.call"}
    for _ in range(warmup):
        for script in scripts.values():
            sandbox.run(script)
    times: dict[str, list[float]] = {key: [] for key in scripts}
    for _ in range(runs):  # interleaved, so drift hits both alike
        for key, script in scripts.items():
            times[key].append(_wall(lambda s=script: sandbox.run(s)))
    out: dict[str, Any] = {key: latency_summary(t) for key, t in times.items()}
    out["first_call_p50_s"] = out["one_call"]["p50_s"] - out["nil"]["p50_s"]
    return out


def host_dispatch(*, samples: int) -> dict[str, Any]:
    """Seconds per ``Dispatcher.dispatch`` (decode, rules, call, encode), no guest involved.

    The Dispatcher and payload are the ones a real run used, recorded on the way.
    """
    from kobako_async._services import Dispatcher

    recorded: list[tuple[Any, bytes]] = []
    original = Dispatcher.dispatch

    def recording(self: Any, payload: bytes) -> bytes:
        recorded.append((self, payload))
        return original(self, payload)

    sandbox = _sandbox()
    Dispatcher.dispatch = recording  # type: ignore[method-assign]
    try:
        sandbox.run("Noop.call; Svc.add(1, 2)")
    finally:
        Dispatcher.dispatch = original  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    for name, (dispatcher, payload) in zip(("noop", "method_2_args"), recorded, strict=True):
        per_call = []
        for _ in range(samples):
            started = time.perf_counter_ns()
            for _ in range(CALLS):
                dispatcher.dispatch(payload)
            per_call.append((time.perf_counter_ns() - started) / 1e9 / CALLS)
        out[name] = {"min_s": min(per_call), "median_s": statistics.median(per_call)}
    return out


def _spin_instance(define: Callable[[wasmtime.Linker, wasmtime.FuncType], Any]) -> Any:
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasmtime.wat2wasm(_SPIN_WAT))
    linker = wasmtime.Linker(engine)
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    keep = define(linker, wasmtime.FuncType([i32, i32, i32, i32], [i64]))
    store = wasmtime.Store(engine)
    spin = linker.instantiate(store, module).exports(store)["spin"]
    assert isinstance(spin, wasmtime.Func)
    return store, spin, keep


def _define_checked(linker: wasmtime.Linker, ty: wasmtime.FuncType) -> None:
    linker.define_func("host", "f", ty, lambda a, b, c, d: 1)


def _define_unchecked(linker: wasmtime.Linker, ty: wasmtime.FuncType) -> Any:
    def f(_env: Any, _caller: Any, raw: Any, _n: int) -> int:
        raw[0].i64 = 1
        return 0

    callback = ffi.wasmtime_func_unchecked_callback_t(f)
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(), b"host", 4, b"f", 1, ty.ptr(), callback, None, _NO_FINALIZER
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return callback  # ctypes frees the thunk with this object: keep it alive


def bare_host_call(*, samples: int, iterations: int = BARE_ITERATIONS) -> dict[str, Any]:
    """Seconds per wasm → Python call of a function doing nothing, both definition styles."""
    out: dict[str, Any] = {"iterations": iterations, "signature": "(i32, i32, i32, i32) -> i64"}
    for name, define in (("checked", _define_checked), ("unchecked", _define_unchecked)):
        store, spin, _keep = _spin_instance(define)
        assert spin(store, 10) == 10
        spin(store, iterations)  # warm-up
        run = lambda spin=spin, store=store: spin(store, iterations)  # noqa: E731
        per_call = [_wall(run) / iterations for _ in range(samples)]
        out[name] = {"min_s": min(per_call), "median_s": statistics.median(per_call)}
    return out


def measure(*, quick: bool) -> dict[str, Any]:
    """Every Service-call measurement, plus the ratio the target is about."""
    results: dict[str, Any] = {
        "bare_host_call": bare_host_call(samples=5 if quick else 21),
        "amortized": amortized(warmup=3 if quick else 10, samples=15 if quick else 101),
        "fresh_run": fresh_run(warmup=50 if quick else 200, runs=200 if quick else 2000),
        "host_dispatch": host_dispatch(samples=5 if quick else 21),
    }
    per_call = results["amortized"]["noop"]["per_call_s"]
    bare = results["bare_host_call"]
    results["ratio_to_bare"] = {
        style: per_call / bare[style]["median_s"] for style in ("checked", "unchecked")
    }
    return results


def main(argv: list[str] | None = None) -> int:
    from . import __main__ as harness
    from . import report

    return harness.module_main(
        "python -m benchmarks.services",
        __doc__,
        lambda quick, pythonpath: measure(quick=quick),
        report.render_services,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
