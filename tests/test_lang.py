"""Language- and core-level CRuby behaviour in the guest (CRuby 3.1 is the oracle).

Covers guest/patches/50 (defined?, do-while, frozen_string_literal) and the
mruby-kobako-lang gem (exceptions, Unicode case mapping, String#inspect, Encoding).
"""

from __future__ import annotations

import pytest
from tests.cruby import cruby_stdout, needs_ruby

import kobako_async
from kobako_async import Sandbox

# Each script prints with `p`/`puts`; the guest must print exactly what CRuby prints.
DIFFERENTIAL = {
    "errinfo": r"""
        x = (raise "boom" rescue $!.message); p x, $!
        begin; raise "a"; rescue; p $!.message; end
        p $!
        n = 0
        begin; n += 1; raise "r#{n}"; rescue; retry if n < 3; end
        p n, $!
        begin; raise "z"; rescue; end
        begin; raise; rescue RuntimeError => e; p e.message; end
    """,
    "defined_names": r"""
        x = 1
        @set = nil
        $g = nil
        p defined?(String), defined?(NoSuchConst), defined?(Comparable::Nope), defined?(::String)
        p defined?(@set), defined?(@unset), defined?($g), defined?($nope), defined?($stdout)
        p defined?(x), defined?(y), defined?(puts), defined?(nope), defined?(String.new)
        p defined?(String.nope), defined?(nope.foo), defined?(raise("x").foo), defined?(1 + 1)
        p defined?(x = 2), defined?(x += 1), defined?(@a ||= 1), x, @a
        p defined?(nil), defined?(true), defined?(false), defined?(self), defined?(1), defined?("s")
        p defined?([1]), defined?(x && y), defined?((x)), defined?(self.to_s)
        v = defined? String
        p v
        p defined?(@@nope), defined?(:sym), defined?(1..2), defined?(-> {}), defined?([x][0])
    """,
    "defined_yield_super_cvar": r"""
        def m; defined?(yield); end
        p m, m {}
        class A; def f; end; end
        class B < A
          @@cv = 1
          def f = defined?(super)
          def g = defined?(super)
          def h = [1].map { defined?(super) }
          def c = defined?(@@cv)
        end
        p B.new.f, B.new.g, B.new.h, B.new.c
        p defined?(String) ? "yes" : "no", defined?(Nope) ? "yes" : "no"
    """,
    "do_while": r"""
        i = 10
        begin
          i += 1
        end until true
        p i
        j = 0
        begin; j += 1; end while false
        p j
        k = 0
        begin
          k += 1
          next if k < 3
        end while k < 5
        p k
        n = 0
        n += 1 while false
        p n
        r = begin; 1; end while false
        p r
    """,
    "exceptions": r"""
        p RuntimeError.new("x").inspect, RuntimeError.new.inspect, RuntimeError.new("").inspect
        p ArgumentError.new("bad") == ArgumentError.new("bad")
        p RuntimeError.new("a") == RuntimeError.new("b")
        p IOError.ancestors.take(3), EOFError.superclass, SystemExit.superclass
        p Interrupt.superclass, NotImplementedError.superclass, FloatDomainError.superclass
        p UncaughtThrowError.superclass, Encoding::CompatibilityError.superclass
        p EncodingError.superclass, SignalException.superclass
        begin
          raise IndexError, "out", ["here:1"]
        rescue => e
          p e.class, e.message, e.backtrace
        end
        e = SystemExit.new(3, "bye")
        p e.status, e.success?, e.message, SystemExit.new.status
        begin
          raise TypeError, "t", cause: nil
        rescue => e
          p e.cause
        end
        begin
          raise "x"
        rescue => e
          p e.full_message(highlight: false).lines.first.include?("x (RuntimeError)")
        end
    """,
    "strings_misc": r"""
        p "\0\e\x7f\t\a\b\v\f\r#\#{x}#\$y#a\u200b\u00e9\u0085".inspect
        p "\xff\xfeok", "tab\there", "日本"
        s = +"lit"
        p s.frozen?, (+s).equal?(s), (-s).frozen?, (-"x").frozen?
        f = "frozen".freeze
        p (+f).frozen?, (+f).equal?(f)
        p "ab".sum, "hello world".sum(8), "".sum
        puts []
        puts [nil], [[], [1]]
        p __FILE__ == $0, $0 == $PROGRAM_NAME
    """,
    "unicode_case": r"""
        p "café".upcase, "CAFÉ".downcase, "straße".upcase, "éCOLE".capitalize, "ǅ".upcase
        p "Ärger über".swapcase, "ﬃ".upcase, "ß".capitalize, "İ".downcase.bytes, "ΣΑΣ".downcase
        p "café".upcase(:ascii), "ÀB".downcase(:ascii), "ǆ".capitalize, "ᾳ".upcase
        s = +"émile"; p s.upcase!, s, s.upcase!, "x".downcase!
        p "ПРИВЕТ мир".swapcase, "ǳ".swapcase, "hello".upcase, "MiXeD".swapcase
    """,
    "encoding": r"""
        p "café".encoding, "x".encoding.to_s, Encoding::UTF_8.name, Encoding::BINARY
        p "é".force_encoding("UTF-8"), "abc".ascii_only?, "é".ascii_only?
        p "ok".valid_encoding?, "\xff".valid_encoding?, "a\xffb".scrub("?"), "a\xffb".scrub
        p "a\xffb".encode("UTF-8", invalid: :replace, replace: "?"), Encoding.find("binary")
        p "e\u0301a".grapheme_clusters, "e\u0301a".each_grapheme_cluster.to_a.size
        p Encoding.default_external, Encoding.default_internal
    """,
    "instance_methods": r"""
        c = Class.new { def initialize; end; def x; end; def respond_to_missing?(*) = false }
        p c.instance_methods(false), c.new.respond_to?(:x)
    """,
}


