"""Run mruby's own test suite (``test/t`` and the built gems' tests) inside the Sandbox.

Each test file runs in its own fresh guest: one script made of a harness line
(``eval`` of a prelude standing in for mrbtest's C driver, ``test/assert.rb`` and a
recording shim, all on line 1 so the test file keeps its own line numbers), the test
file wrapped in ``begin``/``rescue``, and an epilogue whose value is the counts.
Unlike mrbtest, every file sees all KOBAKO_GEMS (mrbtest runs ``test/t`` with no
gems and each gem's tests with only its dependencies).

Usage: ``python -m tests.conformance.mruby_suite [--json] [--verbose] [FILE ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kobako_async import KobakoError, Sandbox, SandboxError

REPO = Path(__file__).resolve().parents[2]
MRUBY_VERSION = "3.3.0"
MRUBY_TREE_ENV = "KOBAKO_MRUBY_TREE"
DEFAULT_TREE = REPO / "build" / "guest" / f"mruby-{MRUBY_VERSION}"
BUILD_CONFIG = REPO / "guest" / "build_config.rb"
KNOWN_FAILURES = Path(__file__).with_name("known_failures.txt")

RUN_TIMEOUT_S = 60.0
STDOUT_LIMIT_BYTES = 1 << 20

# Assertion outcomes that are not failures.
PASSING_KINDS = frozenset({"Skip", "Warn"})

FailureKey = tuple[str, str, str]
"""(test file relative to the mruby tree, kind, assertion title)."""

# What mrbtest's C driver (mrbgems/mruby-test/driver.c) defines before assert.rb:
# t_print, _str_match? (ported byte for byte) and Mrbtest::FLOAT_TOLERANCE.
PRELUDE = r"""
$mrbtest_verbose = nil
module Kernel
  def t_print(*args)
    args.each { |a| $stdout.write(a.to_s) }
    nil
  end

  def _str_match?(pattern, str)
    raise TypeError, "expected String" unless pattern.is_a?(String) && str.is_a?(String)
    unesc = ->(pat, i) { i < pat.size && pat[i] == 92 ? i + 1 : i }
    bracket = lambda do |pat, p, c|
      ok = false
      negated = false
      return nil if p >= pat.size
      if pat[p] == 33 || pat[p] == 94
        negated = true
        p += 1
      end
      while p < pat.size && pat[p] != 93
        t1 = unesc.call(pat, p)
        return nil if t1 >= pat.size
        p = t1 + 1
        return nil if p >= pat.size
        if pat[p] == 45 && pat[p + 1] != 93
          t2 = unesc.call(pat, p + 1)
          return nil if t2 >= pat.size
          p = t2 + 1
          ok = true if !ok && pat[t1] <= c && c <= pat[t2]
        elsif !ok && pat[t1] == c
          ok = true
        end
      end
      return nil if p >= pat.size
      ok == negated ? nil : p + 1
    end
    no_brace = lambda do |pat, s|
      p = 0
      i = 0
      p_tmp = nil
      s_tmp = nil
      loop do
        return i == s.size if p == pat.size
        failed = false
        case pat[p]
        when 42
          p += 1 while p < pat.size && pat[p] == 42
          return true if unesc.call(pat, p) == pat.size
          return false if i == s.size
          p_tmp = p
          s_tmp = i
          next
        when 63
          return false if i == s.size
          p += 1
          i += 1
          next
        when 91
          return false if i == s.size
          t = bracket.call(pat, p + 1, s[i])
          if t
            p = t
            i += 1
            next
          end
          failed = true
        end
        unless failed
          p = unesc.call(pat, p)
          return p == pat.size if i == s.size
          if p == pat.size || pat[p] != s[i]
            failed = true
          else
            p += 1
            i += 1
            next
          end
        end
        return false unless p_tmp && s_tmp
        p = p_tmp
        s_tmp += 1
        i = s_tmp
      end
    end
    match = lambda do |pat, s|
      lbrace = nil
      rbrace = nil
      nest = 0
      p = 0
      while p < pat.size
        if pat[p] == 123 && (nest += 1) == 1
          lbrace = p
        elsif pat[p] == 125 && lbrace && (nest -= 1) == 0
          rbrace = p
          break
        elsif pat[p] == 92 && (p += 1) == pat.size
          break
        end
        p += 1
      end
      if lbrace && rbrace
        head = pat[0, lbrace]
        tail = pat[rbrace + 1, pat.size]
        p = lbrace
        while p < rbrace
          p += 1
          t = p
          nest = 0
          while p < rbrace && !(pat[p] == 44 && nest == 0)
            if pat[p] == 123
              nest += 1
            elsif pat[p] == 125
              nest -= 1
            elsif pat[p] == 92 && (p += 1) == rbrace
              break
            end
            p += 1
          end
          return true if match.call(head + pat[t, p - t] + tail, s)
        end
        false
      elsif !lbrace && !rbrace
        no_brace.call(pat, s)
      else
        false
      end
    end
    match.call(pattern.bytes, str.bytes)
  end
