"""The value codec's host side: keys that merge or flood, unhashable keys, FrozenHash,
one depth rule in all three directions, the decode budget, and a property test.

Reproducers go through the real guest (Sandbox); the property test drives
``_codec.unpack`` with payloads shaped as the guest writes them, plus fewer examples
written as Ruby literals and run in the Sandbox.
"""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kobako_async import (
    FrozenHash,
    HashKeyError,
    MessageSizeError,
    Sandbox,
    SandboxError,
    Symbol,
)
from kobako_async import _codec as codec
from kobako_async._codec import (
    CALL_WRAPPER_LEVELS,
    EXT_BIGINT,
    EXT_HANDLE,
    EXT_SYMBOL,
    MAX_DEPTH,
    MAX_KEYS_PER_HASH,
    OUTCOME_WRAPPER_LEVELS,
    CodecError,
    HandleTable,
    KeyRefused,
    OverBudget,
    TooDeep,
    object_budget,
    unpack,
)
from kobako_async._sandbox import Usage, decode_outcome

P61 = 2**61 - 1  # CPython's int hash is n mod P61: i * P61 all hash to 0

# ---- helpers ----


def same(a: Any, b: Any) -> bool:
    """Type-exact deep equality: 1 is not 1.0 is not True, "a" is not :a, NaN is NaN;
    dicts compare item by item in order (NaN keys cannot be looked up)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, (int, str, bytes, type(None))):
        return bool(a == b)
    return a is b


def wire(value: Any) -> bytes:
    """``value`` encoded as the guest encodes it; a ``RawMap`` keeps every pair, even
    pairs a Python dict would merge."""
    if isinstance(value, RawMap):
        n = len(value.pairs)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
        if n >= 1 << 16:
            head = b"\xdf" + n.to_bytes(4, "big")
        return head + b"".join(wire(k) + wire(v) for k, v in value.pairs)
    if isinstance(value, (list, tuple)):
        n = len(value)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
        return head + b"".join(wire(v) for v in value)
    if isinstance(value, dict):
        return wire(RawMap(list(value.items())))
    if type(value) is Symbol:
        return msgpack.packb(msgpack.ExtType(EXT_SYMBOL, value.encode()))
    if type(value) is int and not -(2**63) <= value < 2**63:
        return msgpack.packb(msgpack.ExtType(EXT_BIGINT, format(value, "x").encode()))
    if isinstance(value, HandleRef):
        return msgpack.packb(msgpack.ExtType(EXT_HANDLE, value.id.to_bytes(4, "big")))
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


class RawMap:
    """A Hash as the guest sends it: pairs, in order, duplicates kept."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = pairs

    def __repr__(self) -> str:
        return f"RawMap({self.pairs!r})"


class HandleRef:
    """A Handle id on the wire."""

    def __init__(self, handle_id: int) -> None:
        self.id = handle_id

    def __repr__(self) -> str:
        return f"HandleRef({self.id})"


class Counted:
    """A host object with a chosen hash that counts the comparisons made on it."""

    eq_calls = 0

    def __init__(self, tag: int, hash_value: int) -> None:
        self.tag = tag
        self.hash_value = hash_value

    def __hash__(self) -> int:
        return self.hash_value

    def __eq__(self, other: object) -> bool:
        Counted.eq_calls += 1
        return isinstance(other, Counted) and other.tag == self.tag

    def __repr__(self) -> str:
        return f"Counted({self.tag})"


class Unhashable:
    """A host object Python cannot hash."""

    __hash__ = None  # type: ignore[assignment]


