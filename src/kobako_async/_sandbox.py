"""The in-process Sandbox: one fresh guest instance per run, synchronous."""

from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

import wasmtime

from ._codec import CodecError, StaleHandle, pack, unpack
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
from ._guest import GuestTrap, get_runner
from ._services import (
    FILLABLE,
    GUEST_DISCONNECTED,
    GUEST_HANDLES_EXHAUSTED,
    GUEST_NO_SERVICE,
    GUEST_SERVICE_ERROR,
    Dispatcher,
    add_binding,
    check_sync_service,
    merge_run_bindings,
)

STDOUT_LIMIT_BYTES = 1 << 20
STDERR_LIMIT_BYTES = 1 << 20
TIMEOUT_S = 5.0
OUTPUT_LIMIT_MAX_BYTES = (1 << 32) - 1
BACKTRACE_LINES_MAX = 100

_STATUS_VALUE = 0
_STATUS_ERROR = 1


@dataclass(frozen=True, slots=True)
class Usage:
    """What a run consumed."""

    wall_time_s: float
    """Wall-clock seconds from instantiation to the decoded outcome."""
    memory_peak_bytes: int
    """Peak size of the guest's linear memory (it only grows within a run)."""


@dataclass(frozen=True, slots=True)
class Execution:
    """The result of one run: its value, captured output and resource usage."""

    value: Any
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    usage: Usage