end
module Mrbtest
  FLOAT_TOLERANCE = 1e-10
end
"""

# After assert.rb: record each top-level assertion outcome as [err, title, message].
SHIM = r"""
$kobako_records = []
$kobako_file_error = nil
alias __kobako_assertion_string assertion_string
def assertion_string(err, str, iso = nil, e = nil, bt = nil)
  msg = __kobako_assertion_string(err, str, iso, e, bt)
  if $mrbtest_assert_idx.nil? || $mrbtest_assert_idx.size <= 1
    $kobako_records << [err.to_s, str.to_s, msg.to_s]
  end
  msg
end
"""

# For files that call stubbed C helpers: let the stub's skip escape assert_raise
# (otherwise assert_raise would report the MRubyTestSkip as the wrong exception).
SKIP_THROUGH_ASSERT_RAISE = r"""
def assert_raise(*exc)
  msg = (exc.last.is_a? String) ? exc.pop : nil
  exc = exc.empty? ? StandardError : exc.size == 1 ? exc[0] : exc
  begin
    yield
  rescue MRubyTestSkip => e
    raise e
  rescue *exc => e
    pass
    e
  rescue Exception => e
    diff = "    #{exc} exception expected, not\n" \
           "    Class: <#{e.class}>\n" \
           "    Message: <#{e}>"
    flunk(msg, diff)
  else
    diff = "    #{exc} expected but nothing was raised."
    flunk(msg, diff)
  end
end
"""

EPILOGUE = """
$kobako_file_error &&= "#{$kobako_file_error.class}: #{$kobako_file_error.message}"
{"ok" => $ok_test, "ko" => $ko_test, "crash" => $kill_test, "warn" => $warning_test,
 "skip" => $skip_test, "records" => $kobako_records, "error" => $kobako_file_error}
"""


def _stub(owner: str, names: Sequence[str], source: str, *, singleton: bool) -> str:
    """Ruby defining ``names`` on ``owner`` as methods that skip the calling assertion."""
    body = (
        f"%i[{' '.join(names)}].each {{ |m| define_method(m) {{ |*| "
        f'skip "mrbtest C helper #{{m}} ({source}) is not in the guest" }} }}'
    )
    if singleton:
        body = f"class << self\n{body}\nend"
    return f"{owner}\n{body}\nend\n"


# Test files that need C functions from mrbtest (driver.c's vformat.c, or a gem's
# test/*.c): the listed helpers are stubbed to skip the assertions that call them.
# "" marks a file in such a gem that needs none. A file of a gem with test/*.c that
# is not listed here is skipped whole.
C_HELPER_STUBS: dict[str, str] = {
    "test/t/vformat.rb": _stub(
        "module TestVFormat", "z c d f i l n s C v".split(), "vformat.c", singleton=True
    ),
    "mrbgems/mruby-error/test/exception.rb": _stub(
        "class ExceptionTest",
        ["mrb_protect", "mrb_ensure", "mrb_rescue", "mrb_rescue_exceptions"],
        "test/exception.c",
        singleton=True,
    ),
    "mrbgems/mruby-binding/test/binding.rb": _stub(
        "class Object", ["binding_in_c"], "test/binding.c", singleton=False
    ),
    "mrbgems/mruby-proc-binding/test/proc-binding.rb": _stub(
        "class Object", ["proc_in_c"], "test/proc-binding.c", singleton=False
    ),
    "mrbgems/mruby-proc-ext/test/proc.rb": _stub(
        "class ProcExtTest",
        ["mrb_proc_new_cfunc_with_env", "mrb_cfunc_env_get"],
        "test/proc.c",
        singleton=True,
    )
    + _stub("class ProcExtTest", ["cfunc_without_env"], "test/proc.c", singleton=False),
    "mrbgems/mruby-fiber/test/fiber.rb": "",
    "mrbgems/mruby-fiber/test/fiber2.rb": _stub(
        "class Fiber", ["yield_by_c_func", "yield_by_c_method"], "test/fibertest.c", singleton=True
    )
    + _stub(
        "class Fiber",
        ["resume_by_c_func", "resume_by_c_method", "transfer_by_c"],
        "test/fibertest.c",
        singleton=False,
    )
    + _stub("class Proc", ["c_tunnel"], "test/fibertest.c", singleton=True),
}


@dataclass(frozen=True, slots=True)
class TestFile:
    """One test file to run: its path relative to the mruby tree and its gem."""

    path: str
    gem: str
    stubs: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    """One reported top-level assertion that did not simply pass."""

    file: str
    kind: str
    """``Fail``, ``Skip``, ``Warn``, an exception class (a crash), or ``FileCrash``."""
    title: str
    message: str

    @property
    def key(self) -> FailureKey:
        return (self.file, self.kind, self.title)

    @property
    def is_failure(self) -> bool:
        return self.kind not in PASSING_KINDS


@dataclass(slots=True)
class FileResult:
    """The counts mruby's assert.rb kept for one file, and what went wrong."""

    file: str
    gem: str
    ok: int = 0
    ko: int = 0
    crash: int = 0
    warn: int = 0
    skip: int = 0
    records: list[Record] = field(default_factory=list)
    error: str | None = None
    """Set when the file did not run to its end (top-level raise, compile error, trap)."""
    seconds: float = 0.0