def nested(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


def levels(value: Any) -> int:
    count = 0
    while isinstance(value, list):
        value, count = value[0], count + 1
    return count


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(timeout=30.0)


# ---- item 1: hash flooding ----

FLOOD = "p = 2**61 - 1; h = {}; i = 5; while i < 40_005; h[i * p] = 1; i += 1; end; h"


def test_colliding_int_keys_are_refused_before_the_dict_is_built(sandbox: Sandbox) -> None:
    """Integer keys sharing one Python hash: a HashKeyError, not minutes of host CPU."""
    with pytest.raises(
        HashKeyError, match=r"40000 keys with one Python hash .* at most 16"
    ) as info:
        sandbox.run(FLOOD)
    assert info.value.klass == "ArgumentError"
    assert sandbox.run("1 + 1").value == 2


def test_colliding_float_keys_are_refused(sandbox: Sandbox) -> None:
    """Floats m * 2**e and m * 2**(e + 61) share a Python hash: refused alike."""
    script = "h = {}; 30.times { |i| h[3.0 * 2.0**(61 * i - 900)] = i }; h"
    with pytest.raises(HashKeyError, match=r"30 keys with one Python hash"):
        sandbox.run(script)


def test_colliding_keys_in_a_service_argument_raise_a_rescuable_argument_error() -> None:
    """Dispatcher.prepare refuses the flood too: the script sees an ArgumentError it can rescue."""
    received: list[Any] = []
    sandbox = Sandbox(timeout=30.0).bind("Sink", received.append)
    script = FLOOD.removesuffix("h") + (
        "begin; Sink.call(h); :called; rescue ArgumentError => e; e.message; end"
    )
    value = sandbox.run(script).value
    assert type(value) is str
    assert value.startswith("service argument: a Hash has 40000 keys with one Python hash")
    assert received == []


def test_colliding_host_objects_cost_a_bounded_number_of_comparisons() -> None:
    """Handles of objects with one constant hash: refused past the cap with no comparison
    made; at the cap, at most one comparison per pair of colliding keys."""
    handles = HandleTable()
    objects = [Counted(i, 7) for i in range(2000)]
    refs = [HandleRef(handles.add(o)) for o in objects]
    Counted.eq_calls = 0
    with pytest.raises(
        KeyRefused, match=r"2000 keys with one Python hash \(#<Kobako::Handle \(Counted\)>"
    ):
        unpack(wire(RawMap([(r, 1) for r in refs])), handles)
    assert Counted.eq_calls == 0
    cap = MAX_KEYS_PER_HASH
    value = unpack(wire(RawMap([(r, i) for i, r in enumerate(refs[:cap])])), handles)
    assert list(value) == objects[:cap]
    assert Counted.eq_calls <= cap * (cap - 1) // 2


def test_a_few_keys_sharing_a_hash_still_decode(sandbox: Sandbox) -> None:
    """hash(-1) == hash(-2), i * P61 collide in ordinary data: up to 16 per hash decode."""
    value = sandbox.run(
        "p = 2**61 - 1; h = {-1 => :a, -2 => :b}; 14.times { |i| h[(i + 5) * p] = i }; h"
    ).value
    expected = {-1: Symbol("a"), -2: Symbol("b")} | {(i + 5) * P61: i for i in range(14)}
    assert same(value, expected)


# ---- item 2: distinct Ruby keys that Python would merge ----

# (Ruby literal, the Python value it decodes to); pairwise distinct in Ruby.
KEY_KINDS: list[tuple[str, Any]] = [
    ("nil", None),
    ("true", True),
    ("false", False),
    ("0", 0),
    ("1", 1),
    ("2**64", 2**64),
    ("0.0", 0.0),
    ("1.0", 1.0),
    ("2.0**64", 2.0**64),
    ('"a"', "a"),
    (":a", Symbol("a")),
    ('"\\xff"', b"\xff"),
    ("[1]", (1,)),
    ("[1.0]", (1.0,)),
    ("{1 => 1}", FrozenHash({1: 1})),
    ("{1.0 => 1}", FrozenHash({1.0: 1})),
    ("Obj.call", "HANDLE"),
]
KEY_PAIRS = list(itertools.combinations(KEY_KINDS, 2))
THE_OBJECT = object()


def _python_key(value: Any) -> Any:
    return THE_OBJECT if value == "HANDLE" else value


@pytest.fixture(scope="module")
def key_sandbox() -> Sandbox:
    return Sandbox(timeout=30.0).bind("Obj", lambda: THE_OBJECT).bind("Count", len)


@pytest.mark.parametrize(("a", "b"), KEY_PAIRS, ids=[f"{a[0]}|{b[0]}" for a, b in KEY_PAIRS])
def test_every_pair_of_key_kinds_round_trips_or_is_refused(
    key_sandbox: Sandbox, a: tuple[str, Any], b: tuple[str, Any]
) -> None:
    """Two keys distinct in Ruby arrive as two dict entries, or the value is refused naming both."""
    (ruby_a, py_a), (ruby_b, py_b) = a, b
    py_a, py_b = _python_key(py_a), _python_key(py_b)
    script = f"{{{ruby_a} => 1, {ruby_b} => 2}}"
    merges = py_a == py_b
    if merges:
        with pytest.raises(HashKeyError, match=r"distinct in Ruby but one key in Python"):
            key_sandbox.run(script)
    else:
        assert same(key_sandbox.run(script).value, {py_a: 1, py_b: 2})
    # the same rule for a Service argument: the Service never sees fewer entries
    call = f"begin; Count.call({script}); rescue ArgumentError => e; e.message; end"
    reply = key_sandbox.run(call).value
    if merges:
        assert type(reply) is str
        assert reply.startswith("service argument: Hash keys ")
    else:
        assert same(reply, 2)


def test_merged_keys_are_named_in_ruby_terms(sandbox: Sandbox) -> None:
    """The message names both keys as Ruby writes them."""
    with pytest.raises(
        HashKeyError,
        match=r'^ArgumentError: Hash keys "a" and :a are distinct in Ruby but one key in Python$',
    ):
        sandbox.run('{"a" => 1, :a => 2}')
    with pytest.raises(HashKeyError, match=r"Hash keys 1 and 1\.0 are distinct"):
        sandbox.run("{1 => :i, 1.0 => :f, true => :b}")


def test_a_service_never_receives_a_shortened_hash() -> None:
    """{"role" => "user", :role => "admin"} never reaches a Service as one entry."""
    received: list[Any] = []
    sandbox = Sandbox().bind("Chat", received.append)
    script = (
        'begin; Chat.call({"role" => "user", :role => "admin"});'
        " rescue ArgumentError => e; e.message; end"
    )
    assert sandbox.run(script).value == (
        'service argument: Hash keys "role" and :role are distinct in Ruby but one key in Python'
    )
    assert received == []


def test_duplicate_keys_on_the_wire_are_refused() -> None:
    """A payload repeating a key (a broken guest, or a Ruby Hash holding two equal keys)
    is refused, never merged."""
    with pytest.raises(KeyRefused, match=r"^Hash keys \[1, 2\] and \[1, 2\] are distinct"):
        unpack(wire(RawMap([([1, 2], 1), ([1, 2], 2)])))
    with pytest.raises(KeyRefused, match=r'^Hash keys "k" and "k" are distinct'):
        unpack(wire(RawMap([("k", 1), ("k", 2)])))


def test_nan_keys_stay_distinct(sandbox: Sandbox) -> None:
    """Two NaN keys are two entries in Ruby and in Python."""
    value = sandbox.run("{Float::NAN => 1, 0.0 / 0.0 => 2}").value
    assert type(value) is dict
    assert [math.isnan(k) for k in value] == [True, True]
    assert list(value.values()) == [1, 2]


# ---- item 9: unhashable Handles as keys ----


def test_unhashable_handle_key_is_a_sandbox_error_naming_it() -> None:
    """A Hash keyed by a Handle of an unhashable object: HashKeyError, not 'guest broke the ABI'."""
    sandbox = Sandbox().bind("Svc", lambda: Unhashable())
    for script in ("{Svc.call => 1}", "{[Svc.call] => 1}", "{{1 => Svc.call} => 1}"):
        with pytest.raises(
            HashKeyError,
            match=r"#<Kobako::Handle \(Unhashable\)>.* cannot be a Python dict key"
            r" \(TypeError: unhashable type",
        ):
            sandbox.run(script)
    assert same(sandbox.run("[Svc.call].size").value, 1)


def test_unhashable_handle_key_in_a_service_argument_is_rescuable() -> None:
    """The same key in a Service argument is an ArgumentError inside the script."""
    sandbox = Sandbox().bind("Svc", lambda: Unhashable()).bind("Count", len)
    script = "begin; Count.call({Svc.call => 1}); rescue ArgumentError => e; e.message; end"
    value = sandbox.run(script).value
    assert type(value) is str
    assert value.startswith("service argument: Hash key #<Kobako::Handle (Unhashable)> cannot")


def test_a_handle_whose_hash_raises_is_refused() -> None:
    """A host object whose __hash__ raises anything at all is named, never an untyped escape."""

    class Exploding:
        def __hash__(self) -> int:
            raise KeyError("boom")

    sandbox = Sandbox().bind("Svc", lambda: Exploding())
    with pytest.raises(HashKeyError, match=r"cannot be a Python dict key \(KeyError: 'boom'\)"):
        sandbox.run("{Svc.call => 1}")


# ---- item 15: FrozenHash, depth, budget, decode time ----


def _frozen() -> FrozenHash:
    return FrozenHash({"a": 1, Symbol("b"): (2, 3)})


MUTATIONS: list[tuple[str, Any]] = [
    ("setitem", lambda h: h.__setitem__("z", 9)),
    ("delitem", lambda h: h.__delitem__("a")),
    ("clear", lambda h: h.clear()),
    ("pop", lambda h: h.pop("a")),
    ("pop-default", lambda h: h.pop("missing", None)),
    ("popitem", lambda h: h.popitem()),
    ("setdefault", lambda h: h.setdefault("z", 9)),
    ("setdefault-existing", lambda h: h.setdefault("a")),
    ("update", lambda h: h.update({"z": 9})),
    ("update-kwargs", lambda h: h.update(z=9)),
    ("update-empty", lambda h: h.update()),
    ("ior", lambda h: h.__ior__({"z": 9})),
    ("reinit", lambda h: h.__init__({"z": 9})),
]


@pytest.mark.parametrize("mutate", [m for _, m in MUTATIONS], ids=[n for n, _ in MUTATIONS])
def test_frozen_hash_refuses_every_mutation(mutate: Any) -> None:
    """Every mutating method raises TypeError and leaves contents and hash unchanged."""
    key = _frozen()
    before = hash(key)
    with pytest.raises(TypeError, match="FrozenHash is immutable"):
        mutate(key)
    assert same(dict(key), {"a": 1, Symbol("b"): (2, 3)})
    assert hash(key) == before


def test_frozen_hash_in_place_or_raises() -> None:
    """``key |= {...}`` raises instead of changing the key (the issue's reproducer)."""
    key = _frozen()
    before = hash(key)
    with pytest.raises(TypeError, match="FrozenHash is immutable"):
        key |= {"z": 9}
    assert type(key) is FrozenHash
    assert hash(key) == before and len(key) == 2


def test_frozen_hash_copies_and_non_mutating_operators() -> None:
    """``|`` and ``copy()`` give plain dicts; copy, deepcopy, pickle give equal FrozenHashes."""
    key = _frozen()
    merged = key | {"z": 9}
    assert type(merged) is dict and merged == {"a": 1, "b": (2, 3), "z": 9}
    assert type(key.copy()) is dict
    for clone in (copy.copy(key), copy.deepcopy(key), pickle.loads(pickle.dumps(key))):
        assert type(clone) is FrozenHash
        assert same(dict(clone), dict(key)) and hash(clone) == hash(key)
    assert {key: 1}[FrozenHash({"a": 1, "b": (2, 3)})] == 1


def test_frozen_hash_from_the_guest_is_immutable(sandbox: Sandbox) -> None:
    """A Hash used as a key arrives as a FrozenHash that refuses ``|=``."""
    value = sandbox.run("{{x: 1} => 2}").value
    (key,) = value
    assert type(key) is FrozenHash
    with pytest.raises(TypeError, match="immutable"):
        key |= {"z": 9}


DEPTHS = [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1]
NEST = "v = nil; {n}.times {{ v = [v] }}; "


@pytest.mark.parametrize("depth", DEPTHS)
def test_depth_rule_for_the_run_value(sandbox: Sandbox, depth: int) -> None:
    """A run value may nest 128 containers; 129 is a SandboxError."""
    script = NEST.format(n=depth) + "v"
    if depth <= MAX_DEPTH:
        assert same(sandbox.run(script).value, nested(depth))
    else:
        with pytest.raises(
            SandboxError, match=r"^ArgumentError: value nested deeper than 128 levels$"
        ):
            sandbox.run(script)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("how", ["Depth.call(v)", "Depth.call(1, k: v)", "Depth.call({1 => v})"])
def test_depth_rule_for_a_service_argument(depth: int, how: str) -> None:
    """Each Service argument (positional, keyword, or inside a Hash) may nest 128 containers."""

    def depth_of(*args: Any, **kwargs: Any) -> int:
        value = args[0] if not kwargs else kwargs["k"]
        return levels(value[1] if isinstance(value, dict) else value) + isinstance(value, dict)

    sandbox = Sandbox().bind("Depth", depth_of)
    if how.startswith("Depth.call({"):
        depth -= 1  # the Hash is the outer level
    script = NEST.format(n=depth) + f"begin; {how}; rescue ArgumentError => e; e.message; end"
    total = depth + how.startswith("Depth.call({")
    value = sandbox.run(script).value
    if total <= MAX_DEPTH:
        assert same(value, total)
    else:
        assert value == "service argument: value nested deeper than 128 levels"


@pytest.mark.parametrize("depth", DEPTHS)
def test_depth_rule_for_a_service_reply(depth: int) -> None:
    """A Service reply may nest 128 containers; 129 is a Service error the script can rescue."""
    sandbox = Sandbox().bind("Deep", lambda: nested(depth))
    script = (
        "begin; r = Deep.call; d = 0; while r.is_a?(Array); r = r[0]; d += 1; end; d;"
        " rescue Kobako::ServiceError => e; e.message; end"
    )
    value = sandbox.run(script).value
    if depth <= MAX_DEPTH:
        assert same(value, depth)
    else:
        assert (
            value == "ValueError: service returned value nested deeper than 128 levels (or cyclic)"
        )


@pytest.mark.parametrize("depth", DEPTHS)
def test_depth_rule_on_the_host_decoder(depth: int) -> None:
    """unpack applies the same rule below its wrapper levels, for arrays and maps alike."""
    for wrapper, make in (
        (OUTCOME_WRAPPER_LEVELS, lambda v: [0, v]),
        (CALL_WRAPPER_LEVELS, lambda v: ["T", "m", [v], {}]),
    ):
        for value in (nested(depth), {1: nested(depth - 1)}):
            payload = wire(make(value))
            if depth <= MAX_DEPTH:
                assert (
                    levels(unpack(payload, wrapper_levels=wrapper)[-2 if wrapper == 2 else 1]) >= 0
                )
            else:
                with pytest.raises(TooDeep, match="nested deeper than 128 levels"):
                    unpack(payload, wrapper_levels=wrapper)


def test_deep_keys_do_not_recurse_without_bound() -> None:
    """A broken guest nesting 1,000 levels inside a key gets a typed refusal, not RecursionError."""
    payload = b"\x81" + b"\x91" * 1000 + b"\x90" + b"\x01"
    with pytest.raises(TooDeep):
        unpack(payload)
    with pytest.raises(CodecError, match="StackError"):
        unpack(b"\x91" * 5000 + b"\x90")


def test_decode_budget_is_exact_for_the_run_value() -> None:
    """At max_message_bytes 64 KiB a run value may decode into 4096 - 2 containers (the
    outcome and the Array around them count); one more is a MessageSizeError, output kept."""
    sandbox = Sandbox(max_message_bytes=64 << 10)
    budget = object_budget(64 << 10)
    assert budget == 4096
    ok = sandbox.run(f"Array.new({budget - 2}) {{ [] }}").value
    assert type(ok) is list and len(ok) == budget - 2
    with pytest.raises(
        MessageSizeError, match=r"decodes into more than 4096 arrays, hashes and ext values"
    ) as info:
        sandbox.run(f'puts "so far"; Array.new({budget - 1}) {{ [] }}')
    assert info.value.execution.stdout == "so far\n"
    assert sandbox.run("1").value == 1


def test_decode_budget_for_a_service_argument() -> None:
    """A Service call over the budget is a Kobako::MessageSizeError the script can rescue."""
    sandbox = Sandbox(max_message_bytes=64 << 10).bind("Count", len)
    script = (
        "begin; Count.call(Array.new(5000) { [] });"
        " rescue Kobako::MessageSizeError => e; e.message; end"
    )
    value = sandbox.run(script).value
    assert (
        value == "Service call decodes into more than 4096 arrays, hashes and ext values"
        " (max_message_bytes // 16)"
    )
    assert same(sandbox.run("Count.call(Array.new(4000) { [] })").value, 4000)


def test_decode_budget_counts_symbols_and_bigints() -> None:
    """Ext values (Symbols, big Integers) count toward the budget like containers."""
    with pytest.raises(OverBudget):
        unpack(wire([Symbol("s")] * 10), max_objects=10)
    assert unpack(wire([Symbol("s")] * 9), max_objects=10) == [Symbol("s")] * 9
    with pytest.raises(OverBudget):
        unpack(wire([2**70] * 10), max_objects=10)


def test_decoding_time_counts_in_usage() -> None:
    """decode_outcome adds its own time to usage.wall_time_s."""
    payload = wire([0, [[]] * 1000, b"", b"", False, False, False])
    execution = decode_outcome(payload, Usage(0.0, 123))
    assert execution.usage.wall_time_s > 0.0
    assert execution.usage.memory_peak_bytes == 123
    with pytest.raises(OverBudget):
        unpack(payload, max_objects=100)
    assert execution.value == [[]] * 1000


# ---- the property test: every value round-trips exactly or is refused, in bounded work ----

COLLIDING_INTS = [i * P61 for i in range(1, 24)]  # all hash to 0
HOST_OBJECTS: list[Any] = [Counted(i, 7) for i in range(20)] + [Unhashable(), object()]


class Refused(Exception):
    """What the model expects the decoder to refuse, and with which class."""

    def __init__(self, kind: type[Exception]) -> None:
        super().__init__(kind.__name__)
        self.kind = kind


class Model:
    """The decoder's rules written plainly: post-order, like msgpack's hooks."""

    def __init__(self, handles: HandleTable, max_levels: int, max_objects: int) -> None:
        self.handles, self.max_levels, self.left = handles, max_levels, max_objects

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Refused(OverBudget)

    def decode(self, v: Any) -> tuple[Any, int]:
        if isinstance(v, list):
            items = [self.decode(x) for x in v]
            self.spend()
            return [x for x, _ in items], self.levels(items)
        if isinstance(v, RawMap):
            pairs = [(self.decode(k), self.decode(x)) for k, x in v.pairs]
            self.spend()
            keys = [freeze(k) for (k, _), _ in pairs]
            try:
                hashes = [hash(k) for k in keys]
            except TypeError:
                raise Refused(KeyRefused) from None
            if keys and max(hashes.count(h) for h in hashes) > MAX_KEYS_PER_HASH:
                raise Refused(KeyRefused)
            result: dict[Any, Any] = {}
            for key, (_, (value, _)) in zip(keys, pairs, strict=True):
                if key in result:
                    raise Refused(KeyRefused)
                result[key] = value
            return result, self.levels([kl for kl, _ in pairs] + [vl for _, vl in pairs])
        if isinstance(v, HandleRef):
            self.spend()
            return self.handles.get(v.id), 0
        if type(v) is Symbol or (type(v) is int and not -(2**63) <= v < 2**63):
            self.spend()
        return v, 0

    def levels(self, items: list[tuple[Any, int]]) -> int:
        levels = 1 + max((lv for _, lv in items), default=0)
        if levels > self.max_levels:
            raise Refused(TooDeep)
        return levels


def freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict) and not isinstance(value, FrozenHash):
        return FrozenHash({k: freeze(v) for k, v in value.items()})
    return value


