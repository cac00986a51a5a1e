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

Python dict keys must be hashable, so an Array used as a Hash key arrives as a
``tuple`` and a Hash used as a key as a ``FrozenHash``.
"""

from __future__ import annotations

from typing import Any

import msgpack

EXT_BIGINT = 1
EXT_SYMBOL = 2


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


def _ext_hook(code: int, data: bytes) -> Any:
    if code == EXT_BIGINT:
        return int(data, 16)
    if code == EXT_SYMBOL:
        return Symbol(data.decode("utf-8"))
    raise CodecError(f"unknown ext type {code}")


def unpack(payload: bytes) -> Any:
    """Decode one complete msgpack payload from the guest.

    Raises CodecError on anything malformed, truncated, or followed by junk.
    """
    try:
        return msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=False,
            ext_hook=_ext_hook,
            object_pairs_hook=_pairs_hook,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(str(exc)) from exc


def pack(value: Any) -> bytes:
    """Encode a request for the guest."""
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]
