"""The public types, locked: mypy's reveal_type on public_types.py must match."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHECKED = HERE / "public_types.py"
PYPROJECT = HERE.parents[1] / "pyproject.toml"
_PRIVATE_MODULE = re.compile(r"kobako_async\._\w+\.")
_REVEALED = re.compile(r':(\d+): note: Revealed type is "(.*)"$')


def _public(type_text: str) -> str:
    return _PRIVATE_MODULE.sub("kobako_async.", type_text)


def _expected() -> dict[int, str]:
    lines = CHECKED.read_text(encoding="utf-8").splitlines()
    return {
        number: line.split("# revealed: ", 1)[1].strip()
        for number, line in enumerate(lines, start=1)
        if "# revealed: " in line
    }


def test_public_types_are_locked() -> None:
    """mypy --strict accepts public_types.py and reveals exactly the expected types."""
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(
        ["--config-file", str(PYPROJECT), "--no-incremental", "--no-error-summary", str(CHECKED)]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors == [], "\n".join(errors) + err
    revealed = {}
    for line in out.splitlines():
        found = _REVEALED.search(line)
        if found:
            revealed[int(found[1])] = _public(found[2])
    expected = _expected()
    assert len(expected) >= 25
    assert revealed == expected
    assert status == 0
