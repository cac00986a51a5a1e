"""Per-run resource limits and the isolation profile, with their defaults."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any, Literal

TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 86_400.0
"""The longest timeout a run may have (one day): longer ones are refused, not
rounded, so ``inf`` or ``1e300`` cannot overflow the epoch deadline."""
MEMORY_LIMIT_BYTES = 64 << 20
STDOUT_LIMIT_BYTES = 1 << 20
STDERR_LIMIT_BYTES = 1 << 20
MAX_SERVICE_CALLS = 100_000
MAX_MESSAGE_BYTES = 16 << 20
HERMETIC_CLOCK_NS = 0
"""The instant a hermetic run's clock shows: the Unix epoch, fixed."""
HERMETIC_SEED = 0

_U32_MAX = (1 << 32) - 1
Profile = Literal["hermetic", "permissive"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run may consume. ``None`` disables a limit where that is safe.

    Attributes:
        timeout: wall-clock seconds, Service time included; at most MAX_TIMEOUT_S.
        memory_limit: bytes of guest linear memory.
        fuel: wasm instruction budget (deterministic), off by default.
        max_service_calls: Service calls per run.
        max_message_bytes: size of one Service call or reply, and of the outcome.
        stdout_limit, stderr_limit: bytes of output kept; the rest is dropped.
        profile: "hermetic" (fixed clock, seeded randomness) or "permissive"
            (the real clock and fresh entropy).
    """

    timeout: float | None = TIMEOUT_S
    memory_limit: int | None = MEMORY_LIMIT_BYTES
    fuel: int | None = None
    max_service_calls: int | None = MAX_SERVICE_CALLS
    max_message_bytes: int = MAX_MESSAGE_BYTES
    stdout_limit: int = STDOUT_LIMIT_BYTES
    stderr_limit: int = STDERR_LIMIT_BYTES
    profile: Profile = "hermetic"

    def __post_init__(self) -> None:
        check_seconds("timeout", self.timeout)
        _check_int("memory_limit", self.memory_limit, 1 << 20, 4 << 30, optional=True)
        _check_int("fuel", self.fuel, 1, 1 << 62, optional=True)
        _check_int("max_service_calls", self.max_service_calls, 0, 1 << 62, optional=True)
        _check_int("max_message_bytes", self.max_message_bytes, 1024, _U32_MAX)
        _check_int("stdout_limit", self.stdout_limit, 0, _U32_MAX)
        _check_int("stderr_limit", self.stderr_limit, 0, _U32_MAX)
        if self.profile not in ("hermetic", "permissive"):
            raise ValueError(f"profile must be 'hermetic' or 'permissive', got {self.profile!r}")

    def override(self, **changes: Any) -> Limits:
        """These limits with the given per-run changes; ``KEEP`` values are skipped."""
        given = {k: v for k, v in changes.items() if v is not KEEP}
        return replace(self, **given) if given else self

    def clock_ns(self) -> int | None:
        return HERMETIC_CLOCK_NS if self.profile == "hermetic" else None

    def seed(self, seed: int | None) -> int:
        if seed is not None:
            _check_int("seed", seed, 0, _U32_MAX)
            return seed
        return HERMETIC_SEED if self.profile == "hermetic" else secrets.randbits(32)


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""Default of per-run overrides: keep the Sandbox's or Pool's setting."""


def check_seconds(name: str, value: object) -> None:
    """Raises ValueError unless ``value`` is None or seconds in (0, MAX_TIMEOUT_S]."""
    if value is None:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0 < value <= MAX_TIMEOUT_S  # also False for NaN
    ):
        raise ValueError(f"{name} must be seconds in (0, {MAX_TIMEOUT_S:g}] or None, got {value!r}")


def _check_int(name: str, value: object, low: int, high: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
