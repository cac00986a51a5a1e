"""The wasmtime layer: module cache on disk, ABI checks, outcome decoding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.adversarial.test_hostile_guest import build_guest

from kobako_async import GuestLoadError, SandboxError, TrapError
from kobako_async._codec import pack
from kobako_async._guest import GuestRunner, default_wasm_path
from kobako_async._guestfile import ABI_VERSION
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
    ex = decode_outcome(runner.run(REQUEST, None, DISPATCH).payload, Usage(0.0, 0))
    assert (type(ex.value), ex.value, ex.stdout, ex.stderr) == (int, 42, "", "")


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
    ex = decode_outcome(runner.run(REQUEST, None, DISPATCH).payload, Usage(0.0, 0))
    assert (type(ex.value), ex.value, ex.stdout, ex.stderr) == (int, 42, "", "")


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


# ---- the WASI stubs, against a tiny hand-written guest (the other host imports:
# tests/adversarial/test_hostile_guest.py) ----

TINY_GUEST = """
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock (param i32 i64 i32) (result i32)))
  (import "kobako" "dispatch" (func $dispatch (param i32 i32 i32 i32) (result i64)))
  {imports}
  (memory (export "memory") 1)
  (func (export "kobako_abi_version") (result i32) (i32.const {abi}))
  (func (export "kobako_inbox") (result i64) (i64.const 0x0000100000000400))
  (func (export "kobako_output_state") (result i32) (i32.const 8192))
  (func (export "kobako_alloc") (param i32) (result i32) (i32.const 0))
  ;; the request's first byte picks what to do: 1 calls dispatch, 2 the clock,
  ;; anything else (the runner's own `nil` run) nothing; the outcome is memory[256, 268)
  (func (export "kobako_run") (param $req i32) (param $len i32) (result i64)
    (if (i32.eq (i32.load8_u (local.get $req)) (i32.const 1))
      (then (i64.store (i32.const 256)
        (call $dispatch (i32.const {call_ptr}) (i32.const {call_len})
                        (i32.const {out_ptr}) (i32.const {out_cap})))))
    (if (i32.eq (i32.load8_u (local.get $req)) (i32.const 2))
      (then (i32.store (i32.const 264)
        (call $clock (i32.load8_u offset=1 (local.get $req)) (i64.const 0)
                     (i32.const {clock_ptr})))))
    {body}
    (i64.const 0x000001000000000c)))
"""


def tiny_runner(tmp_path: Path, **fields: object) -> GuestRunner:
    """A GuestRunner over TINY_GUEST with the given fields filled in."""
    values: dict[str, object] = {
        "imports": "", "body": "", "call_ptr": 0, "call_len": 4, "out_ptr": 512,
        "out_cap": 64, "clock_ptr": 256, "abi": ABI_VERSION,
    }  # fmt: skip
    values.update(fields)
    path = tmp_path / "tiny.wasm"
    path.write_bytes(build_guest(TINY_GUEST.format(**values)))
    return GuestRunner(wasm_path=path, cache_dir=tmp_path)


def test_wasi_stubs_grant_nothing(tmp_path: Path) -> None:
    """A WASI function other than the clock (fd_write, here) returns EBADF."""
    runner = tiny_runner(
        tmp_path,
        imports='(import "wasi_snapshot_preview1" "fd_write"'
        " (func $fd_write (param i32 i32 i32 i32) (result i32)))",
        body="(i32.store (i32.const 256) (call $fd_write (i32.const 1) (i32.const 0)"
        " (i32.const 0) (i32.const 0)))",
    )
    assert runner.run(b"\x00", None, DISPATCH).payload[:4] == (8).to_bytes(4, "little")


THREADS_CHILD = """
import threading
import kobako_async

class Svc:
    def echo(self, value):
        return value

sandbox = kobako_async.Sandbox(timeout=10.0).bind("Svc", Svc())
wrong = []

def work(n):
    for i in range(40):
        calls = f"Svc.echo({n}), Svc.echo({i}), Svc.echo('x' * 20_000).size"
        script = f"t = Time.now.to_i; [{calls}, t]"
        value = sandbox.run(script).value
        if value != [n, i, 20_000, 0]:
            wrong.append(value)

threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("wrong", wrong)
"""


def test_host_calls_are_per_thread() -> None:
    """4 threads running Service calls (small and past the reply buffer) and the clock
    on one Sandbox each get their own results, and the process survives (in a child:
    state shared between threads aborts it)."""
    out = subprocess.run(
        [sys.executable, "-c", THREADS_CHILD], capture_output=True, text=True, timeout=120
    )
    assert (out.returncode, out.stdout) == (0, "wrong []\n"), out.stderr[-2000:]
