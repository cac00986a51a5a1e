"""The in-process Sandbox: one fresh guest instance per run, synchronous."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import wasmtime

from ._codec import (
    OUTCOME_WRAPPER_LEVELS,
    CodecError,
    KeyRefused,
    OverBudget,
    StaleHandle,
    ValueRefused,
    object_budget,
    pack,
    unpack,
    unpack_outline,
)
from ._errors import (
    DisconnectedError,
    FuelExhaustedError,
    HandleExhaustedError,
    HashKeyError,
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
from ._guest import GuestRunner, GuestTrap, get_runner
from ._inputs import encode_inputs
from ._limits import (
    KEEP,
    MAX_MESSAGE_BYTES,
    MAX_SERVICE_CALLS,
    MEMORY_LIMIT_BYTES,
    STDERR_LIMIT_BYTES,
    STDOUT_LIMIT_BYTES,
    TIMEOUT_S,
    Limits,
    Profile,
)
from ._services import (
    FILLABLE,
    GUEST_CALL_LIMIT,
    GUEST_DISCONNECTED,
    GUEST_HANDLES_EXHAUSTED,
    GUEST_MESSAGE_SIZE,
    GUEST_NO_SERVICE,
    GUEST_SERVICE_ERROR,
    Dispatcher,
    add_binding,
    check_sync_service,
    merge_run_bindings,
)

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

    A Sandbox holds configuration only (bindings and limits), so one can be shared
    by many threads. Nothing a script defines survives into the next run.

    Args:
        timeout: wall-clock seconds per run (Service time included), or None.
        memory_limit: bytes of guest linear memory per run, or None; at least the
            guest's minimum (``GuestRunner.min_memory_bytes``, ~2.3 MiB), else ValueError.
        fuel: wasm instruction budget per run, or None (the default: off).
        max_service_calls: Service calls per run, or None.
        max_message_bytes: largest Service call, reply or outcome.
        stdout_limit: bytes of stdout kept per run; past it output is dropped and
            ``Execution.stdout_truncated`` set.
        stderr_limit: the same for stderr (``Execution.stderr_truncated``).
        profile: "hermetic" (default: the clock is fixed at the Unix epoch and
            randomness is seeded with 0 unless a run passes ``seed``) or
            "permissive" (the real clock and fresh entropy).

    Raises:
        ValueError: a limit is out of its range.
        GuestLoadError: the guest file is missing, corrupt or for another ABI.
    """

    def __init__(
        self,
        *,
        timeout: float | None = TIMEOUT_S,
        memory_limit: int | None = MEMORY_LIMIT_BYTES,
        fuel: int | None = None,
        max_service_calls: int | None = MAX_SERVICE_CALLS,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        stdout_limit: int = STDOUT_LIMIT_BYTES,
        stderr_limit: int = STDERR_LIMIT_BYTES,
        profile: Profile = "hermetic",
    ) -> None:
        self.limits = Limits(
            timeout=timeout,
            memory_limit=memory_limit,
            fuel=fuel,
            max_service_calls=max_service_calls,
            max_message_bytes=max_message_bytes,
            stdout_limit=stdout_limit,
            stderr_limit=stderr_limit,
            profile=profile,
        )
        self._bindings: dict[str, Any] = {}
        # load the module now, not in the first run
        check_memory_limit(self.limits, get_runner(metered=fuel is not None))

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

    def run(
        self,
        script: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        bind: Mapping[str, Any] | None = None,
        seed: int | None = None,
        timeout: float | None = KEEP,
        memory_limit: int | None = KEEP,
        fuel: int | None = KEEP,
    ) -> Execution:
        """Run ``script`` and return its last expression's value and output.

        Each of ``inputs`` becomes a local variable of the script (not of the methods
        it defines), holding the value as the codec decodes it; a value with no wire
        form arrives as a Handle. ``bind`` fills fillable paths, or shadows bound
        ones, for this run only; ``seed`` seeds ``rand``/``Random``; the limits
        override the Sandbox's.

        Raises:
            InvalidScriptError: ``script`` is not a str, contains a NUL byte, or has
                lone surrogates.
            SandboxError: the script raised, did not compile, or returned a value
                with no wire form; its subclasses name broken run limits.
            ServiceError: a Service raised and the script did not rescue it
                (NoServiceError, DisconnectedError: see the error tree).
            TimeoutError, MemoryLimitError, FuelExhaustedError: a limit stopped it.
            TrapError: the guest trapped or broke the ABI.
            MessageSizeError: the encoded ``inputs`` are over max_message_bytes.
            ValueError, TypeError: bad ``bind``, ``inputs`` (a name that is not a Ruby
                local variable name, a value that cannot be sent) or limit arguments.
        """
        limits = self.limits.override(timeout=timeout, memory_limit=memory_limit, fuel=fuel)
        runner = get_runner(limits.fuel is not None)
        if memory_limit is not KEEP or fuel is not KEEP:
            check_memory_limit(limits, runner)
        bindings = self._bindings
        if bind:
            bindings = merge_run_bindings(bindings, bind)
            for path, obj in bind.items():
                check_sync_service(path, obj)
        dispatcher = Dispatcher(bindings, limits)
        return execute(runner, script, limits, dispatcher, seed, inputs)


