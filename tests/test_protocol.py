"""The parent <-> worker protocol, sans-IO: frames of msgpack in, typed messages out."""

from __future__ import annotations

import struct

import msgpack
import pytest

from kobako_async import _protocol as proto

MESSAGES: list[proto.Message] = [
    proto.Ready(4242),
    proto.Run(1, b"\x93request", 5.0, 64 << 20, None, 0, 16 << 20),
    proto.Run(2**40, b"", None, None, 10_000, None, 1024),
    proto.Run(3, b"r", 2, 1, 1, 1_700_000_000_000_000_000, 1),  # an int timeout is allowed
    proto.Call(1, 7, b"\x94payload"),
    proto.Reply(1, 7, b"\x92reply"),
    proto.Cancel(9),
    proto.Done(1, b"\x97outcome", 2 << 20, None, ""),
    proto.Done(2, None, 16 << 20, 6, "wasm trap: interrupt"),
    proto.Done(3, None, 1 << 20, 6, "wasm trap: interrupt", b"step 1\n", b"", True, False),
    proto.Oversize(3, 0, 70_000_000, 80 << 20),
    proto.Oversize(3, 2, 1 << 30, 0),
]


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def packed(*items: object) -> bytes:
    return frame(msgpack.packb(list(items), use_bin_type=True))


def decode_one(data: bytes) -> proto.Message | object:
    reader = proto.FrameReader()
    reader.feed(data)
    return reader.next_message()


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: proto.Message) -> None:
    """encode then decode gives an equal message of the same type, and nothing left over."""
    reader = proto.FrameReader()
    reader.feed(proto.encode(message))
    decoded = reader.next_message()
    assert decoded == message and type(decoded) is type(message)
    assert reader.next_message() is proto.NEED_DATA
    assert reader.buffered == 0


def test_frame_header_is_big_endian_length() -> None:
    """A frame is a 4-byte big-endian body length, then a msgpack array tagged by type."""
    data = proto.encode(proto.Cancel(5))
    (size,) = struct.unpack(">I", data[:4])
    assert size == len(data) - 4
    assert msgpack.unpackb(data[4:]) == [4, 5]


def test_byte_by_byte_is_need_data_until_complete() -> None:
    """Fed one byte at a time, the reader says NEED_DATA until the frame's last byte."""
    message = proto.Call(3, 1, bytes(range(256)))
    data = proto.encode(message)
    reader = proto.FrameReader()
    for i, byte in enumerate(data):
        reader.feed(bytes([byte]))
        got = reader.next_message()
        if i < len(data) - 1:
            assert got is proto.NEED_DATA
            assert reader.buffered == i + 1
        else:
            assert got == message
    assert reader.buffered == 0


def test_every_message_byte_by_byte() -> None:
    """Every message type decodes from single-byte feeds, back to back in one stream."""
    reader = proto.FrameReader()
    out = []
    for byte in b"".join(proto.encode(m) for m in MESSAGES):
        reader.feed(bytes([byte]))
        while (got := reader.next_message()) is not proto.NEED_DATA:
            out.append(got)
    assert out == MESSAGES


def test_two_frames_in_one_feed() -> None:
    """Two whole frames fed together come out as two messages, in order."""
    reader = proto.FrameReader()
    reader.feed(proto.encode(proto.Cancel(1)) + proto.encode(proto.Ready(2)))
    assert reader.next_message() == proto.Cancel(1)
    assert reader.next_message() == proto.Ready(2)
    assert reader.next_message() is proto.NEED_DATA


def test_frame_and_a_half() -> None:
    """A whole frame plus part of the next gives the first; the rest waits for more bytes."""
    second = proto.encode(proto.Reply(1, 2, b"x" * 100))
    reader = proto.FrameReader()
    reader.feed(proto.encode(proto.Cancel(1)) + second[:50])
    assert reader.next_message() == proto.Cancel(1)
    assert reader.next_message() is proto.NEED_DATA
    reader.feed(second[50:])
    assert reader.next_message() == proto.Reply(1, 2, b"x" * 100)


@pytest.mark.parametrize("cut", [1, 3, 4, 5, -1], ids=lambda c: f"cut{c}")
def test_truncated_frame_stays_need_data(cut: int) -> None:
    """A frame cut short (in the header or the body) is NEED_DATA with its bytes buffered."""
    data = proto.encode(proto.Done(1, b"outcome", 1, None, ""))[:cut]
    reader = proto.FrameReader()
    reader.feed(data)
    assert reader.next_message() is proto.NEED_DATA
    assert reader.next_message() is proto.NEED_DATA  # asking again changes nothing
    assert reader.buffered == len(data) > 0


