"""Services: the host objects a script may call, the rules for which methods it may
reach, and the per-run dispatch of guest calls.

Method rules, the sandbox's security boundary:

- only public names: nothing starting with ``_``, and nothing that every object or
  class has (``mro``, ``__class__``, ...);
- only callables found without running code of the object's (``_attrs.lookup``):
  properties, other descriptors, ``__getattr__`` and ``__getattribute__`` overrides
  never run on a guest's behalf;
- ``call`` on a plain function or lambda calls the function itself;
- an optional ``__kobako_allowed__`` (a set of names, or a predicate taking the
  name), read from the class or the instance's own dict, narrows the rest; one that
  raises or cannot be read without running code refuses everything.

A refused method, or any exception while resolving one, is reported exactly like a
missing method.

What a call may end in (Dispatcher): every ``Exception`` while decoding, calling or
encoding, and a Service's own CancelledError, is an error reply the script can
rescue; the caller's own cancellation and a non-``Exception`` a Service raised
(KeyboardInterrupt, SystemExit, ...) propagate, the latter recorded in ``escaped``.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import _attrs as attrs
from ._codec import (
    CALL_WRAPPER_LEVELS,
    CodecError,
    HandleExhausted,
    HandleTable,
    OverBudget,
    StaleHandle,
    ValueRefused,
    WireError,
    object_budget,
    pack,
    to_wire,
    unpack,
)
from ._limits import Limits

_SEGMENT = re.compile(r"[A-Z]\w*\Z", re.ASCII)
_RESERVED_ROOTS = frozenset({"Kobako", "BasicObject", "Object", "Kernel"})
_REFLECTIVE = frozenset(dir(type)) | frozenset(dir(object))

ERROR_MESSAGE_CHARS_MAX = 8192
"""A Service exception's message past this is cut (its ``__cause__`` keeps it whole)."""
ERROR_NAME_CHARS_MAX = 200

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
    """Validate a ``::``-separated constant path. Raises ValueError."""
    if not isinstance(path, str):
        raise ValueError(f"a service path must be a str, not {type(path).__name__}")
    segments = path.split("::")
    if not all(_SEGMENT.match(s) for s in segments):
        raise ValueError(
            f"invalid service path {path!r}: use ::-separated constant names like 'KV::Lookup'"
        )
    if segments[0] in _RESERVED_ROOTS:
        raise ValueError(f"invalid service path {path!r}: {segments[0]} is reserved")
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
    """Per-run bindings fill or shadow equal paths; new ones must not nest with others.

    Raises:
        TypeError: ``extra`` is not a mapping (a list of pairs, say).
        ValueError: a path is malformed, unfilled, or nests with another.
    """
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"bind must map Service paths to objects, not {type(extra).__name__}")
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
    """The callable a guest call of ``name`` on ``obj`` reaches, or None if refused.

    Runs no code of ``obj``'s own except a ``__kobako_allowed__`` predicate, and maps
    any exception while resolving (a broken policy, a hostile class) to None.
    """
    if not name or name.startswith("_") or (name in _REFLECTIVE and name != "call"):
        return None
    try:
        policy, method = attrs.lookup_all(obj, ("__kobako_allowed__", name))
        if not _allowed_by_policy(policy, name):
            return None
        if name == "call" and attrs.is_routine(obj):
            return obj  # type: ignore[no-any-return]
    except Exception:
        return None
    if method is attrs.MISSING or method is attrs.UNSAFE or not callable(method):
        return None  # properties, slots and plain data never run or leak
    return method  # type: ignore[no-any-return]


def _allowed_by_policy(policy: Any, name: str) -> bool:
    """What ``__kobako_allowed__`` (a set of names or a predicate), as ``attrs.lookup``
    read it from the class or the instance's own dict, says of ``name``; a policy that
    cannot be read without running code, or that raises, refuses all.
    """
    if policy is attrs.MISSING:
        return True
    if policy is attrs.UNSAFE:
        return False
    verdict = policy(name) if callable(policy) else name in policy
    return verdict is True or (type(verdict) is not bool and bool(verdict))


