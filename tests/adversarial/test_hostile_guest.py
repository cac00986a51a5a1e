"""A hostile guest module: the host imports check every pointer the guest hands them.

The real guest always passes pointers inside its memory, so a missing bounds check in
``_HostCalls`` would go unseen by every script. This module (WebAssembly text, built
here) calls the imports with pointers the test chooses: the host must refuse each one
outside linear memory with a trap or WASI's EFAULT, never read or write past it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import wasmtime

from kobako_async import KobakoError
from kobako_async._guest import ABI_VERSION, WASI_EFAULT, GuestRunner, GuestTrap

PAGE = 65536
OUT = 0x100
"""Where the module writes what it reports: the import's result, then 8 bytes at 0x300."""

# run(ptr, len): request = op byte + five u32 (a, b, c, d, e); any other op (the
# runner's own msgpack `nil` request at load) does nothing.
#   op 1: clock_time_get(b, 0, a)             -> errno (u32) + memory[0x300..0x308]
#   op 2: dispatch(a, b, c, d)                -> result (i64) + memory[0x300..0x308]
#   op 3: take_reply(a)                       -> 0 (u32) + memory[0x300..0x308]
#   op 4: dispatch(a, b, c, d), take_reply(e) -> dispatch's result + memory[0x300..0x308]
#   op 5: like 4, then take_reply(e) again
HOSTILE_WAT = f"""
(module
  (import "kobako" "dispatch" (func $dispatch (param i32 i32 i32 i32) (result i64)))
  (import "kobako" "take_reply" (func $take (param i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "kobako_abi_version") (result i32) (i32.const {ABI_VERSION}))
  (func (export "kobako_inbox") (result i64) (i64.const {(0x200 << 32) | 0x100}))
  (func (export "kobako_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "kobako_output_state") (result i32) (i32.const 0x400))
  (func $arg (param $p i32) (param $i i32) (result i32)
    (i32.load (i32.add (i32.add (local.get $p) (i32.const 1))
                       (i32.mul (local.get $i) (i32.const 4)))))
  (func (export "kobako_run") (param $p i32) (param $n i32) (result i64)
    (local $op i32)
    (local.set $op (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $op) (i32.const 1))
      (then (i64.store (i32.const {OUT})
        (i64.extend_i32_u (call $clock (call $arg (local.get $p) (i32.const 1)) (i64.const 0)
                                       (call $arg (local.get $p) (i32.const 0)))))))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then (i64.store (i32.const {OUT})
        (call $dispatch (call $arg (local.get $p) (i32.const 0))
                        (call $arg (local.get $p) (i32.const 1))
                        (call $arg (local.get $p) (i32.const 2))
                        (call $arg (local.get $p) (i32.const 3))))))
    (if (i32.or (i32.eq (local.get $op) (i32.const 4)) (i32.eq (local.get $op) (i32.const 5)))
      (then (i64.store (i32.const {OUT})
              (call $dispatch (call $arg (local.get $p) (i32.const 0))
                              (call $arg (local.get $p) (i32.const 1))
                              (call $arg (local.get $p) (i32.const 2))
                              (call $arg (local.get $p) (i32.const 3))))
            (call $take (call $arg (local.get $p) (i32.const 4)))))
    (if (i32.eq (local.get $op) (i32.const 5))
      (then (call $take (call $arg (local.get $p) (i32.const 4)))))
    (if (i32.eq (local.get $op) (i32.const 3))
      (then (call $take (call $arg (local.get $p) (i32.const 0)))
            (i64.store (i32.const {OUT}) (i64.const 0))))
    (i64.store (i32.const {OUT + 8}) (i64.load (i32.const 0x300)))
    (i64.const {(OUT << 32) | 16}))
)
"""
EMPTY_DISPATCH_REPLY = b"\x92\x00\xc0"
NOT_GIVEN = r"Caused by:\n    guest took a service reply it was not given\n\Z"
OUTSIDE = r"Caused by:\n    guest passed a service call outside its memory\n\Z"
"""The whole trap reasons (wasmtime puts the host's message last)."""


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> GuestRunner:
    root = tmp_path_factory.mktemp("hostile")
    path = root / "hostile.wasm"
    path.write_bytes(build_guest(HOSTILE_WAT))
    return GuestRunner(wasm_path=path, cache_dir=root)


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def build_guest(wat: str) -> bytes:
    """The module, plus the ``kobako.guest`` custom section a loadable guest carries."""
    name = b"kobako.guest"
    body = _uleb(len(name)) + name + json.dumps({"abi": ABI_VERSION}).encode()
    return bytes(wasmtime.wat2wasm(wat)) + b"\x00" + _uleb(len(body)) + body