@dataclass(slots=True)
class SuiteResult:
    """All files' results, plus the files not run and why."""

    files: list[FileResult]
    skipped_files: dict[str, str]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    def failures(self) -> Counter[FailureKey]:
        return Counter(r.key for f in self.files for r in f.records if r.is_failure)


def mruby_tree() -> Path | None:
    """The mruby source tree the guest was built from (``$KOBAKO_MRUBY_TREE`` overrides)."""
    tree = Path(os.environ.get(MRUBY_TREE_ENV) or DEFAULT_TREE)
    return tree if (tree / "test" / "assert.rb").is_file() else None


def kobako_gems(build_config: Path = BUILD_CONFIG) -> list[str]:
    """The gem names in ``KOBAKO_GEMS = %w[...]`` of the guest's build_config.rb."""
    match = re.search(r"KOBAKO_GEMS\s*=\s*%w\[(.*?)\]", build_config.read_text(), re.S)
    if not match:
        raise ValueError(f"no KOBAKO_GEMS = %w[...] in {build_config}")
    return match.group(1).split()


def collect(tree: Path, gems: Iterable[str]) -> tuple[list[TestFile], dict[str, str]]:
    """The test files to run, and the ones skipped with their reason."""
    files = [
        TestFile(p.relative_to(tree).as_posix(), "mruby-test")
        for p in sorted((tree / "test" / "t").glob("*.rb"))
    ]
    skipped: dict[str, str] = {}
    for gem in gems:
        test_dir = tree / "mrbgems" / gem / "test"
        helpers = sorted(p.name for p in test_dir.glob("*.c"))
        for path in sorted(test_dir.rglob("*.rb")):
            rel = path.relative_to(tree).as_posix()
            if helpers and rel not in C_HELPER_STUBS:
                skipped[rel] = f"needs mrbtest C helpers ({', '.join(helpers)})"
                continue
            files.append(TestFile(rel, gem))
    files = [TestFile(f.path, f.gem, C_HELPER_STUBS.get(f.path, "")) for f in files]
    return files, skipped


_RUBY_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("#"): "\\#", ord("\n"): "\\n"}
_RUBY_ESCAPES.update({c: f"\\x{c:02x}" for c in range(32) if c not in _RUBY_ESCAPES})


def ruby_string(text: str) -> str:
    """``text`` as a one-line double-quoted Ruby literal."""
    return '"' + text.translate(_RUBY_ESCAPES) + '"'


def build_script(tree: Path, test: TestFile) -> str:
    """The script that runs one test file; the file's line N is the script's line N."""
    harness = PRELUDE + f"GEMNAME = {ruby_string(test.gem)}\n"
    harness += (tree / "test" / "assert.rb").read_text(errors="surrogateescape") + SHIM
    if test.stubs:
        harness += SKIP_THROUGH_ASSERT_RAISE + test.stubs
    source = (tree / test.path).read_text(errors="surrogateescape")
    return (
        f"eval({ruby_string(harness)});begin;{source}\n"
        # Rescued into a global: a local would show up in the tests' local_variables.
        "rescue Exception => $kobako_file_error\nend\n" + EPILOGUE
    )


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def run_file(sandbox: Sandbox, tree: Path, test: TestFile) -> FileResult:
    """Run one test file in a fresh guest; a file that cannot run records a FileCrash."""
    result = FileResult(test.path, test.gem)
    started = time.perf_counter()
    try:
        value = sandbox.run(build_script(tree, test)).value
    except SandboxError as exc:
        result.error = str(exc)
        result.records.append(Record(test.path, "FileCrash", exc.klass, result.error))
    except KobakoError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.records.append(Record(test.path, "FileCrash", type(exc).__name__, result.error))
    else:
        for name in ("ok", "ko", "crash", "warn", "skip"):
            setattr(result, name, int(value[name]))
        for err, title, message in value["records"]:
            kind = _text(err).removesuffix(": ")
            result.records.append(Record(test.path, kind, _text(title), _text(message)))
        if value["error"] is not None:
            result.error = _text(value["error"])
            result.records.append(
                Record(test.path, "FileCrash", result.error.split(":")[0], result.error)
            )
    result.seconds = time.perf_counter() - started
    return result


