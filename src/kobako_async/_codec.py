"""The Ruby <-> Python value codec: msgpack plus three ext types.

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

Decoding trusts nothing the guest sends, and its work stays linear in the bytes:

- a Hash whose keys Python would merge (``"a"`` and ``:a``, ``1``, ``1.0`` and
  ``true``, two Handles of one object) is refused, never shortened;
- more than MAX_KEYS_PER_HASH keys of one Hash sharing a Python hash (int and
  float hashes are not randomized, so a script can pick colliding keys and make
  the dict quadratic) is refused before the dict is built;
- a key Python cannot hash (a Handle of an object with ``__hash__ = None``) is
  refused, naming it;
- a value may nest MAX_DEPTH containers, the same rule as the guest's;
- a payload may decode into at most ``max_objects`` containers and ext values
  (``object_budget``), which bounds the host memory a payload can cost.

Each refusal is a ``ValueRefused`` the caller maps to its error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from operator import itemgetter
from typing import Any, NoReturn

import msgpack

EXT_BIGINT = 1
EXT_SYMBOL = 2
EXT_HANDLE = 3
MAX_DEPTH = 128
"""Containers one value may nest: a run's value, a Service argument or a reply."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

MAX_KEYS_PER_HASH = 16
"""Distinct keys of one Hash that may share a Python hash. Ordinary data rarely
has two (hash(-1) == hash(-2)); each one more costs a comparison per insertion."""
BYTES_PER_OBJECT = 16
"""Payload bytes per decoded container or ext value allowed (``object_budget``)."""

OUTCOME_WRAPPER_LEVELS = 1
"""The outcome ``[status, value, stdout, ...]`` wraps the run's value in one level."""
CALL_WRAPPER_LEVELS = 2
"""A call ``[target, name, [args], {kwargs}]`` wraps each argument in two."""

_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_CONTAINER_TYPES = frozenset({list, dict})  # what the list and map hooks return


class Symbol(str):
    """A Ruby Symbol: a ``str`` that remembers it was ``:name`` in Ruby."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


class FrozenHash(dict[Any, Any]):
    """A Ruby Hash that was used as a Hash key: an immutable, hashable dict.

    Every mutating method and operator (``|=`` included) raises TypeError, and
    the hash is computed once, so it never changes. ``fh | other`` and
    ``fh.copy()`` return plain, mutable dicts.
    """

    __slots__ = ("_hash",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if hasattr(self, "_hash"):
            _immutable()  # dict.__init__ on a built FrozenHash would update it
        dict.__init__(self, *args, **kwargs)
        self._hash: int | None = None

    def __hash__(self) -> int:  # type: ignore[override]
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenHash, (dict(self),))

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _immutable()

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        _immutable()

    def __delitem__(self, key: Any) -> NoReturn:
        _immutable()

    def clear(self) -> NoReturn:
        _immutable()

    def pop(self, *args: Any) -> NoReturn:
        _immutable()

    def popitem(self) -> NoReturn:
        _immutable()

    def setdefault(self, *args: Any) -> NoReturn:
        _immutable()

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _immutable()


def _immutable() -> NoReturn:
    raise TypeError("FrozenHash is immutable")


def _as_key(value: Any) -> Any:
    """``value`` made hashable: lists become tuples, dicts FrozenHashes.
    Recursion is bounded: the decoder has checked the depth already."""
    if isinstance(value, list):
        return tuple(_as_key(v) for v in value)
    if isinstance(value, dict) and not isinstance(value, FrozenHash):
        return FrozenHash((k, _as_key(v)) for k, v in value.items())
    return value


class ValueRefused(Exception):
    """A well-formed payload the host will not decode; the message says why."""


class KeyRefused(ValueRefused):
    """A Hash whose keys would merge, flood one hash, or cannot be hashed. When a
    host object's ``__hash__`` or ``__eq__`` raised, that exception is the cause."""


class TooDeep(ValueRefused):
    """A value nested deeper than MAX_DEPTH containers."""


class OverBudget(ValueRefused):
    """A payload that decodes into more objects than its budget."""


