"""Regexp in the guest: CRuby's behaviour (CRuby is the oracle), bounded matching, bad input."""

from __future__ import annotations

import pytest
from tests.cruby import cruby_stdout, needs_ruby

import kobako_async
from kobako_async import Sandbox

# Each script prints with `p`; the guest must print exactly what CRuby prints.
DIFFERENTIAL = {
    "match_operators": r"""
        p "hello world" =~ /wor/, $~, $&, $1, "x" =~ /y/, $~
        p "phone: 555-1234".match?(/\d{3}-\d{4}/)
        p(/ll/ === "hello", /ll/ === 5, "hello" !~ /z/)
    """,
    "named_captures": r"""
        m = "John Smith 42".match(/(?<first>\w+) (?<last>\w+) (?<age>\d+)/)
        p m, m[:first], m["age"].to_i, m.names, m.captures, m.named_captures
        p m.pre_match, m.post_match, m.begin(:last), m.end(0), m.offset(2), m.size
        p m.values_at(1, 3), m.to_a, m[-1], m[1..2]
    """,
    "globals": r"""
        "key=value; other" =~ /(\w+)=(\w+)/
        p $~[0], $1, $2, $3, $`, $', $+, Regexp.last_match(1)
    """,
    "scan": r"""
        p "a1b22c333".scan(/\d+/), "a1b22c333".scan(/([a-z])(\d+)/), "abc".scan(//)
        "x1y2".scan(/[a-z](\d)/) { |d| print d, $~[0], " " }
        puts
        p "no digits".scan(/\d/), "aaa".scan("a")
    """,
    "sub_gsub": r"""
        p "hello world".gsub(/o/, "0"), "hello".sub(/l/) { |x| x.upcase }
        p "hello".gsub(/(l)/, '<\1>'), "john smith".gsub(/(\w+)/) { $1.capitalize }
        p "a.b.c".gsub(".", "-"), "test".gsub(/t/, "t" => "T"), "abc".sub(/(?<x>b)/, '[\k<x>]')
        p "aaa".gsub(/a*/, "-"), "abc".gsub(/b*/, "-"), "abc".gsub(//, "."), "x".gsub(/y/, "z")
        p "a-b".sub(/(a)-(b)/, '\2-\1 \0 \\\\ \&'), "price: 5".sub(/\d/) { |d| (d.to_i * 2).to_s }
        s = +"hello"; p s.gsub!(/l/, "L"), s, s.sub!(/z/, ""), s
    """,
    "split": r"""
        p "a,b;;c".split(/[,;]/), "abc".split(//), "a1b2c3".split(/(\d)/)
        p "a b  c ".split(/\s+/, 2), "1,2,,3,,".split(/,/), "1,2,,3,,".split(/,/, -1)
        p " lead".split(/\s/), "".split(/,/), "abc".split(/b/, 1), "héllo wörld".split(/\s/)
    """,
    "index_slice": r"""
        p "hello".index(/l/), "hello".rindex(/l/), "hello".index(/l/, 3), "hello".index(/z/)
        p "2024-01-05"[/\d+/], "2024-01-05"[/(\d+)-(\d+)/, 2], "hello".slice(/e(l+)/, 1)
        p "hello".start_with?(/he/), "hello".start_with?(/el/), "a=1".partition(/=/)
        p "a=1=2".rpartition(/=/), "café olé" =~ /olé/, "café".match(/é/).begin(0)
        s = +"hello world"; p s.slice!(/o w/), s
    """,
    "case_and_grep": r"""
        %w[hello123 HELLO 42].each do |w|
          case w
          when /\A[a-z]+\d+\z/ then puts "lower+digits #{$~[0]}"
          when /\A[A-Z]+\z/ then puts "upper"
          else puts "other"
          end
        end
        p %w[apple banana cherry].grep(/an/)
    """,
    "options_and_inspect": r"""
        p(/a\/b/.source, /a\/b/, %r{a/b}, /x/i.to_s, /x/mix, Regexp.new("a/b"))
        p Regexp.escape("a.b*c d\n"), Regexp.union("a.b", /c/i), Regexp.union
        p "The Cat" =~ /cat/i, "a\nb" =~ /a.b/, "a\nb" =~ /a.b/m, "foo\nbar" =~ /^bar/
        p(/a b # comment
           c/x.match?("abc"), Regexp.new("a", Regexp::IGNORECASE).casefold?)
        p(/(?<y>\d+)/.names, /x/ == /x/, /x/ == /x/i, /x/.options, /x/im.options)
    """,
    "interpolation_and_unicode": r"""
        word = "wörld"
        p "hello wörld" =~ /#{word}/, "日本語テキスト".scan(/\p{Han}/), "ÀB".match?(/àb/i)
        p "naïve café".gsub(/[^\x00-\x7f]/) { |c| "<#{c}>" }, "über".sub(/\w/, "U")
        p "über" =~ /[[:alpha:]]/, "١٢" =~ /\d/, "x\u00a0y" =~ /\s/
    """,
    "named_capture_locals": r"""
        if /(?<year>\d+)-(?<mon>\d+)/ =~ "due 2024-05"
          p [year, mon, $~[0]]
        end
        x = (/(?<miss>z)/ =~ "y"); p [x, miss]
        /[(?<no>x)](?<yes>y)/ =~ "xy"; p yes
    """,
    "symbols": r"""
        p :hello =~ /ll/, :hello.match(/l+/)[0], :abc.match?(/z/)
    """,
}


