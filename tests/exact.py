"""Type-exact comparison of decoded values.

``==`` is too weak for a codec's tests: ``Symbol("a") == "a"``, ``0 == False`` and
``1 == 1.0`` all hold, and a dict lookup pairs ``Symbol`` and ``str`` keys. Here every
node must have exactly the expected type, dicts are compared item by item in order
(Ruby hashes keep insertion order, and so does the decoder), floats by bits of value
(``-0.0`` is not ``0.0``; NaN equals NaN).
"""

from __future__ import annotations

import math
from typing import Any


def exact_difference(actual: Any, expected: Any, path: str = "value") -> str | None:
    """The first place where ``actual`` differs from ``expected`` in type or value.

    Returns:
        None when they are the same, else a one-line description naming the path.
    """
    if type(actual) is not type(expected):
        return (
            f"{path}: {type(actual).__name__} {actual!r:.80} is not"
            f" {type(expected).__name__} {expected!r:.80}"
        )
    if isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            return f"{path}: length {len(actual)} is not {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = exact_difference(a, e, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if len(actual) != len(expected):
            return f"{path}: {len(actual)} keys is not {len(expected)}"
        for i, ((ak, av), (ek, ev)) in enumerate(
            zip(actual.items(), expected.items(), strict=True)
        ):
            found = exact_difference(ak, ek, f"{path}.key#{i}") or exact_difference(
                av, ev, f"{path}[{ek!r}]"
            )
            if found:
                return found
        return None
    if isinstance(expected, float):
        same = (math.isnan(actual) and math.isnan(expected)) or (
            actual == expected and math.copysign(1.0, actual) == math.copysign(1.0, expected)
        )
        return None if same else f"{path}: {actual!r} is not {expected!r}"
    return None if actual == expected else f"{path}: {actual!r:.200} is not {expected!r:.200}"


def assert_exact(actual: Any, expected: Any) -> None:
    """Assert ``actual`` equals ``expected`` in value and in the type of every node."""
    found = exact_difference(actual, expected)
    assert found is None, found
