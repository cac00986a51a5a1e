"""Every limit's accepted range, edge by edge, from the README's limits table.

Written as a table independent of ``_limits.py`` so that a shifted bound or a wrong
name in the error message fails here (mutation testing found both untested).
"""

from __future__ import annotations

from typing import Any

import pytest

from kobako_async import Limits
from kobako_async._limits import KEEP

MiB, GiB = 1 << 20, 1 << 30
U32_MAX = (1 << 32) - 1

BOUNDS = [
    # field, lowest accepted, highest accepted, None allowed
    ("memory_limit", 1 * MiB, 4 * GiB, True),
    ("fuel", 1, 1 << 62, True),
    ("max_service_calls", 0, 1 << 62, True),
    ("max_message_bytes", 1024, U32_MAX, False),
    ("stdout_limit", 0, U32_MAX, False),
    ("stderr_limit", 0, U32_MAX, False),
]


def _refused(field: str, low: int, high: int, value: Any) -> str:
    return rf"\A{field} must be an int in \[{low}, {high}\], got {value!r}\Z".replace("(", r"\(")


@pytest.mark.parametrize(("field", "low", "high", "optional"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_limit_range_edges(field: str, low: int, high: int, optional: bool) -> None:
    """The lowest and highest values are kept as given; one past either edge, a bool
    or a float is refused with a ValueError naming the field and its range."""
    for value in (low, high):
        assert getattr(Limits(**{field: value}), field) == value
    for value in (low - 1, high + 1, True, float(low)):
        with pytest.raises(ValueError, match=_refused(field, low, high, value)):
            Limits(**{field: value})
    if optional:
        assert getattr(Limits(**{field: None}), field) is None
    else:
        with pytest.raises(ValueError, match=_refused(field, low, high, None)):
            Limits(**{field: None})


def test_seed_range_edges() -> None:
    """run(seed=...) takes an int in [0, 2**32-1] and returns it as the run's seed."""
    limits = Limits()
    assert (limits.seed(0), limits.seed(U32_MAX)) == (0, U32_MAX)
    for value in (-1, U32_MAX + 1, True):
        with pytest.raises(ValueError, match=_refused("seed", 0, U32_MAX, value)):
            limits.seed(value)


def test_unseeded_runs_get_a_32_bit_seed() -> None:
    """Hermetic runs get seed 0; permissive runs a fresh seed that fits the guest's
    32 bits (64 draws: a 33-bit seed would show with probability 1 - 2**-64)."""
    assert Limits().seed(None) == 0
    seeds = [Limits(profile="permissive").seed(None) for _ in range(64)]
    assert all(type(s) is int and 0 <= s <= U32_MAX for s in seeds)
    assert len(set(seeds)) > 1


def test_override_without_changes_is_the_same_limits() -> None:
    """override() with only KEEP values returns the Limits itself; a change makes a copy."""
    limits = Limits(fuel=10)
    assert limits.override(timeout=KEEP, fuel=KEEP) is limits
    changed = limits.override(timeout=KEEP, fuel=20)
    assert (changed.fuel, limits.fuel, changed.timeout) == (20, 10, limits.timeout)


def test_keep_shows_its_name() -> None:
    """KEEP, the default of every per-run override, reads as KEEP in signatures."""
    assert repr(KEEP) == "KEEP"
