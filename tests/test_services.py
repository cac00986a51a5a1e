"""Services: Sandbox.bind, calls, values both ways, Handles, errors, security and scale.

Everything goes through the real guest except where a rule can only be reached from
the host side (a stale Handle id, the Handle id cap); those drive the run's own
Dispatcher, captured while a real run uses it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import math
import os
import random
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st

from kobako_async import (
    FILLABLE,
    HandleExhaustedError,
    NoServiceError,
    Sandbox,
    SandboxError,
    ServiceError,
    Symbol,
)
from kobako_async._codec import EXT_HANDLE, HandleExhausted, HandleTable, StaleHandle, unpack
from kobako_async._services import Dispatcher

# ---- helpers ----


class Geo:
    """A plain service object."""

    def __init__(self) -> None:
        self.calls = 0

    def lookup(self, name: str, zoom: int = 1) -> dict[str, Any]:
        self.calls += 1
        return {"name": name, "zoom": zoom}

    def add(self, a: int, b: int) -> int:
        self.calls += 1
        return a + b

    def echo(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.calls += 1
        return [list(args), kwargs]


class Conn:
    """An object with no wire form: it reaches the guest as a Kobako::Handle."""

    def __init__(self, n: int) -> None:
        self.n = n  # a non-callable attribute
        self.getter_ran = False

    def query(self, q: str) -> str:
        return f"{self.n}:{q}"

    def _secret(self) -> str:
        return "secret"

    @property
    def status(self) -> str:
        self.getter_ran = True
        return "leaked"


class Db:
    """Makes Conns and checks what comes back."""

    def __init__(self) -> None:
        self.made: list[Conn] = []

    def connect(self, n: int = 0) -> Conn:
        conn = Conn(n)
        self.made.append(conn)
        return conn

    def is_last(self, conn: object) -> bool:
        return conn is self.made[-1]

    def kind(self, value: object) -> str:
        return type(value).__name__


def recording_echo() -> tuple[list[tuple[tuple[Any, ...], dict[str, Any]]], Any]:
    """A function service returning its first argument; it records every call."""
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def echo(*args: Any, **kwargs: Any) -> Any:
        seen.append((args, kwargs))
        return args[0] if args else None

    return seen, echo


@pytest.fixture
def dispatchers(monkeypatch: pytest.MonkeyPatch) -> list[Dispatcher]:
    """Every Dispatcher that served a Service call during the test, in order."""
    seen: list[Dispatcher] = []
    original = Dispatcher.dispatch

    def recording(self: Dispatcher, payload: bytes) -> bytes:
        if not seen or seen[-1] is not self:
            seen.append(self)
        return original(self, payload)

    monkeypatch.setattr(Dispatcher, "dispatch", recording)
    return seen


def handle_call(handle_id: int, method: str) -> bytes:
    """A guest Service call whose target is Handle ``handle_id`` (ext type 3)."""
    target = msgpack.ExtType(EXT_HANDLE, handle_id.to_bytes(4, "big"))
    return msgpack.packb([target, method, [], {}], use_bin_type=True)  # type: ignore[no-any-return]


# ---- 1. binding ----


@pytest.mark.parametrize("path", ["KV::Lookup", "Geo", "A::B::C", "A1::B_2"])
def test_valid_paths_are_constants(path: str) -> None:
    """A ::-separated path of constant names binds and is reachable as that constant."""
    sandbox = Sandbox().bind(path, lambda x: x * 2)
    assert sandbox.run(f"{path}.call(21)").value == 42


@pytest.mark.parametrize(
    "path", ["kv", "A::", "::A", "A::b", "A B", "", "A:::B", "A::::B", "Ä", 1, None, b"Geo"]
)
def test_malformed_paths_are_refused(path: object) -> None:
    """A path that is not a str of ::-separated constant names raises ValueError."""
    with pytest.raises(ValueError, match="service path"):
        Sandbox().bind(path, len)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["Kobako", "Kobako::X", "Object", "BasicObject::X", "Kernel"])
def test_reserved_roots_are_refused(path: str) -> None:
    """Paths under the guest's own Kobako, Object, BasicObject or Kernel raise ValueError."""
    with pytest.raises(ValueError, match="reserved"):
        Sandbox().bind(path, len)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Geo", "Geo"),
        ("A::B", "A::B"),
        ("A::B", "A"),
        ("A::B::C", "A"),
        ("A", "A::B"),
        ("A::B", "A::B::C::D"),
    ],
    ids=["equal", "equal-nested", "ancestor", "grand-ancestor", "descendant", "deep-descendant"],
)
def test_conflicting_paths_are_refused(first: str, second: str) -> None:
    """A path equal to, above or below a bound one raises ValueError; the first stays bound."""
    sandbox = Sandbox().bind(first, lambda: "first")
    with pytest.raises(ValueError, match=f"conflicts with bound '{first}'"):
        sandbox.bind(second, lambda: "second")
    assert sandbox.run(f"{first}.call").value == "first"


def test_siblings_and_name_prefixes_do_not_conflict() -> None:
    """A::B beside A::C, and A beside AB, are independent paths."""
    sandbox = Sandbox().bind("A::B", lambda: "b").bind("A::C", lambda: "c")
    sandbox.bind("AB", lambda: "ab").bind("A::BC", lambda: "bc")
    assert sandbox.run("[A::B.call, A::C.call, AB.call, A::BC.call]").value == [
        "b",
        "c",
        "ab",
        "bc",
    ]


def test_bind_returns_the_sandbox() -> None:
    """bind returns the Sandbox itself, so bindings chain."""
    sandbox = Sandbox()
    assert sandbox.bind("One", lambda: 1) is sandbox
    assert sandbox.bind("Two", lambda: 2).bind("Three") is sandbox


def test_bindings_persist_across_runs() -> None:
    """A bound Service is there in every run, while script state is not."""
    geo = Geo()
    sandbox = Sandbox().bind("Geo", geo)
    assert sandbox.run("X = 1; Geo.add(1, 2)").value == 3
    assert sandbox.run("[Geo.add(3, 4), Object.const_defined?(:X)]").value == [7, False]
    assert geo.calls == 2


def test_fillable_path_is_filled_per_run() -> None:
    """bind(path) declares a path each run fills with run(bind=...); unfilled calls fail."""
    assert inspect.signature(Sandbox.bind).parameters["obj"].default is FILLABLE
    sandbox = Sandbox().bind("Req")
    assert sandbox.run("Req.call", bind={"Req": lambda: "one"}).value == "one"
    assert sandbox.run("Req.call", bind={"Req": lambda: "two"}).value == "two"
    with pytest.raises(NoServiceError, match="Req is not filled for this run"):
        sandbox.run("Req.call")


def test_unfilled_path_is_rescuable_as_no_method_error() -> None:
    """Calling an unfilled path is a NoMethodError in the guest."""
    sandbox = Sandbox().bind("Req")
    script = "begin; Req.call; rescue NoMethodError => e; [e.class.name, e.message]; end"
    assert sandbox.run(script).value == ["Kobako::NoServiceError", "Req is not filled for this run"]


def test_per_run_binding_shadows_for_that_run_only() -> None:
    """run(bind={path: obj}) replaces a bound Service for one run; the next sees the original."""
    sandbox = Sandbox().bind("Geo", lambda: "original")
    assert sandbox.run("Geo.call", bind={"Geo": lambda: "shadow"}).value == "shadow"
    assert sandbox.run("Geo.call").value == "original"


def test_per_run_binding_may_add_a_new_path_for_that_run() -> None:
    """A per-run binding at a new path exists for that run only."""
    sandbox = Sandbox().bind("Geo", lambda: "geo")
    assert sandbox.run("[Geo.call, Extra::X.call]", bind={"Extra::X": lambda: 1}).value == [
        "geo",
        1,
    ]
    with pytest.raises(SandboxError, match="Extra") as info:
        sandbox.run("Extra::X.call")
    assert info.value.klass == "NameError"


@pytest.mark.parametrize(
    ("bind", "match"),
    [
        ({"Geo::Inner": len}, "conflicts with bound 'Geo'"),
        ({"A": len, "A::B": len}, "conflicts with bound 'A'"),
        ({"bad path": len}, "invalid service path"),
        ({"Req": FILLABLE}, "needs an object"),
    ],
)
def test_bad_per_run_bindings_are_refused(bind: dict[str, Any], match: str) -> None:
    """Per-run bindings obey the path rules, may not nest with others, and need an object."""
    sandbox = Sandbox().bind("Geo", Geo()).bind("Req")
    with pytest.raises(ValueError, match=match):
        sandbox.run("nil", bind=bind)


async def _async_service() -> int:
    return 1


class _AsyncCall:
    async def call(self) -> int:
        return 1


class _AsyncMethod:
    async def fetch(self) -> int:
        return 1


@pytest.mark.parametrize(
    "obj", [_async_service, _AsyncCall(), _AsyncCall().call], ids=["def", "call-method", "bound"]
)
def test_async_service_is_refused_naming_pool(obj: object) -> None:
    """Binding an async def on the sync Sandbox raises TypeError pointing at Pool."""
    with pytest.raises(TypeError, match=r"kobako_async\.Pool"):
        Sandbox().bind("Svc", obj)
    with pytest.raises(TypeError, match=r"kobako_async\.Pool"):
        Sandbox().bind("Svc").run("nil", bind={"Svc": obj})