def test_empty_feed_is_need_data() -> None:
    """No bytes (or empty feeds) is NEED_DATA with nothing buffered."""
    reader = proto.FrameReader()
    assert reader.next_message() is proto.NEED_DATA
    reader.feed(b"")
    assert reader.next_message() is proto.NEED_DATA
    assert reader.buffered == 0


def test_oversized_frame_refused_at_its_header() -> None:
    """A header announcing more than max_frame_bytes raises ProtocolError before any body."""
    reader = proto.FrameReader(max_frame_bytes=100)
    reader.feed(struct.pack(">I", 101))
    with pytest.raises(proto.ProtocolError, match="101 bytes exceeds the 100-byte cap"):
        reader.next_message()


def test_frame_at_the_cap_is_accepted() -> None:
    """A frame of exactly max_frame_bytes decodes."""
    message = proto.Call(1, 1, b"x" * 50)
    data = proto.encode(message)
    reader = proto.FrameReader(max_frame_bytes=len(data) - 4)
    reader.feed(data)
    assert reader.next_message() == message


def test_default_cap_refuses_a_4_gib_header() -> None:
    """The default cap (64 MiB) refuses a huge announced length without buffering it."""
    reader = proto.FrameReader()
    reader.feed(b"\xff\xff\xff\xff")
    with pytest.raises(proto.ProtocolError, match="exceeds"):
        reader.next_message()
    assert proto.MAX_FRAME_BYTES == 64 << 20


@pytest.mark.parametrize("tag", [7, 99, -1, 2**32])
def test_unknown_message_type(tag: int) -> None:
    """An integer tag naming no message type raises ProtocolError."""
    with pytest.raises(proto.ProtocolError, match="unknown message type"):
        decode_one(packed(tag, 1))


@pytest.mark.parametrize(
    "items",
    [[], ["Ready", 1], [None, 1], [1.0, 1], [b"\x00", 1], [True, 1, b"", None, None, None, None]],
    ids=["empty", "str-tag", "nil-tag", "float-tag", "bytes-tag", "bool-tag"],
)
def test_untagged_frame(items: list[object]) -> None:
    """An array that is empty or whose first element is not an int raises ProtocolError."""
    with pytest.raises(proto.ProtocolError, match="not a tagged message"):
        decode_one(packed(*items))


@pytest.mark.parametrize("body", [1, "x", {"0": 1}, None], ids=repr)
def test_frame_that_is_not_an_array(body: object) -> None:
    """msgpack that is not an array raises ProtocolError."""
    with pytest.raises(proto.ProtocolError, match="not a tagged message"):
        decode_one(frame(msgpack.packb(body)))


@pytest.mark.parametrize(
    "items",
    [
        [0],  # Ready without its pid
        [0, 1, 2],
        [4],
        [4, 1, 2],
        [1, 1, b"", 1.0, 1, 1, 1],  # Run missing max_message_bytes
        [1, 1, b"", 1.0, 1, 1, 1, 1, 1],
        [6, 1, 0, 5],  # Oversize missing memory_bytes
        [5, 1, b"", 0, None],
        [2, 1, 1, b"", b""],
    ],
    ids=lambda i: f"{i[0]}:{len(i) - 1}",
)
def test_wrong_field_count(items: list[object]) -> None:
    """Too few or too many fields for the tagged type raises ProtocolError."""
    with pytest.raises(proto.ProtocolError, match=r"has \d+ fields, expected \d+"):
        decode_one(packed(*items))


@pytest.mark.parametrize(
    "items",
    [
        [0, "1"],  # Ready pid as str
        [0, 1.0],
        [0, None],
        [4, b"1"],
        [1, 1, "request", 1.0, 1, 1, 1, 1],  # Run request as str, not bin
        [1, 1, b"", "5", 1, 1, 1, 1],
        [1, 1, b"", 1.0, 1.5, 1, 1, 1],  # memory_limit as float
        [1, 1, b"", 1.0, 1, 1, 1, None],  # max_message_bytes is required
        [6, 1, 0, 5.0, 0],  # Oversize size as float
        [2, 1, 1, "payload"],  # Call payload as str
        [3, 1, None, b""],
        [5, 1, "outcome", 0, None, "", b"", b"", False, False],
        [5, 1, None, 0, None, b"trap", b"", b"", False, False],  # trap_message as bin
        [5, 1, None, None, None, "", b"", b"", False, False],
        [5, 1, None, 0, 1.0, "", b"", b"", False, False],
        [5, 1, None, 0, 6, "", "step 1", b"", False, False],  # trap stdout as str
        [5, 1, None, 0, 6, "", b"", b"", 1, False],  # stdout_truncated as int
    ],
    ids=lambda i: repr(i)[:40],
)
def test_wrong_field_types(items: list[object]) -> None:
    """A field of the wrong msgpack type raises ProtocolError naming the message type."""
    with pytest.raises(proto.ProtocolError, match="field has type"):
        decode_one(packed(*items))


