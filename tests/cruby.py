"""CRuby, the oracle of the differential tests: Debian's ``ruby``, which ``make test`` installs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

RUBY = shutil.which("ruby", path="/usr/bin:/usr/local/bin")

needs_ruby = pytest.mark.skipif(RUBY is None, reason="CRuby (Debian's ruby) is the oracle")


def cruby_stdout(source: str) -> str:
    """What CRuby prints for ``source`` (run without rubygems, so no gem adds to messages)."""
    assert RUBY is not None
    done = subprocess.run(
        [RUBY, "--disable-gems", "-"], input=source, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