def test_async_method_fails_at_call_naming_pool() -> None:
    """An async method on a bound object fails its call with a ServiceError naming Pool."""
    sandbox = Sandbox().bind("Svc", _AsyncMethod())
    with pytest.raises(ServiceError, match="Pool") as info:
        sandbox.run("Svc.fetch")
    assert info.value.klass == "TypeError"


def test_service_of_another_sandbox_is_not_reachable(dispatchers: list[Dispatcher]) -> None:
    """A Service bound in one Sandbox is neither a constant nor a call target in another."""
    Sandbox().bind("Secret", lambda: "secret")
    other = Sandbox().bind("Mine", lambda: "mine")
    with pytest.raises(SandboxError, match="Secret") as info:
        other.run("Secret.call")
    assert info.value.klass == "NameError"
    assert other.run("Mine.call").value == "mine"
    reply = dispatchers[-1].dispatch(msgpack.packb(["Secret", "call", [], {}]))
    assert unpack(reply) == [1, ["Kobako::NoServiceError", "no service is bound at Secret"]]


# ---- 2. calls ----


def test_positional_arguments() -> None:
    """Positional arguments arrive in order."""
    geo = Geo()
    assert Sandbox().bind("Geo", geo).run("Geo.add(40, 2)").value == 42
    assert geo.calls == 1


def test_keyword_arguments_arrive_as_python_keywords() -> None:
    """Brace-less k: v after positional arguments arrive as Python keyword arguments."""
    geo = Geo()
    sandbox = Sandbox().bind("Geo", geo)
    assert sandbox.run('Geo.lookup("x", zoom: 3)').value == {"name": "x", "zoom": 3}
    args, kwargs = sandbox.run('Geo.echo(1, a: 2, "b" => 3)').value
    assert args == [1] and kwargs == {"a": 2, "b": 3}


def test_keyword_only_call() -> None:
    """A call with only keyword arguments passes them as Python keywords (Geo.lookup(name: "x"))."""
    sandbox = Sandbox().bind("Geo", Geo()).bind("KV::Lookup", lambda *, k: k)
    assert sandbox.run('Geo.lookup(name: "x")').value == {"name": "x", "zoom": 1}
    assert sandbox.run('KV::Lookup.call(k: "v")').value == "v"
    assert sandbox.run("Geo.echo(**{a: 1})").value == [[], {"a": 1}]


def test_keyword_names_are_plain_str() -> None:
    """Keyword names reach Python as str, not Symbol."""
    seen, echo = recording_echo()
    Sandbox().bind("Echo", echo).run("Echo.call(0, alpha: 1)")
    ((_, kwargs),) = seen
    assert [type(k) for k in kwargs] == [str]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("Geo.echo(1, {a: 2})", [[1, {Symbol("a"): 2}], {}]),
        ('Geo.echo(1, {"a" => 2})', [[1, {"a": 2}], {}]),
        ("Geo.echo(1, {:a => 2})", [[1, {Symbol("a"): 2}], {}]),
        ("Geo.echo({a: 2})", [[{Symbol("a"): 2}], {}]),
        ("h = {a: 2}; Geo.echo(h)", [[{Symbol("a"): 2}], {}]),
        ("Geo.echo(1, a: 2)", [[1], {"a": 2}]),
    ],
)
def test_braced_hash_stays_positional(script: str, expected: list[Any]) -> None:
    """An explicit {k => v} or {k: v} is one positional Hash; brace-less k: v is keywords."""
    assert Sandbox().bind("Geo", Geo()).run(script).value == expected


def test_call_reaches_plain_functions_lambdas_and_builtins() -> None:
    """`call` on a bound function, lambda or builtin calls it."""

    def double(x: int) -> int:
        return 2 * x

    sandbox = Sandbox().bind("Double", double).bind("Neg", lambda x: -x).bind("Len", len)
    assert sandbox.run('[Double.call(4), Neg.call(4), Len.call("abc")]').value == [8, -4, 3]


def test_methods_of_objects_and_classes() -> None:
    """Methods, classmethods and staticmethods of bound objects and classes are callable."""

    class Tools:
        def inst(self) -> str:
            return "inst"

        @classmethod
        def klass(cls) -> str:
            return cls.__name__

        @staticmethod
        def static() -> str:
            return "static"

    sandbox = Sandbox().bind("T", Tools()).bind("K", Tools)
    assert sandbox.run("[T.inst, T.klass, T.static, K.klass, K.static]").value == [
        "inst",
        "Tools",
        "static",
        "Tools",
        "static",
    ]


@pytest.mark.parametrize("script", ["Geo.add(1, 2) { }", "b = proc { }; Geo.add(1, 2, &b)"])
def test_block_is_argument_error_in_guest(script: str) -> None:
    """Passing a block raises ArgumentError in the guest; the Service is not called."""
    geo = Geo()
    sandbox = Sandbox().bind("Geo", geo)
    with pytest.raises(SandboxError, match="take no block") as info:
        sandbox.run(script)
    assert info.value.klass == "ArgumentError"
    rescued = sandbox.run(f"begin; {script}; rescue ArgumentError => e; e.class.name; end")
    assert rescued.value == "ArgumentError"
    assert geo.calls == 0


def test_kobako_call_goes_through_the_same_rules() -> None:
    """Kobako.__call, the proxies' door to the host, accepts only proxies and applies the rules."""
    sandbox = Sandbox().bind("Geo", Geo())
    assert sandbox.run("Kobako.__call(Geo, :add, [1, 2], {})").value == 3
    with pytest.raises(NoServiceError, match="undefined method '__class__' for Geo"):
        sandbox.run("Kobako.__call(Geo, :__class__, [], {})")
    with pytest.raises(SandboxError, match="not a Kobako::Service or Kobako::Handle"):
        sandbox.run('Kobako.__call("Geo", :add, [1, 2], {})')


# ---- 3. values both ways ----

# Exact comparison: same type at every level (bool is not int, Symbol is not str,
# bytes is not str), NaN equals NaN, and 0.0 is not -0.0. Dicts compare in order.


def same(a: Any, b: Any) -> bool:
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
    return bool(a == b)


def as_received(value: Any) -> Any:
    """What ``value`` comes back as: tuple values become lists; keys stay as they are."""
    if isinstance(value, (list, tuple)):
        return [as_received(v) for v in value]
    if isinstance(value, dict):
        return {k: as_received(v) for k, v in value.items()}
    return value


def depth(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((max(depth(k), depth(v)) for k, v in value.items()), default=0)
    return 0


def _invalid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)  # no lone surrogates
# Bytes that are valid UTF-8 arrive in Ruby as a String and come back as str, so only
# invalid UTF-8 is generated as bytes: some random, some with a known-bad sequence.
_BYTES = st.one_of(
    st.binary(min_size=1, max_size=8).filter(_invalid_utf8),
    st.tuples(
        st.binary(max_size=4),
        st.sampled_from([b"\xff", b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf8\x88", b"\xe2\x82"]),
        st.binary(max_size=4),
    )
    .map(b"".join)
    .filter(_invalid_utf8),
)
_INTS = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, -(2**64), 2**31]),
)
_SYMBOLS = st.builds(Symbol, _TEXT)
_KEY_SCALARS = st.one_of(
    st.none(), st.booleans(), _INTS, st.floats(allow_nan=False), _TEXT, _BYTES, _SYMBOLS
)
_KEYS = st.recursive(
    _KEY_SCALARS, lambda inner: st.tuples(inner, inner) | st.tuples(inner), max_leaves=4
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), _INTS, st.floats(allow_nan=True), _TEXT, _BYTES, _SYMBOLS
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=4),
    ),
    max_leaves=12,
).filter(lambda v: depth(v) < 10)

# Randomized per session (derandomize=False), yet reproducible: the seed is printed
# with the falsifying example (note), and KOBAKO_HYPOTHESIS_SEED=<seed> replays it;
# print_blob=True also prints an @reproduce_failure blob for the exact example.
HYPOTHESIS_SEED = int(os.environ.get("KOBAKO_HYPOTHESIS_SEED") or random.randrange(2**32))

_round_trip_sandbox = functools.cache(Sandbox)


