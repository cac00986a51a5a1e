"""Services: the host objects a script may call, the rules for which methods it may
reach, and the per-run dispatch of guest calls.

Method rules, the sandbox's security boundary:

- only public names: nothing starting with ``_``, and nothing that every object or
  class has (``mro``, ``__class__``, ...);
- only callables found without running code: properties and other data
  descriptors are refused, so a getter never runs on a guest's behalf;
- ``call`` on a plain function or lambda calls the function itself;
- an optional ``__kobako_allowed__`` on the object (a set of names, or a predicate
  taking the name) narrows the rest.

A refused method is reported exactly like a missing one.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._codec import (
    CodecError,
    HandleExhausted,
    HandleTable,
    StaleHandle,
    Symbol,
    WireError,
    pack,
    to_wire,
    unpack,
)
from ._core_constants import NON_MODULE_CONSTANTS
from ._limits import Limits

_SEGMENT = re.compile(r"[A-Z]\w*\Z", re.ASCII)
_RESERVED_ROOTS = frozenset({"Kobako", "BasicObject", "Object", "Kernel"})
_REFLECTIVE = frozenset(dir(type)) | frozenset(dir(object))

REPLY_VALUE = 0
REPLY_ERROR = 1

# Guest exception classes a reply may name (guest mrblib/services.rb).
GUEST_SERVICE_ERROR = "Kobako::ServiceError"
GUEST_NO_SERVICE = "Kobako::NoServiceError"
GUEST_DISCONNECTED = "Kobako::DisconnectedError"
GUEST_HANDLES_EXHAUSTED = "Kobako::HandleExhaustedError"
GUEST_CALL_LIMIT = "Kobako::ServiceCallLimitError"
GUEST_MESSAGE_SIZE = "Kobako::MessageSizeError"


class _Fillable:
    def __repr__(self) -> str:
        return "FILLABLE"


FILLABLE: Any = _Fillable()
"""The object of a path declared with ``bind(path)``: each run must fill it."""


def check_path(path: object) -> str:
    """Validate a ``::``-separated constant path.

    Each prefix of the path becomes a module in the guest, so a prefix that names a
    constant of the guest's core that is not a module ("RUBY_VERSION::X",
    "Math::PI::Svc") is refused here rather than failing every run.

    Raises:
        ValueError: not a str, not constant names, a reserved root, or a prefix that
            names a non-module core constant.
    """
    if not isinstance(path, str):
        raise ValueError(f"a service path must be a str, not {type(path).__name__}")
    segments = path.split("::")
    if not all(_SEGMENT.match(s) for s in segments):
        raise ValueError(
            f"invalid service path {path!r}: use ::-separated constant names like 'KV::Lookup'"
        )
    if segments[0] in _RESERVED_ROOTS:
        raise ValueError(f"invalid service path {path!r}: {segments[0]} is reserved")
    for end in range(1, len(segments)):
        prefix = "::".join(segments[:end])
        if prefix in NON_MODULE_CONSTANTS:
            raise ValueError(
                f"invalid service path {path!r}: {prefix} is a constant of the guest's core"
                " that is not a module, so nothing can be bound under it"
            )
    return path


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "::") or b.startswith(a + "::")


def add_binding(bindings: dict[str, Any], path: str, obj: Any) -> None:
    """Add ``path`` to ``bindings``, refusing one equal to, above or below an existing one."""
    check_path(path)
    for existing in bindings:
        if _related(path, existing):
            raise ValueError(f"service path {path!r} conflicts with bound {existing!r}")
    bindings[path] = obj


def merge_run_bindings(
    bindings: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Per-run bindings fill or shadow equal paths; new ones must not nest with others."""
    merged = dict(bindings)
    for path, obj in (extra or {}).items():
        check_path(path)
        if obj is FILLABLE:
            raise ValueError(f"per-run binding for {path!r} needs an object")
        if path not in merged:
            add_binding(merged, path, obj)
        else:
            merged[path] = obj
    return merged


def resolve_method(obj: Any, name: str) -> Callable[..., Any] | None:
    """The callable a guest call of ``name`` on ``obj`` reaches, or None if refused."""
    if not name or name.startswith("_") or (name in _REFLECTIVE and name != "call"):
        return None
    allowed = getattr(obj, "__kobako_allowed__", None)
    if allowed is not None:
        ok = allowed(name) if callable(allowed) else name in allowed
        if not ok:
            return None
    if name == "call" and inspect.isroutine(obj):
        return obj
    try:
        static = inspect.getattr_static(obj, name)
    except AttributeError:
        return None
    if not (callable(static) or isinstance(static, (classmethod, staticmethod))):
        return None  # properties, slots and plain data never run or leak
    attr = getattr(obj, name)
    return attr if callable(attr) else None


def describe(target: Any) -> str:
    return target if isinstance(target, str) else f"a Kobako::Handle ({type(target).__name__})"


