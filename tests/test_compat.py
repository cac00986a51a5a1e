# ruff: noqa: E501  (the cases are one-line Ruby scripts)
"""CRuby fidelity of the guest's core (mruby-kobako-compat and patches 20/21).

Each case runs in the Sandbox and in CRuby (/usr/bin/ruby, TZ=UTC as the guest's
local time is UTC); stdout and the inspect of the last value, or the error's class
and first message line, must be identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import kobako_async as k

RUBY = shutil.which("ruby", path="/usr/bin:/usr/local/bin")
pytestmark = pytest.mark.skipif(RUBY is None, reason="CRuby (Debian ruby) is not installed")

SANDBOX = k.Sandbox()


def _wrap(script: str) -> str:
    return f"__kv = begin\n{script}\nend\n"


def run_cruby(script: str) -> tuple[str, str]:
    assert RUBY is not None
    code = (
        "begin\n" + _wrap(script) + 'print "\\x00" + __kv.inspect\n'
        "rescue Exception => __ke\n"
        '  print "\\x01#{__ke.class}: #{__ke.message.lines.first.to_s.chomp}"\n'
        "end\n"
    )
    env = {"TZ": "UTC", "LANG": "C.UTF-8", "PATH": os.defpath}
    out = subprocess.run(
        [RUBY, "-e", code], capture_output=True, text=True, env=env, check=False
    ).stdout
    if "\x01" in out:
        stdout, err = out.rsplit("\x01", 1)
        return stdout, "ERR " + err
    stdout, value = out.rsplit("\x00", 1)
    return stdout, value


def run_guest(script: str) -> tuple[str, str]:
    try:
        execution = SANDBOX.run(_wrap(script) + "__kv.inspect\n")
    except k.SandboxError as exc:
        stdout = exc.execution.stdout if exc.execution else ""
        return stdout, f"ERR {exc.klass}: {exc.message.splitlines()[0] if exc.message else ''}"
    return execution.stdout, execution.value


FLOATS = [
    "0.1 + 0.2",
    "[1e20, 1e16, 1e15, 1e14, 100.0, 1.0e-05, 0.0001, -0.0, 1.0/0, -1.0/0, 0.0/0, 2.5e-300]",
    "[123456789.123456789, 1.5e15, 123456789012345.6, 9007199254740993.0, 5e-324, 1.7976931348623157e308]",
    "[3.0 * 1.1, 0.1 + 0.7, 1.0 / 3, 2.0 / 3, 12345678.9, 1.1 * 1.1, 100.0 / 3]",
    "%w[0.1 0.3 1.005 2.675 4.35 1e23 4.9e-324 0.30000000000000004].map { |s| [s.to_f].pack('G').unpack1('H*') }",
    "[0.3, 1e23, 2.675, 0.000123456789012345678].map { |x| [x].pack('G').unpack1('H*') }",
    'a = 2.0 / 3; "#{a} #{1e20} #{1.0}"',
    "(1..500).map { |i| (i / 7.0).to_s + (i * 0.1).to_s }.join(',')",
]

FORMATS = [
    '["%.0f" % 2.5, "%.2f" % 1.005, "%.1f" % 0.25, "%.1f" % 0.35, "%.0f" % 0.5, "%.0f" % -2.5]',
    '[format("%.2f", 2.675), format("%.2f", 1.255), format("%.1f", 0.45), format("%.2f", 1.115), '
    'format("%.2e", 2.675), format("%.3g", 2.675), format("%.2f", 9.995), format("%f", 1e20)]',
    '["%e" % 12345.678, "%g" % 1234567.0, "%g" % 0.0001234, "%.3e" % 0.000123456, "%e" % 0.0]',
    '["%x" % -255, "%b" % 10, "%b" % -5, "%o" % 8, "%+d" % 5, "%05.1f" % 3.14159, "%05.1f" % 9.5, '
    '"%-10s|" % "ab", "%s" % nil, "%%", "%#x" % 255, "%08b" % 37, "%X" % 255]',
    '["%08.3f" % -3.14159, "%+08.2f" % 3.14159, "%-+8.2f|" % 3.14159, "%10.4f|" % Math::PI]',
    '["%s and %p" % ["str", "str"], "%c" % 65, "%3d|%-3d|" % [5, 5], "%.2s" % "abcdef", '
    '"%05d" % -42, "% d" % 5, "%<a>s-%<b>d" % {a: "x", b: 2}, "%{a}!" % {a: 1}]',
    '(1..2000).map { |i| format("%.2f", i / 1000.0 + 0.0005) }.join(",")',
    '(1..500).map { |i| [format("%.1f", i * 0.05), format("%.3e", i * 1.0005)] }.join(",")',
    'printf("%05d|%.3f\\n", 42, 2.0); format("%-6s|", "ab")',
]

NUMBERS = [
    "[3.14159.round(2), 3.14159.floor(2), 3.14159.ceil(2), 2.5.round, -2.5.round, 1234.5678.round(-2)]",
    "[2.675.round(2), 1.005.round(2), -1.005.round(2), 1.15.round(1), 0.125.round(2), 123.456.round(1)]",
    "(1..3000).map { |i| (i * 0.001 + 0.005).round(2) }",
    "[15.round(-1), 25.round(-1), -15.round(-1), 1250.round(-2, half: :even), 1350.round(-2, half: :even)]",
    "[2.5.round(half: :even), 3.5.round(half: :even), -2.5.round(half: :even), 2.5.round(half: :down), "
    "2.5.round(half: :up), 12.345.floor(-1), 12.345.ceil(-1)]",
    "[2 ** -1, 2 ** -2, Rational('2/4'), Rational('0.75'), Rational(1, 3).to_s, 10 ** 20, 2.0 ** -1]",
    "[-7 / 2, -7 % 3, 7.divmod(-2), -10.divmod(3), 10.0.divmod(3), 7.remainder(-3), 3.pow(4, 5)]",
    "[4.even?, 3.odd?, 1234.digits, 12.gcd(18), 4.lcm(6), 255.bit_length, -1.bit_length, 3.fdiv(2)]",
    "[Integer.sqrt(17), Integer.sqrt(10**20), Integer.sqrt(99), 5[0], 5[1], 0.5.to_r]",
    "[Integer('0x1A', 16), Integer('0x1A'), Float('1.5'), Integer('12', 8), Integer(' 42 '), Integer('0b101')]",
    "[Math.frexp(8.0), 3.7 % 1, -3.7 % 1, 2 ** 0.5, 4 ** 0.5, 10 ** -2]",
]

ENUMS = [
    "[1,2,4,9,10,11,12,15].chunk_while { |a, b| b == a + 1 }.to_a",
    "[[1,2,4,9].slice_when { |a, b| b != a + 1 }.to_a, [1,2,6,7].slice_before(&:even?).to_a, "
    "[1,2,6,7].slice_after(&:even?).to_a, [1,1,2,3,3].chunk(&:odd?).to_a]",
    "[(1..7).each_slice(3).to_a, (1..4).each_cons(2).to_a, %w[a b a c a].tally, [1, nil, 2].compact]",
    "[[5,3,9,1].min(2), [5,3,9,1].max(2), %w[aa b ccc].min_by(2, &:size), "
    "%w[aa b ccc].max_by(2) { |s| s.size }, (1..9).min(2), (1..9).max(3), [3, 1].min, [3, 1].max]",
    "[[0.1] * 10, ([0.1] * 10).sum, [0.1, 0.2, 0.3].sum, [1e100, 1.0, -1e100].sum, [1, 2.5].sum, "
    "[[1], [2]].sum([]), %w[a b].sum(''), [1, 2, 3].sum { _1 * 2 }, (1..10).sum]",
    "[(1..10).group_by(&:odd?), (1..6).partition(&:even?), (1..4).inject(:+), (1..4).reduce(1, :*), "
    "[1, 2].zip([3, 4], [5, 6]), [1, 2, 3, 4].filter_map { |x| x * 2 if x.even? }, [[1, 2], [3]].flat_map { _1 }]",
    "[(1..10).step(3).to_a, ((1..10) % 3).to_a, (1.0..2.0).step(0.5).to_a, (0.0...1.0).step(0.25).to_a, "
    "1.step(10, 4).to_a, ('a'..'e').step(2).to_a]",
    "[%w[c a b].grep_v('a'), [3, 1, 2].sort_by! { -_1 }, [1, 2, 3].each_entry.to_a]",
    "[[3, 1, 2].minmax, [1, 2, 3].cycle.first(5), [1, 2, 3].each_slice(2).map(&:sum), 3.times.map { _1 * 2 }]",
]

HASHES = [
    "h = {b: 2, a: 1}; [h.sum { |k, v| v }, h.sort_by { |k, v| v }, h.min_by { |k, v| v }, "
    "h.to_h { |k, v| [v, k] }, h.transform_keys(&:to_s), h.transform_values { _1 * 10 }, "
    "h.filter_map { |k, v| k if v > 1 }, h.any? { |k, v| v > 1 }, h.any?([:a, 1])]",
    'h = Hash.new(0); "the fox the dog".split.each { h[_1] += 1 }; [h, h.sort_by { |k, v| [-v, k] }, '
    "h.max_by { _2 }, h.min_by(2) { _2 }, h.each_with_index.map { |(k, v), i| [k, i] }, "
    'h.fetch("cat", 5), h.fetch("cat") { |k| k * 2 }]',
    "h = Hash.new { |hash, k| hash[k] = k * 2 }; [h[3], h, h.default_proc.class]",
    "h = {a: 1, b: {c: [1, 2]}}; [h.dig(:b, :c, 1), h.assoc(:a), h.rassoc(1), h.to_a, "
    "h.merge({a: 2}) { |k, o, n| o + n }, h.slice(:a), h.except(:a)]",
    "[[[1, 2], [3, 4]].to_h { |a, b| [b, a] }, %w[a b].each_with_index.to_h, (1..3).to_h { [_1, _1 * 2] }]",
]

OBJECTS = [
    "Point = Struct.new(:x, :y); p Point.new(1, 2); [Point.new(1, 2), Point.new(1, 2).to_s, Point.new(1).to_h]",
    "P2 = Struct.new(:x, :y, keyword_init: true); [P2.new(x: 1, y: 2), P2.new(x: 1), P2.members]",
    "module M; module_function; def hi; 'hi'; end; def two = 2; end; [M.hi, M.two]",
    "def foo(a) = a * 2\n[method(:foo).call(3), 1.public_send(:+, 2), method(:foo).arity, [1, 2].map(&method(:foo))]",
    "class C; define_method(:z) { |a| a + 1 }; end; C.new.z(1)",
    "[5.clamp(1, 3), 5.clamp(..3), 5.clamp(7..), 1.5.clamp(1, 2), [[1, [2]]].dig(0, 1, 0)]",
    'require "set"; s = [1, 2, 2].to_set; [s, s.inspect, s.to_s, Set.new, Set[1, 2].include?(2)]',
    '[require("set"), require("set"), require("json"), require("time.rb")]',
    "x = (raise 'a' rescue $!.message); x",
    "x = (raise 'a' rescue $!); x",
    "begin; raise ArgumentError, 'bad'; rescue => e; [$!.message, e.equal?($!)]; end",
    'e = RuntimeError.new("hi"); [e.inspect, e.message, StandardError.new.message, KeyError.new.inspect]',
    "r = pp({a: 1}); r",
    '["az".succ, "zz".succ, "hello".tr("el", "ip"), "aaabbb".squeeze, "hello".delete("l"), '
    '"hello".count("l"), "a\\nb\\n".lines, "abc".unpack1("H*"), 5.then { _1 + 1 }]',
    '["café".length, "café".reverse, "café".chars, "café"[3], "café".center(9, "*"), '
    '"café".ljust(6, "."), "café".index("é"), "café".slice(1, 2), "日本語".reverse, "café".bytesize]',
]

TIMES = [
    "t = Time.at(0); [t, t.to_s, t.inspect, t.year, t.zone, t.to_i, t.to_f, t.usec, t.wday, t.yday]",
    "t = Time.utc(2024, 1, 2, 3, 4, 5); [t, t + 86400, t - 60, (t + 1.5) - t, t.to_a, t.month, "
    "t.day, t.hour, t.min, t.sec, t <=> t + 1, t == Time.utc(2024, 1, 2, 3, 4, 5)]",
    "t = Time.utc(2024, 1, 2, 3, 4, 5); %w[%Y %m %d %H %M %S %L %N %z %Z %a %A %b %B %j %e %I %p %y %s "
    "%F %T %D %% %-d %-m %3N %^a %10A %-I %P %u %w %c %x %X %R %r %C %k %l %:z %U %W %h %-H %_m %05Y]"
    ".map { |f| t.strftime(f) }",
    'require "time"; t = Time.utc(2024, 12, 30, 23, 59, 59); [t.strftime("%b %e, %Y %l:%M %p"), '
    't.strftime("Week %U/%W day %j"), t.iso8601, t.xmlschema(3), t + 1]',
    "t = Time.at(1700000000); [t.year, t.month, t.day, t.hour, t.wday, t.yday, t.utc, t.getutc.to_s, "
    "Time.at(1700000000, 500, :millisecond).usec]",
    "t1 = Time.utc(2024, 1, 1); t2 = Time.utc(2024, 3, 1, 12); [t2 - t1, ((t2 - t1) / 86400).floor, "
    "t1 < t2, [t2, t1].min, t1 + 0.5, (t1 + 0.5).usec, t1.to_f, t1 == Time.at(t1.to_i)]",
    "[Time.gm(2024, 3, 1), Time.mktime(2024, 3, 1), Time.local(2024, 3, 1, 12), Time.utc(2000)]",
]

ERRORS = [
    "{a: 1}.fetch(:b)",
    "nil.foo",
    "nil + 1",
    "x = 5; x.foo",
    '"abc".foo(1)',
    "1 / 0",
    "Integer('abc')",
    "Float('x1.5')",
    'require "nokogiri"',
    "require 5",
    'load "x.rb"',
    "Integer.sqrt(-1)",
    "P2 = Struct.new(:x, keyword_init: true); P2.new(z: 1)",
    "5.clamp(3, 1)",
    "2.5.round(half: :odd)",
]

# The fidelity-suite fixes (binary search, <=>-keyed extremes, coercion and frozen
# messages, KeyError details, Rational rounding, Time parts, Float(exception:)).
FIXES = [
    "[(1..100).bsearch { |x| x * x >= 2000 }, (0...10).bsearch { |x| x >= 10 }, (1..9).bsearch { |x| 5 <=> x }]",
    "[(1.0..2.0).bsearch { |x| x > 1 }, (0.0..100.0).bsearch { |x| x * x >= 2 }, (-5.0...5).bsearch { |x| x >= -1.5 }]",
    "[%w[a bb cc d].max_by { |w| [w.size, w] }, %w[a bb cc d].min_by { |w| [-w.size, w] }, [3, 1, 2].max_by(2) { |x| x }]",
    "{ 3 => 2, 6 => 2, 4 => 1 }.max_by { |len, c| [c, len] }",
    '[1 + "a"]',
    "[2.5 * nil]",
    "[1 - [1]]",
    '"x".freeze << "y"',
    "[1, 2].freeze << 3",
    "begin; { a: 1 }.fetch(:b); rescue KeyError => e; [e.message, e.key, e.receiver]; end",
    'e = KeyError.new("m", receiver: [1], key: 0); [e.key, e.receiver, e.message]',
    "KeyError.new('m').key",
    "[(1r / 3).round(3), Rational(-7, 2).round, Rational(7, 2).floor, Rational(7, 2).ceil(1), Rational(-7, 2).truncate, Rational(1234, 7).round(-2)]",
    "[1.5.rationalize(Rational(1, 100)), 0.333.rationalize, 3.14159.rationalize(Rational(1, 100)), -0.75.rationalize]",
    'Time.gm(2022, "jan", 31, "10", "20", "30").to_a.first(6)',
    'Time.utc(2020, "Dec", "3").yday',
    '["1.5", "abc", "", nil].map { |v| Float(v, exception: false) } + [Integer("zz", exception: false)]',
    "[955.chr(Encoding::UTF_8), 65.chr(Encoding::BINARY)]",
    "class Foo; def initialize; end; def bar; end; end; [Foo.method_defined?(:initialize), Foo.method_defined?(:bar)]",
    "[Random.new(3).rand(1..6).between?(1, 6), Random.new(3).rand(2.5) < 2.5, rand(1..1), rand(1.5)]",
]


@pytest.mark.parametrize(
    "script", FLOATS + FORMATS + NUMBERS + ENUMS + HASHES + OBJECTS + TIMES + ERRORS + FIXES
)
def test_same_as_cruby(script: str) -> None:
    assert run_guest(script) == run_cruby(script)


def test_time_now_follows_the_profile() -> None:
    assert SANDBOX.run("Time.now.to_i").value == 0
    now = k.Sandbox(profile="permissive").run("Time.now.to_f").value
    assert now > 1.6e9


def test_require_relative_raises_load_error() -> None:
    with pytest.raises(k.SandboxError) as info:
        SANDBOX.run('require_relative "helper"')
    assert info.value.klass == "LoadError"
    assert info.value.message == "cannot load such file -- helper"


def test_required_state_does_not_leak_between_runs() -> None:
    assert SANDBOX.run('require "set"').value is True
    assert SANDBOX.run('require "set"').value is True


def test_shuffle_and_sample_follow_the_seed() -> None:
    script = "[[1, 2, 3, 4, 5, 6].shuffle, (1..100).to_a.sample(3), SecureRandom.hex(4)]"
    assert SANDBOX.run(script, seed=7).value == SANDBOX.run(script, seed=7).value
    assert SANDBOX.run(script, seed=7).value != SANDBOX.run(script, seed=8).value