def object_budget(max_message_bytes: int) -> int:
    """The containers and ext values a payload may decode into under ``max_message_bytes``."""
    return max(1, max_message_bytes // BYTES_PER_OBJECT)


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


def unpack(
    payload: bytes,
    handles: HandleTable | None = None,
    *,
    wrapper_levels: int = 0,
    max_objects: int | None = None,
) -> Any:
    """Decode one complete msgpack payload from the guest.

    Handles resolve through ``handles``; with no table, a Handle is malformed.
    ``wrapper_levels`` is how many levels of the payload wrap the values it
    carries (OUTCOME_WRAPPER_LEVELS, CALL_WRAPPER_LEVELS): each value may nest
    MAX_DEPTH containers below them. ``max_objects`` caps the containers and ext
    values decoded (see ``object_budget``); None means no cap.

    Raises:
        CodecError: anything malformed, truncated, or followed by junk.
        StaleHandle: a Handle id the table does not hold.
        KeyRefused, TooDeep, OverBudget: a payload the host refuses (ValueRefused).
    """
    decoder = _Decoder(handles, MAX_DEPTH + wrapper_levels, max_objects)
    try:
        return msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=False,
            ext_hook=decoder.ext_hook,
            list_hook=decoder.list_hook,
            object_pairs_hook=decoder.map_hook,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(str(exc) or type(exc).__name__) from exc


def unpack_outline(payload: bytes, skip: int) -> list[Any] | None:
    """The items of a top-level array payload with item ``skip`` left undecoded
    (None), the others as plain msgpack values of at most a few elements: what an
    error report can still use of a payload ``unpack`` refused. None if malformed."""
    unpacker = msgpack.Unpacker(
        raw=False, max_array_len=16, max_map_len=16, max_ext_len=16, max_buffer_size=len(payload)
    )
    unpacker.feed(payload)
    try:
        items: list[Any] = []
        for index in range(unpacker.read_array_header()):
            if index == skip:
                unpacker.skip()
                items.append(None)
            else:
                items.append(unpacker.unpack())
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    return items


class _Decoder:
    """msgpack hooks that enforce the decoding rules while the value is built.

    msgpack calls the hooks bottom-up, as each container is complete, so the depth
    of every container is known without walking the value again. A finished
    container waits for its parent to claim it: one of ``loose`` when it holds no
    container (most do; only a count), else in ``pending`` (id -> its levels). A
    parent looks at its items only when some container waits.
    """

    __slots__ = ("handles", "loose", "max_levels", "objects_left", "pending")

    def __init__(self, handles: HandleTable | None, max_levels: int, max_objects: int | None):
        self.handles = handles
        self.max_levels = max_levels
        self.objects_left = max_objects
        self.loose = 0
        self.pending: dict[int, int] = {}

    def _spend(self) -> None:
        if self.objects_left is not None:
            self.objects_left -= 1
            if self.objects_left < 0:
                raise OverBudget("the value decodes into too many arrays, hashes and ext values")

    def _finish(self, container: Any, items: Callable[[], Iterable[Any]]) -> int:
        """Record ``container`` as done, claiming its waiting children; its levels."""
        pending = self.pending
        if not self.loose and not pending:
            self.loose = 1
            return 1
        children = sum(map(_CONTAINER_TYPES.__contains__, map(type, items())))
        claimed = [pending.pop(i) for i in filter(pending.__contains__, map(id, items()))]
        self.loose -= children - len(claimed)
        levels = 1 + max(max(claimed, default=0), 1 if children else 0)
        if levels == 1:
            self.loose += 1
        elif levels > self.max_levels:
            raise TooDeep(f"value nested deeper than {MAX_DEPTH} levels")
        else:
            pending[id(container)] = levels
        return levels

    def list_hook(self, items: list[Any]) -> list[Any]:
        self._spend()
        self._finish(items, lambda: items)
        return items

    def map_hook(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self._spend()
        keys = list(map(_FIRST, pairs))
        if (self.loose or self.pending) and not _CONTAINER_TYPES.isdisjoint(map(type, keys)):
            frozen = list(map(_as_key, keys))
        else:
            frozen = keys
        try:
            distinct_hashes = len(set(map(hash, frozen)))
        except Exception:  # noqa: BLE001 - any failure to hash names the key below
            _refuse_unhashable(frozen)
        if distinct_hashes != len(frozen):
            _refuse_flooding(frozen)
        items = pairs if frozen is keys else zip(frozen, map(_SECOND, pairs), strict=True)
        try:
            result = dict(items)
        except Exception as exc:  # noqa: BLE001 - a Handle's __eq__ may raise anything
            raise KeyRefused(f"Hash keys cannot be compared in Python ({exc!r:.200})") from exc
        if len(result) != len(frozen):
            _refuse_merged(frozen)
        # the children are the original keys and values, before freezing
        self._finish(result, lambda: chain(keys, map(_SECOND, pairs)))
        return result

    def ext_hook(self, code: int, data: bytes) -> Any:
        if self.objects_left is not None:  # _spend, inlined: Symbols are common
            self.objects_left -= 1
            if self.objects_left < 0:
                self._spend()
        if code == EXT_BIGINT:
            return int(data, 16)
        if code == EXT_SYMBOL:
            return Symbol(data.decode("utf-8"))
        if code == EXT_HANDLE and self.handles is not None and len(data) == 4:
            return self.handles.get(int.from_bytes(data, "big"))
        raise CodecError(f"unknown ext type {code}")


def _refuse_unhashable(keys: list[Any]) -> NoReturn:
    for key in keys:
        try:
            hash(key)
        except Exception as exc:  # noqa: BLE001 - a Handle's __hash__ may raise anything
            raise KeyRefused(
                f"Hash key {describe_value(key)} cannot be a Python dict key"
                f" ({type(exc).__name__}: {exc})"
            ) from exc
    raise KeyRefused("a Hash key cannot be hashed consistently in Python")


def _refuse_flooding(keys: list[Any]) -> None:
    """Refuse when too many keys share one hash; a few (hash(-1) == hash(-2)) pass."""
    hashes = list(map(hash, keys))
    common, count = Counter(hashes).most_common(1)[0]
    if count <= MAX_KEYS_PER_HASH:
        return
    same = [k for k, h in zip(keys, hashes, strict=True) if h == common][:2]
    raise KeyRefused(
        f"a Hash has {count} keys with one Python hash ({describe_value(same[0])},"
        f" {describe_value(same[1])}, ...): at most {MAX_KEYS_PER_HASH} may share one,"
        " or building the dict would take quadratic time"
    )


def _refuse_merged(keys: list[Any]) -> NoReturn:
    seen: dict[Any, int] = {}
    for index, key in enumerate(keys):
        try:
            first = seen.setdefault(key, index)
        except Exception:  # noqa: BLE001 - it compared once already; now it raises
            break
        if first != index:
            raise KeyRefused(
                f"Hash keys {describe_value(keys[first])} and {describe_value(key)} are"
                " distinct in Ruby but one key in Python"
            )
    raise KeyRefused("Hash keys compare inconsistently in Python")


DESCRIBE_CHARS_MAX = 80


def describe_value(value: Any, limit: int = DESCRIBE_CHARS_MAX) -> str:
    """``value`` written the way Ruby's ``inspect`` writes it, cut near ``limit`` chars."""
    text = "".join(_inspect_parts(value, [limit]))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _inspect_parts(value: Any, left: list[int]) -> Iterator[str]:
    """Yield pieces of ``value``'s inspect until ``left[0]`` characters are spent."""
    if left[0] <= 0:
        return
    if isinstance(value, (tuple, list)):
        pieces: Iterable[Iterable[str]] = (_inspect_parts(v, left) for v in value)
        yield from _bracketed("[", "]", pieces, left)
        return
    if isinstance(value, dict):
        pairs = (
            chain(_inspect_parts(k, left), ("=>",), _inspect_parts(v, left))
            for k, v in value.items()
        )
        yield from _bracketed("{", "}", pairs, left)
        return
    text = _inspect_scalar(value)
    left[0] -= len(text)
    yield text


def _bracketed(
    open_: str, close: str, items: Iterable[Iterable[str]], left: list[int]
) -> Iterator[str]:
    yield open_
    for index, item in enumerate(items):
        if left[0] <= 0:
            yield ", ..."
            break
        if index:
            yield ", "
        yield from item
    yield close


def _inspect_scalar(value: Any) -> str:
    if value is None:
        return "nil"
    if value is True or value is False:
        return str(value).lower()
    if type(value) is Symbol:
        name = str(value)
        return ":" + name if name.isidentifier() else ":" + _quoted(name)
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bytes):
        return _quoted(value.decode("latin-1")) if len(value) <= 64 else f"<{len(value)} bytes>"
    if type(value) is int:
        if value.bit_length() > 128:  # str() of a huge int is slow, or refused
            return f"<an Integer of {value.bit_length()} bits>"
        return str(value)
    if type(value) is float:
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    return f"#<Kobako::Handle ({type(value).__name__})>"


def _quoted(text: str) -> str:
    if len(text) > 64:
        text = text[:64] + "..."
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


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
            wired = {
                to_wire_key(k, handles, depth + 1): to_wire(v, handles, depth + 1)
                for k, v in value.items()
            }
            if len(wired) != len(value) or not _RUBY_DISTINCT_KEY_TYPES.issuperset(
                map(type, wired)
            ):
                _check_ruby_keys(wired, len(value))
            return wired
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


# Wire keys of these types that differ in Python differ in Ruby too; bytes equal to
# a str's UTF-8 (and tuples or hashes holding them) decode to one Ruby String.
_RUBY_DISTINCT_KEY_TYPES = frozenset({type(None), bool, int, float, str, msgpack.ExtType})


def _check_ruby_keys(wired: dict[Any, Any], count: int) -> None:
    """Raise WireError when keys of a dict being sent would be one key in Ruby."""
    seen: dict[Any, Any] = {}
    for key in wired:
        first = seen.setdefault(_ruby_key(key), key)
        if first is not key:
            raise WireError(f"a dict whose keys {first!r:.60} and {key!r:.60} are one key in Ruby")
    if len(wired) != count:
        raise WireError("a dict whose keys are distinct in Python but not on the wire")


def _ruby_key(key: Any) -> Any:
    """``key`` as Ruby's eql? will see it once decoded."""
    if type(key) is bytes:
        try:
            return key.decode("utf-8")
        except UnicodeDecodeError:
            return key
    if type(key) is tuple:
        return tuple(map(_ruby_key, key))
    if isinstance(key, dict):
        return frozenset((_ruby_key(k), _ruby_key(v)) for k, v in key.items())
    return key


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
