"""The package around the engine: the guest file, its checks and info, the module
cache, the public surface, and the built wheel installed in a clean venv."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import kobako_async
from kobako_async import GuestInfo, GuestLoadError, Pool
from kobako_async import _module_cache as module_cache
from kobako_async._guest import GuestRunner
from kobako_async._guestfile import ABI_VERSION, INFO_SECTION, default_wasm_path, read_guest

WASM = default_wasm_path()


def _custom_section(name: bytes, payload: bytes) -> bytes:
    body = bytes([len(name)]) + name + payload
    assert len(body) < 128
    return b"\0" + bytes([len(body)]) + body


def _without_info(wasm: bytes) -> bytes:
    """The guest with its kobako.guest section (appended last by the build) removed."""
    marker = wasm.rindex(INFO_SECTION.encode())
    start = marker - 3  # id, one-byte size, one-byte name length
    assert wasm[start] == 0
    return wasm[:start]


def _bad_guests() -> list[tuple[str, bytes, str]]:
    wasm = WASM.read_bytes()
    bare = _without_info(wasm)
    return [
        ("empty", b"", "is not a WebAssembly module"),
        ("text", b"puts 1\n", "is not a WebAssembly module"),
        ("truncated", wasm[: len(wasm) // 2], r"is truncated: section \d+ at byte \d+"),
        ("cut-in-length", wasm[:9], "is truncated|ends inside a length"),
        ("another-guest", bare, "is not a kobako guest"),
        (
            "wrong-abi",
            bare + _custom_section(b"kobako.guest", b'{"abi": 1}'),
            f"was built for guest ABI 1; this kobako_async needs ABI {ABI_VERSION}",
        ),
        (
            "bad-info",
            bare + _custom_section(b"kobako.guest", b"{not json"),
            "unreadable kobako.guest section",
        ),
        (
            "minimal-module",
            b"\0asm\x01\0\0\0" + _custom_section(b"kobako.guest", b'{"abi": %d}' % ABI_VERSION),
            "does not export memory, kobako_run",
        ),
    ]


@pytest.mark.parametrize(
    ("content", "match"), [pytest.param(c, m, id=i) for i, c, m in _bad_guests()]
)
def test_bad_guest_file_is_one_typed_error_at_load(
    tmp_path: Path, content: bytes, match: str
) -> None:
    """A corrupt or foreign guest file makes GuestRunner raise GuestLoadError naming it."""
    path = tmp_path / "guest.wasm"
    path.write_bytes(content)
    with pytest.raises(GuestLoadError, match=match) as info:
        GuestRunner(wasm_path=path, cache_dir=tmp_path)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_sandbox_and_pool_refuse_a_missing_guest_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With $KOBAKO_WASM at a missing file, Sandbox() and Pool() raise GuestLoadError."""

    missing = tmp_path / "missing.wasm"
    check = (
        "import kobako_async\n"
        "try:\n    kobako_async.Sandbox()\n"
        "except kobako_async.GuestLoadError as exc:\n    print(exc.path, '|', exc)\n"
    )
    done = subprocess.run(  # a fresh process: this one has its guest loaded already
        [sys.executable, "-c", check],
        env={**os.environ, "KOBAKO_WASM": str(missing)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith(f"{missing} | guest module {missing} cannot be read (No such")
    monkeypatch.setenv("KOBAKO_WASM", str(missing))
    with pytest.raises(GuestLoadError, match=r"missing\.wasm cannot be read .*KOBAKO_WASM"):
        Pool(workers=1)


def test_pool_refuses_a_truncated_guest_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A truncated guest fails Pool() itself: no worker is started to find out."""
    path = tmp_path / "cut.wasm"
    path.write_bytes(WASM.read_bytes()[:1000])
    monkeypatch.setenv("KOBAKO_WASM", str(path))
    with pytest.raises(GuestLoadError, match=r"cut\.wasm is truncated"):
        Pool(workers=1)


def test_directory_as_guest_is_a_guest_load_error(tmp_path: Path) -> None:
    """A directory where the guest should be is a GuestLoadError, not an OSError."""
    with pytest.raises(GuestLoadError, match="cannot be read"):
        read_guest(tmp_path)


def test_guest_info_names_the_guest() -> None:
    """guest_info() gives the file's sha256, size, ABI and the mruby/Oniguruma versions."""

    info = kobako_async.guest_info()
    wasm = info.path.read_bytes()
    assert type(info) is GuestInfo
    assert info.sha256 == hashlib.sha256(wasm).hexdigest()
    assert info.size_bytes == len(wasm)
    assert (info.abi_version, info.mruby_version, info.oniguruma_version) == (
        ABI_VERSION,
        "3.3.0",
        "6.9.9",
    )


def test_kobako_wasm_overrides_the_packaged_guest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$KOBAKO_WASM names the guest to load, whatever the package carries."""
    copy = tmp_path / "copy.wasm"
    copy.write_bytes(WASM.read_bytes())
    monkeypatch.setenv("KOBAKO_WASM", str(copy))
    assert kobako_async.guest_info().path == copy


def test_public_surface() -> None:
    """dir() lists every public name, the lazily loaded Pool included; __version__ is metadata."""
    from importlib import metadata

    names = dir(kobako_async)
    for name in kobako_async.__all__:
        assert name in names
        assert getattr(kobako_async, name) is not None
    assert {"Pool", "Job", "MapResult", "GuestLoadError", "guest_info"} <= set(names)
    assert kobako_async.__version__ == metadata.version("kobako_async")
    assert issubclass(GuestLoadError, kobako_async.KobakoError)


# ---- the compiled-module cache ----


def _fresh_runner(cache: Path) -> GuestRunner:
    module_cache._warned.discard(cache)
    return GuestRunner(cache_dir=cache)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_read_only_cache_warns_once_and_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only cache dir warns once on the kobako_async logger and caches in the fallback."""
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(module_cache, "fallback_cache_dir", lambda: fallback)
    with caplog.at_level(logging.WARNING, logger="kobako_async"):
        _fresh_runner(cache)
        GuestRunner(cache_dir=cache)
    warnings = [r for r in caplog.records if r.name == "kobako_async"]
    assert len(warnings) == 1
    assert "cannot write the compiled-module cache" in warnings[0].getMessage()
    assert len(list(fallback.glob("*.cwasm"))) == 1


def test_unwritable_cache_warns_once_and_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache path that cannot be a directory warns once and the fallback holds the entry."""
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    cache = blocker / "cache"
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(module_cache, "fallback_cache_dir", lambda: fallback)
    with caplog.at_level(logging.WARNING, logger="kobako_async"):
        _fresh_runner(cache)
        second = GuestRunner(cache_dir=cache)
    warnings = [r for r in caplog.records if r.name == "kobako_async"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert str(cache) in message and str(fallback) in message and "kobako-async warm" in message
    entries = list(fallback.glob("*.cwasm"))
    assert len(entries) == 1
    assert second.run is not None


def test_fallback_owned_by_others_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A group- or world-writable fallback dir is neither read nor written (planted code)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fallback = tmp_path / "shared"
    fallback.mkdir()
    fallback.chmod(0o777)
    monkeypatch.setattr(module_cache, "fallback_cache_dir", lambda: fallback)
    with caplog.at_level(logging.WARNING, logger="kobako_async"):
        _fresh_runner(blocker / "cache")
    assert list(fallback.iterdir()) == []
    assert "not caching it" in caplog.records[-1].getMessage()


# ---- the built wheel, installed in a clean venv ----

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_CHECK = """
import asyncio, pathlib, sys, sysconfig
import kobako_async
from kobako_async import Pool, Sandbox

site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve()
assert pathlib.Path(kobako_async.__file__).resolve().is_relative_to(site), kobako_async.__file__
info = kobako_async.guest_info()
assert info.path.resolve().is_relative_to(site), info.path
print("version", kobako_async.__version__)
print("sandbox", Sandbox().run("[1, 2, 3].map { _1 * 2 }").value)

async def main():
    async with Pool(workers=2) as pool:
        return [(await pool.run(f"{i} + 1")).value for i in range(3)]

print("pool", asyncio.run(main()))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the wheel built from this tree and its runtime deps."""

    base = tmp_path_factory.mktemp("installed")
    # sdist first, then the wheel from the unpacked sdist: the path pip takes for a .tar.gz
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(base / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "building the guest" not in built.stderr + built.stdout  # data/kobako.wasm is current
    (sdist,) = (base / "dist").glob("kobako_async-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"guest/build.py", "guest/build_config.rb.lock", "data/kobako.wasm"} <= names
    assert "build_backend/kobako_build.py" in names
    (wheel,) = (base / "dist").glob("kobako_async-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert whl.read("kobako_async/_data/kobako.wasm") == WASM.read_bytes()
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv


def _clean_env(venv: Path, home: Path) -> dict[str, str]:
    """A new user's environment: no toolchain on PATH, an empty HOME, no kobako overrides."""
    keep = {"LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "PATH": str(venv / "bin"), "HOME": str(home)}


@pytest.mark.timeout(900)
def test_installed_wheel_runs_from_anywhere(installed: Path, tmp_path: Path) -> None:
    """From the wheel alone, with no toolchain on PATH and an empty HOME, Sandbox, Pool
    and the CLI run from another directory, and the module cache lands in HOME."""

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = _clean_env(installed, home)
    python = str(installed / "bin" / "python")
    for tool in ("ruby", "rake", "apt-get", "zig", "cc"):
        assert shutil.which(tool, path=env["PATH"]) is None

    done = subprocess.run(
        [python, "-c", INSTALLED_CHECK], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    from importlib import metadata

    assert done.stdout.splitlines() == [
        f"version {metadata.version('kobako_async')}",
        "sandbox [2, 4, 6]",
        "pool [1, 2, 3]",
    ]
    assert len(list((home / ".cache" / "kobako_async").glob("*.cwasm"))) == 1

    cli = subprocess.run(
        [str(installed / "bin" / "kobako-async"), "run", "-e", "{a: [1, :b]}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert (cli.returncode, cli.stdout, cli.stderr) == (0, "{:a=>[1, :b]}\n", "")
    version = subprocess.run(
        [python, "-m", "kobako_async", "version"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert version.returncode == 0, version.stderr
    assert "mruby 3.3.0, Oniguruma 6.9.9" in version.stdout


def test_guest_build_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a wheel with no guest and no toolchain stops with one message naming it all."""

    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        import kobako_build
    finally:
        sys.path.remove(str(ROOT / "build_backend"))
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "guest", tree / "guest", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("MRUBY_SRC", raising=False)
    with pytest.raises(kobako_build.GuestBuildError) as info:
        kobako_build.ensure_guest(tree)
    message = str(info.value)
    assert message.startswith("kobako_async: data/kobako.wasm is missing")
    for tool in ("ruby (Debian package ruby)", "rake (Debian package rake)", "patch", "apt-get"):
        assert tool in message


def test_guest_build_skips_a_current_guest(tmp_path: Path) -> None:
    """The build hook uses data/kobako.wasm as is when no guest source is newer."""

    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        import kobako_build
    finally:
        sys.path.remove(str(ROOT / "build_backend"))
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "guest", tree / "guest", ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "data").mkdir()
    wasm = tree / "data" / "kobako.wasm"
    wasm.write_bytes(WASM.read_bytes())
    assert kobako_build.ensure_guest(tree) == wasm  # would fail: no build.py run here
    assert kobako_build.guest_is_current(tree)
    newer = wasm.stat().st_mtime_ns + 10**9
    os.utime(tree / "guest" / "build.py", ns=(newer, newer))
    assert not kobako_build.guest_is_current(tree)


POOL_WITH_UNWRITABLE_CACHE = """
import anyio, kobako_async

async def main():
    async with kobako_async.Pool(workers=3) as pool:
        print([(await pool.run(f"{i} * 3")).value for i in range(3)])

anyio.run(main)
"""


def test_pool_on_an_unwritable_cache_compiles_and_warns_once(tmp_path: Path) -> None:
    """A Pool whose cache dir cannot be written: one warning for all its workers, one
    entry in the per-user fallback under TMPDIR, and the runs work."""

    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {**os.environ, "KOBAKO_CACHE_DIR": str(blocker / "cache"), "TMPDIR": str(tmp_path)}
    env.pop("KOBAKO_WASM", None)
    done = subprocess.run(
        [sys.executable, "-c", POOL_WITH_UNWRITABLE_CACHE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[0, 3, 6]\n"
    assert done.stderr.count("cannot write the compiled-module cache") == 1, done.stderr
    fallback = tmp_path / f"kobako_async-{os.getuid()}"
    assert len(list(fallback.glob("*.cwasm"))) == 1
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700