def count_keys(v: Any) -> int:
    if isinstance(v, list):
        return sum(map(count_keys, v))
    if isinstance(v, RawMap):
        return len(v.pairs) + sum(count_keys(k) + count_keys(x) for k, x in v.pairs)
    return 0


def count_items(v: Any) -> int:
    if isinstance(v, list):
        return 1 + sum(map(count_items, v))
    if isinstance(v, RawMap):
        return 1 + sum(count_items(k) + count_items(x) for k, x in v.pairs)
    return 1


def height(v: Any) -> int:
    if isinstance(v, list):
        return 1 + max(map(height, v), default=0)
    if isinstance(v, RawMap):
        return 1 + max((max(height(k), height(x)) for k, x in v.pairs), default=0)
    return 0


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([-2, -1, 0, 1, 2**63, 2**64, *COLLIDING_INTS[:4]]),
    st.floats(allow_nan=True),
    st.sampled_from([0.0, -0.0, 1.0, 2.0**64, math.nan, math.inf]),
    st.text(max_size=4),
    st.sampled_from(["a", "b"]),
    st.text(max_size=3).map(Symbol),
    st.sampled_from([Symbol("a"), Symbol("b")]),
    st.binary(max_size=3),
    st.integers(1, len(HOST_OBJECTS)).map(HandleRef),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(children, children), max_size=5).map(RawMap),
    )


