"""The two truncation flags are independent: each reports its own stream."""

from __future__ import annotations

import pytest

from kobako_async import Sandbox
from kobako_async._codec import pack
from kobako_async._sandbox import Usage, decode_outcome


@pytest.mark.parametrize(
    ("script", "flags"),
    [
        ('print "0123456789abc"; $stderr.print "x"; 1', (True, False)),
        ('print "x"; $stderr.print "0123456789abc"; 1', (False, True)),
        ('print "0123456789abc"; $stderr.print "0123456789abc"; 1', (True, True)),
        ('print "x"; $stderr.print "y"; 1', (False, False)),
    ],
    ids=["stdout-only", "stderr-only", "both", "neither"],
)
def test_each_flag_reports_its_own_stream(script: str, flags: tuple[bool, bool]) -> None:
    """stdout_truncated is set only when stdout passed its cap, stderr_truncated only
    when stderr did."""
    ex = Sandbox(stdout_limit=10, stderr_limit=10).run(script)
    assert (ex.stdout_truncated, ex.stderr_truncated) == flags
    assert (len(ex.stdout), len(ex.stderr)) == (10 if flags[0] else 1, 10 if flags[1] else 1)


@pytest.mark.parametrize("flags", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_decode_outcome_keeps_the_flags_apart(flags: tuple[int, int]) -> None:
    """decode_outcome maps the outcome's two flags to their own fields, as bools."""
    payload = pack([0, 7, b"out", b"err", flags[0], flags[1], 0])
    ex = decode_outcome(payload, Usage(0.0, 0))
    assert (type(ex.stdout_truncated), type(ex.stderr_truncated)) == (bool, bool)
    assert (ex.stdout_truncated, ex.stderr_truncated) == (bool(flags[0]), bool(flags[1]))
    assert (ex.value, ex.stdout, ex.stderr) == (7, "out", "err")