@pytest.mark.parametrize(
    "items",
    [
        [0, True],
        [4, False],
        [2, 1, True, b""],
        [1, 1, b"", True, None, None, None, 1],
        [6, 1, 0, True, 0],
    ],
    ids=lambda i: repr(i),
)
def test_bool_where_int_expected(items: list[object]) -> None:
    """msgpack true/false are refused where an int (or float) is expected."""
    with pytest.raises(proto.ProtocolError, match="field has type bool"):
        decode_one(packed(*items))


@pytest.mark.parametrize(
    "body",
    [b"\xc1", b"\x92\x01", b"\x91\x00\x00", b"\xd9\x05ab"],
    ids=["reserved-byte", "short-array", "trailing-bytes", "short-str"],
)
def test_not_msgpack(body: bytes) -> None:
    """A body that is not exactly one msgpack value raises ProtocolError."""
    with pytest.raises(proto.ProtocolError, match="not msgpack"):
        decode_one(frame(body))


def test_empty_body_is_refused() -> None:
    """A zero-length frame raises ProtocolError."""
    with pytest.raises(proto.ProtocolError):
        decode_one(frame(b""))


def test_invalid_utf8_str_is_refused() -> None:
    """A msgpack str that is not UTF-8 (a trap message, say) raises ProtocolError."""
    # a 6-array: Done(1, nil, 0, nil, <fixstr of 2 bytes that are not UTF-8>)
    bad = b"\x96" + msgpack.packb([5, 1, None, 0, None])[1:] + b"\xa2\xff\xfe"
    with pytest.raises(proto.ProtocolError, match="not msgpack"):
        decode_one(frame(bad))


def test_frame_cap_covers_what_a_worker_may_send() -> None:
    """The parent's cap for a worker's frames holds an outcome of max_message_bytes or a
    trap with all output kept, plus the slack; at the defaults it is above 64 MiB's old
    fixed cap only when the limits need it."""
    assert proto.frame_cap(16 << 20, 1 << 20, 1 << 20) == (16 << 20) + proto.FRAME_SLACK_BYTES
    assert proto.frame_cap(128 << 20, 1, 1) == (128 << 20) + proto.FRAME_SLACK_BYTES
    assert proto.frame_cap(1024, 3 << 20, 2 << 20) == (5 << 20) + proto.FRAME_SLACK_BYTES
    cap = proto.frame_cap(128 << 20, 1 << 20, 1 << 20)
    body = proto.encode(proto.Done(1, b"x" * (128 << 20), 0, None, "t" * 1000))
    reader = proto.FrameReader(cap)
    reader.feed(body)
    message = reader.next_message()
    assert isinstance(message, proto.Done) and message.payload is not None
    assert len(message.payload) == 128 << 20


@pytest.mark.parametrize(
    "items", [[], ["Ready", 1], [None, 1]], ids=["empty", "str-tag", "nil-tag"]
)
def test_untagged_frame_message_is_exact(items: list[object]) -> None:
    """An untagged frame's ProtocolError says exactly that it is not a tagged message."""
    with pytest.raises(proto.ProtocolError, match=r"^frame is not a tagged message$"):
        decode_one(packed(*items))


@pytest.mark.parametrize("tag", [7, 99])
def test_unknown_message_type_names_the_tag(tag: int) -> None:
    """The unknown-type ProtocolError names the tag itself, not another element."""
    with pytest.raises(proto.ProtocolError, match=rf"^unknown message type {tag}$"):
        decode_one(packed(tag, 12345))


@pytest.mark.parametrize("run_id", [0, 1, 2**40, 2**63 - 1, -1])
def test_started_word_round_trips(run_id: int) -> None:
    """write_started stores the run id as a little-endian int64 at offset 0 that
    read_started returns unchanged, leaving the bytes after it alone."""
    memory = bytearray(b"\xaa" * (proto.STARTED_BYTES + 4))
    proto.write_started(memory, run_id)
    assert bytes(memory[: proto.STARTED_BYTES]) == struct.pack("<q", run_id)
    assert bytes(memory[proto.STARTED_BYTES :]) == b"\xaa" * 4
    value = proto.read_started(memory)
    assert type(value) is int and value == run_id


def test_need_data_repr() -> None:
    """NEED_DATA reprs as its name (it shows up in test and log output)."""
    assert repr(proto.NEED_DATA) == "NEED_DATA"