def _guest(source: str) -> str:
    execution = Sandbox().run(source)
    assert isinstance(execution.stdout, str)
    return execution.stdout


@needs_ruby
@pytest.mark.parametrize("name", sorted(DIFFERENTIAL))
def test_behaves_like_cruby(name: str) -> None:
    """Each script prints exactly what CRuby prints."""
    source = DIFFERENTIAL[name]
    assert _guest(source) == cruby_stdout(source)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(timeout=5.0)


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(a|aa)*$", r"(.*a){12}$", r"^(\w+\s?)*$"],
    ids=["nested-plus", "alternation", "repeated-dotstar", "words"],
)
def test_catastrophic_pattern_is_bounded(sandbox: Sandbox, pattern: str) -> None:
    """Exponential backtracking ends in Regexp::TimeoutError, and the next run works."""
    script = f'("a" * 40 + "!" + " x" * 20) =~ /{pattern}/'
    with pytest.raises(kobako_async.SandboxError, match=r"Regexp::TimeoutError: regexp match"):
        sandbox.run(script)
    assert sandbox.run('"ok" =~ /k/').value == 1


def test_timeout_error_is_rescuable_as_regexp_error(sandbox: Sandbox) -> None:
    """Scripts can rescue the backtracking limit like any RegexpError."""
    script = 'begin; ("a" * 40 + "!") =~ /(a+)+$/; rescue RegexpError => e; e.class.name; end'
    assert sandbox.run(script).value == "Regexp::TimeoutError"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ('Regexp.new("(")', r"RegexpError: end pattern with unmatched parenthesis: /\(/"),
        ('Regexp.new("[a")', r"RegexpError: premature end of char-class"),
        ('Regexp.new("+")', r"RegexpError: target of repeat operator is not specified"),
        ('"\\xff\\xfe" =~ /a/', r"ArgumentError: invalid byte sequence in UTF-8"),
        ('"ok\\xc3".gsub(/o/, "0")', r"ArgumentError: invalid byte sequence in UTF-8"),
        ('Regexp.new("\\xff")', r"ArgumentError: invalid byte sequence in UTF-8"),
        ('"a".match(5)', r"TypeError"),
        ('"a".gsub(/a/)', r"ArgumentError"),
        ("MatchData.new", r"NoMethodError"),
    ],
    ids=[
        "unmatched-paren",
        "open-class",
        "bad-repeat",
        "invalid-utf8-subject",
        "invalid-utf8-gsub",
        "invalid-utf8-pattern",
        "non-string-pattern",
        "gsub-without-replacement",
        "matchdata-new",
    ],
)
def test_bad_input_is_a_typed_error(sandbox: Sandbox, script: str, message: str) -> None:
    """Malformed patterns and subjects raise clear Ruby errors; the Sandbox keeps working."""
    with pytest.raises(kobako_async.SandboxError, match=message):
        sandbox.run(script)
    assert sandbox.run('"abc"[/b/]').value == "b"


def test_literal_in_a_loop_compiles_once(sandbox: Sandbox) -> None:
    """A regexp literal evaluated many times is the same cached object within a run."""
    script = "ids = 3.times.map { /x+/.object_id }.uniq.size; [ids, Regexp.compile('y').frozen?]"
    assert sandbox.run(script).value == [1, True]


def test_large_subjects(sandbox: Sandbox) -> None:
    """gsub and scan cost instructions linear in the subject: 4x the subject needs at
    most 4.5x the fuel (a quadratic copy would need 16x); fuel counts deterministically."""
    script = '[("x" * {n}).gsub(/x/, "y").size, ("ab" * {n}).scan(/b/).size]'

    def fuel_needed(n: int) -> int:
        low, high = 0, 1 << 20  # the smallest budget that completes lies in (low, high]
        while True:
            try:
                sandbox.run(script.format(n=n), fuel=high)
                break
            except kobako_async.FuelExhaustedError:
                low, high = high, high * 2
        while high - low > high // 100:
            mid = (low + high) // 2
            try:
                sandbox.run(script.format(n=n), fuel=mid)
                high = mid
            except kobako_async.FuelExhaustedError:
                low = mid
        return high

    small = fuel_needed(50_000)
    ex = sandbox.run(script.format(n=200_000), fuel=small * 9 // 2)
    assert ex.value == [200_000, 200_000]
    with pytest.raises(kobako_async.FuelExhaustedError):
        sandbox.run(script.format(n=200_000), fuel=small * 2)