class Sandbox:
    """Runs Ruby scripts in a fresh mruby-in-wasm instance each time.

    A Sandbox holds configuration only, so one can be shared by many threads.
    Nothing a script defines survives into the next run.

    Args:
        stdout_limit: bytes of ``$stdout`` kept per run; the rest is dropped and
            ``Execution.stdout_truncated`` is set.
        stderr_limit: the same for ``$stderr``.
        timeout: wall-clock seconds a run may take, or None for no limit.
    """

    def __init__(
        self,
        *,
        stdout_limit: int = STDOUT_LIMIT_BYTES,
        stderr_limit: int = STDERR_LIMIT_BYTES,
        timeout: float | None = TIMEOUT_S,
    ) -> None:
        for name, limit in (("stdout_limit", stdout_limit), ("stderr_limit", stderr_limit)):
            if not isinstance(limit, int) or not 0 <= limit <= OUTPUT_LIMIT_MAX_BYTES:
                raise ValueError(f"{name} must be an int in [0, 2**32), got {limit!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        self.stdout_limit = stdout_limit
        self.stderr_limit = stderr_limit
        self.timeout = timeout
        self._bindings: dict[str, Any] = {}
        self._runner = get_runner()

    def bind(self, path: str, obj: Any = FILLABLE) -> Sandbox:
        """Expose ``obj`` to scripts as the constant ``path`` (``"KV::Lookup"``).

        Bindings persist across runs. With no ``obj`` the path is declared
        *fillable*: each run fills it through ``run(..., bind=...)``. Returns self.

        Raises:
            ValueError: ``path`` is malformed, or equal to, above or below a bound path.
            TypeError: ``obj`` is an async function; bind those on a Pool.
        """
        check_sync_service(path, obj)
        add_binding(self._bindings, path, obj)
        return self

    def run(self, script: str, *, bind: Mapping[str, Any] | None = None) -> Execution:
        """Run ``script`` and return its last expression's value and output.

        ``bind`` fills fillable paths, or shadows bound ones, for this run only.

        Raises:
            InvalidScriptError: ``script`` is not a str, contains a NUL byte, or has
                lone surrogates.
            SandboxError: the script raised, did not compile, or returned a value
                with no wire form.
            ServiceError: a Service raised and the script did not rescue it
                (NoServiceError, DisconnectedError: see the error tree).
            ValueError, TypeError: ``bind`` holds a bad path or an async service.
            TimeoutError: the run exceeded ``timeout``.
            TrapError: the guest trapped or broke the ABI.
        """
        source = _encode_script(script)
        bindings = self._bindings
        if bind:
            for path, obj in bind.items():
                check_sync_service(path, obj)
            bindings = merge_run_bindings(bindings, bind)
        dispatcher = Dispatcher(bindings, sync_only=True)
        request = pack([source, self.stdout_limit, self.stderr_limit, list(bindings)])
        started = time.perf_counter()
        try:
            raw = self._runner.run(request, self.timeout, dispatcher.dispatch)
        except GuestTrap as exc:
            empty = Execution(None, "", "", False, False, Usage(time.perf_counter() - started, 0))
            if exc.code == wasmtime.TrapCode.INTERRUPT:
                raise TimeoutError(f"run exceeded its timeout of {self.timeout} s", empty) from exc
            raise TrapError(f"guest trapped: {exc}", empty) from exc
        usage = Usage(time.perf_counter() - started, raw.memory_bytes)
        return decode_outcome(raw.payload, usage, dispatcher)


def _encode_script(script: object) -> bytes:
    if not isinstance(script, str):
        raise InvalidScriptError(f"script must be a str, not {type(script).__name__}")
    if "\0" in script:
        raise InvalidScriptError(
            f"script contains a NUL byte at offset {script.index(chr(0))};"
            ' write "\\0" inside a string literal instead'
        )
    try:
        return script.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise InvalidScriptError(f"script is not encodable as UTF-8: {exc.reason}") from exc


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def decode_outcome(payload: bytes, usage: Usage, dispatcher: Dispatcher | None = None) -> Execution:
    """Turn the guest's outcome into an Execution, or raise the error it reports."""
    empty = Execution(None, "", "", False, False, usage)
    handles = dispatcher.handles if dispatcher else None
    try:
        status, body, out, err, out_cut, err_cut = unpack(payload, handles)
        if status not in (_STATUS_VALUE, _STATUS_ERROR):
            raise ValueError(f"unknown status {status!r}")
        if not isinstance(out, bytes) or not isinstance(err, bytes):
            raise TypeError("output is not bytes")
    except StaleHandle as exc:
        raise DisconnectedError(
            "Disconnected", f"the run's value holds Handle #{exc.args[0]}, which is not live", empty
        ) from None
    except (CodecError, ValueError, TypeError) as exc:
        raise TrapError(f"guest broke the ABI: malformed outcome ({exc})", empty) from exc
    execution = Execution(
        body if status == _STATUS_VALUE else None,
        _text(out),
        _text(err),
        bool(out_cut),
        bool(err_cut),
        usage,
    )
    if status == _STATUS_VALUE:
        return execution
    try:
        klass, message, backtrace = (_as_text(body[0]), _as_text(body[1]), body[2])
        lines = [_as_text(line) for line in backtrace]
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise TrapError(f"guest broke the ABI: malformed error ({exc})", execution) from exc
    if len(lines) > BACKTRACE_LINES_MAX:
        keep = BACKTRACE_LINES_MAX // 2
        lines = [*lines[:keep], f"... {len(lines) - 2 * keep} levels...", *lines[-keep:]]
    raise _script_error(klass, message, lines, execution, dispatcher)


def _script_error(
    klass: str, message: str, backtrace: list[str], execution: Execution, dispatcher: Dispatcher | None
) -> KobakoError:
    """The error for an exception that ended the script, by its Ruby class."""
    if klass == GUEST_SERVICE_ERROR:
        py_class, _, py_message = message.partition(": ")
        error = ServiceError(py_class, py_message, execution)
        cause = dispatcher.last_error if dispatcher else None
        if cause is not None and type(cause).__name__ == py_class:
            error.__cause__ = cause
        return error
    if klass == GUEST_NO_SERVICE:
        return NoServiceError("NoMethodError", message, execution)
    if klass == GUEST_DISCONNECTED:
        return DisconnectedError("Disconnected", message, execution)
    if klass == GUEST_HANDLES_EXHAUSTED:
        return HandleExhaustedError(klass, message, backtrace, execution)
    return SandboxError(klass, message, backtrace, execution)


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return _text(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {type(value).__name__}")