values = st.recursive(scalars, _containers, max_leaves=24)
flood_maps = st.builds(
    lambda n, v: RawMap([(k, v) for k in COLLIDING_INTS[:n]]),
    st.integers(MAX_KEYS_PER_HASH - 2, MAX_KEYS_PER_HASH + 3),
    values,
)
handle_floods = st.builds(
    lambda n: RawMap([(HandleRef(i + 1), i) for i in range(n)]),
    st.integers(MAX_KEYS_PER_HASH - 1, MAX_KEYS_PER_HASH + 2),
)
deep_values = st.builds(
    lambda depth, leaf: _wrap(leaf, depth),
    st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2),
    st.one_of(scalars, flood_maps),
)
payload_values = st.one_of(
    values, flood_maps, handle_floods, deep_values, st.lists(values | flood_maps, max_size=3)
)


def _wrap(leaf: Any, depth: int) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else RawMap([(i, leaf)])
    return leaf


def _handle_table() -> HandleTable:
    table = HandleTable()
    for obj in HOST_OBJECTS:
        table.add(obj)
    return table


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=payload_values, budget=st.sampled_from([8, 40, 10_000]))
def test_decoding_round_trips_or_refuses_in_bounded_work(value: Any, budget: int) -> None:
    """Every value decodes exactly (type-exact) or is refused with the typed error the
    rules name; comparisons on host objects stay within 16 per key."""
    handles = _handle_table()
    payload = wire([0, value])
    note(f"payload {payload.hex()}")
    try:
        expected: Any = Model(handles, MAX_DEPTH + OUTCOME_WRAPPER_LEVELS, budget).decode(
            [0, value]
        )[0]
    except Refused as refusal:
        expected = refusal
    Counted.eq_calls = 0
    if isinstance(expected, Refused):
        with pytest.raises(expected.kind):
            unpack(payload, handles, wrapper_levels=OUTCOME_WRAPPER_LEVELS, max_objects=budget)
    else:
        decoded = unpack(
            payload, handles, wrapper_levels=OUTCOME_WRAPPER_LEVELS, max_objects=budget
        )
        assert same(decoded, expected)
    assert Counted.eq_calls <= MAX_KEYS_PER_HASH * max(1, count_keys(value))


