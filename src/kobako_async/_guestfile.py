"""The guest file: where it is, whether it is a kobako guest this library can run, and
what it was built from.

Checked without wasmtime (the Pool's parent must not need an Engine to refuse a bad
file): the wasm header, every section's length (a truncated file fails here), the
``kobako.guest`` custom section that ``guest/build.py`` appends (its ABI version and
the mruby and Oniguruma versions), and the exports a run needs.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ._errors import GuestLoadError

WASM_ENV = "KOBAKO_WASM"
ABI_VERSION = 4
INFO_SECTION = "kobako.guest"
PACKAGE_WASM = "_data/kobako.wasm"  # inside the installed package (wheel)

_WASM_HEADER = b"\0asm\x01\0\0\0"
_CUSTOM, _MEMORY, _EXPORT = 0, 5, 7
_WASM_PAGE_BYTES = 64 << 10
_REQUIRED_EXPORTS = ("memory", "kobako_run", "kobako_alloc", "kobako_abi_version", "kobako_inbox")


@dataclass(frozen=True, slots=True)
class GuestInfo:
    """Which guest a process runs: its file, sha256 and what it was built from."""

    path: Path
    sha256: str
    size_bytes: int
    abi_version: int
    mruby_version: str
    oniguruma_version: str
    initial_memory_bytes: int
    """The guest's linear memory before a run (its baked image); a ``nil`` run grows
    it by one page, so a Pool refuses a ``memory_limit`` below that."""

    @property
    def min_memory_limit_bytes(self) -> int:
        """The least ``memory_limit`` a run can have: initial memory plus one page."""
        return self.initial_memory_bytes + _WASM_PAGE_BYTES


def source_tree_wasm() -> Path:
    """``data/kobako.wasm`` of the source tree this module sits in (a checkout)."""
    return Path(__file__).resolve().parents[2] / "data" / "kobako.wasm"


def default_wasm_path() -> Path:
    """The guest to load: ``$KOBAKO_WASM``, else the copy inside the installed package,
    else ``data/kobako.wasm`` of the source tree (an editable install or a checkout)."""
    env = os.environ.get(WASM_ENV)
    if env:
        return Path(env)
    packaged = Path(str(resources.files("kobako_async").joinpath(PACKAGE_WASM)))
    if packaged.is_file():
        return packaged
    return source_tree_wasm()


def _remedy(path: Path) -> str:
    if os.environ.get(WASM_ENV):
        return f"point ${WASM_ENV} at a kobako guest, or unset it to use the packaged one"
    if path == source_tree_wasm():
        return f"build it with `make guest`, or point ${WASM_ENV} at one"
    return f"reinstall kobako_async, or point ${WASM_ENV} at a kobako guest"


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``; returns (value, next position).
    Raises ValueError past the end or for more than 5 bytes (a u32)."""
    value = shift = 0
    for i in range(5):
        if pos + i >= len(data):
            raise ValueError("ends inside a length")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ValueError("has a length longer than 5 bytes")


