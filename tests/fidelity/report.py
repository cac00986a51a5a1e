"""Print the fidelity pass rate per category as a markdown table.

Usage: ``python -m tests.fidelity.report [--failures]``. ``--failures`` also lists
each mismatching script with CRuby's and the guest's result lines and the first
differing stdout line.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from . import harness


def _first_difference(expected: str, actual: str) -> str:
    want, got = expected.splitlines(), actual.splitlines()
    for index, (a, b) in enumerate(zip(want, got, strict=False)):
        if a != b:
            return f"line {index + 1}: ruby {a!r} / guest {b!r}"
    if len(want) != len(got):
        return f"ruby {len(want)} lines / guest {len(got)} lines"
    return "stdout identical"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list mismatching scripts")
    args = parser.parse_args()
    scripts = harness.discover()
    expected = harness.run_ruby_all(scripts)
    sandbox = harness.create_sandbox()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: list[str] = []
    for script in scripts:
        want = expected[script.key]
        got = harness.run_guest(sandbox, script)
        same = want == got
        totals[script.category][0] += same
        totals[script.category][1] += 1
        if not same:
            failures.append(
                f"{script.key}\n  ruby:  {want.result[:200]}\n  guest: {got.result[:200]}\n"
                f"  {_first_difference(want.stdout, got.stdout)[:300]}"
            )
    print("| Category | Identical | Total | Rate |")
    print("|---|---:|---:|---:|")
    for category, (same, total) in sorted(totals.items()):
        print(f"| {category} | {same} | {total} | {100 * same / total:.0f}% |")
    same = sum(s for s, _ in totals.values())
    total = sum(t for _, t in totals.values())
    print(f"| **all** | **{same}** | **{total}** | **{100 * same / max(total, 1):.1f}%** |")
    if args.failures:
        print("\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