def _guest(source: str) -> str:
    execution = Sandbox().run(source + "\nnil")
    assert isinstance(execution.stdout, str)
    return execution.stdout


@needs_ruby
@pytest.mark.parametrize("name", sorted(DIFFERENTIAL))
def test_behaves_like_cruby(name: str) -> None:
    """Each script prints exactly what CRuby prints."""
    source = DIFFERENTIAL[name]
    assert _guest(source) == cruby_stdout(source)


@needs_ruby
@pytest.mark.parametrize(
    "source",
    [
        "# frozen_string_literal: true\n"
        'p "a".frozen?, "a#{1}".frozen?, String.new("x").frozen?, +"a" << "b"\n',
        '# -*- frozen-string-literal: true -*-\np "a".frozen?\n',
        '# encoding: utf-8\n# frozen_string_literal: false\np "a".frozen?\n',
        'x = 1\n# frozen_string_literal: true\np "a".frozen?\n',
        "# frozen_string_literal: true\nbegin\n  'lit' << 'x'\nrescue => e\n  p e.class\nend\n",
    ],
    ids=["on", "emacs-style", "off", "after-code", "mutation-raises"],
)
def test_frozen_string_literal_comment(source: str) -> None:
    """The magic comment freezes plain literals only when it comes before any code."""
    assert _guest(source) == cruby_stdout(source)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(timeout=5.0)


def test_cause_is_the_exception_being_handled(sandbox: Sandbox) -> None:
    """An exception raised inside a rescue clause gets the handled one as its cause."""
    script = 'begin; begin; raise "in"; rescue; raise "out"; end; rescue => e; e.cause&.message end'
    assert sandbox.run(script).value == "in"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ('raise TypeError, "t", cause: 5', r"TypeError: exception object expected"),
        ('raise IndexError, "out", ["a:1"]', r"IndexError: out"),
        ("raise Class.new(StandardError)", r"StandardError|#<Class"),
        ('"x".force_encoding("EBCDIC-x")', r"ArgumentError: unknown encoding name - EBCDIC-x"),
        ('"x".freeze.force_encoding("UTF-8")', r"FrozenError"),
        ('"x".upcase(:nope)', r"ArgumentError: invalid option"),
        ('"x".freeze.upcase!', r"FrozenError"),
        ("Encoding.new", r"NoMethodError"),
        ("defined?(1, 2)", r"NoMethodError"),
    ],
    ids=[
        "cause-not-exception",
        "three-arg-raise",
        "anonymous-class",
        "unknown-encoding",
        "frozen-force-encoding",
        "bad-case-option",
        "frozen-upcase-bang",
        "encoding-new",
        "defined-two-args",
    ],
)
def test_bad_input_is_a_typed_error(sandbox: Sandbox, script: str, message: str) -> None:
    """Misuse raises a Ruby error the script could rescue; the Sandbox keeps working."""
    with pytest.raises(kobako_async.SandboxError, match=message):
        sandbox.run(script)
    assert sandbox.run('defined?(String) + "é".upcase').value == "constantÉ"


def test_defined_never_raises(sandbox: Sandbox) -> None:
    """Probing undefined names of every kind answers nil, never an exception."""
    script = (
        "[defined?(Nope), defined?(Nope::Deeper), defined?(@nope), defined?($nope), "
        "defined?(@@nope), defined?(nope), defined?(nope.nope), defined?(1.nope), "
        "defined?(yield), defined?(super)]"
    )
    assert sandbox.run(script).value == [None] * 10


def test_case_mapping_of_large_text(sandbox: Sandbox) -> None:
    """Case mapping handles long non-ASCII strings in one pass."""
    script = '("ñandú " * 50_000).upcase.size'
    assert sandbox.run(script).value == 300_000
