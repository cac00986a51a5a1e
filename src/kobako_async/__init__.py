"""Run untrusted Ruby scripts in a WebAssembly-isolated mruby interpreter."""

from typing import TYPE_CHECKING

from ._codec import FrozenHash, Symbol
from ._errors import (
    DisconnectedError,
    FuelExhaustedError,
    HandleExhaustedError,
    InvalidScriptError,
    JobError,
    KobakoError,
    MemoryLimitError,
    MessageSizeError,
    NoServiceError,
    PoolClosedError,
    PoolFullError,
    PoolTimeoutError,
    SandboxError,
    ServiceCallLimitError,
    ServiceError,
    TimeoutError,
    TrapError,
    WorkerCrashedError,
)
from ._limits import Limits
from ._sandbox import Execution, Sandbox, Usage

if TYPE_CHECKING:
    from ._pool import Job, MapResult, Pool
from ._services import FILLABLE

__all__ = [
    "FILLABLE",
    "DisconnectedError",
    "Execution",
    "FuelExhaustedError",
    "FrozenHash",
    "HandleExhaustedError",
    "InvalidScriptError",
    "Job",
    "JobError",
    "KobakoError",
    "Limits",
    "MapResult",
    "MemoryLimitError",
    "MessageSizeError",
    "NoServiceError",
    "Pool",
    "PoolClosedError",
    "PoolFullError",
    "PoolTimeoutError",
    "Sandbox",
    "SandboxError",
    "ServiceCallLimitError",
    "ServiceError",
    "Symbol",
    "TimeoutError",
    "TrapError",
    "Usage",
    "WorkerCrashedError",
]


def __getattr__(name: str) -> object:
    # the Pool pulls in anyio and its event-loop machinery: load it on first use,
    # so a process that only needs Sandbox starts faster
    if name in ("Job", "MapResult", "Pool"):
        from . import _pool

        return getattr(_pool, name)
    raise AttributeError(f"module 'kobako_async' has no attribute {name!r}")
