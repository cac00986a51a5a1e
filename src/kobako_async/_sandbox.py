"""The in-process Sandbox: one fresh guest instance per run, synchronous."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import wasmtime

from ._codec import CodecError, pack, unpack
from ._errors import InvalidScriptError, SandboxError, TimeoutError, TrapError
from ._guest import GuestTrap, get_runner

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
        self._runner = get_runner()

    def run(self, script: str) -> Execution:
        """Run ``script`` and return its last expression's value and output.

        Raises:
            InvalidScriptError: ``script`` is not a str, contains a NUL byte, or has
                lone surrogates.
            SandboxError: the script raised, did not compile, or returned a value
                with no wire form.
            TimeoutError: the run exceeded ``timeout``.
            TrapError: the guest trapped or broke the ABI.
        """
        source = _encode_script(script)
        request = pack([source, self.stdout_limit, self.stderr_limit])
        started = time.perf_counter()
        try:
            raw = self._runner.run(request, self.timeout)
        except GuestTrap as exc:
            empty = Execution(None, "", "", False, False, Usage(time.perf_counter() - started, 0))
            if exc.code == wasmtime.TrapCode.INTERRUPT:
                raise TimeoutError(f"run exceeded its timeout of {self.timeout} s", empty) from exc
            raise TrapError(f"guest trapped: {exc}", empty) from exc
        return _decode_outcome(raw.payload, Usage(time.perf_counter() - started, raw.memory_bytes))


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


def _decode_outcome(payload: bytes, usage: Usage) -> Execution:
    """Turn the guest's outcome into an Execution, or raise the error it reports."""
    empty = Execution(None, "", "", False, False, usage)
    try:
        status, body, out, err, out_cut, err_cut = unpack(payload)
        if status not in (_STATUS_VALUE, _STATUS_ERROR):
            raise ValueError(f"unknown status {status!r}")
        if not isinstance(out, bytes) or not isinstance(err, bytes):
            raise TypeError("output is not bytes")
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
        klass, message, backtrace = body
        lines = [_as_text(line) for line in backtrace]
    except (ValueError, TypeError) as exc:
        raise TrapError(f"guest broke the ABI: malformed error ({exc})", execution) from exc
    if len(lines) > BACKTRACE_LINES_MAX:
        keep = BACKTRACE_LINES_MAX // 2
        lines = [*lines[:keep], f"... {len(lines) - 2 * keep} levels...", *lines[-keep:]]
    raise SandboxError(_as_text(klass), _as_text(message), lines, execution)


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return _text(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {type(value).__name__}")
