"""The build backend: setuptools, plus the guest.

A wheel carries the built guest as package data (``kobako_async/_data/kobako.wasm``).
``data/kobako.wasm`` is used as it is when no file under ``guest/`` is newer (the
rule ``make guest`` follows); otherwise ``guest/build.py`` builds it first, and the
build environment then also gets what that script imports (zig from PyPI, wasmtime
for the bake). Where the system toolchain is absent the build stops with one
message naming what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta as _orig
from setuptools.command.build_py import build_py as _build_py
from setuptools.errors import BaseError

# what guest/build.py needs in the build environment, pinned like the dev extra
GUEST_BUILD_REQUIRES = ["ziglang==0.17.1", "wasmtime==50.0.1"]
SYSTEM_TOOLS = {"ruby": "ruby", "rake": "rake", "patch": "patch"}  # command: Debian package
PACKAGE_WASM = Path("kobako_async") / "_data" / "kobako.wasm"

ROOT = Path(__file__).resolve().parents[1]


class GuestBuildError(BaseError):
    """The guest is missing or stale and cannot be built on this machine.

    A distutils error: setuptools prints it as one ``error:`` line, no traceback."""


def guest_sources(root: Path) -> list[Path]:
    """Every file the guest is built from."""
    return [
        p
        for p in (root / "guest").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def guest_is_current(root: Path) -> bool:
    """Whether ``data/kobako.wasm`` exists and no guest source is newer."""
    wasm = root / "data" / "kobako.wasm"
    if not wasm.is_file():
        return False
    built = wasm.stat().st_mtime_ns
    return all(p.stat().st_mtime_ns <= built for p in guest_sources(root))


def missing_toolchain(root: Path) -> list[str]:
    """What this machine lacks to run ``guest/build.py``, one entry per thing."""
    missing = []
    if not (root / "guest" / "build.py").is_file():
        missing.append("the guest sources (guest/build.py)")
    for command, package in SYSTEM_TOOLS.items():
        if shutil.which(command) is None:
            missing.append(f"{command} (Debian package {package})")
    for requirement in GUEST_BUILD_REQUIRES:
        name = requirement.split("==")[0]
        if importlib.util.find_spec(name) is None:
            missing.append(f"the Python package {requirement}")
    if not os.environ.get("MRUBY_SRC") and shutil.which("apt-get") is None:
        missing.append("apt-get (for the mruby and Oniguruma sources) or $MRUBY_SRC")
    return missing


def ensure_guest(root: Path = ROOT) -> Path:
    """``data/kobako.wasm``, built first if it is missing or older than ``guest/``.

    Raises:
        GuestBuildError: it needs building and the toolchain is incomplete, or the
            build failed.
    Returns:
        The path of the built guest.
    """
    wasm = root / "data" / "kobako.wasm"
    if guest_is_current(root):
        return wasm
    state = "older than guest/" if wasm.exists() else "missing"
    missing = missing_toolchain(root)
    if missing:
        raise GuestBuildError(
            f"kobako_async: data/kobako.wasm is {state} and the guest cannot be built here;"
            f" missing: {', '.join(missing)}. Install them, or build from a tree that"
            " has data/kobako.wasm (`make guest`)."
        )
    print(f"kobako_async: data/kobako.wasm is {state}; building the guest", file=sys.stderr)
    result = subprocess.run([sys.executable, str(root / "guest" / "build.py")], cwd=root)
    if result.returncode != 0 or not wasm.is_file():
        raise GuestBuildError(
            f"kobako_async: guest/build.py failed with status {result.returncode}"
        )
    return wasm


class build_py(_build_py):  # noqa: N801 - setuptools' command name
    """setuptools' build_py, which also puts the guest into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds data/kobako.wasm of the tree itself
        target = Path(self.build_lib) / PACKAGE_WASM
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ensure_guest(), target)


# ---- PEP 517 hooks: setuptools' own, with the guest's build requirements when needed ----

build_sdist = _orig.build_sdist
build_wheel = _orig.build_wheel
build_editable = _orig.build_editable
get_requires_for_build_sdist = _orig.get_requires_for_build_sdist
get_requires_for_build_editable = _orig.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _orig.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _orig.prepare_metadata_for_build_editable


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """setuptools' requirements, plus zig and wasmtime when the guest must be built."""
    extra = [] if guest_is_current(ROOT) else GUEST_BUILD_REQUIRES
    return [*_orig.get_requires_for_build_wheel(config_settings), *extra]