def _name(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _uleb(data, pos)
    if pos + size > len(data):
        raise ValueError("has a name that runs past its section")
    return data[pos : pos + size].decode("utf-8", "replace"), pos + size


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    """The module's (id, payload) sections. Raises ValueError if it is not a wasm
    module or a section runs past the end of the file (a truncated file)."""
    if wasm[:8] != _WASM_HEADER:
        raise ValueError("is not a WebAssembly module (bad magic or version)")
    pos, sections = 8, []
    while pos < len(wasm):
        sid = wasm[pos]
        size, start = _uleb(wasm, pos + 1)
        if start + size > len(wasm):
            raise ValueError(
                f"is truncated: section {sid} at byte {pos} needs {size} bytes,"
                f" {len(wasm) - start} remain"
            )
        sections.append((sid, wasm[start : start + size]))
        pos = start + size
    return sections


def _export_names(payload: bytes) -> set[str]:
    count, pos = _uleb(payload, 0)
    names = set()
    for _ in range(count):
        name, pos = _name(payload, pos)
        _index, pos = _uleb(payload, pos + 1)  # after the kind byte
        names.add(name)
    return names


def _initial_memory(payload: bytes) -> int:
    """The first memory's minimum, in bytes, from a memory section."""
    count, pos = _uleb(payload, 0)
    if count < 1:
        raise ValueError("defines no memory")
    flags = payload[pos]
    if flags & 0x04:
        raise ValueError("has a 64-bit memory")
    pages, _ = _uleb(payload, pos + 1)
    return pages * _WASM_PAGE_BYTES


def _info_payload(sections: list[tuple[int, bytes]]) -> dict[str, object]:
    for sid, payload in sections:
        if sid != _CUSTOM:
            continue
        name, pos = _name(payload, 0)
        if name == INFO_SECTION:
            try:
                info = json.loads(payload[pos:])
            except ValueError as exc:
                raise ValueError(f"has an unreadable {INFO_SECTION} section ({exc})") from None
            if not isinstance(info, dict):
                raise ValueError(f"has an unreadable {INFO_SECTION} section (not an object)")
            return info
    raise ValueError(f"is not a kobako guest (it has no {INFO_SECTION} section)")


def inspect_guest(path: Path, wasm: bytes) -> GuestInfo:
    """Check that ``wasm`` (read from ``path``) is a baked kobako guest of this ABI.

    Raises:
        GuestLoadError: not wasm, truncated, not a kobako guest, another ABI
            version, not baked, or missing an export a run needs.
    Returns:
        The guest's GuestInfo.
    """
    try:
        sections = _sections(wasm)
        exports: set[str] = set()
        initial_memory = None
        for sid, payload in sections:
            if sid == _EXPORT:
                exports |= _export_names(payload)
            elif sid == _MEMORY:
                initial_memory = _initial_memory(payload)
        if "_initialize" in exports:
            raise ValueError("is not baked (it still exports _initialize)")
        info = _info_payload(sections)
        abi = info.get("abi")
        if abi != ABI_VERSION:
            raise ValueError(
                f"was built for guest ABI {abi!r}; this kobako_async needs ABI {ABI_VERSION}"
            )
        missing = [name for name in _REQUIRED_EXPORTS if name not in exports]
        if missing:
            raise ValueError(f"does not export {', '.join(missing)}")
        if initial_memory is None:
            raise ValueError("defines no memory of its own")
    except ValueError as exc:
        raise GuestLoadError(path, f"{exc}; {_remedy(path)}") from None
    return GuestInfo(
        path=path,
        sha256=hashlib.sha256(wasm).hexdigest(),
        size_bytes=len(wasm),
        abi_version=ABI_VERSION,
        mruby_version=str(info.get("mruby", "unknown")),
        oniguruma_version=str(info.get("oniguruma", "unknown")),
        initial_memory_bytes=initial_memory,
    )


def read_guest(path: Path | None = None) -> tuple[bytes, GuestInfo]:
    """Read and check the guest at ``path`` (default: ``default_wasm_path()``).

    Raises:
        GuestLoadError: the file cannot be read or is not a usable guest.
    Returns:
        The wasm bytes and their GuestInfo.
    """
    path = path or default_wasm_path()
    try:
        wasm = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise GuestLoadError(path, f"cannot be read ({reason}); {_remedy(path)}") from exc
    return wasm, inspect_guest(path, wasm)


_checked: dict[tuple[Path, int, int], GuestInfo] = {}


def check_guest(path: Path | None = None) -> GuestInfo:
    """``read_guest`` for callers that only need the verdict, remembered per file
    version (path, size, mtime) so a Pool or CLI built many times reads it once.

    Raises:
        GuestLoadError: as ``read_guest``.
    Returns:
        The guest's GuestInfo.
    """
    path = path or default_wasm_path()
    try:
        st = path.stat()
        key = (path, st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _checked:
        return _checked[key]
    info = read_guest(path)[1]
    if key is not None:
        _checked[key] = info
    return info


def guest_info() -> GuestInfo:
    """The guest this process would load (``$KOBAKO_WASM`` or the packaged one).

    Raises:
        GuestLoadError: the guest file is missing or unusable.
    Returns:
        Its path, sha256, size, ABI version, and mruby and Oniguruma versions.
    """
    return check_guest()
