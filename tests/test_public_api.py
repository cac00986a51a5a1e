"""The public surface: ``__all__`` is what is importable, exported and documented.

Checked for consistency rather than against a frozen list, so a new public name
(``__version__``, ``PoolTimeoutError``...) only has to be added in one place and
documented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kobako_async
from kobako_async import KobakoError

ROOT = Path(__file__).resolve().parents[1]
UNDOCUMENTED_TODAY: set[str] = set()
"""Public names the README and docs do not mention yet (strict xfails below)."""


def _error_classes() -> set[type[KobakoError]]:
    """Every public KobakoError subclass defined in the package, the Pool's included."""
    import kobako_async._pool  # noqa: F401 - its errors too

    found: set[type[KobakoError]] = set()
    todo: list[type[KobakoError]] = [KobakoError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("kobako_async") and not cls.__name__.startswith("_"):
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def _documentation() -> str:
    pages = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages if p.is_file())


def test_all_is_unique_strings() -> None:
    """__all__ is a list of distinct str names."""
    names = list(kobako_async.__all__)
    assert all(type(n) is str for n in names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", kobako_async.__all__)
def test_every_name_in_all_is_importable(name: str) -> None:
    """``from kobako_async import <name>`` works for every name in __all__."""
    namespace: dict[str, object] = {}
    exec(f"from kobako_async import {name}", namespace)
    assert namespace[name] is getattr(kobako_async, name)


def test_star_import_gives_exactly_all() -> None:
    """``from kobako_async import *`` binds exactly the names in __all__."""
    namespace: dict[str, object] = {}
    exec("from kobako_async import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(kobako_async.__all__)


def test_every_public_error_is_exported() -> None:
    """Each KobakoError subclass (Pool errors included) is in __all__ as itself."""
    errors = _error_classes()
    assert KobakoError in errors and len(errors) >= 15
    for cls in errors:
        assert cls.__name__ in kobako_async.__all__, cls
        assert getattr(kobako_async, cls.__name__) is cls


def test_public_errors_say_who_raises_them() -> None:
    """Each public error has a docstring saying when it is raised (or, for an error
    that is a value, when it is set)."""
    for cls in _error_classes():
        doc = cls.__doc__ or ""
        assert re.search(r"\b(Raised|raised|when|Base class)\b", doc), cls


def test_public_names_are_not_private_modules() -> None:
    """No public name is one of the private modules."""
    assert not [n for n in kobako_async.__all__ if n.startswith("_") and not n.endswith("__")]


def test_dir_lists_every_public_name() -> None:
    """dir(kobako_async) includes every name in __all__, the lazily loaded Pool too."""
    assert set(kobako_async.__all__) <= set(dir(kobako_async))


def _documented_params() -> list[object]:
    params = []
    for name in kobako_async.__all__:
        marks = []
        if name in UNDOCUMENTED_TODAY:
            marks = [pytest.mark.xfail(strict=True, reason="not documented yet")]
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.mark.parametrize("name", _documented_params())
def test_every_public_name_is_documented(name: str) -> None:
    """Every name in __all__ appears in the README, SECURITY.md or the docs pages."""
    assert re.search(rf"(?<!\w){re.escape(name)}\b", _documentation())