def test_refusal_messages_are_typed_and_bounded() -> None:
    """Refusal messages stay short even for huge keys (no str() of a 10**6-bit int)."""
    huge = 2**1_000_000
    with pytest.raises(KeyRefused, match=r"^Hash keys <an Integer of 1000001 bits> and") as info:
        unpack(wire(RawMap([(huge, 1), (huge, 2)])))
    assert len(str(info.value)) < 200
    big_key = ["x" * 1000] * 50
    with pytest.raises(KeyRefused) as info:
        unpack(wire(RawMap([(big_key, 1), (big_key, 2)])))
    assert len(str(info.value)) < 250


# ---- the same through the Sandbox, from Ruby literals ----


def ruby_literal(v: Any) -> str:
    """``v`` as a Ruby literal that builds exactly the value the guest then sends."""
    if v is None:
        return "nil"
    if v is True or v is False:
        return str(v).lower()
    if type(v) is int:
        # big literals go through a String: mruby's parser pools a bignum literal and
        # its negation as one constant
        return str(v) if -(2**62) < v < 2**62 else f'"{v}".to_i'
    if type(v) is float:
        if math.isinf(v):
            return "Float::INFINITY" if v > 0 else "(-Float::INFINITY)"
        return repr(v)
    if type(v) is Symbol:
        return ":" + _ruby_string(v)
    if type(v) is str:
        return _ruby_string(v)
    if type(v) is bytes:
        return '"' + "".join(f"\\x{b:02x}" for b in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(map(ruby_literal, v)) + "]"
    if isinstance(v, RawMap):
        return "{" + ", ".join(f"{ruby_literal(k)} => {ruby_literal(x)}" for k, x in v.pairs) + "}"
    raise AssertionError(v)


def _ruby_string(text: str) -> str:
    safe = (
        c if c.isascii() and c.isprintable() and c not in '"\\#' else f"\\u{{{ord(c):x}}}"
        for c in text
    )
    return '"' + "".join(safe) + '"'


def ruby_identity(v: Any) -> Any:
    """What Ruby's eql? compares: kind and value (Hashes regardless of order)."""
    if isinstance(v, list):
        return ("a", tuple(map(ruby_identity, v)))
    if isinstance(v, RawMap):
        return ("h", frozenset((ruby_identity(k), ruby_identity(x)) for k, x in v.pairs))
    return (type(v).__name__, v)


ruby_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([-2, -1, 0, 1, 2**64, *COLLIDING_INTS[:3]]),
    st.floats(allow_nan=False).filter(lambda f: f != 0 or math.copysign(1, f) > 0),
    st.sampled_from([1.0, 2.0**64]),
    st.text(max_size=3),
    st.text(max_size=3).map(Symbol),
    st.sampled_from(["a", Symbol("a")]),
    st.binary(min_size=1, max_size=2).map(lambda b: b"\xff" + b),
)


