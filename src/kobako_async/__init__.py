"""Run untrusted Ruby scripts in a WebAssembly-isolated mruby interpreter."""

from ._codec import FrozenHash, Symbol
from ._errors import (
    DisconnectedError,
    HandleExhaustedError,
    InvalidScriptError,
    KobakoError,
    NoServiceError,
    SandboxError,
    ServiceError,
    TimeoutError,
    TrapError,
)
from ._sandbox import Execution, Sandbox, Usage
from ._services import FILLABLE

__all__ = [
    "FILLABLE",
    "DisconnectedError",
    "Execution",
    "FrozenHash",
    "HandleExhaustedError",
    "InvalidScriptError",
    "KobakoError",
    "NoServiceError",
    "Sandbox",
    "SandboxError",
    "ServiceError",
    "Symbol",
    "TimeoutError",
    "TrapError",
    "Usage",
]
