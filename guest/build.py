"""Build the kobako guest: mruby 3.3.0 + our gem, compiled to a baked wasm32-wasi reactor.

Steps, each skipped when its output is current:

1. get mruby 3.3.0: ``--mruby-src DIR`` / ``$MRUBY_SRC``, else Debian's source package
   (``apt-get source``), checked against a pinned sha256;
2. extract it under ``build/guest`` and apply ``guest/patches/*.patch``;
3. build ``libonig.a`` (Oniguruma 6.9.9, Debian's ``libonig`` source package, pinned
   the same way) with zig: the engine behind our Regexp gem;
4. build ``libmruby.a`` with mruby's own rake, zig (PyPI ``ziglang``) as the compiler;
5. link both (with our gem's ABI exports) into a stripped WASI reactor with a 1 MiB stack;
6. bake the booted interpreter into the module (``guest/bake.py``) -> ``data/kobako.wasm``,
   with a ``kobako.guest`` custom section naming its ABI and the mruby and Oniguruma
   versions (the host checks it before loading the file).

``--debug`` builds the debug guest instead (``make guest-debug``): the same sources with
``KOBAKO_DEBUG_ALLOC``, an allocator that poisons freed memory, quarantines it and
always moves on realloc (see ``guest/mrbgems/mruby-kobako/src/abi.c``), in its own
build directory, written to ``data/kobako-debug.wasm``; ``make fuzz`` runs on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

GUEST = Path(__file__).resolve().parent
ROOT = GUEST.parent
BUILD = ROOT / "build" / "guest"
OUTPUT = ROOT / "data" / "kobako.wasm"
DEBUG_OUTPUT = ROOT / "data" / "kobako-debug.wasm"

MRUBY_VERSION = "3.3.0"
MRUBY_DEBIAN_VERSION = "3.3.0-1"
MRUBY_DEBIAN_SUITE = "trixie"
MRUBY_TARBALL = f"mruby_{MRUBY_VERSION}.orig.tar.gz"
MRUBY_SHA256 = "53088367e3d7657eb722ddfacb938f74aed1f8538b3717fe0b6eb8f58402af65"
ONIG_VERSION = "6.9.9"
ONIG_DEBIAN_VERSION = "6.9.9-1"
ONIG_TARBALL = f"libonig_{ONIG_VERSION}.orig.tar.gz"
ONIG_SHA256 = "001aa1202e78448f4c0bf1a48c76e556876b36f16d92ce3207eccfd61d99f2a0"
# The engine core with the UTF-8 and ASCII encodings only; no POSIX or GNU API.
ONIG_SOURCES = """regcomp regexec regparse regenc regerror regext regsyntax regtrav regversion st
    unicode unicode_unfold_key unicode_fold1_key unicode_fold2_key unicode_fold3_key
    utf8 ascii onig_init""".split()
# What Oniguruma's configure would find for wasm32-wasi (32-bit long and pointers).
ONIG_CONFIG_H = """\
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_UNISTD_H 1
#define HAVE_ALLOCA 1
#define HAVE_ALLOCA_H 1
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_VOIDP 4
"""

EH_FLAGS = [
    "-mllvm",
    "-wasm-enable-sjlj",
    "-mllvm",
    "-wasm-use-legacy-eh=false",
    "-mexception-handling",
    # memset/memcpy are mem.c's chunked loops, not one bulk-memory instruction: the
    # epoch (the timeout) is checked in loops, never inside one that may touch 1 GiB
    "-mno-bulk-memory",
    "-mno-bulk-memory-opt",
]
STACK_BYTES = 1 << 20
DEB_SRC_LIST = Path("/etc/apt/sources.list.d/kobako-deb-src.sources")


def log(msg: str) -> None:
    print(f"[guest] {msg}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_deb_src() -> None:
    """Add a deb-src entry for the suite that has mruby 3.3.0, using this machine's own mirror."""
    if DEB_SRC_LIST.exists():
        return
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    text = sources.read_text() if sources.exists() else ""
    uri = next((m for m in re.findall(r"^URIs:\s*(\S+)", text, re.M) if "security" not in m), None)
    if uri is None:
        legacy = Path("/etc/apt/sources.list")
        found = re.findall(
            r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", legacy.read_text() if legacy.exists() else "", re.M
        )
        uri = next((u for u in found if "security" not in u), None)
    if uri is None:
        sys.exit("no Debian apt source found to derive a deb-src entry from; pass --mruby-src DIR")
    DEB_SRC_LIST.write_text(
        f"Types: deb-src\nURIs: {uri}\nSuites: {MRUBY_DEBIAN_SUITE}\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    run(["apt-get", "update", "-qq"])


def fetch_tarball(package: str, version: str, name: str, sha256: str) -> Path:
    """Download a Debian source package's tarball once and verify its pinned hash."""
    dl = BUILD / "dl"
    tarball = dl / name
    if not tarball.exists():
        dl.mkdir(parents=True, exist_ok=True)
        ensure_deb_src()
        log(f"apt-get source {package}={version}")
        run(["apt-get", "source", "--download-only", f"{package}={version}"], cwd=dl)
    digest = sha256_of(tarball)
    if digest != sha256:
        tarball.unlink()
        sys.exit(f"{tarball.name}: sha256 {digest} does not match the pinned {sha256}")
    return tarball


def prepare_source(mruby_src: Path | None) -> Path:
    """A patched mruby tree under build/guest, recreated when the source or a patch changes."""
    patches = sorted((GUEST / "patches").glob("*.patch"))
    stamp_text = "\n".join([str(mruby_src or MRUBY_SHA256)] + [sha256_of(p) for p in patches])
    tree = BUILD / f"mruby-{MRUBY_VERSION}"
    stamp = tree / ".kobako-stamp"
    if stamp.exists() and stamp.read_text() == stamp_text:
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(BUILD / "mruby-build", ignore_errors=True)
    shutil.rmtree(BUILD / "mruby-build-debug", ignore_errors=True)
    if mruby_src is not None:
        log(f"copying mruby from {mruby_src}")
        shutil.copytree(mruby_src, tree, ignore=shutil.ignore_patterns("build"))
    else:
        source = fetch_tarball("mruby", MRUBY_DEBIAN_VERSION, MRUBY_TARBALL, MRUBY_SHA256)
        with tarfile.open(source) as tar:
            tar.extractall(BUILD, filter="data")
    for patch in patches:
        log(f"applying {patch.name}")
        run(["patch", "-p1", "--forward", "--quiet", "-i", str(patch)], cwd=tree)
    stamp.write_text(stamp_text)
    return tree


def zig_wrappers() -> dict[str, str]:
    """Shell wrappers so mruby's rake can call zig's cc and ar as plain commands."""
    bindir = BUILD / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    tools = {}
    for tool in ("cc", "ar"):
        path = bindir / f"zig-{tool}"
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ziglang {tool} "$@"\n')
        path.chmod(0o755)
        tools[tool] = str(path)
    return tools


def build_libonig(tools: dict[str, str]) -> Path:
    """Oniguruma's engine as build/guest/onig/libonig.a; its headers sit beside it."""
    src = BUILD / f"onig-{ONIG_VERSION}" / "src"
    if not src.exists():
        tarball = fetch_tarball("libonig", ONIG_DEBIAN_VERSION, ONIG_TARBALL, ONIG_SHA256)
        with tarfile.open(tarball) as tar:
            tar.extractall(BUILD / "onig-extract", filter="data")
        shutil.move(BUILD / "onig-extract" / f"oniguruma-{ONIG_VERSION}", src.parent)
        shutil.rmtree(BUILD / "onig-extract")
    out = BUILD / "onig"
    lib = out / "libonig.a"
    if lib.exists():
        return out
    log("building libonig.a (zig)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.h").write_text(ONIG_CONFIG_H)
    for header in ("oniguruma.h",):
        shutil.copy(src / header, out / header)
    flags = ["-target", "wasm32-wasi", "-O2", *EH_FLAGS, f"-I{out}", f"-I{src}"]
    jobs = [
        subprocess.Popen(
            [tools["cc"], *flags, "-c", str(src / f"{n}.c"), "-o", str(out / f"{n}.o")]
        )
        for n in ONIG_SOURCES
    ]
    if any(job.wait() != 0 for job in jobs):
        sys.exit("compiling Oniguruma failed")
    run([tools["ar"], "rcs", str(lib), *(str(out / f"{n}.o") for n in ONIG_SOURCES)])
    return out


def build_libmruby(tree: Path, tools: dict[str, str], onig: Path, build_dir: Path) -> Path:
    env = dict(
        os.environ,
        MRUBY_CONFIG=str(GUEST / "build_config.rb"),
        MRUBY_BUILD_DIR=str(build_dir),
        KOBAKO_CC=tools["cc"],
        KOBAKO_AR=tools["ar"],
        KOBAKO_ONIG=str(onig),
        KOBAKO_DEBUG="1" if build_dir.name.endswith("-debug") else "",
    )
    log(f"building libmruby.a (mruby rake + zig) in {build_dir.name}")
    run(["rake", f"-j{os.cpu_count() or 2}", "all"], cwd=tree, env=env, stdout=subprocess.DEVNULL)
    return build_dir / "wasi" / "lib"


def link_guest(libdir: Path, onig: Path, tools: dict[str, str]) -> Path:
    """Link libmruby.a (our gem's ABI exports included) and libonig.a into a WASI reactor."""
    build_dir = libdir.parent.parent
    raw = BUILD / f"kobako-raw{build_dir.name.removeprefix('mruby-build')}.wasm"
    # abi.o holds the exports; named explicitly, it is linked whether referenced or not
    abi = build_dir / "wasi" / "mrbgems" / "mruby-kobako" / "src" / "abi.o"
    cmd = [tools["cc"], "-target", "wasm32-wasi", *EH_FLAGS, str(abi), str(libdir / "libmruby.a")]
    cmd += [str(onig / "libonig.a")]
    cmd += ["-mexec-model=reactor", "-O2", "-s", f"-Wl,-z,stack-size={STACK_BYTES}"]
    cmd += ["-o", str(raw)]
    log("linking the reactor")
    run(cmd)
    return raw


def guest_info_section() -> bytes:
    """The ``kobako.guest`` custom section: the ABI version (from abi.c) and the
    mruby and Oniguruma versions, as JSON."""
    abi_c = (GUEST / "mrbgems" / "mruby-kobako" / "src" / "abi.c").read_text()
    found = re.search(r"#define KOBAKO_ABI_VERSION (\d+)", abi_c)
    if found is None:
        sys.exit("guest/mrbgems/mruby-kobako/src/abi.c defines no KOBAKO_ABI_VERSION")
    info = {"abi": int(found[1]), "mruby": MRUBY_VERSION, "oniguruma": ONIG_VERSION}
    name = b"kobako.guest"
    payload = bytes([len(name)]) + name + json.dumps(info, sort_keys=True).encode()
    size, leb = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        leb.append(byte | (0x80 if size else 0))
        if not size:
            break
    return b"\0" + bytes(leb) + payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mruby-src", type=Path, default=os.environ.get("MRUBY_SRC") or None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--debug", action="store_true", help="the poisoning-allocator guest")
    args = parser.parse_args()
    if args.out is None:
        args.out = DEBUG_OUTPUT if args.debug else OUTPUT

    sys.path.insert(0, str(GUEST))
    from bake import bake  # noqa: PLC0415 - guest/ is not a package

    tools = zig_wrappers()
    tree = prepare_source(args.mruby_src.resolve() if args.mruby_src else None)
    onig = build_libonig(tools)
    build_dir = BUILD / ("mruby-build-debug" if args.debug else "mruby-build")
    libdir = build_libmruby(tree, tools, onig, build_dir)
    raw = link_guest(libdir, onig, tools)
    log("baking the booted interpreter")
    baked = bake(raw.read_bytes(), "kobako_boot") + guest_info_section()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_bytes(baked)
    tmp.replace(args.out)
    log(f"wrote {args.out} ({len(baked)} bytes)")


if __name__ == "__main__":
    main()
