"""The error tree. Every failed run raises exactly one of these.

    KobakoError                   base of everything this library raises
    ├── GuestLoadError            the guest file is missing, corrupt or for another ABI
    ├── InvalidScriptError        the script argument itself is unusable (not run)
    ├── PoolFullError             run_nowait found the Pool's queue full
    ├── PoolTimeoutError          no worker was free within queue_timeout (not run)
    ├── PoolClosedError           the Pool is closed (or closed over the run)
    ├── JobError                  a Pool.map job failed outside its run (bad Job)
    ├── SandboxError              the script failed: raised, did not compile, or
    │   │                         returned a value with no wire form
    │   ├── HandleExhaustedError  the run made more than 2**31-1 Handles
    │   ├── HashKeyError          the run's value has Hash keys Python would merge,
    │   │                         too many sharing one hash, or unhashable ones
    │   ├── ServiceCallLimitError the run made more than max_service_calls calls
    │   └── MessageSizeError      a call, reply or outcome over max_message_bytes
    ├── ServiceError              a Service raised and the script did not rescue it
    │   ├── NoServiceError        the script called a missing or refused method/target
    │   └── DisconnectedError     the script used a Handle that is not live
    └── TrapError                 the engine stopped the guest: wasm trap, stack
        │                         overflow, or a guest that broke the ABI
        ├── TimeoutError          the run exceeded its wall-clock timeout
        ├── MemoryLimitError      the run reached its memory limit
        ├── FuelExhaustedError    the run used up its instruction budget
        └── WorkerCrashedError    the Pool worker running it died

The Service and limit errors are decided by the host from what it replied (the
guest marks exceptions made from its replies where a script cannot reach), never
from a Ruby class name, so a script cannot forge them.

Grouped by what the caller should do: a ``SandboxError`` is the script's fault and
says why in Ruby terms (``klass``, ``message``, ``backtrace``); a ``ServiceError``
points at the host side of a Service call; a ``TrapError`` means the guest was
stopped from outside. ``MemoryLimitError`` joins ``TrapError`` with resource limits.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._sandbox import Execution

__all__ = [
    "DisconnectedError",
    "FuelExhaustedError",
    "GuestLoadError",
    "HandleExhaustedError",
    "HashKeyError",
    "InvalidScriptError",
    "JobError",
    "KobakoError",
    "MemoryLimitError",
    "MessageSizeError",
    "NoServiceError",
    "PoolClosedError",
    "PoolFullError",
    "PoolTimeoutError",
    "SandboxError",
    "ServiceCallLimitError",
    "ServiceError",
    "TimeoutError",
    "TrapError",
    "WorkerCrashedError",
]


class KobakoError(Exception):
    """Base class of every error kobako_async raises."""


class GuestLoadError(KobakoError):
    """Raised by ``Sandbox()`` and ``Pool()`` when the guest file cannot be used.

    ``path`` is the file; ``problem`` says what is wrong with it and what to do.
    """

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"guest module {path} {problem}")
        self.path = path
        self.problem = problem


class InvalidScriptError(KobakoError, TypeError, ValueError):
    """Raised by ``run`` when the script is not a ``str`` or contains a NUL byte."""


class SandboxError(KobakoError):
    """Raised when the script raised, failed to compile, or returned an unrepresentable value."""

    def __init__(
        self, klass: str, message: str, backtrace: list[str], execution: Execution
    ) -> None:
        super().__init__(f"{klass}: {message}")
        self.klass = klass
        self.message = message
        self.backtrace = backtrace
        self.execution = execution


class HandleExhaustedError(SandboxError):
    """Raised when a run's Handle ids (at most 2**31-1) ran out."""


class HashKeyError(SandboxError):
    """Raised when a Hash in the run's value cannot become a dict without loss:
    keys distinct in Ruby but equal in Python (``"a"`` and ``:a``, ``1`` and
    ``1.0``), more keys sharing one Python hash than the decoder allows (hash
    flooding), or a key Python cannot hash."""


class ServiceCallLimitError(SandboxError):
    """Raised when a run made more Service calls than ``max_service_calls``."""


class MessageSizeError(SandboxError):
    """Raised when a Service call, reply or the outcome exceeds ``max_message_bytes``."""


class ServiceError(KobakoError):
    """Raised when a Service raised and the script did not rescue it.

    ``klass`` is the Python exception's class name; ``__cause__`` is the exception
    itself when it is the run's latest Service exception. Only exceptions the guest
    made from the host's own replies count: a script that raises
    ``Kobako::ServiceError`` (or any Kobako limit error) itself gets a plain
    ``SandboxError`` naming that Ruby class.
    """

    def __init__(self, klass: str, message: str, execution: Execution) -> None:
        super().__init__(f"{klass}: {message}")
        self.klass = klass
        self.message = message
        self.execution = execution


class NoServiceError(ServiceError):
    """Raised when the script called a Service target or method that is missing or refused."""


class DisconnectedError(ServiceError):
    """Raised when the script used a Handle that is not live in its run."""


class TrapError(KobakoError):
    """Raised when the guest trapped, overflowed its stack, or broke the ABI."""

    def __init__(self, message: str, execution: Execution) -> None:
        super().__init__(message)
        self.execution = execution


class TimeoutError(TrapError, builtins.TimeoutError):  # noqa: A001 - the point is the name
    """Raised when a run exceeds its wall-clock ``timeout``."""


class MemoryLimitError(TrapError):
    """Raised when a run's guest memory reaches ``memory_limit``."""


class FuelExhaustedError(TrapError):
    """Raised when a run uses up its ``fuel`` (instruction budget)."""


class WorkerCrashedError(TrapError):
    """Raised for the run whose Pool worker process died; ``exit_status`` says how."""

    def __init__(self, message: str, execution: Execution, exit_status: int | None) -> None:
        super().__init__(message, execution)
        self.exit_status = exit_status


class PoolFullError(KobakoError):
    """Raised by ``Pool.run_nowait`` when the queue holds ``max_queue`` runs."""


class PoolClosedError(KobakoError):
    """Raised by ``Pool.run`` after the Pool is closed, or for runs it closed over."""


class PoolTimeoutError(KobakoError, builtins.TimeoutError):
    """Raised by ``Pool.run`` when no worker was free within ``queue_timeout``; the
    script never started."""


class JobError(KobakoError):
    """A ``Pool.map`` job's error (``MapResult.error``) when the job failed with
    something other than a KobakoError (bad Job arguments: ValueError, TypeError);
    ``__cause__`` is that exception."""
