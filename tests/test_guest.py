"""The wasmtime layer: module cache on disk, ABI checks, outcome decoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from kobako_async import GuestLoadError, SandboxError, TrapError
from kobako_async._codec import pack
from kobako_async._guest import GuestRunner, default_wasm_path
from kobako_async._limits import Limits
from kobako_async._sandbox import Usage, decode_outcome
from kobako_async._services import Dispatcher

REQUEST = pack([b"6 * 7", 1024, 1024, [], 0])
DISPATCH = Dispatcher({}, Limits()).dispatch


def test_module_cache_is_written_and_reused(tmp_path: Path) -> None:
    """The first runner compiles and caches; the next one loads the same entry."""
    GuestRunner(cache_dir=tmp_path)
    entries = list(tmp_path.glob("*.cwasm"))
    assert len(entries) == 1
    stamp = entries[0].stat().st_mtime_ns
    runner = GuestRunner(cache_dir=tmp_path)
    assert entries[0].stat().st_mtime_ns == stamp
    assert b"\x2a" in runner.run(REQUEST, None, DISPATCH).payload


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path, damage: str) -> None:
    """A torn or corrupt cache entry is ignored, recompiled and rewritten."""
    GuestRunner(cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.cwasm")
    blob = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        entry.write_bytes(blob[:-100] + bytes([blob[-100] ^ 0xFF]) + blob[-99:])
    else:
        entry.write_bytes(b"not a module")
    runner = GuestRunner(cache_dir=tmp_path)
    assert entry.read_bytes() == blob
    assert b"\x2a" in runner.run(REQUEST, None, DISPATCH).payload


def test_missing_wasm_names_the_build_step(tmp_path: Path) -> None:
    """A missing guest module raises GuestLoadError naming the file and the fix."""
    with pytest.raises(GuestLoadError, match=r"nope\.wasm cannot be read .*KOBAKO_WASM"):
        GuestRunner(wasm_path=tmp_path / "nope.wasm", cache_dir=tmp_path)


def test_unbaked_module_is_refused(tmp_path: Path) -> None:
    """A module that still exports _initialize was not baked and is refused."""
    raw = Path(__file__).resolve().parents[1] / "build" / "guest" / "kobako-raw.wasm"
    if not raw.exists():
        pytest.skip("no unbaked module in build/guest")
    with pytest.raises(GuestLoadError, match="is not baked"):
        GuestRunner(wasm_path=raw, cache_dir=tmp_path)


def test_baked_module_is_deterministic() -> None:
    """Baking the same raw module twice gives the same bytes as data/kobako.wasm."""
    import sys

    raw = Path(__file__).resolve().parents[1] / "build" / "guest" / "kobako-raw.wasm"
    if not raw.exists():
        pytest.skip("no unbaked module in build/guest")
    sys.path.insert(0, str(raw.parents[2] / "guest"))
    import importlib.util

    from bake import bake

    # by path: the name "build" is also PyPA's build package
    spec = importlib.util.spec_from_file_location(
        "guest_build", raw.parents[2] / "guest" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    guest_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guest_build)
    baked = bake(raw.read_bytes(), "kobako_boot") + guest_build.guest_info_section()
    assert baked == default_wasm_path().read_bytes()


def test_malformed_request_is_a_guest_error() -> None:
    """A request the guest cannot decode comes back as an error outcome, not a trap."""
    runner = GuestRunner()
    for request in (b"\xc1", pack(["x"]), pack([1, 2, 3, 4, 5]), b"\x95\xc4\xff"):
        payload = runner.run(request, None, DISPATCH).payload
        with pytest.raises(SandboxError, match="malformed run request"):
            decode_outcome(payload, Usage(0.0, 0))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",
        pack([0, None]),
        pack(["x", 1, b"", b"", 0, 0, 0]),
        pack([1, 7, b"", b"", 0, 0, 0]),
    ],
    ids=["empty", "invalid", "short", "bad-status", "bad-error-body"],
)
def test_malformed_outcome_is_a_trap(payload: bytes) -> None:
    """An outcome that breaks the ABI raises TrapError, never another exception."""
    with pytest.raises(TrapError, match="broke the ABI"):
        decode_outcome(payload, Usage(0.0, 0))
