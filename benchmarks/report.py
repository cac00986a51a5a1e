"""The results as a markdown table, with each target beside its figure."""

from __future__ import annotations

from typing import Any

COLD_START_TARGET_S = 0.050
NIL_P50_TARGET_S = 100e-6
RATIO_TARGET = 2.0
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


def render(results: dict[str, Any]) -> str:
    """A markdown table of ``results`` (as produced by ``python -m benchmarks``)."""
    rows = _cold_rows(results["cold_start"]) + _nil_rows(results["nil_run"])
    rows += _compute_rows(results["compute"]) + _memory_rows(results["memory"])
    header: Row = ("Benchmark", "Result", "Target", "Met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(row: Row) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