def describe(target: Any) -> str:
    if _is_a(target, str):
        return str.__str__(target)
    return f"a Kobako::Handle ({attrs.type_name(target)})"


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
        self.escaped: BaseException | None = None
        """A non-``Exception`` a Service raised (KeyboardInterrupt, SystemExit, ...):
        ``dispatch`` re-raised it, and the run must end by raising it to its caller."""

    def paths(self) -> list[str]:
        return list(self.bindings)

    def dispatch(self, payload: bytes) -> bytes:
        """One guest call in, one reply out, for the sync Sandbox: an async service's
        awaitable is refused.

        Returns the reply: every ``Exception`` while serving the call, and a Service's
        own CancelledError, is a reply the script can rescue.

        Raises:
            BaseException: what a Service (or its policy, or a value's encoding) raised
                that is not an ``Exception``: KeyboardInterrupt, SystemExit, a custom
                BaseException subclass. It is recorded in ``escaped`` first; the caller
                must stop the guest and re-raise it.
        """
        try:
            call = self.prepare(payload)
            if isinstance(call, bytes):
                return call
            try:
                result = call()
            except Exception as exc:
                return self._raised(exc)
            if _is_awaitable(result):
                _close(result)
                return _error(
                    GUEST_SERVICE_ERROR, "TypeError: async services need a kobako_async.Pool"
                )
            return self.reply(result)
        except BaseException as exc:
            if _is_cancellation(exc):
                return self._service_raised(exc)  # a sync call cannot be its caller's cancel
            self.escaped = exc
            raise

    async def dispatch_async(self, payload: bytes) -> bytes:
        """Like dispatch, awaiting the result when the service is async.

        A CancelledError (trio's Cancelled) raised inside the Service is a Service
        error the script can rescue, unless the calling task itself is being cancelled
        (an anyio cancel scope around it, or asyncio's ``task.cancel()``).

        Raises:
            BaseException: the caller's own cancellation, unchanged (``escaped`` stays
                None); or, recorded in ``escaped``, a non-``Exception`` the Service
                raised (KeyboardInterrupt, SystemExit, ...), which the Pool re-raises
                to its caller after stopping the guest.
        """
        try:
            call = self.prepare(payload)
            if isinstance(call, bytes):
                return call
            try:
                result = call()
            except Exception as exc:
                return self._raised(exc)
            if _is_awaitable(result):
                try:
                    result = await result
                except Exception as exc:
                    return self._service_raised(exc)
            return self.reply(result)
        except BaseException as exc:
            if _is_cancellation(exc):
                if _caller_cancelled():
                    raise
                return self._service_raised(exc)
            self.escaped = exc
            raise

    def prepare(self, payload: bytes) -> bytes | Callable[[], Any]:
        """Decode a call and resolve its target under the rules: the call to make,
        or the error reply that answers it."""
        self.calls += 1
        limit = self.limits.max_service_calls
        if limit is not None and self.calls > limit:
            return _error(GUEST_CALL_LIMIT, f"more than {limit} Service calls in one run")
        if len(payload) > self.limits.max_message_bytes:
            return _error(GUEST_MESSAGE_SIZE, self._too_big("call", len(payload)))
        budget = object_budget(self.limits.max_message_bytes)
        try:
            target, name, args, kwargs = unpack(
                payload, self.handles, wrapper_levels=CALL_WRAPPER_LEVELS, max_objects=budget
            )
        except StaleHandle as exc:
            return _error(GUEST_DISCONNECTED, f"Handle #{exc.args[0]} is not live in this run")
        except OverBudget:
            return _error(
                GUEST_MESSAGE_SIZE,
                f"Service call decodes into more than {budget} arrays, hashes and ext values"
                " (max_message_bytes // 16)",
            )
        except ValueRefused as exc:  # keys Python would merge, flood or cannot hash; depth
            cause = exc.__cause__
            if isinstance(cause, Exception) and not isinstance(cause, TypeError):
                return self._service_raised(cause)  # a Handle key's own __hash__ or __eq__
            return _error("ArgumentError", f"service argument: {exc}")
        except (CodecError, ValueError, TypeError):
            return _error("ArgumentError", "malformed service call")
        except Exception as exc:  # a host object's own code failed (a Handle key's __hash__)
            return self._service_raised(exc)
        # type checks that never consult a decoded host object's __class__
        if not (_is_a(name, str) and _is_a(args, list) and _is_a(kwargs, dict)):
            return _error("ArgumentError", "malformed service call")
        if _is_a(target, str):
            obj = self.bindings.get(target)
            if obj is None and target not in self.bindings:
                return _error(GUEST_NO_SERVICE, f"no service is bound at {target}")
            if obj is FILLABLE:
                return _error(GUEST_NO_SERVICE, f"{target} is not filled for this run")
        else:
            obj = target
        method = resolve_method(obj, name)
        if method is None:
            return _error(GUEST_NO_SERVICE, f"undefined method '{name}' for {describe(target)}")
        kw = {str.__str__(k): v for k, v in kwargs.items() if _is_a(k, str)}
        if len(kw) != len(kwargs):
            return _error("ArgumentError", "keyword names must be Symbols")
        return lambda: method(*args, **kw)

    def reply(self, result: Any) -> bytes:
        try:
            reply = pack([REPLY_VALUE, to_wire(result, self.handles)])
        except HandleExhausted as exc:
            return _error(GUEST_HANDLES_EXHAUSTED, str(exc))
        except WireError as exc:
            return _error(GUEST_SERVICE_ERROR, f"ValueError: service returned {exc}")
        except Exception as exc:  # a str with lone surrogates, a list whose __iter__ raises
            return self._service_raised(exc, "service returned a value that cannot be sent: ")
        if len(reply) > self.limits.max_message_bytes:
            return _error(GUEST_MESSAGE_SIZE, self._too_big("reply", len(reply)))
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
        if _is_a(exc, TypeError) and depth <= 2:
            return _error("ArgumentError", _exception_text(exc))
        return self._service_raised(exc)

    def _service_raised(self, exc: BaseException, context: str = "") -> bytes:
        """The Service error reply for ``exc``, which becomes the run's latest error."""
        self.last_error, self.last_error_call = exc, self.calls
        name = _sendable(attrs.type_name(exc), ERROR_NAME_CHARS_MAX)
        return _error(GUEST_SERVICE_ERROR, f"{name}: {context}{_exception_text(exc)}")


