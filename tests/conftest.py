"""Shared fixtures: the anyio backends every async test runs on."""

from __future__ import annotations

import pytest


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
