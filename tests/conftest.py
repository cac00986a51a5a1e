"""Shared fixtures: the anyio backends every async test runs on; Hypothesis profiles.

Hypothesis runs derandomized by default (profile ``ci``), so a failure in CI is the
same failure on a laptop, and prints the blob that replays it. ``make fuzz`` sets
``KOBAKO_HYPOTHESIS_PROFILE=fuzz``: random examples, a fresh search every run.
``make mutation`` sets ``mutation``: derandomized and no shrinking, so a mutant that
fails a property test fails at once instead of timing out while Hypothesis shrinks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

HYPOTHESIS_PROFILE_ENV = "KOBAKO_HYPOTHESIS_PROFILE"

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "mutation",
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get(HYPOTHESIS_PROFILE_ENV, "ci"))


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="asyncio+uvloop"),
        pytest.param("trio", id="trio"),
    ],
)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """asyncio, asyncio on uvloop, and trio; module-scoped so a module's Pool is shared."""
    return request.param


MUTATION_TESTS_ENV = "KOBAKO_MUTATION_TESTS"
"""Space-separated test paths; when set, only they are collected (``make mutation
MUTATION_TESTS=...``): mutmut 3.8.1 has one test selection for all modules, and the
stats run over the whole selection is the slow part of a one-module run."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests outside KOBAKO_MUTATION_TESTS, when it is set."""
    selected = os.environ.get(MUTATION_TESTS_ENV, "").split()
    if not selected:
        return
    roots = [Path(entry).resolve() for entry in selected]
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        path = item.path.resolve()
        inside = any(path == root or root in path.parents for root in roots)
        (keep if inside else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
