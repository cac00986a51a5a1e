"""Run untrusted Ruby scripts in a WebAssembly-isolated mruby interpreter."""

from ._codec import FrozenHash, Symbol
from ._errors import InvalidScriptError, KobakoError, SandboxError, TimeoutError, TrapError
from ._sandbox import Execution, Sandbox, Usage

__all__ = [
    "Execution",
    "FrozenHash",
    "InvalidScriptError",
    "KobakoError",
    "Sandbox",
    "SandboxError",
    "Symbol",
    "TimeoutError",
    "TrapError",
    "Usage",
]
