"""One run in the parent: its state, the Service calls it serves, and its outcome.

A run is carried by the task that awaits it (see ``_pool``). This module holds what
is about the run alone: serving the Call/Oversize messages of its worker until the
Done, and turning the Done (or an Oversize outcome) into an Execution or an error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import wasmtime

from . import _protocol as proto
from ._codec import pack
from ._errors import MessageSizeError
from ._guest import CapturedOutput, GuestTrap
from ._limits import Limits
from ._sandbox import Execution, Usage, finish, trap_error
from ._services import (
    GUEST_CALL_LIMIT,
    GUEST_MESSAGE_SIZE,
    GUEST_SERVICE_ERROR,
    REPLY_ERROR,
    Dispatcher,
)

if TYPE_CHECKING:
    from ._process import WorkerHandle


class RunState(enum.Enum):
    PREPARED = "prepared"  # not yet sent to a worker (queued, or between attempts)
    SENDING = "sending"  # its Run frame is being written
    SENT = "sent"  # the whole Run frame is in the worker's pipe
    ENDED = "ended"  # its Done was read


class AbortReason(enum.Enum):
    WATCHDOG = "watchdog"  # it overran its timeout by the grace period
    CLOSED = "closed"  # aclose(cancel=True)
    WORKER_DIED = "worker died"  # while the parent ran one of its Service calls


class Aborted(Exception):
    """The Pool stopped the run (watchdog or ``aclose(cancel=True)``); see ``Run.aborted``."""


@dataclass(eq=False, slots=True)
class Run:
    """One run from ``Pool.run`` to its outcome."""

    run_id: int
    frame: bytes  # the encoded Run message
    limits: Limits
    dispatcher: Dispatcher
    state: RunState = RunState.PREPARED
    worker: WorkerHandle | None = None
    deadline: float | None = None  # time.monotonic() past which the watchdog kills
    scope: anyio.CancelScope | None = None  # while the run serves Service calls
    in_call: bool = False  # a Service call of the run is under way in the parent
    aborted: AbortReason | None = None


Ending = proto.Done | proto.Oversize


async def serve_calls(worker: WorkerHandle, run: Run, message: proto.Message) -> Ending:
    """Serve the run's Service calls (``message`` is the first) until it ends.

    Raises:
        Aborted: the Pool stopped the run meanwhile.
        WorkerGone, ProtocolError: the worker died or broke the protocol.
    """
    with anyio.CancelScope() as scope:
        run.scope = scope
        if run.aborted is not None:
            scope.cancel()
        try:
            while True:
                ending = _ending(run, message)
                if ending is not None:
                    return ending
                reply = await _answer(run, message)
                if reply is not None:
                    await worker.send(proto.encode(reply))
                message = await worker.receive()
        finally:
            run.scope = None
    raise Aborted


def is_ending(run: Run, message: proto.Message) -> bool:
    return _ending(run, message) is not None


def _ending(run: Run, message: proto.Message) -> Ending | None:
    if isinstance(message, proto.Done) and message.run_id == run.run_id:
        return message
    if isinstance(message, proto.Oversize) and message.run_id == run.run_id:
        if message.call_id == 0:
            return message
    return None


async def _answer(run: Run, message: proto.Message) -> proto.Reply | None:
    """The reply to a Call or Oversize call of this run; None for a stale message."""
    if isinstance(message, proto.Call):
        if message.run_id != run.run_id:
            return None
        run.in_call = True
        try:
            reply = await run.dispatcher.dispatch_async(message.payload)
        except Exception as exc:  # the Dispatcher contains these; in case one escapes
            reply = _service_error_reply(run.dispatcher, exc)
        finally:
            run.in_call = False
        return proto.Reply(run.run_id, message.call_id, reply)
    if isinstance(message, proto.Oversize):
        if message.run_id != run.run_id:
            return None
        reply = oversize_call_reply(run.dispatcher, message.size)
        return proto.Reply(run.run_id, message.call_id, reply)
    if isinstance(message, proto.Done):
        return None  # an earlier run's, late
    raise proto.ProtocolError(f"unexpected {type(message).__name__} from a worker")


def oversize_call_reply(dispatcher: Dispatcher, size: int) -> bytes:
    """The reply ``Dispatcher.prepare`` gives a call of ``size`` bytes over
    max_message_bytes (the worker sent its size, not its bytes): the call counts, and
    the call limit is checked first, as there."""
    dispatcher.calls += 1
    limit = dispatcher.limits.max_service_calls
    if limit is not None and dispatcher.calls > limit:
        return _error_reply(GUEST_CALL_LIMIT, f"more than {limit} Service calls in one run")
    most = dispatcher.limits.max_message_bytes
    return _error_reply(
        GUEST_MESSAGE_SIZE, f"Service call of {size} bytes is over max_message_bytes ({most})"
    )


def _service_error_reply(dispatcher: Dispatcher, exc: Exception) -> bytes:
    dispatcher.last_error, dispatcher.last_error_call = exc, dispatcher.calls
    return _error_reply(GUEST_SERVICE_ERROR, f"{type(exc).__name__}: {exc}")


def _error_reply(klass: str, message: str) -> bytes:
    return pack([REPLY_ERROR, [klass, message]])


def outcome(run: Run, ending: Ending, wall_time_s: float) -> Execution:
    """The Execution the run's ending describes, or the error it reports (as
    ``Sandbox.run`` gives it)."""
    if isinstance(ending, proto.Oversize):
        empty = Execution(None, "", "", False, False, Usage(wall_time_s, ending.memory_bytes))
        raise MessageSizeError(
            "Kobako::MessageSizeError",
            f"the run's outcome is {ending.size} bytes, over max_message_bytes"
            f" ({run.limits.max_message_bytes})",
            [],
            empty,
        )
    if ending.payload is None:
        trap = GuestTrap(ending.trap_message, _trap_code(ending.trap_code))
        trap.memory_bytes = ending.memory_bytes
        trap.output = CapturedOutput(
            ending.stdout, ending.stderr, ending.stdout_truncated, ending.stderr_truncated
        )
        raise trap_error(trap, run.limits, wall_time_s)
    usage = Usage(wall_time_s, ending.memory_bytes)
    return finish(ending.payload, usage, run.dispatcher, run.limits)


def _trap_code(value: int | None) -> wasmtime.TrapCode | None:
    try:
        return wasmtime.TrapCode(value) if value is not None else None
    except ValueError:  # not one wasmtime knows: an unclassified trap
        return None