@seed(HYPOTHESIS_SEED)
@settings(
    max_examples=500,
    deadline=None,
    print_blob=True,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(VALUES)
def test_values_round_trip_both_ways(value: Any) -> None:
    """Any nested value goes Python → guest (a return) → Python (an argument) → guest →
    Python (the run's value), equal and with exact types at every step."""
    note(f"KOBAKO_HYPOTHESIS_SEED={HYPOTHESIS_SEED}")
    seen, echo = recording_echo()
    bind = {"Src": lambda: value, "Echo": echo}
    ex = _round_trip_sandbox().run("x = Src.call; Echo.call(x)", bind=bind)
    expected = as_received(value)
    ((args, kwargs),) = seen
    assert kwargs == {}
    assert same(args[0], expected), f"as a Service argument: {args[0]!r}"
    assert same(ex.value, expected), f"as the run's value: {ex.value!r}"


def test_guest_literals_arrive_with_exact_types() -> None:
    """Ruby values written in the script arrive as Service arguments with their Python types."""
    seen, echo = recording_echo()
    Sandbox().bind("Echo", echo).run(
        r'Echo.call(nil, true, false, -7, 2**70, -(2**70), 1.5, "é", "\xff", :sym,'
        r" [1, [2]], {[1, 2] => {a: 1}}, Float::NAN)"
    )
    ((args, _),) = seen
    expected = (
        None, True, False, -7, 2**70, -(2**70), 1.5, "é", b"\xff", Symbol("sym"),
        [1, [2]], {(1, 2): {Symbol("a"): 1}}, math.nan,
    )  # fmt: skip
    assert same(list(args), list(expected))


def test_bigints_from_python() -> None:
    """Integers at and beyond the int64 edges, both signs, arrive intact in the guest."""
    values = [2**63 - 1, 2**63, 2**64, 2**200, -(2**63), -(2**63) - 1, -(2**64), -(2**200) + 7]
    sandbox = Sandbox().bind("Src", lambda: values)
    assert sandbox.run("Src.call.map(&:to_s)").value == [str(v) for v in values]


def test_tuples_become_lists_and_array_keys_become_tuples() -> None:
    """A Python tuple value comes back as a list; a list used as a Hash key as a tuple."""
    sandbox = Sandbox().bind("Src", lambda: {(1, (2,)): (3, (4,))})
    value = sandbox.run("h = Src.call; [h, h.keys[0].class.name, h.values[0].class.name]").value
    assert same(value, [{(1, (2,)): [3, [4]]}, "Array", "Array"])


def test_empty_symbol_round_trips() -> None:
    """The empty Symbol :"" round-trips like any other Symbol."""
    assert same(Sandbox().run(':""').value, Symbol(""))
    seen, echo = recording_echo()
    sandbox = Sandbox().bind("Echo", echo).bind("Src", lambda: Symbol(""))
    assert sandbox.run('Src.call == :""').value is True
    assert same(sandbox.run('Echo.call(:"")').value, Symbol(""))
    assert same(seen[0][0][0], Symbol(""))


# ---- 4. Handles ----


def test_object_without_wire_form_is_a_handle() -> None:
    """A Service returning an object with no wire form gives the script a Kobako::Handle."""
    sandbox = Sandbox().bind("Db", Db())
    value = sandbox.run("c = Db.connect; [Kobako::Handle === c, Kobako::Service === Db, c.inspect]")
    assert value.value[:2] == [True, True]
    assert value.value[2].startswith("#<Kobako::Handle #")


def test_handle_methods_dispatch_to_the_object() -> None:
    """Calling a Handle's method calls the host object's method, arguments and all."""
    sandbox = Sandbox().bind("Db", Db())
    assert sandbox.run('c = Db.connect(3); [c.query("x"), c.__send__(:query, "y")]').value == [
        "3:x",
        "3:y",
    ]


def test_handle_passed_back_is_the_same_object() -> None:
    """A Handle given back as an argument resolves to the very object it stands for."""
    db = Db()
    sandbox = Sandbox().bind("Db", db)
    assert sandbox.run("c = Db.connect; [Db.is_last(c), Db.kind(c)]").value == [True, "Conn"]
    assert sandbox.run("c = Db.connect; Db.connect; Db.is_last(c)").value is False


def test_handle_in_run_value_is_the_host_object() -> None:
    """A Handle in the run's final value (at any depth) is restored to the host object itself."""
    db = Db()
    value = Sandbox().bind("Db", db).run("a = Db.connect; b = Db.connect; [a, {k: [b, a]}]").value
    a, b = db.made
    assert value[0] is a
    assert value[1][Symbol("k")][0] is b and value[1][Symbol("k")][1] is a


def test_one_object_is_one_handle() -> None:
    """The same host object returned twice in a run is the same Handle id."""
    conn = Conn(1)
    sandbox = Sandbox().bind("Same", lambda: conn).bind("Other", lambda: Conn(2))
    a, b, c = sandbox.run("[Same.call.inspect, Same.call.inspect, Other.call.inspect]").value
    assert a == b != c


@pytest.mark.parametrize(
    ("script", "match"),
    [
        ("Kobako::Handle.new", "undefined method `new'"),
        ("Kobako::Handle.new(1)", "undefined method `new'"),
        ("Kobako::Handle.allocate", "undefined method `allocate'"),
        ("Kobako::Service.new", "undefined method `new'"),
        ("Kobako::Proxy.allocate", "undefined method `allocate'"),
        ("Class.instance_method(:new).bind_call(Kobako::Handle)", "undefined method `allocate'"),
        ("Kobako.__call(1, :query, [], {})", "not a Kobako::Service or Kobako::Handle"),
        # Class#allocate re-bound makes an empty proxy, but it names no host object:
        (
            "Class.instance_method(:allocate).bind(Kobako::Handle).call.query",
            "not a Kobako::Service or Kobako::Handle",
        ),
        (
            "h = Class.instance_method(:allocate).bind(Kobako::Handle).call; Db.kind(h)",
            "Kobako::Handle has no wire form",
        ),
    ],
)
def test_handles_cannot_be_forged(script: str, match: str) -> None:
    """A script cannot make a working Handle: no new/allocate, no Integer-to-Handle."""
    with pytest.raises(SandboxError, match=match):
        Sandbox().bind("Db", Db()).run(script)


def test_integer_is_never_a_handle() -> None:
    """An Integer argument stays an Integer, even one equal to a live Handle id."""
    sandbox = Sandbox().bind("Db", Db())
    assert sandbox.run("c = Db.connect; [Db.kind(1), Db.kind(c)]").value == ["int", "Conn"]


def test_handles_do_not_carry_over_between_runs(dispatchers: list[Dispatcher]) -> None:
    """Each run has its own Handle table: an id of one run names nothing in the next."""
    db = Db()
    sandbox = Sandbox().bind("Db", db)
    first = sandbox.run("3.times.map { Db.connect.inspect }").value
    assert first == ["#<Kobako::Handle #1>", "#<Kobako::Handle #2>", "#<Kobako::Handle #3>"]
    ex = sandbox.run("c = Db.connect(9); [c.inspect, c.query('q'), c]")
    assert ex.value[:2] == ["#<Kobako::Handle #1>", "9:q"]  # id 1 again, a new object
    assert ex.value[2] is db.made[-1] and ex.value[2] is not db.made[0]
    run_a, run_b = dispatchers
    reply_a = unpack(run_a.dispatch(handle_call(3, "query")))
    assert reply_a[1][0] == "ArgumentError"  # live in its own run: the call reached Conn.query
    klass, message = unpack(run_b.dispatch(handle_call(3, "query")))[1]
    assert (klass, message) == ("Kobako::DisconnectedError", "Handle #3 is not live in this run")


@pytest.mark.parametrize("handle_id", [0, 2, 2**31 - 1, 2**32 - 1])
def test_unknown_handle_id_is_disconnected(dispatchers: list[Dispatcher], handle_id: int) -> None:
    """A call on a Handle id the run never issued replies Kobako::DisconnectedError."""
    Sandbox().bind("Db", Db()).run("Db.connect")
    reply = unpack(dispatchers[-1].dispatch(handle_call(handle_id, "query")))
    assert reply == [
        1,
        ["Kobako::DisconnectedError", f"Handle #{handle_id} is not live in this run"],
    ]


def test_handle_table_unit() -> None:
    """HandleTable: one id per object, ids from 1, StaleHandle for unknown, cap 2**31-1."""
    assert HandleTable.MAX_ID == 2**31 - 1
    table = HandleTable()
    a, b = object(), object()
    assert (table.add(a), table.add(b), table.add(a)) == (1, 2, 1)
    assert table.get(1) is a and table.get(2) is b
    with pytest.raises(StaleHandle):
        table.get(3)
    table.MAX_ID = 3  # type: ignore[misc]  # test-only: a small cap on this table
    table.add(object())
    with pytest.raises(HandleExhausted, match="at most 3 Handles"):
        table.add(object())
    assert table.add(a) == 1  # known objects still resolve


@pytest.fixture
def handle_cap_3(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(HandleTable, "MAX_ID", 3)
    yield


@pytest.mark.usefixtures("handle_cap_3")
def test_handle_exhaustion_ends_the_run() -> None:
    """Past the cap a run gets HandleExhaustedError; reusing an object costs no new id."""
    same = Conn(1)
    sandbox = Sandbox().bind("New", lambda: Conn(0)).bind("Same", lambda: same)
    assert sandbox.run("2.times { New.call }; 5.times { Same.call }; :ok").value == "ok"
    with pytest.raises(HandleExhaustedError, match="at most 3 Handles") as info:
        sandbox.run("4.times { New.call }")
    assert isinstance(info.value, SandboxError)
    assert info.value.klass == "Kobako::HandleExhaustedError"
    script = "begin; 4.times { New.call }; rescue Kobako::HandleExhaustedError => e; e.message; end"
    assert sandbox.run(script).value == "a run may hold at most 3 Handles"


# ---- 5. errors ----


class QuotaExceeded(Exception):
    pass


class Failing:
    def __init__(self) -> None:
        self.raised: list[BaseException] = []

    def fail(self, message: str = "over quota") -> None:
        exc = QuotaExceeded(message)
        self.raised.append(exc)
        raise exc

    def inner_type_error(self, x: int) -> int:
        return x + "a"  # type: ignore[operator, no-any-return]

    def cyclic(self) -> list[Any]:
        a: list[Any] = []
        a.append(a)
        return a


def test_service_error_carries_class_message_output_and_cause() -> None:
    """An unrescued Service exception is a ServiceError: Python class name, message,
    the Execution with output so far, and the exception itself as __cause__."""
    failing = Failing()
    sandbox = Sandbox().bind("Svc", failing)
    with pytest.raises(ServiceError, match="QuotaExceeded: over quota") as info:
        sandbox.run('puts "before"; $stderr.print "e"; Svc.fail; puts "after"')
    err = info.value
    assert type(err) is ServiceError
    assert (err.klass, err.message) == ("QuotaExceeded", "over quota")
    assert err.execution.stdout == "before\n" and err.execution.stderr == "e"
    assert err.__cause__ is failing.raised[0]


def test_forged_service_error_is_a_script_error_without_cause() -> None:
    """A script that raises Kobako::ServiceError itself, even right after a real Service
    failure, gets a plain SandboxError with no __cause__: the host believes only the
    guest's own mark on exceptions made from its replies."""
    real = ValueError("real")

    def boom() -> None:
        raise real

    script = 'begin; Svc.call; rescue; end; raise Kobako::ServiceError, "ValueError: forged"'
    with pytest.raises(SandboxError, match="forged") as info:
        Sandbox().bind("Svc", boom).run(script)
    assert type(info.value) is SandboxError
    assert info.value.klass == "Kobako::ServiceError"
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    "klass",
    [
        "Kobako::ServiceCallLimitError",
        "Kobako::MessageSizeError",
        "Kobako::HandleExhaustedError",
        "Kobako::NoServiceError",
        "Kobako::DisconnectedError",
    ],
)
def test_forged_limit_and_service_errors_are_script_errors(klass: str) -> None:
    """Raising any Kobako error class by hand ends in a plain SandboxError of that class."""
    with pytest.raises(SandboxError) as info:
        Sandbox().bind("Svc", Failing()).run(f'raise {klass}, "forged"')
    assert type(info.value) is SandboxError
    assert (info.value.klass, info.value.message) == (klass, "forged")


def test_reraised_service_error_keeps_its_cause() -> None:
    """A real Service error rescued and raised again after other calls is still that
    Service's error, with the host's class and message even if #message is redefined."""
    failing = Failing()
    script = (
        "e = begin; Svc.fail('first'); rescue => x; x; end\n"
        "Svc.cyclic rescue nil\n"
        'def e.message = "ValueError: changed"; raise e'
    )
    with pytest.raises(ServiceError) as info:
        Sandbox().bind("Svc", failing).run(script)
    assert (info.value.klass, info.value.message) == ("QuotaExceeded", "first")
    assert info.value.__cause__ is failing.raised[0]


def test_cause_is_only_the_latest_failure() -> None:
    """Raising an older Service error after a newer one failed gives no __cause__
    (only the run's latest Service exception is kept), never the wrong one."""
    failing = Failing()
    script = (
        "a = begin; Svc.fail('a'); rescue => x; x; end\nbegin; Svc.fail('b'); rescue; end\nraise a"
    )
    with pytest.raises(ServiceError, match="QuotaExceeded: a") as info:
        Sandbox().bind("Svc", failing).run(script)
    assert info.value.__cause__ is None


def test_service_message_with_colons_is_kept_whole() -> None:
    """A message containing ': ' splits only after the class name."""
    with pytest.raises(ServiceError) as info:
        Sandbox().bind("Svc", Failing()).run('Svc.fail("a: b: c")')
    assert (info.value.klass, info.value.message) == ("QuotaExceeded", "a: b: c")


def test_service_error_is_rescuable_without_host_traceback() -> None:
    """In Ruby the exception is a Kobako::ServiceError "Class: message", with no host traceback."""
    script = "begin; Svc.fail; rescue Kobako::ServiceError => e; [e.class.name, e.message]; end"
    klass, message = Sandbox().bind("Svc", Failing()).run(script).value
    assert (klass, message) == ("Kobako::ServiceError", "QuotaExceeded: over quota")
    for leak in ("Traceback", __file__, ".py", "line ", "raise exc"):
        assert leak not in message


def test_rescued_service_error_lets_the_run_finish() -> None:
    """A rescued Service error does not fail the run; a bare rescue (StandardError) catches it."""
    script = "puts 1; r = begin; Svc.fail; rescue => e; e.class.name; end; puts 2; [r, :after]"
    ex = Sandbox().bind("Svc", Failing()).run(script)
    assert ex.value == ["Kobako::ServiceError", "after"]
    assert ex.stdout == "1\n2\n"


def test_type_error_inside_service_is_a_service_error() -> None:
    """A TypeError raised inside the Service (not binding its arguments) is a ServiceError."""
    with pytest.raises(ServiceError, match="unsupported operand") as info:
        Sandbox().bind("Svc", Failing()).run("Svc.inner_type_error(1)")
    assert info.value.klass == "TypeError"
    assert isinstance(info.value.__cause__, TypeError)


def test_unsendable_return_is_a_service_error() -> None:
    """A Service returning a cyclic value fails its call with a ServiceError ValueError."""
    with pytest.raises(ServiceError, match="cyclic") as info:
        Sandbox().bind("Svc", Failing()).run("Svc.cyclic")
    assert info.value.klass == "ValueError"


def test_missing_method_is_no_method_error_in_guest() -> None:
    """A missing method is a NoMethodError in the guest; unrescued, a NoServiceError."""
    sandbox = Sandbox().bind("Geo", Geo())
    script = "begin; Geo.nope; rescue NoMethodError => e; [e.class.name, e.message]; end"
    assert sandbox.run(script).value == [
        "Kobako::NoServiceError",
        "undefined method 'nope' for Geo",
    ]
    with pytest.raises(NoServiceError, match="undefined method 'nope' for Geo") as info:
        sandbox.run("Geo.nope")
    assert isinstance(info.value, ServiceError)
    assert info.value.klass == "NoMethodError"


@pytest.mark.parametrize(
    ("script", "match"),
    [
        ("Geo.add(1)", "missing 1 required positional argument: 'b'"),
        ("Geo.add(1, 2, 3)", "takes 3 positional arguments but 4 were given"),
        ('Geo.lookup("x", bad: 1)', "unexpected keyword argument 'bad'"),
        ("Geo.add(1, 2, zoom: 1)", "unexpected keyword argument 'zoom'"),
        ("Neg.call", "missing 1 required positional argument"),
    ],
)
def test_wrong_arguments_are_argument_error_in_guest(script: str, match: str) -> None:
    """Wrong arity or an unknown keyword is an ArgumentError in the guest, not a ServiceError."""
    sandbox = Sandbox().bind("Geo", Geo()).bind("Neg", lambda x: -x)
    with pytest.raises(SandboxError, match=match) as info:
        sandbox.run(script)
    assert info.value.klass == "ArgumentError"
    rescued = sandbox.run(f"begin; {script}; rescue ArgumentError => e; e.class.name; end")
    assert rescued.value == "ArgumentError"


def test_unknown_keyword_alone_is_argument_error() -> None:
    """An unknown keyword with no positional arguments is an ArgumentError naming it."""
    sandbox = Sandbox().bind("Geo", Geo())
    with pytest.raises(SandboxError, match="unexpected keyword argument 'bad'") as info:
        sandbox.run('Geo.lookup(name: "x", bad: 1)')
    assert info.value.klass == "ArgumentError"
    script = "begin; Geo.lookup(bad: 1); rescue ArgumentError => e; e.class.name; end"
    assert sandbox.run(script).value == "ArgumentError"


# ---- 6. security ----


class Guarded:
    """Everything a script must not reach, next to one method it may call."""

    limit = 5  # a non-callable class attribute

    def __init__(self) -> None:
        self.token = "secret"  # a non-callable instance attribute
        self.getter_ran = False

    def ok(self) -> str:
        return "ok"

    def _private(self) -> str:
        return "private"

    def __dunder__(self) -> str:
        return "dunder"

    @property
    def status(self) -> str:
        self.getter_ran = True
        return "leaked"


REFUSED = [
    "__class__",
    "__dict__",
    "__init__",
    "__getattribute__",
    "__reduce_ex__",
    "__subclasshook__",
    "__init_subclass__",
    "__dunder__",
    "_private",
    "mro",
    "status",
    "limit",
    "token",
    "getter_ran",
]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_names_look_missing(name: str) -> None:
    """Dunders, _names, mro, properties and data attributes are refused exactly like a
    missing method (same class, same message shape), and no getter runs."""
    guarded = Guarded()
    sandbox = Sandbox().bind("G", guarded)
    with pytest.raises(NoServiceError) as missing:
        sandbox.run("G.no_such_method")
    with pytest.raises(NoServiceError, match=f"undefined method '{name}' for G") as refused:
        sandbox.run(f"G.{name}" if name.isidentifier() else f"G.__send__(:{name})")
    assert type(refused.value) is type(missing.value)
    assert refused.value.klass == missing.value.klass
    assert refused.value.message == missing.value.message.replace("no_such_method", name)
    assert not guarded.getter_ran
    assert sandbox.run("G.ok").value == "ok"


@pytest.mark.parametrize("name", ["__globals__", "__code__", "__closure__", "__call__", "__get__"])
def test_function_internals_are_refused(name: str) -> None:
    """A bound function exposes `call` and nothing of its internals."""
    secret = {"key": 1}
    sandbox = Sandbox().bind("F", lambda: secret)
    with pytest.raises(NoServiceError, match=f"undefined method '{name}' for F"):
        sandbox.run(f"F.{name}")


@pytest.mark.parametrize("name", ["mro", "__subclasses__", "__new__", "__base__", "new", "call"])
def test_class_internals_are_refused(name: str) -> None:
    """A bound class exposes its methods, not mro, subclasses or construction."""
    sandbox = Sandbox().bind("K", Guarded)
    with pytest.raises(NoServiceError, match=f"undefined method '{name}' for K"):
        sandbox.run(f"K.{name}")


def test_property_getter_never_runs() -> None:
    """A property is refused without running its getter, on a Service or a Handle."""
    guarded, conn = Guarded(), Conn(1)
    sandbox = Sandbox().bind("G", guarded).bind("Src", lambda: conn)
    for script in ("G.status", "G.__send__(:status)", "Src.call.status"):
        with pytest.raises(NoServiceError, match="undefined method 'status'"):
            sandbox.run(script)
    assert not guarded.getter_ran and not conn.getter_ran


class AllowSet:
    __kobako_allowed__ = frozenset({"shown", "_hidden", "__class__"})

    def shown(self) -> str:
        return "shown"

    def hidden(self) -> str:
        return "hidden"

    def _hidden(self) -> str:
        return "private"


class AllowPredicate:
    def __kobako_allowed__(self, name: str) -> bool:
        return name.startswith("get_")

    def get_x(self) -> int:
        return 1

    def set_x(self) -> None:
        raise AssertionError("must not run")


def test_kobako_allowed_set_narrows_methods() -> None:
    """__kobako_allowed__ as a set allows only its names, and cannot re-open _names."""
    sandbox = Sandbox().bind("S", AllowSet())
    assert sandbox.run("S.shown").value == "shown"
    for name in ("hidden", "_hidden", "__class__", "__kobako_allowed__"):
        with pytest.raises(NoServiceError, match=f"undefined method '{name}' for S"):
            sandbox.run(f"S.__send__(:{name})")


def test_kobako_allowed_predicate_narrows_methods() -> None:
    """__kobako_allowed__ as a predicate is asked per name; a refused method never runs."""
    sandbox = Sandbox().bind("P", AllowPredicate())
    assert sandbox.run("P.get_x").value == 1
    with pytest.raises(NoServiceError, match="undefined method 'set_x' for P"):
        sandbox.run("P.set_x")
    with pytest.raises(NoServiceError, match="undefined method 'get_nothing' for P"):
        sandbox.run("P.get_nothing")


@pytest.mark.parametrize(
    "name", ["_secret", "n", "status", "getter_ran", "__class__", "__dict__", "__init__", "nope"]
)
def test_handle_refuses_like_a_service(name: str) -> None:
    """A Handle's refused methods look exactly like missing ones, as for Services."""
    sandbox = Sandbox().bind("Db", Db())
    with pytest.raises(
        NoServiceError, match=rf"undefined method '{name}' for a Kobako::Handle \(Conn\)"
    ):
        sandbox.run(f"Db.connect.__send__(:{name})")


def test_handle_honours_kobako_allowed() -> None:
    """__kobako_allowed__ on a Handle's object narrows its methods too."""
    sandbox = Sandbox().bind("Src", lambda: AllowSet())
    assert sandbox.run("Src.call.shown").value == "shown"
    with pytest.raises(NoServiceError, match="undefined method 'hidden' for a Kobako::Handle"):
        sandbox.run("Src.call.hidden")


@pytest.mark.parametrize(
    ("script", "name"),
    [
        ("G.send(:__class__)", "send"),
        ("G.public_send(:__dict__)", "public_send"),
        ("G.__send__(:__class__)", "__class__"),
        ("G.__send__(:_private)", "_private"),
        ("G.__send__(:status)", "status"),
        ("G.method(:ok)", "method"),
        ("G.instance_variable_get(:@token)", "instance_variable_get"),
        ("G.instance_eval { __class__ }", "__class__"),
        ("G.instance_eval { method_missing(:__dict__) }", "__dict__"),
        ("G.instance_exec { _private }", "_private"),
        ("G.respond_to?(:ok)", "respond_to?"),
        ("G.singleton_class", "singleton_class"),
        ("G.__kobako_allowed__", "__kobako_allowed__"),
        ("Kobako.__call(G, :__init__, [], {})", "__init__"),
        (
            "class ::Kobako::Proxy\n"
            "  def method_missing(n, *a) = ::Kobako.__call(self, :__class__, [], {})\n"
            "end\n"
            "G.anything",
            "__class__",
        ),
    ],
)
def test_ruby_reflection_tricks_reach_only_the_rules(script: str, name: str) -> None:
    """send, __send__, instance_eval, method(:x) and a patched Proxy all end at the host's
    rules: the reflective name is refused like a missing method."""
    guarded = Guarded()
    with pytest.raises(NoServiceError, match=re.escape(f"undefined method '{name}' for G")):
        Sandbox().bind("G", guarded).run(script)
    assert not guarded.getter_ran


def test_instance_eval_reveals_nothing() -> None:
    """Inside instance_eval the proxy has no instance variables to read."""
    value = Sandbox().bind("G", Guarded()).run("G.instance_eval { [@token, @path, @id] }").value
    assert value == [None, None, None]


def test_script_redefining_a_proxy_method_stays_in_the_guest() -> None:
    """A script may redefine a method on its own proxy; the host object is untouched."""
    guarded = Guarded()
    sandbox = Sandbox().bind("G", guarded)
    assert sandbox.run('def G.ok = "mine"; G.ok').value == "mine"
    assert sandbox.run("G.ok").value == "ok"


# ---- 7. scale ----


def test_ten_thousand_calls_in_one_run() -> None:
    """10,000 Service calls in one run all reach the Service and return in order."""
    calls = 0

    def inc(x: int) -> int:
        nonlocal calls
        calls += 1
        return x + 1

    sandbox = Sandbox().bind("Inc", inc)
    assert sandbox.run("x = 0; 10_000.times { x = Inc.call(x) }; x").value == 10_000
    assert calls == 10_000


EIGHT_MIB = 8 << 20


EIGHT_MIB_VALUES = pytest.mark.parametrize(
    "big", ["é" * (EIGHT_MIB // 2), b"\xff" * EIGHT_MIB], ids=["str", "bytes"]
)


@EIGHT_MIB_VALUES
def test_eight_mib_reply(big: str | bytes) -> None:
    """A Service returning 8 MiB (str or bytes) reaches the script intact."""
    sandbox = Sandbox().bind("Big", lambda: big)
    script = "s = Big.call; [s.bytesize, s.valid_encoding?, s[0, 2], s[-2, 2]]"
    size, valid, head, tail = sandbox.run(script).value
    assert (size, valid) == (EIGHT_MIB, isinstance(big, str))
    assert head == tail == big[:2]


@EIGHT_MIB_VALUES
def test_eight_mib_reply_as_run_value(big: str | bytes) -> None:
    """An 8 MiB Service reply can be the run's value under the default limits."""
    value = Sandbox().bind("Big", lambda: big).run("Big.call").value
    assert type(value) is type(big) and value == big


def test_eight_mib_argument() -> None:
    """An 8 MiB String argument reaches the Service intact."""
    sandbox = Sandbox().bind("Size", lambda s: (type(s).__name__, len(s), s[:3]))
    assert sandbox.run('Size.call("ab" * (4 << 20))').value == ["str", EIGHT_MIB, "aba"]


# ---- 8. method resolution never escapes untyped ----


class Record:
    """A row object whose attribute fallback raises KeyError for unknown names."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data

    def __getattr__(self, key: str) -> Any:
        return self._d[key]

    def get(self, key: str) -> Any:
        return self._d.get(key)


class Repo:
    def call(self, name: str) -> Record:
        return Record({"name": name})


def test_getattr_fallback_does_not_break_real_methods() -> None:
    """A Handle whose __getattr__ raises KeyError still serves its real methods."""
    sandbox = Sandbox().bind("Repo", Repo())
    assert sandbox.run('Repo.call("alice").get("name")').value == "alice"


def test_getattr_fallback_is_never_run_for_missing_names() -> None:
    """A name only __getattr__ could produce is a missing method, rescuable in Ruby."""
    sandbox = Sandbox().bind("Repo", Repo())
    with pytest.raises(
        NoServiceError, match=r"undefined method 'zzz' for a Kobako::Handle \(Record\)"
    ):
        sandbox.run('Repo.call("alice").zzz')
    script = 'begin; Repo.call("a").zzz; rescue NoMethodError => e; e.class.name; end'
    assert sandbox.run(script).value == "Kobako::NoServiceError"


def test_binding_an_object_with_raising_getattr() -> None:
    """bind() of an object whose __getattr__ raises neither raises nor runs it."""
    sandbox = Sandbox().bind("R", Record({"name": "bob"}))
    assert sandbox.run('R.get("name")').value == "bob"


class RaisingPredicate:
    def __kobako_allowed__(self, name: str) -> bool:
        raise KeyError(name)

    def ok(self) -> str:
        return "ok"


class RaisingContainer(frozenset[str]):
    def __contains__(self, name: object) -> bool:
        raise RuntimeError("broken policy")


class RaisingSet:
    __kobako_allowed__ = RaisingContainer({"ok"})

    def ok(self) -> str:
        return "ok"


class InstancePolicy:
    """__kobako_allowed__ set on the instance: honoured, read without running code."""

    def __init__(self) -> None:
        self.__kobako_allowed__ = {"shown"}

    def shown(self) -> str:
        return "shown"

    def hidden(self) -> str:
        return "hidden"


class PropertyPolicy:
    """A __kobako_allowed__ that is a property: reading it would run code, so all is refused."""

    ran = 0

    @property
    def __kobako_allowed__(self) -> set[str]:
        PropertyPolicy.ran += 1
        return {"ok"}

    def ok(self) -> str:
        return "ok"


@pytest.mark.parametrize(
    "obj",
    [RaisingPredicate(), RaisingSet(), PropertyPolicy()],
    ids=["predicate", "set", "property"],
)
def test_broken_kobako_allowed_refuses_every_method(obj: object) -> None:
    """A __kobako_allowed__ that raises or cannot be read without running code refuses
    every method (fails closed), as a rescuable NoServiceError; the Sandbox keeps working."""
    sandbox = Sandbox().bind("S", obj)
    with pytest.raises(NoServiceError, match="undefined method 'ok' for S"):
        sandbox.run("S.ok")
    script = "begin; S.ok; rescue NoMethodError => e; e.class.name; end"
    assert sandbox.run(script).value == "Kobako::NoServiceError"
    assert PropertyPolicy.ran == 0
    assert Sandbox().run("1 + 1").value == 2


def test_instance_kobako_allowed_is_honoured() -> None:
    """__kobako_allowed__ in the instance's own __dict__ narrows its methods."""
    sandbox = Sandbox().bind("S", InstancePolicy())
    assert sandbox.run("S.shown").value == "shown"
    with pytest.raises(NoServiceError, match="undefined method 'hidden' for S"):
        sandbox.run("S.hidden")


class Unhashable:
    """An object whose __hash__ and __eq__ raise: no rule may call them."""

    def __hash__(self) -> int:
        raise KeyError("__hash__")

    def __eq__(self, other: object) -> bool:
        raise KeyError("__eq__")

    def ping(self) -> str:
        return "pong"


class HostileClass(Unhashable):
    """Also a __class__ property that raises: a bound Service object like this is
    resolved without it."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise KeyError("__class__")


def test_hostile_dunders_of_a_handle_are_never_needed() -> None:
    """A Handle whose __hash__ and __eq__ raise is served, passed back and described
    without calling them."""
    hostile = Unhashable()
    seen: list[object] = []
    sandbox = Sandbox().bind("Src", lambda: hostile).bind("Sink", seen.append)
    script = "h = Src.call; Sink.call(h); Sink.call(h); [h.ping, Src.call.ping]"
    assert sandbox.run(script).value == ["pong", "pong"]
    assert len(seen) == 2 and seen[0] is hostile and seen[1] is hostile
    with pytest.raises(
        NoServiceError, match=r"undefined method 'nope' for a Kobako::Handle \(Unhashable\)"
    ):
        sandbox.run("Src.call.nope")


def test_service_object_with_raising_class_property() -> None:
    """A bound object whose __class__ property raises is resolved without reading it."""
    sandbox = Sandbox().bind("H", HostileClass())
    assert sandbox.run("H.ping").value == "pong"
    with pytest.raises(NoServiceError, match="undefined method 'nope' for H"):
        sandbox.run("H.nope")


def test_returning_an_object_whose_class_property_raises_is_a_service_error() -> None:
    """A Service returning an object whose __class__ raises fails that call with a
    rescuable Kobako::ServiceError naming the exception."""
    sandbox = Sandbox().bind("Src", lambda: HostileClass())
    script = "begin; Src.call; rescue Kobako::ServiceError => e; e.message; end"
    assert sandbox.run(script).value == (
        "KeyError: service returned a value that cannot be sent: '__class__'"
    )


def test_handle_with_raising_hash_as_argument_key_is_a_service_error() -> None:
    """A Handle used as a Hash key in a call's arguments, whose __hash__ raises, fails
    that call with a rescuable Kobako::ServiceError, and the run goes on."""
    hostile = Unhashable()
    sandbox = Sandbox().bind("Src", lambda: hostile).bind("Len", len)
    script = (
        "r = begin; Len.call({Src.call => 1}); rescue Kobako::ServiceError => e; e.message; end\n"
        "[r, Len.call([1, 2])]"
    )
    message, two = sandbox.run(script).value
    assert (message, two) == ("KeyError: '__hash__'", 2)


def test_keyword_names_from_handles_are_refused_without_running_code() -> None:
    """A Hash key that is a hostile Handle, splatted as keywords, is an ArgumentError."""
    hostile = Unhashable()
    seen, echo = recording_echo()
    sandbox = Sandbox().bind("Src", lambda: hostile).bind("Echo", echo)
    script = (
        "begin; Echo.call(1, **{Src.call => 1}); rescue ArgumentError, Kobako::ServiceError => e;"
        " e.class.name; end"
    )
    assert sandbox.run(script).value in ("ArgumentError", "Kobako::ServiceError")
    assert seen == []


# ---- 9. a getter never runs: the rule against an oracle of object shapes ----

RAN: list[str] = []
"""Every getter, __get__, __getattr__ or __getattribute__ below appends here when run."""


def _ran(what: str) -> Any:
    RAN.append(what)
    return lambda *_a: "leaked"


class OracleMeta(type):
    @property
    def meta_prop(cls) -> Any:
        return _ran("meta_prop")

    def meta_method(cls) -> str:
        return "meta_method"


class NonDataDescriptor:
    """Callable, with a __get__ of its own: Python would run __get__ on lookup."""

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        return _ran("NonDataDescriptor.__get__")

    def __call__(self, *args: Any) -> str:
        return "direct"


class DataDescriptor(NonDataDescriptor):
    def __set__(self, obj: object, value: object) -> None:
        _ran("DataDescriptor.__set__")


class Shapes(metaclass=OracleMeta):
    """One class holding every kind of attribute the rule must classify."""

    data = 5
    builtin = len
    partial_attr = functools.partial(str.upper, "x")
    custom = NonDataDescriptor()
    custom_data = DataDescriptor()
    static_prop = staticmethod(property(lambda self: _ran("static_prop")))

    def method(self) -> str:
        return "method"

    partial_method = functools.partialmethod(method)

    @property
    def prop(self) -> Any:
        return _ran("prop")

    @classmethod  # type: ignore[misc]
    @property
    def cls_prop(cls) -> Any:
        return _ran("cls_prop")

    @classmethod
    def cls_method(cls) -> str:
        return "cls_method"

    @staticmethod
    def static_method() -> str:
        return "static_method"

    @functools.cached_property
    def cached(self) -> Any:
        _ran("cached")
        return lambda: "cached"

    def __getattr__(self, name: str) -> Any:
        return _ran(f"__getattr__({name})")


def _shapes_with_instance_attributes() -> Shapes:
    shapes = Shapes()
    shapes.inst_fn = lambda: "inst_fn"  # type: ignore[attr-defined]
    shapes.inst_data = "secret"  # type: ignore[attr-defined]
    return shapes


def _shapes_with_cached_value() -> Shapes:
    shapes = Shapes()
    shapes.cached  # noqa: B018 - the host computes it, so it sits in the instance dict
    RAN.clear()
    return shapes


def _function_with_attributes() -> str:
    return "called"


_function_with_attributes.helper = lambda: "helper"  # type: ignore[attr-defined]
_function_with_attributes.data = 3  # type: ignore[attr-defined]


def _function_with_policy() -> str:
    return "called"


_function_with_policy.__kobako_allowed__ = frozenset()  # type: ignore[attr-defined]


class Overrider:
    def __getattribute__(self, name: str) -> Any:
        _ran(f"__getattribute__({name})")
        return object.__getattribute__(self, name)

    def method(self) -> str:
        return "method"


class Slotted:
    __slots__ = ("slot",)

    def __init__(self) -> None:
        self.slot = lambda: "slot"

    def method(self) -> str:
        return "method"


class ShadowedDict:
    @property  # type: ignore[misc]
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        _ran("__dict__")
        return {"method": lambda: "leaked"}

    def method(self) -> str:
        return "method"


class MetaOverride(type):
    def __getattribute__(cls, name: str) -> Any:
        _ran(f"meta __getattribute__({name})")
        return type.__getattribute__(cls, name)


class WithMetaOverride(metaclass=MetaOverride):
    @staticmethod
    def static_method() -> str:
        return "static_method"


class CountingPolicy:
    def __kobako_allowed__(self, name: str) -> bool:
        RAN.append(f"policy({name})")
        return name == "method"

    def method(self) -> str:
        return "method"

    def other(self) -> str:
        return "other"


REFUSED_SHAPE: Any = NoServiceError

# (id, object factory, name, arguments, expected value or REFUSED_SHAPE, user code that
# may run). Written by hand from Python's semantics, not computed by the rule.
ORACLE: list[tuple[str, Callable[[], Any], str, list[Any], Any, list[str]]] = [
    ("method", Shapes, "method", [], "method", []),
    ("property", Shapes, "prop", [], REFUSED_SHAPE, []),
    ("classmethod-property", Shapes, "cls_prop", [], REFUSED_SHAPE, []),
    ("classmethod-property-on-class", lambda: Shapes, "cls_prop", [], REFUSED_SHAPE, []),
    ("staticmethod-property", Shapes, "static_prop", [], REFUSED_SHAPE, []),
    ("classmethod", Shapes, "cls_method", [], "cls_method", []),
    ("classmethod-on-class", lambda: Shapes, "cls_method", [], "cls_method", []),
    ("staticmethod", Shapes, "static_method", [], "static_method", []),
    ("staticmethod-on-class", lambda: Shapes, "static_method", [], "static_method", []),
    ("cached-property", Shapes, "cached", [], REFUSED_SHAPE, []),
    ("cached-property-computed-by-host", _shapes_with_cached_value, "cached", [], "cached", []),
    ("custom-descriptor", Shapes, "custom", [], REFUSED_SHAPE, []),
    ("custom-descriptor-on-class", lambda: Shapes, "custom", [], REFUSED_SHAPE, []),
    ("custom-data-descriptor", Shapes, "custom_data", [], REFUSED_SHAPE, []),
    ("partialmethod", Shapes, "partial_method", [], REFUSED_SHAPE, []),
    ("class-attribute-builtin", Shapes, "builtin", [[1, 2]], 2, []),
    ("class-attribute-partial", Shapes, "partial_attr", [], "X", []),
    ("class-attribute-data", Shapes, "data", [], REFUSED_SHAPE, []),
    ("getattr-only-name", Shapes, "dynamic", [], REFUSED_SHAPE, []),
    ("instance-callable", _shapes_with_instance_attributes, "inst_fn", [], "inst_fn", []),
    ("instance-data", _shapes_with_instance_attributes, "inst_data", [], REFUSED_SHAPE, []),
    ("metaclass-property", lambda: Shapes, "meta_prop", [], REFUSED_SHAPE, []),
    ("metaclass-method", lambda: Shapes, "meta_method", [], "meta_method", []),
    ("getattribute-override", Overrider, "method", [], REFUSED_SHAPE, []),
    ("metaclass-getattribute-override", lambda: WithMetaOverride, "static_method", [],
     REFUSED_SHAPE, []),
    ("slot", Slotted, "slot", [], REFUSED_SHAPE, []),
    ("method-next-to-slots", Slotted, "method", [], "method", []),
    ("shadowed-dict", ShadowedDict, "method", [], REFUSED_SHAPE, []),
    ("policy-allows", CountingPolicy, "method", [], "method", ["policy(method)"]),
    ("policy-refuses", CountingPolicy, "other", [], REFUSED_SHAPE, ["policy(other)"]),
    ("function-call", lambda: _function_with_attributes, "call", [], "called", []),
    ("function-attribute", lambda: _function_with_attributes, "helper", [], "helper", []),
    ("function-data", lambda: _function_with_attributes, "data", [], REFUSED_SHAPE, []),
    ("function-policy", lambda: _function_with_policy, "call", [], REFUSED_SHAPE, []),
    ("bound-method-call", lambda: Shapes().method, "call", [], "method", []),
]  # fmt: skip

ORACLE_CASES = pytest.mark.parametrize(
    ("make", "name", "args", "expected", "may_run"),
    [pytest.param(*case[1:], id=case[0]) for case in ORACLE],
)


@pytest.fixture
def ran() -> Iterator[list[str]]:
    """The getters run during the test (cleared before it)."""
    RAN.clear()
    yield RAN
    RAN.clear()


@ORACLE_CASES
def test_method_rule_matches_the_oracle(
    ran: list[str],
    make: Callable[[], Any],
    name: str,
    args: list[Any],
    expected: Any,
    may_run: list[str],
) -> None:
    """resolve_method allows exactly the oracle's callables, and no getter, __get__,
    __getattr__ or __getattribute__ runs while it decides."""
    from kobako_async._services import resolve_method

    method = resolve_method(make(), name)
    assert ran == may_run
    if expected is REFUSED_SHAPE:
        assert method is None
    else:
        assert method is not None
        value = method(*args)
        assert type(value) is type(expected) and value == expected
    assert ran == may_run


@ORACLE_CASES
def test_method_rule_oracle_through_the_guest(
    ran: list[str],
    make: Callable[[], Any],
    name: str,
    args: list[Any],
    expected: Any,
    may_run: list[str],
) -> None:
    """Through a real run, refused shapes are NoServiceError exactly like a missing
    method, allowed ones return their value, and no getter ever runs."""
    sandbox = Sandbox().bind("S", make())
    script = f"S.__send__(:{name}, *{as_ruby(args)})"
    if expected is REFUSED_SHAPE:
        with pytest.raises(
            NoServiceError, match=f"^NoMethodError: undefined method '{name}' for S$"
        ):
            sandbox.run(script)
    else:
        value = sandbox.run(script).value
        assert type(value) is type(expected) and value == expected
    assert ran == may_run


def as_ruby(value: Any) -> str:
    """A Ruby literal for the oracle's arguments (lists of ints)."""
    return repr(value)


# ---- 10. a reply that cannot be encoded is a Service error ----


class IterRaises(list[int]):
    def __iter__(self) -> Iterator[int]:
        raise RuntimeError("no iterating")

    def __len__(self) -> int:
        raise RuntimeError("no length")


class ItemsRaise(dict[str, int]):
    def items(self) -> Any:
        raise LookupError("no items")

    def __iter__(self) -> Iterator[str]:
        raise LookupError("no keys")


class StrRaises(str):
    def __str__(self) -> str:
        raise TypeError("no str")


UNENCODABLE = [
    pytest.param(lambda: json.loads('"\\ud800"'), "UnicodeEncodeError", id="lone-surrogate"),
    pytest.param(lambda: {"k": ["ok", "\udfff"]}, "UnicodeEncodeError", id="nested-surrogate"),
    pytest.param(lambda: {"\ud800": 1}, "UnicodeEncodeError", id="surrogate-key"),
    pytest.param(lambda: IterRaises([1, 2]), "RuntimeError", id="list-subclass-iter-len"),
    pytest.param(lambda: ItemsRaise(a=1), "LookupError", id="dict-subclass-items"),
    pytest.param(lambda: StrRaises("x"), "TypeError", id="str-subclass-str"),
]


@pytest.mark.parametrize(("make", "klass"), UNENCODABLE)
def test_unencodable_reply_is_rescuable(make: Callable[[], Any], klass: str) -> None:
    """A Service value whose encoding fails is a Kobako::ServiceError the script
    rescues, naming the encoding error; the run goes on."""
    sandbox = Sandbox().bind("Svc", make).bind("Len", len)
    script = "r = begin; Svc.call; rescue => e; [e.class.name, e.message]; end; [r, Len.call('ab')]"
    (rescued_class, message), two = sandbox.run(script).value
    assert (rescued_class, two) == ("Kobako::ServiceError", 2)
    assert message.startswith(f"{klass}: service returned a value that cannot be sent: ")


@pytest.mark.parametrize(("make", "klass"), UNENCODABLE)
def test_unencodable_reply_unrescued_is_a_service_error(
    make: Callable[[], Any], klass: str
) -> None:
    """Unrescued, the encoding failure is a ServiceError whose __cause__ is the
    encoding exception itself."""
    with pytest.raises(ServiceError, match=f"^{klass}: service returned a value") as info:
        Sandbox().bind("Svc", make).run("Svc.call")
    assert type(info.value) is ServiceError
    assert info.value.klass == klass
    assert type(info.value.__cause__).__name__ == klass


def test_json_loads_surrogate_reproducer() -> None:
    """The issue's reproducer: bind json.loads, decode a lone surrogate, rescue it."""
    sandbox = Sandbox().bind("Decode", json.loads)
    script = 'begin; Decode.call(\'"\\\\ud800"\'); rescue => e; "rescued"; end'
    assert sandbox.run(script).value == "rescued"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(ValueError("bad \ud800 text"), "ValueError: bad \\ud800 text", id="surrogate"),
        pytest.param(Unprintable(), "Unprintable: <unprintable Unprintable>", id="str-raises"),
        pytest.param(
            ValueError("x" * 100_000),
            "ValueError: " + "x" * 8192 + "... (91808 more characters)",
            id="huge",
        ),
    ],
)
def test_service_exception_whose_message_cannot_be_sent(exc: Exception, expected: str) -> None:
    """A Service exception whose message raises, has lone surrogates or is huge still
    reaches the script as a rescuable error with a readable message."""

    def fail() -> None:
        raise exc

    script = "begin; Svc.call; rescue Kobako::ServiceError => e; e.message; end"
    assert Sandbox().bind("Svc", fail).run(script).value == expected


# ---- 11. cancellation and BaseException from Services ----


def test_sync_service_cancelled_error_is_a_service_error() -> None:
    """A sync Service raising asyncio.CancelledError is a rescuable Service error: a
    synchronous run cannot be its caller's cancellation."""

    def cancelled() -> None:
        raise asyncio.CancelledError("upstream gave up")

    sandbox = Sandbox().bind("Svc", cancelled)
    script = "begin; Svc.call; rescue Kobako::ServiceError => e; e.message; end"
    assert sandbox.run(script).value == "CancelledError: upstream gave up"
    with pytest.raises(ServiceError, match="^CancelledError: upstream gave up$") as info:
        sandbox.run("Svc.call")
    assert type(info.value.__cause__) is asyncio.CancelledError


class Abort(BaseException):
    """An application's own BaseException subclass."""


BASE_EXCEPTIONS = pytest.mark.parametrize(
    "make",
    [
        pytest.param(KeyboardInterrupt, id="KeyboardInterrupt"),
        pytest.param(lambda: SystemExit(3), id="SystemExit"),
        pytest.param(lambda: Abort("stop"), id="custom-BaseException"),
        pytest.param(GeneratorExit, id="GeneratorExit"),
    ],
)


@BASE_EXCEPTIONS
def test_service_base_exception_stops_the_guest_and_is_reraised(
    make: Callable[[], BaseException],
) -> None:
    """A Service raising a BaseException that is not an Exception (KeyboardInterrupt,
    SystemExit, ...) stops the guest at once (no rescue, no further statement) and
    Sandbox.run re-raises that same exception; the Sandbox keeps working."""
    exc = make()
    after: list[int] = []

    def fail() -> None:
        raise exc

    sandbox = Sandbox().bind("Svc", fail).bind("After", lambda: after.append(1))
    with pytest.raises(type(exc)) as info:
        sandbox.run("begin; Svc.call; rescue Exception; end; After.call")
    assert info.value is exc
    assert after == []
    assert sandbox.run("After.call; 1").value == 1
    assert after == [1]


@BASE_EXCEPTIONS
def test_base_exception_from_a_policy_is_reraised(make: Callable[[], BaseException]) -> None:
    """A __kobako_allowed__ predicate raising KeyboardInterrupt (say) is re-raised too."""
    exc = make()

    class Policy:
        def __kobako_allowed__(self, name: str) -> bool:
            raise exc

        def ok(self) -> int:
            return 1

    with pytest.raises(type(exc)) as info:
        Sandbox().bind("P", Policy()).run("P.ok")
    assert info.value is exc


def test_base_exception_does_not_leak_into_the_next_run() -> None:
    """After a re-raised KeyboardInterrupt, a later trap in the same thread is a plain
    TrapError, and a Service Exception a plain ServiceError."""

    def interrupt() -> None:
        raise KeyboardInterrupt

    sandbox = Sandbox().bind("Svc", interrupt).bind("Fail", Failing())
    with pytest.raises(KeyboardInterrupt):
        sandbox.run("Svc.call")
    with pytest.raises(ServiceError, match="QuotaExceeded"):
        sandbox.run("Fail.fail")
    with pytest.raises(TimeoutError):
        Sandbox(timeout=0.05).run("loop {}")


@pytest.mark.parametrize("key", ["1", "nil", "[1]", "{a: 1}", "1.5", "Src.call"])
def test_keywords_with_non_name_keys_are_argument_errors(key: str) -> None:
    """A splatted Hash whose key is not a Symbol or String is an ArgumentError before
    the Service runs, whatever the key decodes to (a Handle included)."""
    seen, echo = recording_echo()
    sandbox = Sandbox().bind("Echo", echo).bind("Src", lambda: Conn(1))
    with pytest.raises(SandboxError, match="^ArgumentError: keyword names must be Symbols$"):
        sandbox.run(f"Echo.call(1, **{{{key} => 2}})")
    assert seen == []


@pytest.mark.parametrize("bind", [[("A", 1)], (("A", 1),), "A"], ids=["list", "tuple", "str"])
def test_per_run_bind_that_is_not_a_mapping_is_a_type_error(bind: Any) -> None:
    """run(bind=...) with pairs instead of a mapping is a TypeError naming the type."""
    sandbox = Sandbox()
    with pytest.raises(TypeError, match="^bind must map Service paths to objects, not "):
        sandbox.run("1", bind=bind)
    assert sandbox.run("1").value == 1


# ---- 12. the rule against Python itself, over generated class shapes ----


def _kind_factories() -> dict[str, Callable[[str], Any]]:
    """Attribute kinds, each instrumented so that any code of its own appends to RAN."""

    def method(self: object) -> str:
        return "method"

    def cls_method(cls: type) -> str:
        return "cls_method"

    def static() -> str:
        return "static"

    def getter(label: str) -> Callable[[Any], Any]:
        return lambda self: _ran(label)

    def cached(label: str) -> Any:
        return functools.cached_property(getter(label))  # type() names it

    return {
        "method": lambda label: method,
        "property": lambda label: property(getter(label)),
        "classmethod": lambda label: classmethod(cls_method),
        "classmethod-property": lambda label: classmethod(property(getter(label))),  # type: ignore[arg-type]
        "staticmethod": lambda label: staticmethod(static),
        "staticmethod-property": lambda label: staticmethod(property(getter(label))),
        "custom": lambda label: NonDataDescriptor(),
        "custom-data": lambda label: DataDescriptor(),
        "data": lambda label: 7,
        "builtin": lambda label: len,
        "partial": lambda label: functools.partial(str.upper, "p"),
        "cached-property": cached,
    }


KINDS = _kind_factories()
NAMES = ["a", "b", "c"]

LEVELS = st.fixed_dictionaries(
    {
        "meta": st.dictionaries(
            st.sampled_from(NAMES), st.sampled_from(["method", "property", "data"]), max_size=2
        ),
        "base": st.dictionaries(st.sampled_from(NAMES), st.sampled_from(sorted(KINDS)), max_size=3),
        "cls": st.dictionaries(st.sampled_from(NAMES), st.sampled_from(sorted(KINDS)), max_size=3),
        "instance": st.dictionaries(
            st.sampled_from(NAMES), st.sampled_from(["lambda", "data"]), max_size=2
        ),
        "getattr": st.booleans(),
        "on_class": st.booleans(),
    }
)


def _build(shape: dict[str, Any]) -> Any:
    """A class (or instance) with the generated attributes at each level."""
    meta_ns = {
        name: {
            "method": lambda cls: "meta_method",
            "property": property(lambda cls: _ran("meta property")),
            "data": 1,
        }[kind]
        for name, kind in shape["meta"].items()
    }
    meta = type("GenMeta", (type,), meta_ns)
    base = meta("GenBase", (), {n: KINDS[k](n) for n, k in shape["base"].items()})
    ns = {n: KINDS[k](n) for n, k in shape["cls"].items()}
    if shape["getattr"]:
        ns["__getattr__"] = lambda self, name: _ran(f"__getattr__({name})")
    cls = meta("Gen", (base,), ns)
    if shape["on_class"]:
        return cls
    obj = cls()
    for name, kind in shape["instance"].items():
        # written to the dict directly: under a data descriptor too, which must still win
        obj.__dict__[name] = (lambda: "inst") if kind == "lambda" else "inst-data"
    return obj


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=LEVELS, name=st.sampled_from(NAMES))
def test_method_rule_agrees_with_python(shape: dict[str, Any], name: str) -> None:
    """Over generated classes (metaclass, base, class and instance attributes of every
    kind sharing names): the rule never runs code of the object's; whatever it allows
    is what getattr gives; and whatever getattr gives as a callable without running
    any code, the rule allows."""
    from kobako_async._services import resolve_method

    RAN.clear()
    obj = _build(shape)
    method = resolve_method(obj, name)
    assert RAN == [], "the rule ran code of the object's"
    try:
        expected: Any = getattr(obj, name)
        ran_code = bool(RAN)
    except AttributeError:
        expected, ran_code = None, bool(RAN)
    RAN.clear()
    # from 3.13 a classmethod wrapping a property binds the property itself: a method
    # object that is callable in name only
    hollow = isinstance(expected, types.MethodType) and not callable(expected.__func__)
    python_allows = not ran_code and callable(expected) and not hollow
    note(f"python: {expected!r} ran={ran_code}; rule: {method!r}")
    if method is None:
        assert not python_allows
    else:
        assert python_allows
        assert method == expected


