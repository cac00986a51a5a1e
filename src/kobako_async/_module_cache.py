"""The compiled-module cache: ``Module.serialize()`` bytes on disk, so a process
deserializes the guest (~2 ms) instead of compiling it (~460 ms).

An entry is keyed by the wasm's sha256, the wasmtime build and the engine
configuration, and carries a checksum of its own, so a torn or corrupt file is
recompiled instead of handed to the deserializer. When the cache directory cannot
be written (a read-only image, a HOME that is not ours), the module is cached in a
per-user directory under the system temp dir instead, with one warning on the
``kobako_async`` logger: without any cache every process pays the compile and
holds the compiler's memory (~90 MiB a Pool worker instead of ~35 MiB).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

CACHE_ENV = "KOBAKO_CACHE_DIR"
_MAGIC = b"kobako-module-v1\n"
_DIGEST_BYTES = 32

logger = logging.getLogger("kobako_async")
_warned: set[Path] = set()
_warn_lock = threading.Lock()


def default_cache_dir() -> Path:
    """``$KOBAKO_CACHE_DIR``, else ``$XDG_CACHE_HOME/kobako_async``, else
    ``~/.cache/kobako_async``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kobako_async"


def fallback_cache_dir() -> Path:
    """The per-user cache used when the configured one cannot be written."""
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"kobako_async-{uid}"


def cache_key(wasm: bytes, config_key: str) -> str:
    """The entry name for ``wasm`` compiled under ``config_key`` by this wasmtime."""
    # the native library's identity stands for the wasmtime version (importlib.metadata
    # would cost ~20 ms of start-up)
    lib = os.stat(ffi.filename)
    version = f"{ffi.filename.name}:{lib.st_size}:{lib.st_mtime_ns}"
    return hashlib.sha256(
        hashlib.sha256(wasm).digest() + f"|{version}|{config_key}".encode()
    ).hexdigest()


def _private_dir(path: Path) -> bool:
    """Whether ``path`` is a directory only this user can write: another user's
    entry there would be native code we load."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
    except OSError:
        return False
    owner_ok = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return stat.S_ISDIR(st.st_mode) and owner_ok and not st.st_mode & 0o022


def _read(engine: wasmtime.Engine, path: Path) -> Any | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = blob[: len(_MAGIC)]
    digest = blob[len(_MAGIC) : len(_MAGIC) + _DIGEST_BYTES]
    body = blob[len(_MAGIC) + _DIGEST_BYTES :]
    if head != _MAGIC or hashlib.sha256(body).digest() != digest:
        return None
    try:
        return wasmtime.Module.deserialize(engine, body)
    except wasmtime.WasmtimeError:
        return None


def _write(directory: Path, name: str, body: bytes) -> None:
    """Write the entry atomically. Raises OSError."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _warn_once(cache: Path, exc: OSError, fallback: Path | None) -> None:
    with _warn_lock:
        if cache in _warned:
            return
        _warned.add(cache)
    where = f"caching in {fallback} instead" if fallback else "not caching it"
    logger.warning(
        "kobako_async: cannot write the compiled-module cache %s (%s); %s."
        " Set $%s to a writable directory, or pre-warm it with `kobako-async warm`.",
        cache,
        exc.strerror or exc,
        where,
        CACHE_ENV,
    )


def _read_cached(engine: wasmtime.Engine, name: str, cache: Path, fallback: Path) -> Any | None:
    module = _read(engine, cache / name)
    if module is None and fallback != cache and (fallback / name).is_file():
        if _private_dir(fallback):
            module = _read(engine, fallback / name)
    return module


@contextlib.contextmanager
def _compile_lock(cache: Path, fallback: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache (or the fallback) while compiling, so the
    workers of a Pool starting on a cold cache compile once and warn once."""
    for directory in (cache, fallback):
        if directory == fallback and not _private_dir(fallback):
            break
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
        return
    yield  # no directory can hold a lock: compile unlocked


def load_module(engine: wasmtime.Engine, wasm: bytes, config_key: str, cache: Path) -> Any:
    """Deserialize the compiled module from the cache, or compile and store it.

    Looks in ``cache``, then in the per-user fallback; compiles under a lock (other
    processes wait, then read what it wrote); stores in ``cache`` or, if that cannot
    be written, in the fallback (warning once per cache directory).

    Raises:
        wasmtime.WasmtimeError: the wasm does not compile.
    Returns:
        The wasmtime Module.
    """
    name = f"{cache_key(wasm, config_key)}.cwasm"
    fallback = fallback_cache_dir()
    module = _read_cached(engine, name, cache, fallback)
    if module is not None:
        return module
    with _compile_lock(cache, fallback):
        module = _read_cached(engine, name, cache, fallback)  # another process's, meanwhile
        if module is not None:
            return module
        module = wasmtime.Module(engine, wasm)
        body = bytes(module.serialize())
        try:
            _write(cache, name, body)
        except OSError as exc:
            usable = fallback != cache and _private_dir(fallback)
            _warn_once(cache, exc, fallback if usable else None)
            if usable:
                try:
                    _write(fallback, name, body)
                except OSError:
                    pass  # the warning already said the cache is not working
    return module
