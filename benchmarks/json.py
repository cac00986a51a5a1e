"""What JSON costs inside the guest, on a ~100 KB document.

The document (``DOC_SCRIPT``) is 470 records of strings with escapes and
non-ASCII text, Integers, a Bignum, Floats, booleans, nil and nested Hashes
and Arrays: about 100 KB as ``JSON.generate`` writes it. Each operation is
amortized: (one run doing it ``ops`` times − the same run doing it zero
times) / ``ops``, so building the document and the run itself cancel out.

Operations: ``JSON.parse(text)``, ``JSON.parse(text, symbolize_names: true)``,
``JSON.generate(doc)`` and ``JSON.pretty_generate(doc)``. When Debian's
``ruby`` is installed, the same operations in CRuby (its ``json`` extension,
timed inside Ruby) are given for scale.
Figures only; the target (a few ms per 100 KB) is judged in ``report``.
Run alone with ``python -m benchmarks.json [--quick]``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

DOC_SCRIPT = """\
doc = {"version" => 3, "source" => "benchmark", "items" => (1..470).map { |i|
  {"id" => i, "name" => "item #{i} café ✓", "price" => i * 1.25 + 0.1, "ratio" => i / 7.0,
   "big" => 2**70 + i, "tags" => ["t#{i % 7}", "blue", "ünïcödé"], "active" => i % 2 == 1,
   "meta" => {"weight" => i % 13, "note" => nil, "text" => "line\\n\\"quoted\\" \\\\ #{i}\\t/"}}
}}
text = JSON.generate(doc)
"""
OPERATIONS = {
    "parse": "JSON.parse(text)",
    "parse_symbolize_names": "JSON.parse(text, symbolize_names: true)",
    "generate": "JSON.generate(doc)",
    "pretty_generate": "JSON.pretty_generate(doc)",
}
RUBY = "/usr/bin/ruby"


def _script(op: str, ops: int) -> str:
    return f"{DOC_SCRIPT}{ops}.times {{ {op} }}\ntext.bytesize"


def _timed_run(sandbox: Any, script: str) -> float:
    started = time.perf_counter_ns()
    sandbox.run(script)
    return (time.perf_counter_ns() - started) / 1e9


def amortized(op: str, *, ops: int, samples: int) -> dict[str, Any]:
    """Per-call seconds of ``op`` in the guest: median over ``samples`` run pairs."""
    from kobako_async import Sandbox

    sandbox = Sandbox(timeout=None)
    with_ops, without = _script(op, ops), _script(op, 0)
    sandbox.run(with_ops)  # warm up
    per_call = [
        (_timed_run(sandbox, with_ops) - _timed_run(sandbox, without)) / ops for _ in range(samples)
    ]
    return {"n": samples, "ops_per_run": ops, "per_call_s": statistics.median(per_call)}


def document_bytes() -> dict[str, int]:
    """Sizes of the document as generate and pretty_generate write it."""
    from kobako_async import Sandbox

    value = Sandbox().run(DOC_SCRIPT + "[text.bytesize, JSON.pretty_generate(doc).bytesize]").value
    assert isinstance(value, list)
    return {"compact": int(value[0]), "pretty": int(value[1])}


def cruby(*, ops: int) -> dict[str, float] | None:
    """Per-call seconds of each operation in CRuby, timed inside Ruby; None without ruby."""
    if shutil.which(RUBY) is None:
        return None
    timing = "\n".join(
        f"t = Process.clock_gettime(Process::CLOCK_MONOTONIC); {ops}.times {{ {op} }}\n"
        f'r["{name}"] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) / {ops}'
        for name, op in OPERATIONS.items()
    )
    script = f'require "json"\n{DOC_SCRIPT}r = {{}}\n{timing}\nputs JSON.generate(r)\n'
    done = subprocess.run([RUBY, "-e", script], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    result: dict[str, float] = json.loads(done.stdout)
    return result


def measure(*, quick: bool) -> dict[str, Any]:
    """Every JSON measurement."""
    ops, samples = (5, 3) if quick else (20, 9)
    return {
        "document_bytes": document_bytes(),
        "guest": {name: amortized(op, ops=ops, samples=samples) for name, op in OPERATIONS.items()},
        "cruby": cruby(ops=ops * 5),
    }


def main(argv: list[str] | None = None) -> int:
    from . import __main__ as harness
    from . import report

    return harness.module_main(
        "python -m benchmarks.json",
        __doc__,
        lambda quick, pythonpath: measure(quick=quick),
        report.render_json,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