def _is_a(value: object, kind: type) -> bool:
    return issubclass(type(value), kind)


def _exception_text(exc: BaseException) -> str:
    """``str(exc)``, made sendable: a message that raises, holds lone surrogates or is
    huge must not make the error reply itself fail."""
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {attrs.type_name(exc)}>"
    return _sendable(text, ERROR_MESSAGE_CHARS_MAX)


def _sendable(text: str, limit: int) -> str:
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters)"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_awaitable(value: object) -> bool:
    """inspect.isawaitable, decided from the value's type (no ``__class__`` property)."""
    kind = type(value)
    if kind is types.CoroutineType:
        return True
    try:
        if kind is types.GeneratorType:
            return bool(value.gi_code.co_flags & inspect.CO_ITERABLE_COROUTINE)  # type: ignore[attr-defined]
        return attrs.class_lookup(kind, "__await__") is not attrs.MISSING
    except Exception:
        return False


def _close(awaitable: object) -> None:
    """Close a refused coroutine so it does not warn; a broken one is left as it is."""
    close = attrs.class_lookup(type(awaitable), "close")
    if close is attrs.MISSING:
        return
    try:
        close(awaitable)
    except Exception:
        pass


def _is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is asyncio's CancelledError or trio's Cancelled (a library that
    was never imported cannot have raised its own)."""
    for module, name in (("asyncio", "CancelledError"), ("trio", "Cancelled")):
        klass = getattr(sys.modules.get(module), name, None)
        if isinstance(klass, type) and issubclass(type(exc), klass):
            return True
    return False


def _caller_cancelled() -> bool:
    """Whether the current task is being cancelled, as opposed to a Service letting
    its own CancelledError escape: an anyio (or trio) cancel scope around us has been
    cancelled, or, on asyncio, someone called ``task.cancel()`` on this task."""
    import anyio  # only async callers get here, and they have it loaded

    if anyio.current_effective_deadline() == -math.inf:
        return True
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False  # no asyncio loop: trio, whose cancel scopes were asked above
    if task is None:
        return False
    cancelling = getattr(task, "cancelling", None)
    if cancelling is None:
        return True  # Python 3.10 cannot tell: keep cancellation working
    return bool(cancelling() > 0)


def _error(klass: str, message: str) -> bytes:
    return pack([REPLY_ERROR, [klass, message]])


def check_sync_service(path: str, obj: Any) -> None:
    """Refuse coroutine functions in the sync Sandbox, naming the Pool instead.

    Reads ``obj.call`` without running code of ``obj``'s (no ``__getattr__``).
    """
    candidates = [obj]
    try:
        call = attrs.lookup(obj, "call")
    except Exception:
        call = attrs.MISSING
    if call is not attrs.MISSING and call is not attrs.UNSAFE:
        candidates.append(call)
    if any(_is_coroutine_function(c) for c in candidates):
        raise TypeError(
            f"{path!r} is an async service; the sync Sandbox calls services synchronously."
            " Bind async services on a kobako_async.Pool."
        )


def _is_coroutine_function(obj: object) -> bool:
    # inspect would read attributes of any object (its __class__, say): ask it only
    # about the kinds it can answer for, whose attributes are the interpreter's
    if not (attrs.is_routine(obj) or type(obj) is functools.partial):
        return False
    try:
        return inspect.iscoroutinefunction(obj)
    except Exception:
        return False