class BrokenAwaitable:
    """Awaitable by its class, but its close() raises and its __class__ lies."""

    def __await__(self) -> Iterator[None]:
        raise RuntimeError("cannot await")

    def close(self) -> None:
        raise RuntimeError("cannot close")

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise KeyError("__class__")


def test_sync_sandbox_refuses_a_broken_awaitable() -> None:
    """An awaitable returned to the sync Sandbox is refused as async, rescuably, even
    when closing it raises."""
    sandbox = Sandbox().bind("Svc", lambda: BrokenAwaitable())
    script = "begin; Svc.call; rescue Kobako::ServiceError => e; e.message; end"
    assert sandbox.run(script).value == "TypeError: async services need a kobako_async.Pool"


class ClassPolicies:
    """A class bound as itself, with a classmethod policy."""

    @classmethod
    def __kobako_allowed__(cls, name: str) -> bool:
        return name == "shown"

    @staticmethod
    def shown() -> str:
        return "shown"

    @staticmethod
    def hidden() -> str:
        return "hidden"


def test_policies_on_a_class_bound_as_itself() -> None:
    """On a bound class, a classmethod policy narrows its methods, and an
    instance-method policy (which cannot be called on the class) refuses all."""
    sandbox = Sandbox().bind("C", ClassPolicies).bind("P", AllowPredicate)
    assert sandbox.run("C.shown").value == "shown"
    for script, name, path in (("C.hidden", "hidden", "C"), ("P.get_x", "get_x", "P")):
        with pytest.raises(NoServiceError, match=f"undefined method '{name}' for {path}"):
            sandbox.run(script)


class UnreprAbort(BaseException):
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_base_exception_that_cannot_be_printed_is_reraised() -> None:
    """A Service's BaseException whose repr and str raise still stops the guest and is
    re-raised from run."""
    exc = UnreprAbort()

    def fail() -> None:
        raise exc

    sandbox = Sandbox().bind("Svc", fail)
    with pytest.raises(UnreprAbort) as info:
        sandbox.run("Svc.call")
    assert info.value is exc
    assert sandbox.run("2").value == 2