def _ruby_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    pairs = st.lists(
        st.tuples(children, children), max_size=4, unique_by=lambda p: ruby_identity(p[0])
    )
    return st.one_of(st.lists(children, max_size=3), pairs.map(RawMap))


ruby_values = st.recursive(ruby_scalars, _ruby_containers, max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=ruby_values)
def test_ruby_literals_round_trip_or_raise_hash_key_error(sandbox: Sandbox, value: Any) -> None:
    """A value written in Ruby comes back exactly, or as a HashKeyError when Python would
    merge or flood its keys."""
    script = ruby_literal(value)
    note(script)
    model = Model(HandleTable(), MAX_DEPTH + OUTCOME_WRAPPER_LEVELS, 1 << 20)
    try:
        expected: Any = model.decode(value)[0]
    except Refused as refusal:
        assert refusal.kind is KeyRefused
        with pytest.raises(HashKeyError, match=r"one key in Python|keys with one Python hash"):
            sandbox.run(script)
    else:
        assert same(sandbox.run(script).value, expected)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_pool_refuses_a_flood_in_the_parent_and_keeps_serving(anyio_backend: str) -> None:
    """The parent decodes outcomes and calls: the flood is a HashKeyError there too, and
    the Pool goes on serving runs and Service calls."""
    from kobako_async import Pool

    async with Pool(workers=1, timeout=30.0) as pool:
        pool.bind("Count", len)
        with pytest.raises(HashKeyError, match="40000 keys with one Python hash"):
            await pool.run(FLOOD)
        call = FLOOD.removesuffix("h") + "begin; Count.call(h); rescue ArgumentError => e; 1; end"
        assert same((await pool.run(call)).value, 1)
        assert same((await pool.run("Count.call([1, 2])")).value, 2)


