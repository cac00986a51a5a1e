"""Fuzzing Sandbox.run with random bytes, random text and mutated Ruby snippets.

The property: every run ends in a value or a KobakoError, never another exception,
never a hang past its timeout, never a dead process. ``make test`` runs a bounded
number of examples; ``KOBAKO_FUZZ_EXAMPLES=20000`` (``make fuzz``) runs many more.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.exact import assert_exact

from kobako_async import (
    Execution,
    FuelExhaustedError,
    InvalidScriptError,
    KobakoError,
    MemoryLimitError,
    NoServiceError,
    Sandbox,
    Symbol,
    TimeoutError,
    TrapError,
)

from . import method_rules
from .method_rules import RAN, REFUSED_EVERYWHERE, RULES, SHAPES, verdict

EXAMPLES = int(os.environ.get("KOBAKO_FUZZ_EXAMPLES", "300"))
"""Examples per fuzz test (there are four)."""
TIME_SCALE = float(os.environ.get("KOBAKO_TEST_TIME_SCALE", "1"))
"""Stretches the timeouts when the code runs slower on purpose (make mutation sets 10)."""
RUN_TIMEOUT_S = 0.5 * TIME_SCALE
HANG_SLACK_S = 2.0 * TIME_SCALE
"""How far past its timeout a run may end before it counts as a hang (a loaded CI
machine overshoots the epoch ticks; a real hang overshoots without bound)."""

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Target:
    """The Service the fuzzed scripts may call."""

    def echo(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [list(args), kwargs]

    def opaque(self) -> Target:
        return Target()

    def boom(self, message: str = "boom") -> None:
        raise ValueError(message)


SNIPPETS = [
    "1 + 1",
    "x = 0; 10.times { |i| x += i }; x",
    "def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2); fib(15)",
    "[1, 2, 3].map { _1 * 2 }.select(&:even?).sum",
    '{a: 1, "b" => [2, 3.5, nil]}.to_a.flatten',
    '"héllo wörld".upcase.reverse * 3',
    's = +""; 100.times { |i| s << i.to_s }; s.size',
    "a = (1..50).to_a; a.each_slice(7).map(&:sum)",
    'class Foo; attr_accessor :x; def initialize(x) = @x = x; def to_s = "Foo(#{x})"; end\n'
    "puts Foo.new(3); Foo.new(4).x",
    "module M; def self.go(*a, **k, &b) = [a, k, b&.call]; end; M.go(1, z: 2) { 3 }",
    "begin; raise ArgumentError, 'bad'; rescue => e; [e.class.to_s, e.message]\n"
    "ensure; puts 'done'; end",
    "catch(:found) { 10.times { |i| throw :found, i if i == 4 }; nil }",
    "f = Fiber.new { |x| y = Fiber.yield(x + 1); y * 2 }; [f.resume(1), f.resume(5)]",
    "e = [1, 2, 3].each; [e.next, e.next]",
    "Struct.new(:a, :b).new(1, 2).to_a",
    '"%05.2f|%-4s|%x" % [3.14159, "ab", 255]',
    '[1, 2].pack("s*").unpack("s*")',
    "2**64 + 2**63 - 1",
    "(1..Float::INFINITY).lazy.map { _1 * 3 }.first(4)",
    "h = Hash.new { |hash, k| hash[k] = k * 2 }; h[21]",
    "Comparable.instance_method(:clamp).bind_call(5, 1, 3)",
    '"abc".each_char.with_index.map { |c, i| c * i }.join',
    "Time.now.to_i + rand(10)",
    "[3, 1, 2].sort_by { -_1 }.each_cons(2).to_a",
    "Set.new([1, 2, 2, 3]).size",
    "Rational(3, 4) + Complex(1, 2)",
    "Math.sqrt(2) * Math::PI",
    "a = []; a << a; a.inspect",
    "o = Object.new; def o.method_missing(n, *a) = n; o.zork",
    "ObjectSpace.count_objects.size > 0",
    'eval("1 + 2") + instance_eval("3")',
    "x = 5; binding.local_variable_get(:x)",
    "$stdout.write('a', 1); $stderr.puts 'b'; p :c",
    "Svc.echo(1, 'two', [3], {four: 4}, k: :v)",
    "h = Svc.opaque; Svc.echo(h); h.echo(1)",
    "begin; Svc.boom('x'); rescue Kobako::ServiceError => e; e.message; end",
    "Kobako.__call(Svc, :echo, [1, 2], {})",
    "Svc.nope rescue $!.class.to_s",
    "i = 0; while i < 100; i += 1; break if i > 50; end; i",
    "<<~EOS\n  heredoc #{1 + 1}\n  text\nEOS",
    "%w[a b c].each_with_object({}) { |s, h| h[s] = s.ord }",
    "case 5; in Integer => n if n > 3 then n; else 0; end",
]

TOKENS = [
    "end",
    "do",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "|",
    ",",
    ";",
    "\n",
    ".",
    "::",
    "&.",
    "def ",
    "class ",
    "module ",
    "begin ",
    "rescue ",
    "ensure ",
    "retry",
    "redo",
    "yield",
    "return ",
    "next ",
    "break ",
    "while ",
    "until ",
    "loop ",
    "if ",
    "unless ",
    "then ",
    "*",
    "**",
    "&",
    "->",
    "=>",
    "=",
    "==",
    "<<",
    ">>",
    "%",
    "?",
    ":",
    "!",
    "~",
    "'",
    '"',
    "#{",
    "%w[",
    "%(",
    "<<~E\n",
    "=begin\n",
    "=end\n",
    "__END__\n",
    "#",
    "nil",
    "self",
    "super",
    "true",
    ":sym",
    "@iv",
    "@@cv",
    "$gv",
    "Kobako",
    "Svc",
    "Svc.echo(",
    "Svc.opaque",
    "Kobako.__call(",
    "Fiber.yield",
    "Fiber.new {",
    "GC.start",
    "ObjectSpace",
    "define_method(:x) {",
    "instance_eval(",
    "eval(",
    "raise ",
    "throw :x",
    "2**64",
    "-1",
    "1e308",
    "Float::NAN",
    "0x7fffffff",
    "\\xff",
    "\\0",
    "é",
    "\U0001f600",
    "\ufeff",
    "\u202e",
    "\\u{10ffff}",
]

OPS = [
    "delete",
    "insert",
    "replace",
    "duplicate",
    "duplicate",
    "number",
    "number",
    "number",
    "char",
]
"""Edits, weighted toward those that keep a snippet parseable."""
NUMBERS = ["0", "-1", "2**31", "2**32", "2**62", "2**64", "9" * 25, "1.0e308", "-0.0"]


@st.composite
def mutated_snippets(draw: st.DrawFn) -> str:
    """A valid snippet (or two joined), then a few random edits."""
    source = draw(st.sampled_from(SNIPPETS))
    if draw(st.booleans()):
        source += draw(st.sampled_from(["; ", "\n", " + ", ".", " "])) + draw(
            st.sampled_from(SNIPPETS)
        )
    for _ in range(draw(st.integers(1, 3))):
        n = len(source)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 12)))
        op = draw(st.sampled_from(OPS))
        if op == "delete":
            source = source[:i] + source[j:]
        elif op == "insert":
            source = source[:i] + draw(st.sampled_from(TOKENS)) + source[i:]
        elif op == "replace":
            source = source[:i] + draw(st.sampled_from(TOKENS)) + source[j:]
        elif op == "duplicate":
            source = source[:j] + source[i:j] * draw(st.integers(1, 8)) + source[j:]
        elif op == "number":
            numbers = list(re.finditer(r"\d+(\.\d+)?", source))
            if numbers:
                m = draw(st.sampled_from(numbers))
                source = source[: m.start()] + draw(st.sampled_from(NUMBERS)) + source[m.end() :]
        else:
            source = source[:i] + draw(st.characters(codec="utf-8")) + source[j:]
    return source


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(
        timeout=RUN_TIMEOUT_S,
        memory_limit=32 << 20,
        max_service_calls=1000,
        max_message_bytes=1 << 20,
        stdout_limit=64 << 10,
        stderr_limit=64 << 10,
    ).bind("Svc", Target())


DOCUMENTED_TRAPS = (TimeoutError, MemoryLimitError, FuelExhaustedError)
STACK_EXHAUSTED = "call stack exhausted"
"""The one plain TrapError a script may cause: the wasm stack ran out in C frames."""


def check_trap(exc: TrapError, script: str) -> None:
    """A trap must be a documented kind; any other (an out-of-bounds access, an
    unreachable, a broken ABI) is a bug in the guest or the host."""
    if type(exc) in DOCUMENTED_TRAPS:
        return
    assert type(exc) is TrapError and STACK_EXHAUSTED in str(exc), (
        f"undocumented trap {type(exc).__name__}: {str(exc)[:300]} for {script!r}"
    )


def check_run(sandbox: Sandbox, script: str) -> None:
    """Run ``script``: it must end in a value or a KobakoError, within its timeout, and
    a trap only of a documented kind."""
    started = time.perf_counter()
    try:
        ex = sandbox.run(script)
    except InvalidScriptError:
        assert "\0" in script or not _utf8_encodable(script)
    except TrapError as exc:
        assert isinstance(exc.execution, Execution), repr(exc)
        check_trap(exc, script)
    except KobakoError as exc:
        assert isinstance(getattr(exc, "execution", None), Execution), repr(exc)
    else:
        assert isinstance(ex, Execution)
        assert len(ex.stdout.encode("utf-8", "surrogatepass")) <= 3 * (64 << 10)
    elapsed = time.perf_counter() - started
    assert elapsed < RUN_TIMEOUT_S + HANG_SLACK_S, f"run took {elapsed:.2f} s: {script!r}"


def _utf8_encodable(script: str) -> bool:
    try:
        script.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


@FUZZ_SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(sandbox: Sandbox, data: bytes) -> None:
    """Random bytes as a script (invalid UTF-8 kept as-is) end in a value or a KobakoError."""
    check_run(sandbox, data.decode("utf-8", "surrogateescape"))


@FUZZ_SETTINGS
@given(text=st.text(max_size=300))
def test_random_text(sandbox: Sandbox, text: str) -> None:
    """Random text, NULs included (refused with InvalidScriptError), ends cleanly."""
    check_run(sandbox, text)


@FUZZ_SETTINGS
@given(script=mutated_snippets())
def test_mutated_snippets(sandbox: Sandbox, script: str) -> None:
    """Randomly edited Ruby snippets end in a value or a KobakoError, within the timeout."""
    check_run(sandbox, script)


@FUZZ_SETTINGS
@given(
    target=st.sampled_from(["Svc", "Svc.opaque", "1", "nil", "Kobako", '"Svc"']),
    name=st.one_of(
        st.sampled_from([":echo", ":boom", ":opaque", ":__class__", ":nope", '"echo"', "nil"]),
        st.text(max_size=12).map(lambda s: ":" + repr(s).replace("\\", "\\\\")),
    ),
    args=st.sampled_from(["[]", "[1, 'a', nil]", "[Svc]", "'x'", "nil", "[2**64, -2**70]"]),
    kwargs=st.sampled_from(["{}", "{a: 1}", "{1 => 2}", "{'s' => 1}", "[]", "nil"]),
)
def test_raw_service_calls(
    sandbox: Sandbox, target: str, name: str, args: str, kwargs: str
) -> None:
    """Kobako.__call with arbitrary targets, names, args and kwargs ends cleanly."""
    check_run(sandbox, f"Kobako.__call({target}, {name}, {args}, {kwargs})")


# ---- raw Service calls that reach the host, checked against the method-rule table ----

ARGUMENTS = [
    ("1", 1),
    ("'a'", "a"),
    (":s", Symbol("s")),
    ("nil", None),
    ("true", True),
    ("1.5", 1.5),
    ("2**70", 2**70),
    ("[1, [2.0]]", [1, [2.0]]),
    ('"\\u{1f600}" * 3', "\U0001f600" * 3),
]
KWARGS = [("{}", {}), ("{k: 1}", {"k": 1}), ("{a: :b, c: nil}", {"a": Symbol("b"), "c": None})]


def shape_path(shape: str) -> str:
    """One-segment paths: the guest fails every run that binds a nested path of 12+
    bytes (test_corpus.py::test_long_nested_binding_path)."""
    return "Shape" + shape


def ruby_string(text: str) -> str:
    """A Ruby double-quoted literal of ``text``, every non-alphanumeric escaped."""
    return (
        '"'
        + "".join(c if c.isascii() and c.isalnum() else f"\\u{{{ord(c):x}}}" for c in text)
        + '"'
    )


@pytest.fixture(scope="module")
def shapes_sandbox() -> Sandbox:
    sandbox = Sandbox(timeout=RUN_TIMEOUT_S, max_service_calls=1000)
    for shape, obj in SHAPES.items():
        sandbox.bind(shape_path(shape), obj)
    return sandbox


def check_method_rule(sandbox: Sandbox, shape: str, name: str, args: list[Any], kw: Any) -> None:
    """Call ``name`` on the bound ``shape`` with well-formed arguments; the outcome must
    be the table's verdict, and no getter, ``__getattr__`` or refused method ran."""
    expected = verdict(shape, name)
    arg_src = "[" + ", ".join(src for src, _ in args) + "]"
    script = f"Kobako.__call({shape_path(shape)}, {ruby_string(name)}.to_sym, {arg_src}, {kw[0]})"
    RAN.clear()
    if expected == "called":
        value = sandbox.run(script).value
        assert_exact(value, ["called", shape, name, [v for _, v in args], kw[1]])
    else:
        with pytest.raises(NoServiceError) as info:
            sandbox.run(script)
        assert info.value.message == f"undefined method '{name}' for {shape_path(shape)}"
    assert RAN == [], f"user code ran for {shape}.{name}: {RAN}"