def check_memory_limit(limits: Limits, runner: GuestRunner) -> None:
    """Raises ValueError if ``limits.memory_limit`` is below what the guest needs
    to run ``nil`` (its initial memory and the pages a run grows)."""
    if limits.memory_limit is not None and limits.memory_limit < runner.min_memory_bytes:
        raise ValueError(
            f"memory_limit must be at least {runner.min_memory_bytes} bytes (what the guest"
            f" needs to run `nil`), got {limits.memory_limit}"
        )


def execute(
    runner: GuestRunner,
    script: str,
    limits: Limits,
    dispatcher: Dispatcher,
    seed: int | None,
    inputs: Mapping[str, Any] | None = None,
) -> Execution:
    """Run one script on ``runner`` under ``limits``: the core of ``Sandbox.run``."""
    request = build_request(script, limits, dispatcher, seed, inputs)
    started = time.perf_counter()
    try:
        raw = runner.run(
            request,
            limits.timeout,
            dispatcher.dispatch,
            memory_limit=limits.memory_limit,
            fuel=limits.fuel,
            clock_ns=limits.clock_ns(),
        )
    except GuestTrap as exc:
        raise trap_error(exc, limits, time.perf_counter() - started) from exc
    usage = Usage(time.perf_counter() - started, raw.memory_bytes)
    return finish(raw.payload, usage, dispatcher, limits)


def build_request(
    script: str,
    limits: Limits,
    dispatcher: Dispatcher,
    seed: int | None,
    inputs: Mapping[str, Any] | None = None,
) -> bytes:
    """The guest's run request; Handles among ``inputs`` go in ``dispatcher``'s table.

    Raises:
        InvalidScriptError: a bad script.
        MessageSizeError: the encoded inputs are over ``max_message_bytes`` (nothing ran).
        ValueError, TypeError: a bad seed, or bad inputs (see encode_inputs).
    """
    source = _encode_script(script)
    names, values = encode_inputs(inputs, dispatcher.handles)
    size = len(values) + sum(map(len, names))
    if size > limits.max_message_bytes:
        raise MessageSizeError(
            "Kobako::MessageSizeError",
            f"the run's inputs are {size} bytes encoded, over max_message_bytes"
            f" ({limits.max_message_bytes})",
            [],
            Execution(None, "", "", False, False, Usage(0.0, 0)),
        )
    return pack(
        [
            source,
            limits.stdout_limit,
            limits.stderr_limit,
            dispatcher.paths(),
            limits.seed(seed),
            names,
            values,
        ]
    )


def finish(payload: bytes, usage: Usage, dispatcher: Dispatcher, limits: Limits) -> Execution:
    """The Execution an outcome payload describes, or the error it reports."""
    if len(payload) > limits.max_message_bytes:
        empty = Execution(None, "", "", False, False, usage)
        raise MessageSizeError(
            "Kobako::MessageSizeError",
            f"the run's outcome is {len(payload)} bytes, over max_message_bytes"
            f" ({limits.max_message_bytes})",
            [],
            empty,
        )
    return decode_outcome(payload, usage, dispatcher, limits)


def trap_error(exc: GuestTrap, limits: Limits, wall_time_s: float) -> TrapError:
    """The error for a run the engine stopped, with what the guest had printed."""
    out = exc.output
    stdout, stdout_cut = _kept(out.stdout, out.stdout_truncated, limits.stdout_limit)
    stderr, stderr_cut = _kept(out.stderr, out.stderr_truncated, limits.stderr_limit)
    usage = Usage(wall_time_s, exc.memory_bytes)
    return _trap_error(exc, limits, Execution(None, stdout, stderr, stdout_cut, stderr_cut, usage))


def _kept(output: bytes, truncated: bool, limit: int) -> tuple[str, bool]:
    """Output read from a trapped guest, held to the run's limit (the guest's word
    on its own length is not trusted)."""
    if len(output) > limit:
        return _text(output[:limit]), True
    return _text(output), truncated


def _trap_error(exc: GuestTrap, limits: Limits, empty: Execution) -> TrapError:
    if exc.code == wasmtime.TrapCode.INTERRUPT:
        return TimeoutError(f"run exceeded its timeout of {limits.timeout} s", empty)
    if exc.code == wasmtime.TrapCode.OUT_OF_FUEL:
        return FuelExhaustedError(f"run used up its fuel ({limits.fuel})", empty)
    if limits.memory_limit is not None and _near_limit(exc.memory_bytes, limits.memory_limit):
        return MemoryLimitError(
            f"run reached its memory limit ({limits.memory_limit} bytes)", empty
        )
    return TrapError(f"guest trapped: {exc}", empty)


