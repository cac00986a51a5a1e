"""Differential tests: each script under scripts/ behaves in the guest as in CRuby.

Design (the same on both sides, see harness.py): the script's source is wrapped in
``begin``/``rescue Exception`` and followed by a line printing a marker and either
the ``inspect`` of the script's last value or the uncaught exception's class and
message. CRuby (``/usr/bin/ruby --disable-gems``, ``TZ=UTC``) runs live, a few
processes at a time; the guest runs in one reused Sandbox. A test passes when the
script's stdout and the final line are identical. A guest run ending in a
KobakoError (compile error, trap, limit) is a mismatch.

Scripts listed in known_differences.txt are strict xfails: fixing one makes its
test fail until the entry is removed. ``python -m tests.fidelity.report`` prints
the pass rate per category.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kobako_async import Sandbox

from . import harness

SCRIPTS = harness.discover()
KNOWN = harness.load_known_differences()
MIN_SCRIPTS = 170


def _param(script: harness.Script) -> object:
    marks = []
    if script.key in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[script.key]))
    return pytest.param(script, id=script.key, marks=marks)


@pytest.fixture(scope="module")
def ruby_outcomes() -> dict[str, harness.Outcome]:
    if shutil.which(harness.RUBY) is None:
        pytest.skip(f"no CRuby at {harness.RUBY}: make test installs Debian's ruby")
    return harness.run_ruby_all(SCRIPTS)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return harness.create_sandbox()


def test_corpus_size_and_known_entries_exist() -> None:
    """The corpus holds enough scripts and every known difference names one."""
    assert len(SCRIPTS) >= MIN_SCRIPTS
    keys = {s.key for s in SCRIPTS}
    assert set(KNOWN) <= keys, f"stale entries: {sorted(set(KNOWN) - keys)}"


@pytest.mark.parametrize("script", [_param(s) for s in SCRIPTS])
def test_script_matches_cruby(
    script: harness.Script, ruby_outcomes: dict[str, harness.Outcome], sandbox: Sandbox
) -> None:
    """The guest prints the same stdout and ends with the same value or error as CRuby."""
    expected = ruby_outcomes[script.key]
    assert not expected.result.startswith("ruby exited"), expected.result
    assert harness.run_guest(sandbox, script) == expected


HARNESS_CASES = [
    pytest.param('print "a"\n:sym', harness.Outcome("a", "value :sym"), id="value"),
    pytest.param(
        'puts "x"\nraise ArgumentError, "bad"',
        harness.Outcome("x\n", "error ArgumentError: bad"),
        id="uncaught",
    ),
    pytest.param(
        '# frozen_string_literal: true\n"s".frozen?',
        harness.Outcome("", "value true"),
        id="magic-comment",
    ),
]


def _script(tmp_path: Path, source: str) -> harness.Script:
    path = tmp_path / "scripts" / "probe" / "probe.rb"
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    return harness.Script(path)


@pytest.mark.parametrize(("source", "expected"), HARNESS_CASES)
def test_harness_reads_cruby_outcomes(tmp_path: Path, source: str, expected: object) -> None:
    """The wrapper yields the script's own stdout and its value or uncaught error."""
    if shutil.which(harness.RUBY) is None:
        pytest.skip(f"no CRuby at {harness.RUBY}")
    assert harness.run_ruby(_script(tmp_path, source)) == expected


def test_harness_reports_guest_compile_errors(tmp_path: Path, sandbox: Sandbox) -> None:
    """A guest run that raises a KobakoError becomes a ``kobako`` result, never a match."""
    outcome = harness.run_guest(sandbox, _script(tmp_path, "def broken(\n"))
    assert outcome.result.startswith("kobako SandboxError: SyntaxError")