def _request(op: int, *args: int) -> bytes:
    return bytes([op]) + struct.pack("<5I", *(list(args) + [0] * (5 - len(args))))


def _run(
    runner: GuestRunner,
    op: int,
    *args: int,
    calls: list[bytes] | None = None,
    clock_ns: int | None = 0x0102030405060708,
) -> bytes:
    def dispatch(call: bytes) -> bytes:
        if calls is not None:
            calls.append(call)
        return EMPTY_DISPATCH_REPLY * (1 + len(call) // 2)

    return runner.run(_request(op, *args), 1.0, dispatch, clock_ns=clock_ns).payload


@pytest.mark.parametrize("ptr", [0x300, PAGE - 8])
def test_clock_inside_memory_is_written(runner: GuestRunner, ptr: int) -> None:
    """clock_time_get writes the run's instant (8 bytes, little-endian) where asked."""
    payload = _run(runner, 1, ptr)
    assert struct.unpack("<Q", payload[:8])[0] == 0
    if ptr == 0x300:
        assert payload[8:] == (0x0102030405060708).to_bytes(8, "little")


@pytest.mark.parametrize("ptr", [PAGE - 7, PAGE, 0xFFFFFFF8, 0xFFFFFFFF])
def test_clock_outside_memory_is_efault(runner: GuestRunner, ptr: int) -> None:
    """A clock pointer whose 8 bytes do not fit in memory gets EFAULT, nothing written."""
    payload = _run(runner, 1, ptr)
    assert struct.unpack("<Q", payload[:8])[0] == WASI_EFAULT
    assert payload[8:] == bytes(8)


@pytest.mark.parametrize(
    "clock_id", [0, 1, 2, 3], ids=["realtime", "monotonic", "process", "thread"]
)
def test_hermetic_clock_is_fixed_for_every_clock_id(runner: GuestRunner, clock_id: int) -> None:
    """A run's fixed instant answers every clock the guest may ask for, the monotonic
    one included; only a permissive run (clock_ns None) reads the host's clocks."""
    payload = _run(runner, 1, 0x300, clock_id, clock_ns=42)
    assert payload == bytes(8) + (42).to_bytes(8, "little")
    real = struct.unpack("<Q", _run(runner, 1, 0x300, clock_id, clock_ns=None)[8:])[0]
    assert real != 42 and real > 0


@pytest.mark.parametrize(
    ("clock_id", "wall"), [(0, True), (1, False)], ids=["realtime", "monotonic"]
)
def test_permissive_clock_kinds(runner: GuestRunner, clock_id: int, wall: bool) -> None:
    """With no fixed instant, clock 0 is the wall clock (after 2020) and clock 1 the
    host's monotonic clock (time since boot, far below it)."""
    now = struct.unpack("<Q", _run(runner, 1, 0x300, clock_id, clock_ns=None)[8:])[0]
    assert (now > 1_577_836_800 * 10**9) is wall


def test_dispatch_inside_memory_reaches_the_host(runner: GuestRunner) -> None:
    """An in-bounds call is handed to dispatch as the guest's bytes; a reply that fits
    is written to the guest's buffer and its length returned."""
    calls: list[bytes] = []
    payload = _run(runner, 2, 0x201, 4, 0x300, 16, calls=calls)
    assert calls == [_request(2, 0x201, 4, 0x300, 16)[1:5]]
    assert struct.unpack("<q", payload[:8])[0] == len(EMPTY_DISPATCH_REPLY) * 3
    assert payload[8:] == (EMPTY_DISPATCH_REPLY * 3)[:8]


@pytest.mark.parametrize(
    ("call_ptr", "call_len", "out_ptr", "out_cap"),
    [
        (PAGE - 2, 3, 0x300, 8),
        (0xFFFFFFFF, 2, 0x300, 8),
        (0x200, 0xFFFFFFFF, 0x300, 8),
        (0x200, 4, PAGE - 4, 5),
        (0x200, 4, 0xFFFFFFF0, 0x20),
        (0x200, 4, 0x300, 0xFFFFFFFF),
    ],
    ids=["call-past-end", "call-wraps", "call-len-huge", "out-past-end", "out-wraps", "cap-huge"],
)
def test_dispatch_outside_memory_traps(
    runner: GuestRunner, call_ptr: int, call_len: int, out_ptr: int, out_cap: int
) -> None:
    """A call or reply buffer reaching past memory stops the run before dispatch runs."""
    calls: list[bytes] = []
    with pytest.raises(GuestTrap, match=OUTSIDE):
        _run(runner, 2, call_ptr, call_len, out_ptr, out_cap, calls=calls)
    assert calls == []


@pytest.mark.parametrize("call_at", [0x201, PAGE - 4])
def test_dispatch_buffers_may_end_at_the_end_of_memory(runner: GuestRunner, call_at: int) -> None:
    """A call or reply buffer that ends exactly at the end of memory is inside it."""
    calls: list[bytes] = []
    payload = _run(runner, 2, call_at, 4, PAGE - 16, 16, calls=calls)
    assert len(calls) == 1 and len(calls[0]) == 4
    assert struct.unpack("<q", payload[:8])[0] == len(EMPTY_DISPATCH_REPLY) * 3


def test_reply_exactly_filling_the_buffer_is_written_inline(runner: GuestRunner) -> None:
    """A reply as long as the guest's buffer is written there, with nothing pending."""
    reply = EMPTY_DISPATCH_REPLY * 3
    payload = _run(runner, 2, 0x201, 4, 0x300, len(reply))
    assert payload[8:] == reply[:8]
    with pytest.raises(GuestTrap, match=NOT_GIVEN):
        _run(runner, 5, 0x201, 4, 0x300, len(reply), 0x300)


def test_long_reply_is_taken_into_the_guests_buffer(runner: GuestRunner) -> None:
    """A reply longer than the guest's buffer is announced by length, then copied by
    take_reply where the guest asks, up to the last byte of memory."""
    reply = EMPTY_DISPATCH_REPLY * 3
    payload = _run(runner, 4, 0x201, 4, 0x300, 2, 0x300)
    assert struct.unpack("<q", payload[:8])[0] == len(reply)
    assert payload[8:] == reply[:8]
    _run(runner, 4, 0x201, 4, 0x300, 2, PAGE - len(reply))


@pytest.mark.parametrize("take_at", [PAGE - 8, 0xFFFFFFFF])
def test_take_reply_outside_memory_traps(runner: GuestRunner, take_at: int) -> None:
    """take_reply into a buffer that would reach past memory stops the run."""
    with pytest.raises(GuestTrap, match=NOT_GIVEN):
        _run(runner, 4, 0x201, 4, 0x300, 2, take_at)


def test_a_reply_is_taken_once(runner: GuestRunner) -> None:
    """A second take_reply of the same reply stops the run."""
    with pytest.raises(GuestTrap, match=NOT_GIVEN):
        _run(runner, 5, 0x201, 4, 0x300, 2, 0x300)


def test_take_reply_without_a_pending_reply_traps(runner: GuestRunner) -> None:
    """take_reply with no reply waiting stops the run."""
    with pytest.raises(GuestTrap, match=NOT_GIVEN):
        _run(runner, 3, 0x300)


def test_runner_still_works_after_the_traps(runner: GuestRunner) -> None:
    """The traps above leave the runner serving the next run."""
    assert struct.unpack("<Q", _run(runner, 1, 0x300)[:8])[0] == 0


@pytest.mark.parametrize(
    "imports",
    [
        '(import "env" "open" (func (param i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "mem" (memory 1))',
        '(import "kobako_extra" "dispatch" (func))',
    ],
    ids=["foreign-module", "wasi-memory", "lookalike-module"],
)
def test_imports_beyond_the_stubs_are_refused(tmp_path: Path, imports: str) -> None:
    """A module importing anything but WASI functions and kobako's calls is refused
    when it loads, naming the import."""
    wat = HOSTILE_WAT.replace("(module\n", f"(module\n  {imports}\n", 1)
    path = tmp_path / "extra.wasm"
    path.write_bytes(build_guest(wat))
    with pytest.raises((RuntimeError, KobakoError), match="which kobako does not provide"):
        GuestRunner(wasm_path=path, cache_dir=tmp_path)