def _near_limit(used: int, limit: int) -> bool:
    # the allocation that failed needed more than was left: within a few pages
    return used + (1 << 20) >= limit


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


def decode_outcome(
    payload: bytes,
    usage: Usage,
    dispatcher: Dispatcher | None = None,
    limits: Limits | None = None,
) -> Execution:
    """Turn the guest's outcome into an Execution, or raise the error it reports.
    The time spent decoding is added to ``usage.wall_time_s``."""
    handles = dispatcher.handles if dispatcher else None
    max_bytes = limits.max_message_bytes if limits else MAX_MESSAGE_BYTES
    started = time.perf_counter()
    try:
        fields: Any = unpack(
            payload,
            handles,
            wrapper_levels=OUTCOME_WRAPPER_LEVELS,
            max_objects=object_budget(max_bytes),
        )
        failure: Exception | None = None
    except (StaleHandle, ValueRefused, CodecError) as exc:
        failure = exc
    usage = Usage(usage.wall_time_s + time.perf_counter() - started, usage.memory_peak_bytes)
    empty = Execution(None, "", "", False, False, usage)
    if isinstance(failure, ValueRefused):
        raise _refused_outcome(failure, payload, usage, max_bytes) from failure.__cause__
    try:
        if failure is not None:
            raise failure
        status, body, out, err, out_cut, err_cut, out_of_memory = fields
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
        origin = _origin(body[3] if len(body) > 3 else None)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise TrapError(f"guest broke the ABI: malformed error ({exc})", execution) from exc
    if len(lines) > BACKTRACE_LINES_MAX:
        keep = BACKTRACE_LINES_MAX // 2
        lines = [*lines[:keep], f"... {len(lines) - 2 * keep} levels...", *lines[-keep:]]
    if klass == "NoMemoryError" and out_of_memory:
        limit = limits.memory_limit if limits else None
        raise MemoryLimitError(f"run reached its memory limit ({limit} bytes)", execution)
    if origin is None:
        raise SandboxError(klass, message, lines, execution)
    raise _host_error(origin, klass, message, lines, execution, dispatcher)


def _refused_outcome(
    refusal: ValueRefused, payload: bytes, usage: Usage, max_bytes: int
) -> SandboxError:
    """The error for an outcome whose value the codec refused, with the run's output."""
    execution = Execution(None, "", "", False, False, usage)
    outline = unpack_outline(payload, skip=1)
    if outline is not None and len(outline) == 7:
        out, err, out_cut, err_cut = outline[2:6]
        if isinstance(out, bytes) and isinstance(err, bytes):
            execution = Execution(None, _text(out), _text(err), bool(out_cut), bool(err_cut), usage)
    if isinstance(refusal, KeyRefused):
        return HashKeyError("ArgumentError", str(refusal), [], execution)
    if isinstance(refusal, OverBudget):
        return MessageSizeError(
            "Kobako::MessageSizeError",
            f"the run's outcome decodes into more than {object_budget(max_bytes)} arrays,"
            f" hashes and ext values (max_message_bytes // 16)",
            [],
            execution,
        )
    return SandboxError("ArgumentError", str(refusal), [], execution)


def _origin(value: object) -> int | None:
    """The guest's mark on an exception made from a host error reply: the number
    of the Service call it answered; None for an exception the script made."""
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise TypeError(f"malformed exception origin {value!r:.100}")
    return value


def _host_error(
    call: int,
    klass: str,
    message: str,
    backtrace: list[str],
    execution: Execution,
    dispatcher: Dispatcher | None,
) -> KobakoError:
    """The error for an exception the guest made from a host error reply, decided
    from the Dispatcher's own record of what it replied to that call: the mark
    carries only the call number, and a script cannot set it (guest services.c).
    A mark naming a call that got no error reply ends in a plain SandboxError."""
    sent = dispatcher.error_replies.get(call) if dispatcher is not None else None
    if sent is None:
        return SandboxError(klass, message, backtrace, execution)
    host_klass, host_message = sent
    if host_klass == GUEST_SERVICE_ERROR:
        py_class, _, py_message = host_message.partition(": ")
        error = ServiceError(py_class, py_message, execution)
        if dispatcher is not None and dispatcher.last_error_call == call:
            error.__cause__ = dispatcher.last_error
        return error
    if host_klass == GUEST_NO_SERVICE:
        return NoServiceError("NoMethodError", host_message, execution)
    if host_klass == GUEST_DISCONNECTED:
        return DisconnectedError("Disconnected", host_message, execution)
    if host_klass == GUEST_HANDLES_EXHAUSTED:
        return HandleExhaustedError(host_klass, host_message, backtrace, execution)
    if host_klass == GUEST_CALL_LIMIT:
        return ServiceCallLimitError(host_klass, host_message, backtrace, execution)
    if host_klass == GUEST_MESSAGE_SIZE:
        return MessageSizeError(host_klass, host_message, backtrace, execution)
    return SandboxError(klass, message, backtrace, execution)


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return _text(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {type(value).__name__}")