class Dispatcher:
    """Serves one run's Service calls: resolves targets, applies the method rules,
    calls, and encodes replies. Holds the run's Handle table."""

    def __init__(self, bindings: Mapping[str, Any], limits: Limits) -> None:
        self.bindings = bindings
        self.limits = limits
        self.handles = HandleTable()
        self.calls = 0
        self.last_error: BaseException | None = None
        self.last_error_call = 0
        """The number of the call (1-based) that raised ``last_error``."""
        self.error_replies: dict[int, tuple[str, str]] = {}
        """Every error reply this run sent: call number -> (guest class, message).
        The host decides limit and Service errors from this, never from the guest."""

    def paths(self) -> list[str]:
        return list(self.bindings)

    def dispatch(self, payload: bytes) -> bytes:
        """One guest call in, one reply out, for the sync Sandbox: an async service's
        awaitable is refused. Never raises."""
        call = self.prepare(payload)
        if isinstance(call, bytes):
            return call
        try:
            result = call()
        except Exception as exc:
            return self._raised(exc)
        if inspect.isawaitable(result):
            getattr(result, "close", lambda: None)()
            return self._error_reply(
                GUEST_SERVICE_ERROR, "TypeError: async services need a kobako_async.Pool"
            )
        return self.reply(result)

    async def dispatch_async(self, payload: bytes) -> bytes:
        """Like dispatch, awaiting the result when the service is async."""
        call = self.prepare(payload)
        if isinstance(call, bytes):
            return call
        try:
            result = call()
        except Exception as exc:
            return self._raised(exc)
        if inspect.isawaitable(result):
            try:
                result = await result
            except Exception as exc:
                return self._service_raised(exc)
        return self.reply(result)

    def prepare(self, payload: bytes) -> bytes | Callable[[], Any]:
        """Decode a call and resolve its target under the rules: the call to make,
        or the error reply that answers it."""
        self.calls += 1
        limit = self.limits.max_service_calls
        if limit is not None and self.calls > limit:
            return self._error_reply(
                GUEST_CALL_LIMIT, f"more than {limit} Service calls in one run"
            )
        if len(payload) > self.limits.max_message_bytes:
            return self._error_reply(GUEST_MESSAGE_SIZE, self._too_big("call", len(payload)))
        try:
            target, name, args, kwargs = unpack(payload, self.handles)
        except StaleHandle as exc:
            return self._error_reply(
                GUEST_DISCONNECTED, f"Handle #{exc.args[0]} is not live in this run"
            )
        except (CodecError, ValueError, TypeError):
            return self._error_reply("ArgumentError", "malformed service call")
        if not isinstance(name, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
            return self._error_reply("ArgumentError", "malformed service call")
        if isinstance(target, str):
            obj = self.bindings.get(target)
            if obj is None and target not in self.bindings:
                return self._error_reply(GUEST_NO_SERVICE, f"no service is bound at {target}")
            if obj is FILLABLE:
                return self._error_reply(GUEST_NO_SERVICE, f"{target} is not filled for this run")
        else:
            obj = target
        method = resolve_method(obj, name)
        if method is None:
            return self._error_reply(
                GUEST_NO_SERVICE, f"undefined method '{name}' for {describe(target)}"
            )
        kw = {str(k): v for k, v in kwargs.items() if isinstance(k, (str, Symbol))}
        if len(kw) != len(kwargs):
            return self._error_reply("ArgumentError", "keyword names must be Symbols")
        return lambda: method(*args, **kw)

    def reply(self, result: Any) -> bytes:
        try:
            reply = pack([REPLY_VALUE, to_wire(result, self.handles)])
        except HandleExhausted as exc:
            return self._error_reply(GUEST_HANDLES_EXHAUSTED, str(exc))
        except WireError as exc:
            return self._error_reply(GUEST_SERVICE_ERROR, f"ValueError: service returned {exc}")
        if len(reply) > self.limits.max_message_bytes:
            return self._error_reply(GUEST_MESSAGE_SIZE, self._too_big("reply", len(reply)))
        return reply

    def _too_big(self, what: str, size: int) -> str:
        limit = self.limits.max_message_bytes
        return f"Service {what} of {size} bytes is over max_message_bytes ({limit})"

    def _raised(self, exc: Exception) -> bytes:
        """The reply for an exception from the call prepare returned."""
        # Two frames (the dispatcher's and prepare's lambda) mean the TypeError came
        # from binding the arguments and the service never ran: an ArgumentError.
        depth, tb = 0, exc.__traceback__
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        if isinstance(exc, TypeError) and depth <= 2:
            return self._error_reply("ArgumentError", str(exc))
        return self._service_raised(exc)

    def _service_raised(self, exc: Exception) -> bytes:
        self.last_error, self.last_error_call = exc, self.calls
        return self._error_reply(GUEST_SERVICE_ERROR, f"{type(exc).__name__}: {exc}")

    def _error_reply(self, klass: str, message: str) -> bytes:
        """The error reply for the current call, recorded for the run's outcome."""
        self.error_replies[self.calls] = (klass, message)
        return _error(klass, message)


def _error(klass: str, message: str) -> bytes:
    return pack([REPLY_ERROR, [klass, message]])


def check_sync_service(path: str, obj: Any) -> None:
    """Refuse coroutine functions in the sync Sandbox, naming the Pool instead."""
    candidates: Iterable[Any] = (obj, getattr(obj, "call", None))
    if any(inspect.iscoroutinefunction(c) for c in candidates if c is not None):
        raise TypeError(
            f"{path!r} is an async service; the sync Sandbox calls services synchronously."
            " Bind async services on a kobako_async.Pool."
        )
