"""Run untrusted Ruby scripts in a WebAssembly-isolated mruby interpreter."""

from typing import TYPE_CHECKING

from ._codec import FrozenHash, Symbol
from ._errors import (
    DisconnectedError,
    FuelExhaustedError,
    GuestLoadError,
    HandleExhaustedError,
    HashKeyError,
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
from ._guestfile import GuestInfo, guest_info
from ._limits import Limits
from ._sandbox import Execution, Sandbox, Usage

if TYPE_CHECKING:
    from ._pool import Job, MapResult, Pool
from ._services import FILLABLE

__version__: str  # from the package metadata, read on first use (~20 ms)
__all__ = [
    "FILLABLE",
    "DisconnectedError",
    "Execution",
    "FuelExhaustedError",
    "FrozenHash",
    "GuestInfo",
    "GuestLoadError",
    "HandleExhaustedError",
    "HashKeyError",
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
    "__version__",
    "guest_info",
]

_LAZY = ("Job", "MapResult", "Pool")


def __getattr__(name: str) -> object:
    # the Pool pulls in anyio and its event-loop machinery: load it on first use,
    # so a process that only needs Sandbox starts faster
    if name in _LAZY:
        from . import _pool

        return getattr(_pool, name)
    if name == "__version__":
        from importlib import metadata

        try:
            version = metadata.version("kobako_async")
        except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    raise AttributeError(f"module 'kobako_async' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
