"""Shared fixtures: the anyio backends every async test runs on; Hypothesis profiles.

Hypothesis runs derandomized by default (profile ``ci``), so a failure in CI is the
same failure on a laptop, and prints the blob that replays it. ``make fuzz`` sets
``KOBAKO_HYPOTHESIS_PROFILE=fuzz``: random examples, a fresh search every run.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
