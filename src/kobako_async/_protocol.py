"""The parent <-> worker protocol, sans-IO: bytes in, typed messages out, and back.

A frame is a 4-byte big-endian length followed by that many bytes of msgpack: an
array whose first element is the message type. Invariants this module keeps:

- ``FrameReader.next_message`` never returns a partial message: it returns a
  message, or ``NEED_DATA`` until the whole frame has been fed;
- a frame over ``max_frame_bytes`` is refused as soon as its header is read,
  before its body is buffered; the parent's cap for a worker's frames derives from
  the Pool's limits (``frame_cap``), and the worker never frames a Service call or an
  outcome over ``max_message_bytes``: it sends ``Oversize`` instead, so a script
  cannot make a frame the parent refuses;
- anything malformed (bad msgpack, unknown type, wrong field types) raises
  ProtocolError, and the stream is then unusable: the caller drops the worker.

Every message carries the run id it belongs to, so a late message of an earlier
run (a Call racing a Cancel, say) is recognised and dropped.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, fields
from typing import Any, Final

import msgpack

MAX_FRAME_BYTES = 64 << 20
"""The default cap of a FrameReader."""
FRAME_LIMIT_BYTES = (1 << 32) - 1
"""The largest frame the 4-byte header can describe."""
FRAME_SLACK_BYTES = 1 << 20
"""Room in a frame for everything but its payload and output (ids, trap message)."""
TRAP_MESSAGE_MAX_CHARS = 64 << 10
"""A trap message longer than this is cut (a wasm backtrace can be long)."""
_HEADER = struct.Struct(">I")


def frame_cap(max_message_bytes: int, stdout_limit: int, stderr_limit: int) -> int:
    """The largest frame a worker sends under these limits: an outcome or Service call
    (at most ``max_message_bytes``), or a trap with the output kept, plus slack."""
    return max(max_message_bytes, stdout_limit + stderr_limit) + FRAME_SLACK_BYTES


# Besides the pipes, a worker shares one word of memory with the parent: the id of
# the last run it started, so the parent can tell whether a dead worker began a run.
STARTED_BYTES = 8
_STARTED = struct.Struct("<q")


def write_started(memory: Any, run_id: int) -> None:
    _STARTED.pack_into(memory, 0, run_id)


def read_started(memory: Any) -> int:
    (run_id,) = _STARTED.unpack_from(memory, 0)
    return int(run_id)


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid message."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True)
class Ready:
    """worker -> parent: the module is loaded; the worker takes runs."""

    pid: int


@dataclass(frozen=True, slots=True)
class Run:
    """parent -> worker: run one request (the guest's encoded run request)."""

    run_id: int
    request: bytes
    timeout: float | None
    memory_limit: int | None
    fuel: int | None
    clock_ns: int | None
    max_message_bytes: int  # the worker sends Oversize for a call or outcome over it


@dataclass(frozen=True, slots=True)
class Call:
    """worker -> parent: the guest made a Service call (its encoded payload)."""

    run_id: int
    call_id: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """parent -> worker: the encoded reply to a Call."""

    run_id: int
    call_id: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Cancel:
    """parent -> worker: stop the run now."""

    run_id: int


@dataclass(frozen=True, slots=True)
class Done:
    """worker -> parent: the run ended with an outcome payload, or with a trap (and
    then what the guest had printed, read from its buffers)."""

    run_id: int
    payload: bytes | None
    memory_bytes: int
    trap_code: int | None  # wasmtime TrapCode value, when it trapped
    trap_message: str
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False


@dataclass(frozen=True, slots=True)
class Oversize:
    """worker -> parent: a Service call (``call_id`` > 0; the worker then waits for its
    Reply) or the run's outcome (``call_id`` 0; the run is over) was ``size`` bytes,
    over ``max_message_bytes``, and was not sent."""

    run_id: int
    call_id: int
    size: int
    memory_bytes: int


Message = Ready | Run | Call | Reply | Cancel | Done | Oversize

_TYPES: dict[int, type[Any]] = {
    0: Ready,
    1: Run,
    2: Call,
    3: Reply,
    4: Cancel,
    5: Done,
    6: Oversize,
}
# (tag, fields-as-a-tuple getter) per type: encode is on every run's hot path, and
# attrgetter is several times cheaper than dataclasses.astuple
_TAGS_OF = {cls: tag for tag, cls in _TYPES.items()}
_ENCODERS: dict[type[Any], tuple[int, Any]] = {
    cls: (tag, operator.attrgetter(*(f.name for f in fields(cls)))) for tag, cls in _TYPES.items()
}
_NONE = type(None)
# the exact types each field may have (msgpack yields exact types, so a bool is never
# taken for an int), per tag
_DECODERS: dict[int, tuple[type[Any], tuple[frozenset[type], ...]]] = {
    _TAGS_OF[cls]: (cls, tuple(frozenset(allowed) for allowed in spec))
    for cls, spec in (
        (Ready, ((int,),)),
        (
            Run,
            (
                (int,),
                (bytes,),
                (float, int, _NONE),
                (int, _NONE),
                (int, _NONE),
                (int, _NONE),
                (int,),
            ),
        ),
        (Call, ((int,), (int,), (bytes,))),
        (Reply, ((int,), (int,), (bytes,))),
        (Cancel, ((int,),)),
        (
            Done,
            ((int,), (bytes, _NONE), (int,), (int, _NONE), (str,), (bytes,), (bytes,))
            + ((bool,), (bool,)),
        ),
        (Oversize, ((int,), (int,), (int,), (int,))),
    )
}


def encode(message: Message) -> bytes:
    """One framed message."""
    tag, getter = _ENCODERS[type(message)]
    values = getter(message)
    body: bytes = _packb((tag, *values) if isinstance(values, tuple) else (tag, values))
    return _HEADER.pack(len(body)) + body


def _packb(items: tuple[Any, ...]) -> bytes:
    return msgpack.packb(items, use_bin_type=True)  # type: ignore[no-any-return]


class FrameReader:
    """Buffers bytes from the peer and yields whole messages."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_message(self) -> Message | _NeedData:
        """The next whole message, or NEED_DATA. Raises ProtocolError."""
        buffer = self._buffer
        if len(buffer) < _HEADER.size:
            return NEED_DATA
        (size,) = _HEADER.unpack_from(buffer)
        if size > self._max:
            raise ProtocolError(f"frame of {size} bytes exceeds the {self._max}-byte cap")
        end = _HEADER.size + size
        if len(buffer) < end:
            return NEED_DATA
        if len(buffer) == end:  # the usual case: exactly one frame was buffered
            body = bytes(buffer)[_HEADER.size :]
            buffer.clear()
        else:
            body = bytes(buffer[_HEADER.size : end])
            del buffer[:end]
        return decode_body(body)

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet returned as messages (a partial frame at EOF)."""
        return len(self._buffer)


def decode_body(body: bytes) -> Message:
    """Decode one frame body. Raises ProtocolError."""
    try:
        items = msgpack.unpackb(body, raw=False, use_list=False)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"frame is not msgpack: {exc}") from exc
    if type(items) is not tuple or not items or type(items[0]) is not int:
        raise ProtocolError("frame is not a tagged message")
    decoder = _DECODERS.get(items[0])
    if decoder is None:
        raise ProtocolError(f"unknown message type {items[0]!r}")
    cls, expected = decoder
    fields = items[1:]
    if len(fields) != len(expected):
        raise ProtocolError(f"{cls.__name__} has {len(fields)} fields, expected {len(expected)}")
    for value, allowed in zip(fields, expected, strict=True):
        if type(value) not in allowed:
            raise ProtocolError(f"{cls.__name__} field has type {type(value).__name__}")
    message: Message = cls(*fields)
    return message
