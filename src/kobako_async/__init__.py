"""Run untrusted Ruby scripts in a WebAssembly-isolated mruby interpreter."""

from ._codec import FrozenHash, Symbol
from ._errors import (
    DisconnectedError,
    FuelExhaustedError,
    HandleExhaustedError,
    InvalidScriptError,
    KobakoError,
    MemoryLimitError,
    MessageSizeError,
    NoServiceError,
    PoolClosedError,
    PoolFullError,
    SandboxError,
    ServiceCallLimitError,
    ServiceError,
    TimeoutError,
    TrapError,
    WorkerCrashedError,
)
from ._limits import Limits
from ._pool import Job, MapResult, Pool
from ._sandbox import Execution, Sandbox, Usage
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
    "KobakoError",
    "Limits",
    "MapResult",
    "MemoryLimitError",
    "MessageSizeError",
    "NoServiceError",
    "Pool",
    "PoolClosedError",
    "PoolFullError",
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
