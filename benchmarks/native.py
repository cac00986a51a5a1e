"""A native mruby 3.3 built from the guest's source, and timing scripts inside it.

The build lives under ``build/native-mruby/<key>``, where the key hashes everything
that goes into it (the mruby source, ``guest/patches``, the build config and the
harness under ``benchmarks/native``, the guest's defines and the gcc version), so
it is made once and remade only when one of those changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import ROOT

NATIVE_DIR = Path(__file__).resolve().parent / "native"
BUILD_CONFIG = NATIVE_DIR / "build_config.rb"
CACHE_ROOT = ROOT / "build" / "native-mruby"
GUEST_BUILD = ROOT / "build" / "guest"
TARBALL = GUEST_BUILD / "dl" / "mruby_3.3.0.orig.tar.gz"
GUEST_TREE = GUEST_BUILD / "mruby-3.3.0"
PATCHES = ROOT / "guest" / "patches"
GUEST_CONFIG = ROOT / "guest" / "build_config.rb"
TREE_NAME = "mruby-3.3.0"
BINARY = "kobako-native-bench"
_COMPLETE = ".complete"


@dataclass(frozen=True, slots=True)
class NativeRuns:
    """What one harness process reported: the script's value and each run's time."""

    value: str
    times_s: list[float]


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gcc_version() -> str:
    try:
        done = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"the native build needs gcc: {exc}") from exc
    return done.stdout.splitlines()[0]


def gcc_version() -> str | None:
    """The system gcc's version line, or None if there is no gcc."""
    try:
        return _gcc_version()
    except RuntimeError:
        return None


def _source_key() -> str:
    """Names the mruby source: the pristine tarball's hash, else the guest's tree."""
    if TARBALL.exists():
        return f"tarball:{_digest(TARBALL)}"
    if GUEST_TREE.is_dir():
        return f"tree:{GUEST_TREE}"
    raise RuntimeError(
        f"no mruby source: neither {TARBALL} nor {GUEST_TREE} exists (run `make guest` first)"
    )


def _build_key() -> str:
    parts = [_source_key(), _gcc_version()]
    inputs = sorted(PATCHES.glob("*.patch"))
    inputs += sorted(p for p in NATIVE_DIR.rglob("*") if p.is_file())
    inputs.append(GUEST_CONFIG)
    parts += [f"{p.relative_to(ROOT)}:{_digest(p)}" for p in inputs]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _prepare_tree(dest: Path) -> Path:
    """Extract the pristine mruby and apply guest/patches, or copy the guest's patched tree."""
    tree = dest / TREE_NAME
    if TARBALL.exists():
        _log(f"extracting {TARBALL.name} and applying guest/patches")
        with tarfile.open(TARBALL) as tar:
            tar.extractall(dest, filter="data")
        for patch in sorted(PATCHES.glob("*.patch")):
            subprocess.run(
                ["patch", "-p1", "--forward", "--quiet", "-i", str(patch)], cwd=tree, check=True
            )
    else:
        _log(f"copying {GUEST_TREE}")
        shutil.copytree(GUEST_TREE, tree, ignore=shutil.ignore_patterns("build"))
    return tree


def _rake_env(build_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CFLAGS", "CXXFLAGS", "LDFLAGS", "LD", "CXX", "MRUBY_CONFIG", "CONFIG"}
    }
    env.update(MRUBY_CONFIG=str(BUILD_CONFIG), MRUBY_BUILD_DIR=str(build_dir), CC="gcc")
    return env


def ensure_native() -> Path:
    """The harness binary, built first if needed (a minute or two); raises RuntimeError."""
    key = _build_key()
    home = CACHE_ROOT / key
    binary = home / "build" / "host" / "bin" / BINARY
    if (home / _COMPLETE).exists() and binary.exists():
        return binary
    if CACHE_ROOT.is_dir():
        for stale in CACHE_ROOT.iterdir():
            shutil.rmtree(stale, ignore_errors=True)
    home.mkdir(parents=True)
    tree = _prepare_tree(home)
    log = home / "build.log"
    jobs = os.cpu_count() or 2
    _log(f"building native mruby with gcc (rake -j{jobs}); log in {log}")
    with log.open("wb") as out:
        done = subprocess.run(
            ["rake", f"-j{jobs}", "all"],
            cwd=tree,
            env=_rake_env(home / "build"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0 or not binary.exists():
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError("native mruby build failed:\n" + "\n".join(tail))
    (home / _COMPLETE).write_text(key)
    return binary


def run_native(binary: Path, script: str, *, warmup: int, runs: int) -> NativeRuns:
    """Time ``script`` ``runs`` times (after ``warmup``) inside one native mruby process."""
    with tempfile.NamedTemporaryFile("w", suffix=".rb", encoding="utf-8") as f:
        f.write(script)
        f.flush()
        done = subprocess.run(
            [str(binary), str(warmup), str(runs), f.name], capture_output=True, text=True
        )
    if done.returncode != 0:
        raise RuntimeError(f"native mruby failed ({done.returncode}): {done.stderr.strip()}")
    value = ""
    times: list[float] = []
    for line in done.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "value":
            value = rest
        elif tag == "ns":
            times.append(int(rest) / 1e9)
    return NativeRuns(value, times)
