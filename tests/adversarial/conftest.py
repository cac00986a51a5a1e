"""Fixtures shared by the adversarial tests."""

from __future__ import annotations

import pytest

from kobako_async import Sandbox

from .pristine import fingerprint


@pytest.fixture(scope="session")
def pristine_fingerprint() -> str:
    """The core-class fingerprint of a fresh Sandbox, taken once per session."""
    return fingerprint(Sandbox().bind("Svc", object()))
