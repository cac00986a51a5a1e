"""mruby's own test suite, run inside the sandbox, fails exactly as recorded."""

from __future__ import annotations

from collections import Counter

import pytest

from . import mruby_suite as suite


@pytest.fixture(scope="module")
def result() -> suite.SuiteResult:
    from kobako_async._guest import default_wasm_path

    if suite.mruby_tree() is None:
        pytest.skip(f"no mruby source tree at {suite.DEFAULT_TREE}: run make guest first")
    if not default_wasm_path().is_file():
        pytest.skip(f"no guest at {default_wasm_path()}: run make guest first")
    return suite.run_suite()


def _describe(result: suite.SuiteResult, keys: Counter[suite.FailureKey]) -> str:
    records = {r.key: r for f in result.files for r in f.records}
    lines = []
    for key in sorted(keys.elements()):
        message = records[key].message if key in records else "(passes now)"
        lines.append(f"{suite.key_text(key)}\n{message}")
    return "\n\n".join(lines)


def test_failures_are_the_known_ones(result: suite.SuiteResult) -> None:
    known, _ = suite.load_known_failures()
    actual = result.failures()
    unexpected, fixed = actual - known, known - actual
    assert not unexpected, "new failures:\n" + _describe(result, unexpected)
    assert not fixed, "known failures that now pass (update known_failures.txt):\n" + "\n".join(
        map(suite.key_text, sorted(fixed.elements()))
    )


def test_pass_count_does_not_drop(result: suite.SuiteResult) -> None:
    assert result.total("ok") >= suite.min_passes()


FILES_WITHOUT_ASSERTIONS = {
    "test/t/regexperror.rb": "upstream: its only assertion is commented out ('TODO broken ATM')",
    "test/t/vformat.rb": "every assertion calls mrbtest's C helper Kernel#vformat",
    "mrbgems/mruby-error/test/exception.rb": "every assertion calls the C helper ExceptionTest",
    "mrbgems/mruby-fiber/test/fiber2.rb": "every assertion calls the C helper FiberTest",
}
"""Files that run but execute no assertion (all skipped, or none written), and why."""


def test_no_file_is_skipped_whole(result: suite.SuiteResult) -> None:
    """Every file runs, and every file but the listed ones executes an assertion."""
    assert len(result.files) > 80
    assert result.skipped_files == {}
    idle = {f.file for f in result.files if f.ok + f.ko + f.crash == 0}
    assert idle == set(FILES_WITHOUT_ASSERTIONS), (
        f"new: {sorted(idle - set(FILES_WITHOUT_ASSERTIONS))},"
        f" run again: {sorted(set(FILES_WITHOUT_ASSERTIONS) - idle)}"
    )


def test_stubbed_c_helpers_match_the_tree() -> None:
    tree = suite.mruby_tree()
    if tree is None:
        pytest.skip(f"no mruby source tree at {suite.DEFAULT_TREE}: run make guest first")
    for path in suite.C_HELPER_STUBS:
        assert (tree / path).is_file(), path