@pytest.mark.parametrize(
    "reply",
    [
        {"a": 1, b"a": 2},
        {("a", 1): 1, (b"a", 1): 2},
        {FrozenHash({"k": "a"}): 1, FrozenHash({"k": b"a"}): 2},
    ],
    ids=["str-bytes", "in-tuple", "in-frozen-hash"],
)
def test_a_reply_never_loses_entries_in_ruby(reply: dict[Any, Any]) -> None:
    """A Service reply whose distinct Python keys would be one Ruby key (a str and the same
    bytes) is a Service error, not a shorter Hash."""
    sandbox = Sandbox().bind("Svc", lambda: reply)
    script = "begin; Svc.call.size; rescue Kobako::ServiceError => e; e.message; end"
    value = sandbox.run(script).value
    assert type(value) is str
    assert value.startswith("ValueError: service returned a dict whose keys ")
    assert value.endswith(" are one key in Ruby")


def test_a_reply_with_distinct_bytes_and_str_keys_keeps_them() -> None:
    """Invalid-UTF-8 bytes and str keys stay apart in Ruby: the reply arrives whole."""
    sandbox = Sandbox().bind("Svc", lambda: {"a": 1, b"\xff": 2, ("a",): 3, (b"\xff",): 4})
    assert same(sandbox.run("Svc.call.size").value, 4)


# ---- mutation testing: exact messages and boundaries mutmut found unchecked ----


def test_frozen_hash_refuses_mutation_with_an_exact_message() -> None:
    """Mutating a FrozenHash raises TypeError("FrozenHash is immutable")."""
    frozen = FrozenHash({"a": 1})
    with pytest.raises(TypeError, match=r"^FrozenHash is immutable$"):
        frozen["b"] = 2
    assert frozen == {"a": 1}


def test_describe_value_cuts_at_its_limit_exactly() -> None:
    """A description of exactly ``limit`` chars is whole; a longer one is cut to
    ``limit - 3`` chars plus "..."."""
    assert codec.describe_value("abcdef", limit=8) == '"abcdef"'
    assert codec.describe_value("abcdefghij", limit=8) == '"abcd...'


def test_describe_value_quotes_64_chars_and_cuts_the_65th() -> None:
    """A string shows at most 64 chars, then "..." inside the quotes; quotes are escaped."""
    assert codec.describe_value("a" * 64, limit=200) == '"' + "a" * 64 + '"'
    assert codec.describe_value("a" * 65, limit=200) == '"' + "a" * 64 + '..."'
    assert codec.describe_value('say "hi"') == '"say \\"hi\\""'