def run_suite(only: Sequence[str] = (), workers: int | None = None) -> SuiteResult:
    """Run every collected test file (or those whose path ends with one of ``only``)."""
    tree = mruby_tree()
    if tree is None:
        raise FileNotFoundError(f"no mruby {MRUBY_VERSION} tree at {DEFAULT_TREE}")
    files, skipped = collect(tree, kobako_gems())
    if only:
        files = [f for f in files if any(f.path.endswith(o) for o in only)]
    sandbox = Sandbox(timeout=RUN_TIMEOUT_S, stdout_limit=STDOUT_LIMIT_BYTES)
    # Longest first, so one slow file does not run alone at the end.
    order = sorted(files, key=lambda f: -(tree / f.path).stat().st_size)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        done = {r.file: r for r in pool.map(lambda f: run_file(sandbox, tree, f), order)}
    return SuiteResult([done[f.path] for f in files], skipped)


def key_text(key: FailureKey) -> str:
    """``file | kind | title``, as in the known-failures file."""
    return " | ".join(key)


def load_known_failures(
    path: Path = KNOWN_FAILURES,
) -> tuple[Counter[FailureKey], dict[FailureKey, str]]:
    """The recorded failures (``file | kind | title | reason`` lines) and their reasons."""
    known: Counter[FailureKey] = Counter()
    reasons: dict[FailureKey, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        head, sep, reason = line.rpartition(" | ")
        parts = head.split(" | ", 2)
        if not sep or len(parts) != 3 or not reason.strip():
            raise ValueError(f"{path.name}:{number}: expected 'file | kind | title | reason'")
        key = (parts[0], parts[1], parts[2])
        known[key] += 1
        reasons[key] = reason.strip()
    return known, reasons


def min_passes(path: Path = KNOWN_FAILURES) -> int:
    """The ``# min-pass: N`` line of the known-failures file."""
    match = re.search(r"^# min-pass: (\d+)$", path.read_text(), re.M)
    if not match:
        raise ValueError(f"no '# min-pass: N' line in {path}")
    return int(match.group(1))


def format_table(result: SuiteResult) -> str:
    """A markdown table of counts per file, with totals."""
    names = ("ok", "ko", "crash", "warn", "skip")
    lines = ["| file | " + " | ".join(names) + " | s | note |", "|---" * 8 + "|"]
    for f in result.files:
        counts = " | ".join(str(getattr(f, n)) for n in names)
        lines.append(f"| {f.file} | {counts} | {f.seconds:.1f} | {f.error or ''} |")
    totals = " | ".join(f"**{result.total(n)}**" for n in names)
    lines.append(f"| **total ({len(result.files)} files)** | {totals} | | |")
    for path, reason in sorted(result.skipped_files.items()):
        lines.append(f"| {path} | - | - | - | - | - | | skipped: {reason} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table (or JSON); exit 1 if the failures differ from the known set."""
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.mruby_suite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every failure message")
    parser.add_argument("-j", "--workers", type=int, default=None)
    parser.add_argument("only", nargs="*", help="run only test files ending with these")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run_suite(args.only, args.workers)
    elapsed = time.perf_counter() - started
    known, reasons = load_known_failures()
    actual = result.failures()
    if args.only:
        ran = {f.file for f in result.files}
        known = Counter({k: n for k, n in known.items() if k[0] in ran})
    if args.json:
        payload = {
            "totals": {n: result.total(n) for n in ("ok", "ko", "crash", "warn", "skip")},
            "files": [asdict(f) for f in result.files],
            "skipped_files": result.skipped_files,
            "unexpected_failures": sorted(map(list, (actual - known).elements())),
            "unexpected_passes": sorted(map(list, (known - actual).elements())),
        }
        print(json.dumps(payload, indent=2))
    else:
        print(format_table(result))
        for r in (r for f in result.files for r in f.records):
            if args.verbose or (r.is_failure and r.key not in reasons):
                print(f"\n{key_text(r.key)}\n{r.message}")
        for key in sorted((actual - known).elements()):
            print(f"unexpected failure: {key_text(key)}")
        for key in sorted((known - actual).elements()):
            print(f"unexpected pass: {key_text(key)}")
        print(f"\n{elapsed:.1f} s")
    return 0 if actual == known else 1


if __name__ == "__main__":
    sys.exit(main())
