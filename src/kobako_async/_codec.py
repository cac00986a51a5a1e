"""The Ruby <-> Python value codec: msgpack plus two ext types.

Shared with the guest (``guest/mrbgems/mruby-kobako/src/codec.c``):

    Ruby                      wire                   Python
    nil / true / false        nil / bool             None / bool
    Integer (64-bit)          int                    int
    Integer (bigger)          ext 1, base-16 ASCII   int
    Float                     float64                float
    String, valid UTF-8       str                    str
    String, other bytes       bin                    bytes
    Symbol                    ext 2, UTF-8 name      Symbol (a str subclass)
    Array / Hash              array / map            list / dict
    Kobako::Handle            ext 3, uint32 id       the host object it stands for

Python dict keys must be hashable, so an Array used as a Hash key arrives as a
``tuple`` and a Hash used as a key as a ``FrozenHash``.
"""

from __future__ import annotations

from typing import Any

import msgpack

EXT_BIGINT = 1
EXT_SYMBOL = 2
EXT_HANDLE = 3
MAX_DEPTH = 128
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Symbol(str):
    """A Ruby Symbol: a ``str`` that remembers it was ``:name`` in Ruby."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


class FrozenHash(dict[Any, Any]):
    """A Ruby Hash that was used as a Hash key: an immutable, hashable dict."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def _immutable(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("FrozenHash is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable


def _as_key(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_key(v) for v in value)
    if isinstance(value, dict) and not isinstance(value, FrozenHash):
        return FrozenHash((k, _as_key(v)) for k, v in value.items())
    return value


def _pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    return {_as_key(k): v for k, v in pairs}


class CodecError(ValueError):
    """A payload that is not valid on the wire."""


class HandleTable:
    """The per-run table of host objects the guest holds as Kobako::Handle ids."""

    MAX_ID = 2**31 - 1

    def __init__(self) -> None:
        self._objects: dict[int, Any] = {}
        self._ids: dict[int, int] = {}  # id(obj) -> handle id, so one object is one Handle
        self._last = 0

    def add(self, obj: Any) -> int:
        """The Handle id for ``obj``. Raises HandleExhausted past MAX_ID."""
        existing = self._ids.get(id(obj))
        if existing is not None:
            return existing
        if self._last >= self.MAX_ID:
            raise HandleExhausted(f"a run may hold at most {self.MAX_ID} Handles")
        self._last += 1
        self._objects[self._last] = obj
        self._ids[id(obj)] = self._last
        return self._last

    def get(self, handle_id: int) -> Any:
        """The object behind ``handle_id``. Raises StaleHandle when there is none."""
        try:
            return self._objects[handle_id]
        except KeyError:
            raise StaleHandle(handle_id) from None


class HandleExhausted(Exception):
    """The run's Handle ids ran out."""


class StaleHandle(Exception):
    """A Handle id that names no object of this run."""


def unpack(payload: bytes, handles: HandleTable | None = None) -> Any:
    """Decode one complete msgpack payload from the guest.

    Handles resolve through ``handles``; with no table, a Handle is malformed.
    Raises CodecError on anything malformed, truncated, or followed by junk, and
    StaleHandle for a Handle id the table does not hold.
    """

    def ext_hook(code: int, data: bytes) -> Any:
        if code == EXT_BIGINT:
            return int(data, 16)
        if code == EXT_SYMBOL:
            return Symbol(data.decode("utf-8"))
        if code == EXT_HANDLE and handles is not None and len(data) == 4:
            return handles.get(int.from_bytes(data, "big"))
        raise CodecError(f"unknown ext type {code}")

    try:
        return msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=False,
            ext_hook=ext_hook,
            object_pairs_hook=_pairs_hook,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(str(exc)) from exc


class WireError(ValueError):
    """A host value that cannot be sent: nested too deep, or cyclic."""


def to_wire(value: Any, handles: HandleTable | None, depth: int = 0) -> Any:
    """Convert a host value to what ``pack`` sends; objects with no wire form become
    Handles in ``handles`` (or raise WireError with no table)."""
    kind = type(value)
    if value is None or kind is bool or kind is float or kind is str or kind is bytes:
        return value
    if kind is int:
        return value if INT64_MIN <= value <= INT64_MAX else _bigint(value)
    if kind is Symbol:
        return msgpack.ExtType(EXT_SYMBOL, value.encode("utf-8"))
    if isinstance(value, (list, tuple, dict)):
        if depth >= MAX_DEPTH:
            raise WireError("value nested deeper than 128 levels (or cyclic)")
        if isinstance(value, dict):
            return {
                to_wire_key(k, handles, depth + 1): to_wire(v, handles, depth + 1)
                for k, v in value.items()
            }
        return [to_wire(v, handles, depth + 1) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return to_wire(int(value), handles, depth)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if handles is None:
        raise WireError(f"{kind.__name__} has no wire form")
    return msgpack.ExtType(EXT_HANDLE, handles.add(value).to_bytes(4, "big"))


def to_wire_key(key: Any, handles: HandleTable | None, depth: int) -> Any:
    """Like to_wire, but hashable: arrays stay tuples."""
    wired = to_wire(key, handles, depth)
    return _freeze(wired)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return FrozenHash((k, _freeze(v)) for k, v in value.items())
    return value


def _bigint(value: int) -> msgpack.ExtType:
    return msgpack.ExtType(EXT_BIGINT, format(value, "x").encode("ascii"))


def pack(value: Any) -> bytes:
    """Encode a request for the guest."""
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]