def _names_for(shape: str) -> st.SearchStrategy[str]:
    listed = [rule.name for rule in RULES if rule.shape == shape]
    return st.one_of(
        st.sampled_from(listed) if listed else st.nothing(),
        st.sampled_from(REFUSED_EVERYWHERE),
        st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=12),
        st.sampled_from(listed + ["x"]).map(lambda n: n + "_"),
    )


@st.composite
def method_calls(draw: st.DrawFn) -> tuple[str, str]:
    """A bound shape and a name to call on it."""
    shape = draw(st.sampled_from(sorted(SHAPES)))
    return shape, draw(_names_for(shape))


@FUZZ_SETTINGS
@given(
    call=method_calls(),
    args=st.lists(st.sampled_from(ARGUMENTS), max_size=3),
    kw=st.sampled_from(KWARGS),
)
def test_raw_service_calls_follow_the_method_rules(
    shapes_sandbox: Sandbox, call: tuple[str, str], args: list[Any], kw: Any
) -> None:
    """Well-formed Kobako.__call on functions, classes, instances with properties,
    slots, descriptors, allow-sets and predicates, modules: called or refused exactly as
    the rule table says, and no getter ever runs."""
    check_method_rule(shapes_sandbox, call[0], call[1], args, kw)


@pytest.mark.parametrize("rule", [pytest.param(r, id=f"{r.shape}.{r.name}") for r in RULES])
def test_every_method_rule(shapes_sandbox: Sandbox, rule: method_rules.Rule) -> None:
    """Each row of the rule table, once, with one argument and one keyword."""
    check_method_rule(shapes_sandbox, rule.shape, rule.name, [ARGUMENTS[1]], KWARGS[1])


def test_sandbox_survives_the_fuzzing(sandbox: Sandbox) -> None:
    """After the fuzz tests above, the shared Sandbox still runs scripts and Services."""
    assert_exact(sandbox.run("[1 + 1, Svc.echo(:ok)]").value, [2, [[Symbol("ok")], {}]])


def test_hypothesis_profile_reproduces() -> None:
    """Without KOBAKO_HYPOTHESIS_PROFILE the fuzz tests are derandomized and print the
    blob that replays a failure; with ``fuzz`` (make fuzz) they search at random."""
    profile = os.environ.get("KOBAKO_HYPOTHESIS_PROFILE", "ci")
    assert FUZZ_SETTINGS.derandomize is (profile == "ci")
    assert FUZZ_SETTINGS.print_blob is True
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("fuzz").derandomize is False