def test_describe_value_writes_hashes_the_ruby_way() -> None:
    """A Hash is described as Ruby's inspect writes it: key=>value pairs."""
    assert codec.describe_value({"a": 1}) == '{"a"=>1}'
    assert codec.describe_value({Symbol("k"): [1, None], 2.5: True}) == "{:k=>[1, nil], 2.5=>true}"


def test_flooding_message_names_the_first_two_colliding_keys() -> None:
    """The flooding KeyRefused names the count, the first two colliding keys and the cap."""
    keys = [3.0 * 2.0 ** (61 * i - 900) for i in range(MAX_KEYS_PER_HASH + 1)]
    assert len({hash(k) for k in keys}) == 1
    payload = msgpack.packb(dict.fromkeys(keys, 1))
    expected = (
        f"a Hash has 17 keys with one Python hash ({keys[0]!r}, {keys[1]!r}, ...):"
        " at most 16 may share one, or building the dict would take quadratic time"
    )
    with pytest.raises(KeyRefused) as info:
        unpack(payload)
    assert str(info.value) == expected


def test_merged_keys_message_names_the_pair_that_merged() -> None:
    """The merge KeyRefused names the two keys Python merges, not the first key seen."""
    payload = msgpack.packb({"x": 1, "a": 2, msgpack.ExtType(EXT_SYMBOL, b"a"): 3})
    with pytest.raises(KeyRefused) as info:
        unpack(payload)
    assert str(info.value) == 'Hash keys "a" and :a are distinct in Ruby but one key in Python'


class _IdentityInt(int):
    """An int whose instances are distinct dict keys though they send the same Integer."""

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def test_dict_keys_distinct_in_python_but_equal_on_the_wire_are_refused() -> None:
    """Two keys Python keeps apart that send one wire key raise an exact WireError."""
    value = {_IdentityInt(1): "a", _IdentityInt(1): "b"}
    assert len(value) == 2
    with pytest.raises(
        codec.WireError, match=r"^a dict whose keys are distinct in Python but not on the wire$"
    ):
        codec.to_wire(value, None)


@pytest.mark.parametrize(
    "keys",
    [
        (FrozenHash({"a": 1}), FrozenHash({"b": 1})),
        (FrozenHash({"a": 1}), FrozenHash({"a": 2})),
    ],
    ids=["keys-differ", "values-differ"],
)
def test_hash_keys_differing_in_a_key_or_a_value_are_sent_apart(
    keys: tuple[FrozenHash, FrozenHash],
) -> None:
    """Hash-valued dict keys that differ in one key or one value stay two keys."""
    wired = codec.to_wire({keys[0]: 1, keys[1]: 2}, None)
    assert wired == {keys[0]: 1, keys[1]: 2}
    assert unpack(codec.pack(wired)) == {keys[0]: 1, keys[1]: 2}


def test_host_object_dict_key_becomes_a_handle() -> None:
    """A host object used as a dict key is sent as a Handle in the table."""
    table = HandleTable()
    obj = object()
    wired = codec.to_wire({obj: 1}, table)
    assert list(wired.values()) == [1]
    (key,) = wired
    assert type(key) is msgpack.ExtType and key.code == EXT_HANDLE
    assert table.get(int.from_bytes(key.data, "big")) is obj


def _nested_tuple(levels: int) -> tuple[Any, ...]:
    value: tuple[Any, ...] = ()
    for _ in range(levels - 1):
        value = (value,)
    return value


def test_a_dict_key_counts_the_dicts_level() -> None:
    """A key nests under its dict: 127 levels in a key are sent, 128 are too deep."""
    assert codec.to_wire({_nested_tuple(MAX_DEPTH - 1): 1}, None) is not None
    with pytest.raises(codec.WireError, match=r"^value nested deeper than 128 levels"):
        codec.to_wire({_nested_tuple(MAX_DEPTH): 1}, None)


def test_unpack_outline_keeps_str_and_bytes_apart() -> None:
    """The outline decodes str as str and bin as bytes, the skipped item as None."""
    payload = msgpack.packb([1, "skipped", "text", b"\xff"], use_bin_type=True)
    items = codec.unpack_outline(payload, 1)
    assert items == [1, None, "text", b"\xff"]
    assert items is not None and type(items[2]) is str and type(items[3]) is bytes


@pytest.mark.parametrize(
    ("small", "big"),
    [
        (list(range(16)), list(range(17))),
        ({str(i): i for i in range(16)}, {str(i): i for i in range(17)}),
        (msgpack.ExtType(5, b"x" * 16), msgpack.ExtType(5, b"x" * 17)),
    ],
    ids=["array", "map", "ext"],
)
def test_unpack_outline_keeps_items_of_16_and_refuses_17(small: Any, big: Any) -> None:
    """An outline item may hold 16 elements (or ext bytes); 17 make the outline None."""
    assert codec.unpack_outline(msgpack.packb([0, small]), 0) == [None, small]
    assert codec.unpack_outline(msgpack.packb([0, big]), 0) is None
