"""The results as a markdown table, with each target beside its figure."""

from __future__ import annotations

from typing import Any

COLD_START_TARGET_S = 0.050
NIL_P50_TARGET_S = 100e-6
RATIO_TARGET = 2.0
SERVICE_CALL_RATIO_TARGET = 2.0
"""Amortized Service call ≤ this × a bare wasm → Python host call (unchecked style)."""
TIMEOUT_OVERSHOOT_TARGET_S = 0.050
"""A timed-out run may end at most this long after its timeout."""
JSON_100KB_TARGET_S = 5e-3
"""JSON.parse / JSON.generate of a ~100 KB document in the guest: "a few ms"."""
RSS_GROWTH_TOLERANCE_BYTES = 64 * 1024
"""Growth per 1000 runs still counted as ~0 (page-granular noise of the allocators)."""

Row = tuple[str, str, str, str]


def fmt_time(seconds: float | None) -> str:
    """Seconds in the unit that suits them."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_bytes(n: float | None) -> str:
    """Bytes in binary units."""
    if n is None:
        return "n/a"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def _cold_rows(cold: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for label, key in (("warm", "warm_cache"), ("cold", "cold_cache")):
        s = cold[key]
        both = s["import_and_sandbox_s"]["median_s"]
        detail = (
            f"{fmt_time(both)} (import {fmt_time(s['import_s']['median_s'])}"
            f" + Sandbox() {fmt_time(s['sandbox_s']['median_s'])}; n={s['sandbox_s']['n']})"
        )
        target, ok = ("≤ 50 ms", both <= COLD_START_TARGET_S) if label == "warm" else ("", None)
        rows.append(
            (
                f"cold start, {label} disk cache: import + Sandbox() (median)",
                detail,
                target,
                _met(ok),
            )
        )
        rows.append(
            (
                f'cold start, {label} disk cache: first run("nil") / whole process',
                f"{fmt_time(s['first_run_s']['median_s'])}"
                f" / {fmt_time(s['process_s']['median_s'])}",
                "",
                "—",
            )
        )
    base = cold["python_startup"]["median_s"]
    rows.append(("python start-up alone (whole process, for scale)", fmt_time(base), "", "—"))
    return rows


def _nil_rows(nil: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for key, label in (("default_timeout", "default timeout"), ("no_timeout", "timeout=None")):
        s = nil[key]
        rows.append(
            (
                f'fresh run("nil"), {label}: p50 / p99 (n={s["n"]})',
                f"{fmt_time(s['p50_s'])} / {fmt_time(s['p99_s'])}",
                "p50 ≤ 100 µs",
                _met(s["p50_s"] <= NIL_P50_TARGET_S),
            )
        )
    return rows


def _compute_rows(compute: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for c in compute.values():
        g = c["guest"]
        rows.append(
            (
                f"{c['label']}: guest min / median (n={g['n']})",
                f"{fmt_time(g['min_s'])} / {fmt_time(g['median_s'])}",
                "",
                "—",
            )
        )
        n = c.get("native")
        if n is None:
            rows.append((f"{c['label']}: native mruby", f"n/a ({c.get('native_error')})", "", "—"))
            continue
        rows.append(
            (
                f"{c['label']}: native mruby min / median (n={n['n']})",
                f"{fmt_time(n['min_s'])} / {fmt_time(n['median_s'])}",
                "",
                "—",
            )
        )
        note = "" if c["values_match"] else " (values differ!)"
        rows.append(
            (
                f"{c['label']}: guest / native, by min (by median)",
                f"{c['ratio_min']:.2f}× ({c['ratio_median']:.2f}×){note}",
                "≤ 2×",
                _met(c["ratio_min"] <= RATIO_TARGET),
            )
        )
    return rows


def _memory_rows(mem: dict[str, Any]) -> list[Row]:
    peaks = mem["guest_peak_bytes"]
    rows: list[Row] = [
        (
            "guest memory per run (memory_peak_bytes): nil / 1k strings / 100k array",
            " / ".join(fmt_bytes(peaks[k]) for k in ("nil", "small_alloc", "array_100k")),
            "",
            "—",
        )
    ]
    for key, label in (("nil", "nil"), ("small_alloc", "1k strings"), ("array_100k", "100k array")):
        r = mem["rss"][key]
        growth = r["growth_bytes_per_1000_runs"]
        ok = None if growth is None else growth <= RSS_GROWTH_TOLERANCE_BYTES
        rows.append(
            (
                f"process RSS growth per 1000 runs, {label} (over {r['runs']} runs)",
                fmt_bytes(growth),
                "~0",
                _met(ok),
            )
        )
    return rows


def _service_rows(svc: dict[str, Any]) -> list[Row]:
    bare, amort = svc["bare_host_call"], svc["amortized"]
    host, fresh = svc["host_dispatch"], svc["fresh_run"]
    ratio = svc["ratio_to_bare"]
    calls = amort["calls_per_run"]
    return [
        (
            f"bare wasm → Python host call, unchecked / define_func ({bare['iterations']} calls)",
            f"{fmt_time(bare['unchecked']['median_s'])} / {fmt_time(bare['checked']['median_s'])}",
            "",
            "—",
        ),
        (
            f"Service call amortized over {calls} in one run: no-arg function / 2-arg method",
            f"{fmt_time(amort['noop']['per_call_s'])}"
            f" / {fmt_time(amort['method_2_args']['per_call_s'])} (n={amort['noop']['n']})",
            "",
            "—",
        ),
        (
            "amortized Service call / bare host call: unchecked (define_func)",
            f"{ratio['unchecked']:.2f}× ({ratio['checked']:.2f}×)",
            f"≤ {SERVICE_CALL_RATIO_TARGET:g}×",
            _met(ratio["unchecked"] <= SERVICE_CALL_RATIO_TARGET),
        ),
        (
            "  of which host-side Dispatcher.dispatch alone: no-arg / 2-arg (median)",
            f"{fmt_time(host['noop']['median_s'])} / {fmt_time(host['method_2_args']['median_s'])}",
            "",
            "—",
        ),
        (
            "  of which guest + crossing + _HostCalls (stub Dispatcher), no-arg",
            fmt_time(amort["noop_stub_dispatch"]["per_call_s"]),
            "",
            "—",
        ),
        (
            "  of which guest Ruby method_missing alone (no host), per call",
            fmt_time(amort["ruby_method_missing"]["per_call_s"]),
            "",
            "—",
        ),
        (
            f'fresh run("Noop.call") vs run("nil"): p50 (n={fresh["nil"]["n"]})',
            f"{fmt_time(fresh['one_call']['p50_s'])} vs {fmt_time(fresh['nil']['p50_s'])}"
            f" (first call +{fmt_time(fresh['first_call_p50_s'])})",
            "",
            "—",
        ),
    ]


def _limits_rows(lim: dict[str, Any]) -> list[Row]:
    timeout = lim["timeout_s"]
    loop, svc = lim["timeout_loop"], lim["timeout_service"]
    grow, once, fuel = lim["memory_growth"], lim["memory_one_allocation"], lim["fuel_loop"]
    limit = fmt_bytes(lim["memory_limit_bytes"])
    return [
        (
            f'run("loop {{}}"), timeout={timeout:g} s: time to TimeoutError p50 / max'
            f" (n={loop['n']})",
            f"{fmt_time(loop['p50_s'])} / {fmt_time(loop['max_s'])}",
            f"≤ {fmt_time(timeout + TIMEOUT_OVERSHOOT_TARGET_S)}",
            _met(loop["max_s"] <= timeout + TIMEOUT_OVERSHOOT_TARGET_S),
        ),
        (
            f"  Service sleeping 0.3 s past timeout={timeout:g} s: p50 / max (n={svc['n']})",
            f"{fmt_time(svc['p50_s'])} / {fmt_time(svc['max_s'])}",
            "",
            "—",
        ),
        (
            f"memory_limit={limit}, growing in 1 KB steps: time to MemoryLimitError p50 / max"
            f" (n={grow['n']})",
            f"{fmt_time(grow['p50_s'])} / {fmt_time(grow['max_s'])}",
            "",
            "—",
        ),
        (
            f"memory_limit={limit}, one 1 GiB allocation: p50 / max (n={once['n']})",
            f"{fmt_time(once['p50_s'])} / {fmt_time(once['max_s'])}",
            "",
            "—",
        ),
        (
            f'run("loop {{}}"), fuel={lim["fuel"]:.0e}: time to FuelExhaustedError p50 / max'
            f" (n={fuel['n']})",
            f"{fmt_time(fuel['p50_s'])} / {fmt_time(fuel['max_s'])}",
            "",
            "—",
        ),
    ]


def render_limits(limits: dict[str, Any]) -> str:
    """A markdown table of the limit figures alone (``benchmarks.limits``)."""
    return _table(_limits_rows(limits))


def render_services(services: dict[str, Any]) -> str:
    """A markdown table of the Service-call figures alone (``benchmarks.services``)."""
    return _table(_service_rows(services))


def _json_rows(js: dict[str, Any]) -> list[Row]:
    size = js["document_bytes"]
    cruby = js["cruby"] or {}
    labels = {
        "parse": "JSON.parse",
        "parse_symbolize_names": "JSON.parse(symbolize_names: true)",
        "generate": "JSON.generate",
        "pretty_generate": "JSON.pretty_generate",
    }
    rows: list[Row] = []
    for name, label in labels.items():
        guest = js["guest"][name]
        t = guest["per_call_s"]
        ref = f" (CRuby {fmt_time(cruby[name])})" if name in cruby else ""
        judged = name in ("parse", "generate")
        rows.append(
            (
                f"{label} of a {fmt_bytes(size['compact'])} document, per call (n={guest['n']})",
                f"{fmt_time(t)}{ref}",
                f"≤ {fmt_time(JSON_100KB_TARGET_S)}" if judged else "",
                _met(t <= JSON_100KB_TARGET_S) if judged else "—",
            )
        )
    return rows


def render_json(js: dict[str, Any]) -> str:
    """A markdown table of the JSON figures alone (``benchmarks.json``)."""
    return _table(_json_rows(js))


POOL_NIL_OVER_FLOOR_TARGET_S = 30e-6
"""Pool run("nil") p50 ≤ IPC floor + in-process fresh run + this."""
POOL_SERVICE_OVER_FLOOR_TARGET_S = 20e-6
"""Amortized proxied Service call ≤ IPC floor + this."""
POOL_SCALING_TARGET = 1.8
"""CPU-bound throughput with 2 workers ≥ this × with one."""


def _pool_rows(pool: dict[str, Any]) -> list[Row]:
    inproc = pool["in_process_nil"]
    rows: list[Row] = [
        (
            f'Pool: in-process fresh Sandbox().run("nil"), for the target: p50 (n={inproc["n"]})',
            fmt_time(inproc["p50_s"]),
            "",
            "—",
        )
    ]
    if "loadavg_start" in pool:
        rows.append(
            (
                "Pool: load average (1 min) at start / end of these measurements",
                f"{pool['loadavg_start'][0]:.2f} / {pool['loadavg_end'][0]:.2f}"
                f" on {pool['cpus']} CPUs",
                "",
                "—",
            )
        )
    for loop, r in pool["loops"].items():
        if r is None:
            rows.append((f"Pool [{loop}]", "n/a (not installed)", "", "—"))
            continue
        floor, nil = r["ipc_floor"], r["pool_nil"]["latency"]
        cpu, burst, svc = r["cpu_scaling"], r["nil_throughput"], r["service_call"]
        w1, w2 = cpu["workers_1"], cpu["workers_2"]
        p, t = burst["pool"], burst["threads_in_process"]
        rss = [b for b in burst["worker_rss_bytes"] if b is not None]
        rows += [
            (
                f"Pool [{loop}]: IPC floor, framed msgpack echo via a child, raw pipes: p50 / p99"
                f" (n={floor['n']})",
                f"{fmt_time(floor['p50_s'])} / {fmt_time(floor['p99_s'])}",
                "",
                "—",
            ),
            *(
                [
                    (
                        f"Pool [{loop}]:   the same through anyio's process streams: p50 / p99",
                        f"{fmt_time(r['streams_floor']['p50_s'])}"
                        f" / {fmt_time(r['streams_floor']['p99_s'])}",
                        "",
                        "—",
                    )
                ]
                if "streams_floor" in r
                else []
            ),
            *(
                [
                    (
                        f"Pool [{loop}]: busy floor, the echo child spinning for the"
                        f" in-process p50 first: p50 / p99 (n={r['busy_floor']['n']})",
                        f"{fmt_time(r['busy_floor']['p50_s'])}"
                        f" / {fmt_time(r['busy_floor']['p99_s'])}",
                        "",
                        "—",
                    )
                ]
                if "busy_floor" in r
                else []
            ),
            (
                f'Pool [{loop}]: sequential await pool.run("nil"): p50 / p99 (n={nil["n"]})',
                f"{fmt_time(nil['p50_s'])} / {fmt_time(nil['p99_s'])}",
                f"p50 ≤ floor + in-process + 30 µs = {fmt_time(r['nil_p50_target_s'])}",
                _met(nil["p50_s"] <= r["nil_p50_target_s"]),
            ),
            (
                f"Pool [{loop}]:   CPU per run: parent / worker (floor: parent"
                f" {fmt_time(floor['parent_cpu_per_trip_s'])} per round trip)",
                f"{fmt_time(r['pool_nil']['parent_cpu_per_run_s'])}"
                f" / {fmt_time(r['pool_nil']['worker_cpu_per_run_s'])}",
                "",
                "—",
            ),
            (
                f"Pool [{loop}]: fib(20) throughput, 1 / 2 workers ({w1['runs']} runs each,"
                f" {cpu.get('rounds', 1)} alternating rounds)",
                f"{w1['runs_per_s']:.0f} / {w2['runs_per_s']:.0f} runs/s ({cpu['speedup']:.2f}×)",
                f"2 workers ≥ {POOL_SCALING_TARGET:g}× one",
                _met(cpu["speedup"] >= POOL_SCALING_TARGET),
            ),
            *(
                [
                    (
                        f"Pool [{loop}]:   cores the fib(20) workers got (their CPU time /"
                        " wall time), 1 / 2 workers",
                        f"{w1['cores_used']:.2f} / {w2['cores_used']:.2f}",
                        "",
                        "—",
                    )
                ]
                if "cores_used" in w1
                else []
            ),
            (
                f'Pool [{loop}]: run("nil") at concurrency {p["concurrency"]}:'
                f" {burst['workers']} workers / {burst['threads']} threads in-process",
                f"{p['runs_per_s']:.0f} / {t['runs_per_s']:.0f} runs/s ({burst['ratio']:.2f}×)",
                "",
                "—",
            ),
            (
                f"Pool [{loop}]: proxied async Service call, amortized over"
                f" {svc['calls_per_run']} (sync)",
                f"{fmt_time(svc['async']['per_call_s'])} ({fmt_time(svc['sync']['per_call_s'])})",
                f"≤ floor + 20 µs = {fmt_time(r['service_call_target_s'])}",
                _met(svc["async"]["per_call_s"] <= r["service_call_target_s"]),
            ),
            (
                f"Pool [{loop}]: worker RSS, fresh / after {nil['n']} runs / after the burst",
                f"{fmt_bytes(r['pool_nil']['rss_fresh_bytes'])}"
                f" / {fmt_bytes(r['pool_nil']['rss_after_bytes'])}"
                f" / {', '.join(fmt_bytes(b) for b in rss)}",
                "",
                "—",
            ),
        ]
    return rows


def render_pool(pool: dict[str, Any]) -> str:
    """A markdown table of the Pool figures alone (``benchmarks.pool``)."""
    return _table(_pool_rows(pool))


def _regexp_rows(rx: dict[str, Any]) -> list[Row]:
    nil, one = rx["nil"]["p50_s"], rx["one_match"]["p50_s"]
    return [
        (
            'fresh run with one regexp literal match, p50 (vs run("nil") in the same loop)',
            f"{fmt_time(one)} (+{fmt_time(one - nil)} over {fmt_time(nil)})",
            "",
            "—",
        ),
        (
            "gsub with a block over 100 KB (15,000 matches, $1 in the block), p50",
            fmt_time(rx["gsub_100k"]["p50_s"]),
            "",
            "—",
        ),
        (
            "scan(/\\w+/) over 100 KB (15,000 words), p50",
            fmt_time(rx["scan_100k"]["p50_s"]),
            "",
            "—",
        ),
        (
            "catastrophic /(a+)+$/ to Regexp::TimeoutError, p50",
            fmt_time(rx["catastrophic"]["p50_s"]),
            "error, no hang",
            "yes",
        ),
    ]


def render_regexp(regexp: dict[str, Any]) -> str:
    """A markdown table of the Regexp figures alone (``benchmarks.regexp``)."""
    return _table(_regexp_rows(regexp))


def render(results: dict[str, Any]) -> str:
    """A markdown table of ``results`` (as produced by ``python -m benchmarks``)."""
    rows = _cold_rows(results["cold_start"]) + _nil_rows(results["nil_run"])
    rows += _compute_rows(results["compute"]) + _memory_rows(results["memory"])
    if "services" in results:
        rows += _service_rows(results["services"])
    if "limits" in results:
        rows += _limits_rows(results["limits"])
    if "pool" in results:
        rows += _pool_rows(results["pool"])
    if "regexp" in results:
        rows += _regexp_rows(results["regexp"])
    if "json" in results:
        rows += _json_rows(results["json"])
    return _table(rows)


def _table(rows: list[Row]) -> str:
    header: Row = ("Benchmark", "Result", "Target", "Met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(row: Row) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
