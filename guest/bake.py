"""Pre-initialize ("bake") a wasm32-wasi reactor module.

Booting mruby (``_initialize`` runs the C constructors, then the boot export builds
the interpreter) is identical work for every run, so we do it once at build time:
instantiate the module under wasmtime, call ``_initialize`` and the boot export,
snapshot linear memory and every mutable global the module defines, and write a new
module whose data segments and global initializers *are* that snapshot. A run then
starts from a booted interpreter without executing any code at instantiation.

Differences from the input: memory minimum = booted pages; data = booted memory as
active segments split at zero runs >= ``ZERO_GAP`` bytes (memory starts zeroed);
datacount updated; mutable globals (``__stack_pointer``...) start at booted values;
``start`` section dropped (it already ran); data-segment names dropped from the
``name`` section (indices changed). The ``_initialize`` **and boot exports are
removed**: both ran and must not run again; their absence marks a baked module.
Other sections, including ``tag`` (13), are kept in order.

During boot every WASI call fails with ENOSYS (no clock, entropy, args, env or
files), so the output is deterministic; non-WASI imports trap.

Usage: python guest/bake.py IN.wasm OUT.wasm --boot kobako_boot
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import sys
import tempfile
from typing import Any

import wasmtime

ZERO_GAP = 64  # zero runs at least this long split data segments
SYNTH = "__kobako_bake_"  # prefix of the exports added for snapshotting
WASI_MODULE = "wasi_snapshot_preview1"
ENOSYS = 52  # WASI errno
# Section ids.
CUSTOM, IMPORT, MEMORY, GLOBAL, EXPORT, START = 0, 2, 5, 6, 7, 8
CODE, DATA, DATACOUNT = 10, 11, 12
I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C


class BakeError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def leb(self, signed: bool = False) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if signed and b & 0x40:
            result -= 1 << shift
        return result

    def name(self) -> str:
        return self.take(self.leb()).decode()

    def limits(self) -> tuple[int, int, int | None]:
        flags = self.byte()
        if flags & ~1:
            raise BakeError(f"unsupported limits flags {flags:#x} (shared/64-bit)")
        minimum = self.leb()
        return flags, minimum, self.leb() if flags & 1 else None

    def const_expr(self) -> bytes:
        """Skip a constant expression (incl. extended-const); return it with `end`."""
        start = self.pos
        while (op := self.byte()) != 0x0B:
            if op in (0x41, 0x42):  # i32/i64.const
                self.leb(signed=True)
            elif op in (0x43, 0x44):  # f32/f64.const
                self.take(4 if op == 0x43 else 8)
            elif op in (0x23, 0xD2, 0xD0):  # global.get, ref.func, ref.null
                self.leb(signed=op == 0xD0)
            elif op not in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # i32/i64 add/sub/mul
                raise BakeError(f"unsupported opcode {op:#x} in constant expression")
        return self.data[start : self.pos]


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        done = (n == 0 and not b & 0x40) or (n == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def vec_bytes(b: bytes) -> bytes:
    return uleb(len(b)) + b


def parse_sections(wasm: bytes) -> list[tuple[int, bytes]]:
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise BakeError("not a wasm core module (version 1)")
    r, sections = Reader(wasm, 8), []
    while r.pos < len(wasm):
        sid = r.byte()
        sections.append((sid, r.take(r.leb())))
    return sections


def emit(sections: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(bytes([sid]) + uleb(len(p)) + p for sid, p in sections)
    return b"\0asm\x01\0\0\0" + body


def imported_counts(payload: bytes) -> tuple[int, int]:
    """Return (imported globals, imported memories): both shift index spaces."""
    r, counts = Reader(payload), [0] * 5
    for _ in range(r.leb()):
        r.name(), r.name()
        kind = r.byte()
        if kind > 4:
            raise BakeError(f"unknown import kind {kind}")
        counts[kind] += 1
        if kind in (1, 4):  # table reftype, tag attribute
            r.byte()
        if kind in (1, 2):
            r.limits()
        elif kind == 3:  # valtype + mutability
            r.take(2)
        else:  # func/tag type index
            r.leb()
    return counts[3], counts[2]


def parse_globals(payload: bytes) -> list[tuple[int, bool, bytes]]:
    r = Reader(payload)
    return [(r.byte(), r.byte() == 1, r.const_expr()) for _ in range(r.leb())]


def parse_exports(payload: bytes) -> list[tuple[str, int, int]]:
    r = Reader(payload)
    return [(r.name(), r.byte(), r.leb()) for _ in range(r.leb())]


def encode_exports(exports: list[tuple[str, int, int]]) -> bytes:
    return vec([vec_bytes(n.encode()) + bytes([k]) + uleb(i) for n, k, i in exports])


def const_for(valtype: int, value: Any) -> bytes:
    if valtype == I32:
        return b"\x41" + sleb((value + 2**31) % 2**32 - 2**31) + b"\x0b"
    if valtype == I64:
        return b"\x42" + sleb((value + 2**63) % 2**64 - 2**63) + b"\x0b"
    if valtype == F32:
        return b"\x43" + struct.pack("<f", value) + b"\x0b"
    if valtype == F64:
        return b"\x44" + struct.pack("<d", value) + b"\x0b"
    raise BakeError(f"cannot snapshot mutable global of type {valtype:#x}")


def check_data(payload: bytes) -> None:
    # Passive segments mean __wasm_init_memory (threads) drives memory.init/data.drop
    # by segment index; rewriting segments would break it.
    r = Reader(payload)
    for _ in range(r.leb()):
        flags = r.leb()
        if flags == 1:
            raise BakeError("passive data segments (bulk-memory init) unsupported")
        if flags not in (0, 2) or (flags == 2 and r.leb() != 0):
            raise BakeError(f"unsupported data segment flags {flags}")
        r.const_expr()
        r.take(r.leb())


def data_segments(mem: bytes) -> list[bytes]:
    """Active segments covering the non-zero parts of `mem`."""
    segments, pos = [], 0
    for gap in [*re.finditer(b"\0{%d,}" % ZERO_GAP, mem), None]:
        end = gap.start() if gap else len(mem)
        chunk = mem[pos:end].rstrip(b"\0")
        skip = len(chunk) - len(chunk.lstrip(b"\0"))
        if chunk[skip:]:
            offset = pos + skip
            segments.append(b"\0" + const_for(I32, offset) + vec_bytes(chunk[skip:]))
        pos = gap.end() if gap else end
    return segments


def drop_data_names(payload: bytes) -> bytes:
    r = Reader(payload)
    if r.name() != "name":
        return payload
    out = bytearray(payload[: r.pos])
    while r.pos < len(payload):
        sub = r.byte()
        body = r.take(r.leb())
        if sub != 9:  # 9 = data segment names; indices no longer match
            out += bytes([sub]) + uleb(len(body)) + body
    return bytes(out)


def run_boot(
    wasm: bytes, boot_export: str, mutable: list[int]
) -> tuple[bytes, int, dict[int, Any]]:
    """Instantiate, run _initialize + boot; return (memory, pages, global values)."""
    config = wasmtime.Config()
    config.wasm_exceptions = True  # setjmp/longjmp use the exception-handling proposal
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, wasm)
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    for imp in module.imports:
        if not isinstance(imp.type, wasmtime.FuncType):
            raise BakeError(f"unsupported non-function import {imp.module}.{imp.name}")
        if imp.module == WASI_MODULE:
            # Every WASI call fails with ENOSYS: boot sees no clock, entropy or
            # files, so the snapshot is the same on every machine.
            linker.define_func(imp.module, imp.name or "", imp.type, lambda *_: ENOSYS)
            continue

        def trap(*_: Any, _where: str = f"{imp.module}.{imp.name}") -> None:
            raise BakeError(f"import {_where} called during boot")

        linker.define_func(imp.module, imp.name or "", imp.type, trap)
    exports = linker.instantiate(store, module).exports(store)
    for name in ("_initialize", boot_export):
        func = exports[name]
        if not isinstance(func, wasmtime.Func):
            raise BakeError(f"export {name!r} is not a function")
        status = func(store)
        # a boot that failed would be baked in, and every run would then trap
        if name == boot_export and status != 0:
            raise BakeError(f"{boot_export}() failed with status {status}")
    memory = exports[SYNTH + "memory"]
    assert isinstance(memory, wasmtime.Memory)
    values = {}
    for i in mutable:
        glob = exports[f"{SYNTH}global{i}"]
        assert isinstance(glob, wasmtime.Global)
        values[i] = glob.value(store)
    return bytes(memory.read(store)), memory.size(store), values


def bake(wasm: bytes, boot_export: str) -> bytes:
    """Return `wasm` pre-initialized by running `_initialize` and `boot_export`."""
    sections = parse_sections(wasm)
    by_id = {sid: payload for sid, payload in sections if sid != CUSTOM}
    imported_globals, imported_mems = imported_counts(by_id.get(IMPORT, b"\0"))
    r = Reader(by_id.get(MEMORY, b"\0"))
    if imported_mems or r.leb() != 1:
        raise BakeError("expected exactly one memory, defined by the module")
    mem_flags, _, mem_max = r.limits()
    globals_ = parse_globals(by_id.get(GLOBAL, b"\0"))
    if DATA in by_id:
        check_data(by_id[DATA])
    exports = parse_exports(by_id.get(EXPORT, b"\0"))
    names = {n for n, _, _ in exports}
    for name in ("_initialize", boot_export):
        if name not in names:
            raise BakeError(f"module does not export {name!r}")
    if any(n.startswith(SYNTH) for n in names):
        raise BakeError(f"module already has exports prefixed {SYNTH!r}")

    # wasm-ld does not export globals, so snapshot through a copy that does.
    mutable = [i for i, (_, mut, _) in enumerate(globals_) if mut]
    synth = [(SYNTH + "memory", 2, 0)] + [
        (f"{SYNTH}global{i}", 3, imported_globals + i) for i in mutable
    ]
    probe = [(sid, encode_exports(exports + synth) if sid == EXPORT else p) for sid, p in sections]
    memory, pages, values = run_boot(emit(probe), boot_export, mutable)
    if mem_max is not None and pages > mem_max:
        raise BakeError("booted memory exceeds the declared maximum")

    new_globals = vec(
        [
            bytes([vt, mut]) + (const_for(vt, values[i]) if mut else expr)
            for i, (vt, mut, expr) in enumerate(globals_)
        ]
    )
    segments = data_segments(memory)
    drop = {"_initialize", boot_export}
    replaced = {
        MEMORY: b"\x01"
        + bytes([mem_flags])
        + uleb(pages)
        + (uleb(mem_max) if mem_max is not None else b""),
        GLOBAL: new_globals,
        EXPORT: encode_exports([e for e in exports if e[0] not in drop]),
        DATA: vec(segments),
        DATACOUNT: uleb(len(segments)),
    }
    out: list[tuple[int, bytes]] = []
    for sid, payload in sections:
        if sid == START:
            continue  # it already ran before the snapshot
        if sid == CUSTOM:
            out.append((sid, drop_data_names(payload)))
        else:
            out.append((sid, replaced.get(sid, payload)))
        if sid == CODE and DATA not in by_id:
            out.append((DATA, replaced[DATA]))  # data follows code
    return emit(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--boot", required=True, help="boot function export")
    args = parser.parse_args(argv)
    with open(args.input, "rb") as f:
        try:
            baked = bake(f.read(), args.boot)
        except BakeError as e:
            print(f"bake: {e}", file=sys.stderr)
            return 1
    # Atomic: write a temp file next to the output, then rename over it.
    out_dir = os.path.dirname(os.path.abspath(args.output))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".bake-", suffix=".wasm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(baked)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        os.replace(tmp, args.output)
    except BaseException:
        os.unlink(tmp)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
