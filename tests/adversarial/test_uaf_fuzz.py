"""Fuzzing the guest's use-after-free class: C methods that call back into Ruby.

Each example is one script of several cases. A case builds its inputs (Strings,
Arrays, Hashes and callback objects), calls a C method whose callbacks (``to_json``,
``to_s``, ``inspect``, ``<=>``, ``==``, ``hash``, ``eql?``, the blocks of ``gsub``,
``scan``, ``scrub``, ``sort_by``, ``each_char``...) run a random sequence of mutations
on those inputs (replace, clear, push, shift, delete, GC, allocation churn), then
builds the inputs again and runs a pure-Ruby reimplementation with the same callbacks
in the same order. The property: each result equals the reference's, or is a typed
error (a StandardError); for the core methods with no reference the result must have
the right type; no result holds bytes the inputs never had (the debug guest's
poisoned memory, 0xDB); and the run itself never traps.

``make test`` runs 2,000 examples against data/kobako.wasm; ``make fuzz`` runs
``KOBAKO_FUZZ_EXAMPLES`` of them against the debug guest (``KOBAKO_WASM=
data/kobako-debug.wasm``), whose allocator poisons and quarantines freed memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kobako_async import Sandbox

EXAMPLES = int(os.environ.get("KOBAKO_FUZZ_EXAMPLES", "2000"))

# The Ruby harness: mutations, the callback object, the pure-Ruby references, check().
PRELUDE = (Path(__file__).parent / "uaf_prelude.rb").read_text()

_MUTATION = st.tuples(
    st.sampled_from(["rep", "clr", "add", "cut", "del", "rev", "gc", "churn", "os_str", "os_ary"]),
    st.integers(0, 5),
)
_SPEC = st.lists(_MUTATION, max_size=4)
_WORD = st.text(alphabet="abcxyz019 ", max_size=12)
_BYTES = st.lists(
    st.sampled_from(["a", "z", "é", "\\xff", "\\xe3\\x81", "\\xc3", "0"]), max_size=12
)


def _ruby_spec(spec: list[tuple[str, int]]) -> str:
    return "[" + ", ".join(f"[:{name}, {i}]" for name, i in spec) + "]"


def _rstr(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def _case(draw: st.DrawFn) -> str:
    """One check(...) line of Ruby."""
    mutations = draw(_SPEC)
    kind = draw(st.sampled_from(sorted(_KINDS)))
    line = _KINDS[kind](draw, _ruby_spec(mutations))
    if any(name.startswith("os_") for name, _ in mutations):
        line = line.rsplit(", ", 1)[0] + ", false)"  # they hit the reference's own objects
    return line


def _words(draw: st.DrawFn, n: int) -> list[str]:
    return [_rstr(w) for w in draw(st.lists(_WORD, min_size=1, max_size=n))]


def _json(draw: st.DrawFn, spec: str) -> str:
    words = _words(draw, 5)
    items = ", ".join(f"Cb.new({w}, {spec})" if i % 2 == 0 else w for i, w in enumerate(words))
    hash = f"{{{words[0]} => [Cb.new(1, {spec}), 2]}}"
    build = f"-> {{ inner = [{items}]; [inner, {hash}, +{words[-1]}] }}"
    c, r = "->(t) { JSON.generate([t[0], t[1]]) }", "->(t) { rjson([t[0], t[1]]) }"
    return f"check(:json, {c}, {r}, {build}, true)"


def _scrub(draw: st.DrawFn, spec: str) -> str:
    # long enough to live in a malloc'd buffer, not inside the String object
    text = '"' + "".join(draw(_BYTES)) + '"' + f" * {draw(st.integers(1, 12))}"
    build = f"-> {{ [+({text}), [1, 2], {{}}] }}"
    block = f"{{ |b| mutate({spec}); b.bytes.join('.') }}"
    return (
        f"check(:scrub, ->(t) {{ t[0].scrub {block} }},"
        f" ->(t) {{ rscrub(t[0]) {block} }}, {build}, :errors)"
    )


def _gsub(draw: st.DrawFn, spec: str) -> str:
    text = _rstr(draw(_WORD) * draw(st.integers(1, 8)))
    pattern = draw(st.sampled_from(["/[a-c]/", "/\\d+/", "/x|/", "/ /"]))
    build = f"-> {{ [+{text}, [1], {{}}] }}"
    kind = draw(st.sampled_from(["gsub", "scan"]))
    if kind == "gsub":
        c = f"->(t) {{ t[0].gsub({pattern}) {{ |m| mutate({spec}); m.upcase + '_' }} }}"
        r = f"->(t) {{ rgsub(t[0], {pattern}) {{ |m| mutate({spec}); m.upcase + '_' }} }}"
    else:
        block = f"{{ |m| mutate({spec}); got << m }}"
        c = f"->(t) {{ got = []; t[0].scan({pattern}) {block}; got.join(',') }}"
        r = f"->(t) {{ got = []; rscan(t[0], {pattern}) {block}; got.join(',') }}"
    return f"check(:{kind}, {c}, {r}, {build}, true)"


def _write(draw: st.DrawFn, spec: str) -> str:
    words = _words(draw, 4)
    items = ", ".join(f"Cb.new({w}, {spec})" for w in words)
    build = f"-> {{ args = [{items}]; [args, +'FZw' * 3, [0]] }}"
    return (
        "check(:write, ->(t) { $stderr.write(*t[0]) },"
        " ->(t) { t[0].dup.map(&:to_s).sum(&:bytesize) }, " + build + ", true)"
    )


def _sort_by(draw: st.DrawFn, spec: str) -> str:
    words = _words(draw, 6)
    build = f"-> {{ [[{', '.join(words)}], [3, 1], {{}}] }}"
    c = f"->(t) {{ t[0].sort_by {{ |x| mutate({spec}); x.to_s }} }}"
    r = f"->(t) {{ rsort_by(t[0]) {{ |x| mutate({spec}); x.to_s }} }}"
    each = f"->(t) {{ got = []; t[1].to_s.each_char {{ |ch| mutate({spec}); got << ch }}; got }}"
    if draw(st.booleans()):
        return f"check(:sort_by, {c}, {r}, {build}, false)"
    return f"check(:each_char, {each}, nil, {build}, false)"


# Core methods with callbacks and no reference: the result's type is the check.
_LOOSE = {
    "join": "t[0].join(',')",
    "inspect": "t[0].inspect + t[1].inspect",
    "include": "t[0].include?(Cb.new('k', SPEC))",
    "index": "t[0].index(Cb.new('k', SPEC))",
    "delete": "t[0].delete(Cb.new('k', SPEC))",
    "uniq": "t[0].uniq",
    "minus": "t[0] - [Cb.new('k', SPEC)]",
    "eq": "t[0] == t[0].dup",
    "cmp": "t[0] <=> t[0].dup",
    "hash_get": "t[1][Cb.new('k', SPEC)]",
    "hash_eq": "t[1] == t[1].dup",
    "format": "format('%s-%s', *t[0].first(2), *[nil, nil])",
    "max": "t[0].max",
    "ary_hash": "t[0].hash",
}


def _loose(draw: st.DrawFn, spec: str) -> str:
    words = _words(draw, 5)
    kind = draw(st.sampled_from(sorted(_LOOSE)))
    items = ", ".join(f"Cb.new({w}, {spec})" for w in words)
    keys = ", ".join(f"Cb.new({w}, {spec}) => {i}" for i, w in enumerate(words))
    build = f"-> {{ [[{items}], {{{keys}}}, +'FZs' * 4] }}"
    call = _LOOSE[kind].replace("SPEC", spec)
    return f"check(:{kind}, ->(t) {{ {call} }}, nil, {build}, false)"


_KINDS = {
    "json": _json,
    "scrub": _scrub,
    "gsub": _gsub,
    "write": _write,
    "sort_by": _sort_by,
    "loose": _loose,
}


@pytest.mark.timeout(max(120, EXAMPLES // 10))  # make fuzz runs many more examples
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_case(), min_size=1, max_size=8))
def test_callbacks_that_mutate_inputs_never_corrupt_memory(cases: list[str]) -> None:
    """C methods whose callbacks mutate their inputs return what a pure-Ruby
    reimplementation returns, or a typed error, never corrupted or freed bytes."""
    script = PRELUDE + "[\n" + ",\n".join(cases) + "\n].compact"
    ex = Sandbox(timeout=10.0, stderr_limit=1 << 16).run(script)
    assert ex.value == [], f"{ex.value!r}\n--- cases:\n" + "\n".join(cases)
