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
    SandboxError,
    ServiceCallLimitError,
    ServiceError,
    TimeoutError,
    TrapError,
)
from ._limits import Limits
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
    "KobakoError",
    "Limits",
    "MemoryLimitError",
    "MessageSizeError",
    "NoServiceError",
    "Sandbox",
    "SandboxError",
    "ServiceCallLimitError",
    "ServiceError",
    "Symbol",
    "TimeoutError",
    "TrapError",
    "Usage",
]
