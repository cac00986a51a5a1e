"""A corpus of hostile scripts, each with its exact outcome, run on one shared Sandbox.

Every case asserts the outcome (a value, or the exact error class and Ruby class) and
that the next run on the same Sandbox still works: nothing a script does outlives its
run or harms the host. Cases marked xfail are bugs: the reason names what happens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from tests.exact import assert_exact

from kobako_async import (
    Execution,
    KobakoError,
    MemoryLimitError,
    MessageSizeError,
    NoServiceError,
    Sandbox,
    SandboxError,
    ServiceCallLimitError,
    ServiceError,
    Symbol,
    TimeoutError,
    TrapError,
)

from .pristine import fingerprint, fingerprint_difference

MiB = 1 << 20
TIME_SCALE = float(os.environ.get("KOBAKO_TEST_TIME_SCALE", "1"))
"""Stretches the timeouts when the code runs slower on purpose (make mutation sets 10)."""
TIMEOUT_S = 1.0 * TIME_SCALE
"""The Sandbox's timeout; cases expected to time out run with TIMED_OUT_S instead."""
TIMED_OUT_S = 0.3
MAX_SERVICE_CALLS = 1000


class Opaque:
    """A host object with no wire form: it reaches the script as a Handle."""

    def ping(self) -> str:
        return "pong"


class Probe:
    """The corpus's Service; counts the calls that reached the host."""

    def __init__(self) -> None:
        self.calls = 0

    def echo(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.calls += 1
        return [list(args), kwargs]

    def opaque(self) -> Opaque:
        self.calls += 1
        return Opaque()

    def boom(self) -> None:
        self.calls += 1
        raise KeyError("real")


@dataclass(frozen=True)
class Value:
    """The run returns ``value`` (and prints ``stdout``, if given)."""

    value: Any
    stdout: str | None = None


@dataclass(frozen=True)
class Raises:
    """The run raises exactly one of ``errors``, with Ruby class ``klass`` if given."""

    errors: tuple[type[KobakoError], ...]
    klass: str | None = None
    match: str | None = None


def raises(
    *errors: type[KobakoError], klass: str | None = None, match: str | None = None
) -> Raises:
    return Raises(errors, klass, match)


@dataclass(frozen=True)
class Case:
    name: str
    script: str
    expect: Value | Raises
    calls: int | None = None
    """How many Service calls reach the host, if the case is about that."""
    memory_limit: int | None = None
    """Overrides the Sandbox's 32 MiB when set."""
    bug: str | None = None
    """Why this case fails today (it is run as a strict xfail)."""


TIMEOUT = raises(TimeoutError)
MEMORY = raises(MemoryLimitError)
STACK = raises(SandboxError, klass="SystemStackError")
STACK_TRAP = raises(TrapError, match="call stack exhausted")
"""The wasm stack ran out inside C frames: exactly TrapError, for that reason."""


def ruby_error(klass: str, match: str | None = None) -> Raises:
    return raises(SandboxError, klass=klass, match=match)


def forged(klass: str) -> Raises:
    """A script's own exception: exactly SandboxError, whatever its Ruby class."""
    return raises(SandboxError, klass=klass, match="fake")


TOO_LONG = ruby_error("ArgumentError", "string too long")
DEPTH_SCRIPT = (
    "a = 1; {n}.times {{ a = [a] }}; r = Svc.echo(a); d = 0\n"
    "while Array === r; r = r[0]; d += 1; end; d"
)
"""Nest ``n`` arrays, echo them through the host, count the levels that come back."""


CASES = [
    # ---- endless loops, also where Ruby would run cleanup code ----
    Case("loop", "loop {}", TIMEOUT),
    Case("while-true", "while true; end", TIMEOUT),
    Case("until-false", "i = 0; i += 1 until false", TIMEOUT),
    Case("loop-in-ensure", "begin; raise 'x'; ensure; loop {}; end", TIMEOUT),
    Case("rescue-retry", "begin; raise 'x'; rescue; retry; end", TIMEOUT),
    Case(
        "rescue-exception-forever",
        "loop { begin; raise Exception; rescue Exception; end }",
        TIMEOUT,
    ),
    Case("ensure-in-every-frame", "def f(n); f(n + 1); ensure; loop {}; end; f(0)", TIMEOUT),
    Case("endless-range", "(1..).each {}", TIMEOUT),
    Case("endless-enumerator", "Enumerator.new { |y| loop { y << 1 } }.to_a", TIMEOUT),
    Case("catch-throw-loop", "loop { catch(:x) { throw :x } }", TIMEOUT),
    Case("instance-eval-string-loop", 'instance_eval("loop {}")', TIMEOUT),
    Case("eval-string-loop", 'eval("while true; end")', TIMEOUT),
    # ---- recursion ----
    Case("deep-recursion", "def f(n) = f(n + 1); f(0)", STACK),
    Case("lambda-recursion", "f = ->(n) { f.(n + 1) }; f.(0)", STACK),
    Case("fork-bomb-recursion", "def f(n) = (f(n + 1); f(n + 1)); f(0)", STACK),
    Case("exponential-recursion", "def b(n) = n == 0 ? 1 : b(n - 1) + b(n - 1); b(64)", TIMEOUT),
    Case("eval-recursion", 'def f = eval("f"); f', STACK),
    Case(
        "comparable-recursion",
        "class A; include Comparable; def <=>(o) = (self <=> o); end; A.new < A.new",
        STACK,
    ),
    Case(
        "method-missing-send-recursion",
        "class Object; def method_missing(n, *a) = send(n, *a); end; zork",
        STACK_TRAP,  # the wasm stack runs out inside C frames: a trap, documented
    ),
    Case(
        "hash-default-proc-recursion",
        "h = Hash.new { |hash, k| hash[k] }; h[1]",
        STACK_TRAP,  # likewise: recursion through C frames exhausts the wasm stack
    ),
    # recursion through callbacks of C methods: the gap SECURITY.md lists
    Case(
        "hash-that-rehashes-its-hash-recursion",
        "$h = {}; 20.times { |i| $h[i] = i }\n"
        "class K; def hash = ($h.rehash; 1); end; $h[K.new] = 1; $h.rehash",
        STACK_TRAP,  # more than 16 keys: a real hash table, so rehash calls K#hash
    ),
    Case(
        "to-s-interpolating-itself-recursion",
        'class K; def to_s = "#{self}"; end; "#{K.new}"',
        STACK_TRAP,
    ),
    Case(
        "inspect-through-array-recursion",
        "class K; def inspect = [self].inspect; end; K.new.inspect",
        STACK_TRAP,
    ),
    # the unrescued exception was not GC-protected while its deep backtrace was built
    Case(
        "raise-from-depth-1500",
        "def f(n) = n == 0 ? raise('deep') : f(n - 1); f(1500)",
        ruby_error("RuntimeError", "deep"),
    ),
    Case(
        "raise-from-depth-4000",
        "def f(n) = n == 0 ? raise('deep') : f(n - 1); f(4000)",
        ruby_error("RuntimeError", "deep"),
    ),
    Case(
        "raise-from-depth-allocating-message",
        "class E < StandardError; def message = 'm' * 100; end\n"
        "def f(n) = n == 0 ? raise(E) : f(n - 1); f(2500)",
        ruby_error("E", "m" * 100),
    ),
    Case(
        "raise-from-depth-message-runs-gc",
        "class E < StandardError; def message = (GC.start; 'm' * 10); end\n"
        "def f(n) = n == 0 ? raise(E) : f(n - 1); f(3000)",
        ruby_error("E", "m" * 10),
    ),
    Case(
        "raise-from-depth-9990",
        "def f(n) = n == 0 ? raise('deep') : f(n - 1); f(9990)",
        ruby_error("RuntimeError", "deep"),
    ),
    Case(
        "service-error-from-depth-3000",
        "def f(n) = n == 0 ? Svc.boom : f(n - 1); f(3000)",
        raises(ServiceError, klass="KeyError"),
        calls=1,
    ),
    Case(
        "rescued-raise-from-depth-3000",
        "def f(n) = n == 0 ? raise('deep') : f(n - 1)\n"
        "begin; f(3000); rescue => e; e.backtrace.size; end",
        Value(3002),
    ),
    # ---- memory ----
    Case("string-under-cap", '"a" * (2**30 - 1)', MEMORY),
    Case("string-doubling", 's = "a"; loop { s += s }', MEMORY),
    Case("array-of-arrays", "a = []; loop { a << [1, 2, 3] }", MEMORY),
    Case("hash-growth", "h = {}; i = 0; loop { h[i] = i; i += 1 }", MEMORY),
    Case("bigint-power", "2 ** (2**40)", MEMORY),
    Case("bigint-shift-2-32", "1 << 2**32", MEMORY),
    Case(
        "fibers-alloc",
        "fs = []; loop { fs << Fiber.new { Fiber.yield 1 }; fs.last.resume }",
        MEMORY,
    ),
    Case("format-precision", 'format("%.99999999f", 1.0)', MEMORY),
    Case("format-width-2-31-1", 'format("%-2147483647s", "")', TOO_LONG),
    Case("pack-x-2-31", '[1].pack("x2147483647")', TOO_LONG),
    Case("pack-x-under-cap", '[1].pack("x500000000")', MEMORY),
    Case(
        "rescue-no-memory-and-retry",
        'a = []; loop { begin; a << "x" * 100_000; rescue NoMemoryError; end }',
        TIMEOUT,
    ),
    # ---- size overflow ----
    Case("array-times-2-62", "[1] * 2**62", ruby_error("ArgumentError", "array size too big")),
    Case("array-new-2-40", "Array.new(2**40)", ruby_error("IndexError")),
    Case("array-index-2-32", "a = []; a[2**32 + 1] = 1", ruby_error("IndexError")),
    Case("range-to-a-infinite", "(1..Float::INFINITY).to_a", ruby_error("ArgumentError")),
    Case("string-times-negative", '"a" * -1', ruby_error("ArgumentError")),
    # strings stop at 1 GiB (MRB_STR_LENGTH_MAX), far below where 32-bit sizes wrap
    Case("string-2-31", '"a" * 2**31', TOO_LONG),
    Case("string-at-cap", '"a" * 2**30', TOO_LONG),
    Case("string-times-2-62", '"a" * 2**62', TOO_LONG),
    Case("string-times-wraps-2-32", '"ab" * 2**31', TOO_LONG),
    Case("ljust-2-32", '"a".ljust(2**32 + 5)', TOO_LONG),
    Case("rjust-2-40", '"a".rjust(2**40, "xy")', TOO_LONG),
    Case("center-2-32", '"a".center(2**32 + 5)', TOO_LONG),
    Case("center-pad-2-31", '"a".center(2**31, "ab")', TOO_LONG),
    Case("array-fill-2-40", "[1].fill(0, 0, 2**40)", MEMORY),
    Case("array-insert-2-32", "[1].insert(2**32, 1)", ruby_error("IndexError")),
    Case("string-insert-2-40", '"abc".insert(2**40, "x")', ruby_error("IndexError")),
    Case("string-splice-2-32", 's = "abc"; s[2**32, 0] = "x"', ruby_error("IndexError")),
    Case("unpack-z-2-40", '"abc".unpack("Z#{2**40}")', ruby_error("RuntimeError", "too big")),
    Case("array-times-2-27", "[1, 2] * 2**27", ruby_error("ArgumentError", "array size too big")),
    Case(
        "array-new-2-27", "Array.new(2**27 + 1)", ruby_error("ArgumentError", "array size too big")
    ),
    Case(
        "array-store-2-27",
        "a = []; a[2**27] = 1",
        ruby_error("ArgumentError", "array size too big"),
    ),
    # ---- Integer overflow into bigint ----
    Case("int64-max-plus-one", "2**63 - 1 + 1", Value(2**63)),
    Case("int64-min-minus-one", "-(2**63) - 1", Value(-(2**63) - 1)),
    Case("int64-succ", "9223372036854775807.succ", Value(2**63)),
    Case("bigint-product", "(2**64) * (2**64) + 1", Value(2**128 + 1)),
    Case("pow-mod-huge-exponent", "2.pow(2**62, 1000)", Value(pow(2, 2**62, 1000))),
    # shift widths past what a 32-bit memory could hold are refused, not truncated
    Case("shift-by-2-40", "1 << 2**40", ruby_error("RangeError", "shift width too big")),
    Case("shift-by-2-40-plus-3", "1 << (2**40 + 3)", ruby_error("RangeError", "shift width")),
    Case("bigint-shift-by-2-36", "2**64 << 2**36", ruby_error("RangeError", "shift width")),
    Case("negative-right-shift-2-40", "1 >> -(2**40)", ruby_error("RangeError", "shift width")),
    Case("right-shift-past-every-limb", "[2**64 >> 100_000, 2**64 >> 2**40]", Value([0, 0])),
    Case(
        "negative-right-shift-floors", "[-(2**64 + 1) >> 64, -(2**64) >> 100_000]", Value([-2, -1])
    ),
    # ---- format strings and pack ----
    Case(
        "format-star-width-2-31", '"%*d" % [2**31, 1]', ruby_error("ArgumentError", "width too big")
    ),
    Case("format-literal-width", 'format("%4294967300d", 1)', ruby_error("ArgumentError")),
    Case("format-negative-star", 'format("%*s", -(2**31), "")', ruby_error("ArgumentError")),
    Case("format-bigint-d", '"%d" % (2**100)', ruby_error("RangeError")),
    Case(
        "format-star-width-2-32",
        '"%*d" % [2**32 + 5, 1]',
        ruby_error("ArgumentError", "width too big"),
    ),
    Case(
        "format-star-width-minus-2-32",
        '"%*d" % [-(2**32) - 5, 1]',
        ruby_error("ArgumentError", "width too big"),
    ),
    Case(
        "format-star-precision-2-32",
        '"%.*f" % [2**32 + 3, 1.0]',
        ruby_error("ArgumentError", "prec too big"),
    ),
    Case("pack-huge-count", '[1].pack("C4294967300")', ruby_error("RuntimeError", "too big")),
    Case("unpack-huge-count", '"a".unpack("C4294967300")', ruby_error("RuntimeError", "too big")),
    Case("pack-q-bigint", '[2**64].pack("Q")', ruby_error("RangeError")),
    # ---- hash collision floods ----
    Case(
        "hash-constant-hash",
        "class K; def hash = 0; def eql?(o) = false; end; h = {}; 1_000_000.times { h[K.new] = 1 }",
        TIMEOUT,
    ),
    Case(
        "hash-float-keys",
        "h = {}; 1_000_000.times { |i| h[(i * 2**32).to_f] = i }",
        TIMEOUT,
    ),
    Case(
        "hash-raising-eql",
        "class K; def hash = 1; def eql?(o) = raise('e'); end; h = {K.new => 1}; h[K.new]",
        ruby_error("RuntimeError", "e"),
    ),
    Case("hash-bigint-hash", "class K; def hash = 2**100; end; {K.new => 1}.size", Value(1)),
    # ---- GC torture ----
    Case("gc-loop", "loop { GC.start }", TIMEOUT),
    Case(
        "gc-disabled-garbage",
        'GC.disable; a = nil; 100_000.times { a = [a, "x" * 10] }; GC.enable; GC.start; :ok',
        Value(Symbol("ok")),
    ),
    Case(
        "objectspace-freeze-everything",
        "ObjectSpace.each_object(Object) { |o| o.freeze rescue nil }; [1, 'a', {b: 2}]",
        Value([1, "a", {Symbol("b"): 2}]),
    ),
    Case(
        "objectspace-poison-to-s",
        "ObjectSpace.each_object(Class) { |c| c.class_eval { def to_s = raise('x') } rescue nil }\n"
        "[1, 'a']",
        Value([1, "a"]),
    ),
    Case(
        "objectspace-empty-strings",
        'ObjectSpace.each_object(String) { |s| s.replace("") rescue nil }; "ok"',
        Value("ok"),
    ),
    # ---- exceptions from to_s / inspect during output ----
    Case(
        "puts-to-s-raises",
        "o = Object.new; def o.to_s = raise('ts'); puts o",
        ruby_error("RuntimeError", "ts"),
    ),
    Case(
        "p-inspect-raises",
        "o = Object.new; def o.inspect = raise('ins'); p o",
        ruby_error("RuntimeError", "ins"),
    ),
    Case(
        "puts-to-s-not-string-inspect-raises",
        "o = Object.new; def o.to_s = 5; def o.inspect = raise('ins'); puts o",
        ruby_error("RuntimeError", "ins"),
    ),
    Case(
        "interpolation-to-s-raises",
        'o = Object.new; def o.to_s = raise("ts"); "#{o}"',
        ruby_error("RuntimeError"),
    ),
    Case("puts-to-s-loops", "o = Object.new; def o.to_s = loop {}; puts o", TIMEOUT),
    Case(
        "stdout-write-raises",
        "def $stdout.write(*) = raise('w'); puts 1",
        ruby_error("RuntimeError", "w"),
    ),
    Case("stdout-write-loops", "def $stdout.write(*) = loop {}; puts 1", TIMEOUT),
    # CRuby refuses the assignment (TypeError); here puts recurses through nil.puts
    Case("stdout-replaced-by-nil", "$stdout = nil; puts 1", STACK),
    Case(
        "kernel-puts-redefined",
        "Kernel.define_method(:puts) { |*| raise 'no' }; puts 1",
        ruby_error("RuntimeError"),
    ),
    Case("puts-cyclic-array", "a = []; a << a; puts a; :ok", Value(Symbol("ok"), stdout="[...]\n")),
    Case("output-new", "Kobako::Output.new", ruby_error("NoMethodError")),
    # ---- exceptions and tricks during result encoding ----
    Case(
        "value-to-s-raises",
        "o = Object.new; def o.to_s = raise('x'); o",
        ruby_error("TypeError", "no wire form"),
    ),
    Case(
        "value-string-subclass",
        "class S < String; def to_s = raise; def inspect = raise; end; S.new('abc')",
        Value("abc"),
    ),
    Case(
        "value-array-subclass",
        "class A < Array; def each = raise; def size = 99; end; A.new([1, 2])",
        Value([1, 2]),
    ),
    Case(
        "value-hash-subclass",
        "class H < Hash; def each = raise; end; h = H.new; h[1] = 2; h",
        Value({1: 2}),
    ),
    Case(
        "value-key-hash-raises",
        "class K; def hash = raise('h'); end; {K.new => 1}",
        ruby_error("TypeError"),
    ),
    Case("value-cyclic", "a = [1]; a << a; a", ruby_error("ArgumentError", "cyclic")),
    Case(
        "value-too-deep", "a = 1; 1000.times { a = [a] }; a", ruby_error("ArgumentError", "deeper")
    ),
    Case(
        "value-fiber",
        "f = Fiber.new { Fiber.yield Fiber.current }; f.resume",
        ruby_error("TypeError"),
    ),
    Case("value-too-big", '"x" * (2 * 1024 * 1024)', raises(MessageSizeError, match="outcome")),
    Case(
        "message-raises",
        "class E < StandardError; def message = raise(E); end; raise E",
        ruby_error("E", "E"),
    ),
    Case(
        "message-not-a-string",
        "class E < StandardError; def message = :sym; end; raise E",
        ruby_error("E", "E"),
    ),
    Case("message-loops", "class E < StandardError; def message = loop {}; end; raise E", TIMEOUT),
    Case(
        "message-invalid-utf8",
        'raise "\\xff\\xfe bad"',
        ruby_error("RuntimeError", "\ufffd\ufffd bad"),
    ),
    Case(
        "backtrace-100k",
        'e = RuntimeError.new("m"); e.set_backtrace(["x"] * 100_000); raise e',
        ruby_error("RuntimeError"),
    ),
    Case(
        "anonymous-exception-class",
        "raise Class.new(StandardError), 'anon'",
        raises(SandboxError, match="anon"),
    ),
    Case(
        "outcome-out-of-memory",
        'x = "a" * 1000; Array.new(20_000, x)',
        MEMORY,
        memory_limit=64 * MiB,
    ),
    # ---- Service proxies, Handles and Kobako internals ----
    Case("forged-target-integer", "Kobako.__call(1, :x, [], {})", ruby_error("TypeError"), calls=0),
    Case("forged-target-nil", "Kobako.__call(nil, :x, [], {})", ruby_error("TypeError"), calls=0),
    Case(
        "args-not-array",
        'Kobako.__call(Svc, :echo, "notarray", {})',
        ruby_error("TypeError"),
        calls=0,
    ),
    Case("kwargs-not-hash", "Kobako.__call(Svc, :echo, [1], [])", ruby_error("TypeError"), calls=0),
    Case(
        "kwargs-integer-keys",
        "Kobako.__call(Svc, :echo, [1], {1 => 2})",
        ruby_error("ArgumentError"),
        calls=0,
    ),
    Case(
        "method-name-with-nul",
        'Kobako.__call(Svc, :"echo\\0", [], {})',
        raises(NoServiceError),
        calls=0,
    ),
    Case("method-name-empty", 'Kobako.__call(Svc, :"", [], {})', raises(NoServiceError), calls=0),
    Case(
        "reflective-dunder",
        "Kobako.__call(Svc, :__class__, [], {})",
        raises(NoServiceError),
        calls=0,
    ),
    Case("reflective-on-handle", "Svc.opaque.__reduce_ex__(2)", raises(NoServiceError), calls=1),
    Case("handle-mro", "Svc.opaque.mro", raises(NoServiceError), calls=1),
    Case("handle-new", "Kobako::Handle.new", ruby_error("NoMethodError"), calls=0),
    Case(
        "handle-allocate",
        "Class.new(Kobako::Handle).allocate",
        ruby_error("NoMethodError"),
        calls=0,
    ),
    Case(
        "service-dup-via-kernel",
        "Kernel.instance_method(:dup).bind_call(Svc).echo(1)",
        ruby_error("TypeError"),
        calls=0,
    ),
    Case("proxy-as-argument", "Svc.echo(Svc)", ruby_error("TypeError", "no wire form"), calls=0),
    Case(
        "handle-round-trip",
        "h = Svc.opaque; [Svc.echo(h)[0][0].ping, h.ping]",
        Value(["pong", "pong"]),
        calls=2,
    ),
    Case("block-to-service", "Svc.echo(1) { }", ruby_error("ArgumentError"), calls=0),
    Case("many-arguments", "Svc.echo(*Array.new(100_000, 1))[0].size", Value(100_000), calls=1),
    Case(
        "huge-call",
        'Svc.echo("x" * (2 * 1024 * 1024))',
        raises(MessageSizeError, match="call of"),
        calls=0,
    ),
    Case(
        "method-missing-storm",
        "n = 0\n"
        "5000.times { begin; Svc.nope; rescue NoMethodError; n += 1;"
        " rescue Kobako::ServiceCallLimitError; end }\n"
        "n",
        Value(MAX_SERVICE_CALLS),
        calls=0,
    ),
    Case("method-missing-storm-forever", "loop { Svc.nope rescue nil }", TIMEOUT, calls=0),
    Case(
        "service-call-storm",
        "loop { Svc.echo(1) }",
        raises(ServiceCallLimitError),
        calls=MAX_SERVICE_CALLS,
    ),
    Case(
        "redefine-kobako-call",
        "module Kobako; def self.__call(*) = :forged; end; Svc.echo(1)",
        Value(Symbol("forged")),
        calls=0,
    ),
    Case(
        "redefine-method-missing",
        "class Kobako::Proxy; def method_missing(*) = 7; end; Svc.echo(1)",
        Value(7),
        calls=0,
    ),
    Case(
        "undef-method-missing",
        "Kobako::Proxy.send(:undef_method, :method_missing); Svc.echo(1)",
        ruby_error("NoMethodError"),
        calls=0,
    ),
    Case(
        "remove-kobako",
        "Object.send(:remove_const, :Kobako); Svc.echo(1)",
        ruby_error("NameError"),
        calls=0,
    ),
    Case(
        "remove-proxy-class",
        "Kobako.send(:remove_const, :Proxy); Svc.echo(1)",
        Value([[1], {}]),
        calls=1,
    ),
    Case(
        "respond-to-raises",
        "class Object; def respond_to?(*) = raise('no'); end; [1, {a: Svc.echo(2)}]",
        Value([1, {Symbol("a"): [[2], {}]}]),
        calls=1,
    ),
    Case(
        "service-error-rescued",
        "begin; Svc.boom; rescue Kobako::ServiceError => e; e.message; end",
        Value("KeyError: 'real'"),
        calls=1,
    ),
    Case("service-error-unrescued", "Svc.boom", raises(ServiceError, klass="KeyError"), calls=1),
    Case(
        "kwargs-only-call",
        "Svc.echo(a: 1)",
        Value([[], {"a": 1}]),
        calls=1,
    ),
    # the host believes only the guest's hidden mark on exceptions made from its replies
    Case(
        "forged-call-limit-error",
        'raise Kobako::ServiceCallLimitError, "fake"',
        forged("Kobako::ServiceCallLimitError"),
        calls=0,
    ),
    Case(
        "forged-service-error",
        'raise Kobako::ServiceError, "ValueError: fake"',
        forged("Kobako::ServiceError"),
        calls=0,
    ),
    Case(
        "forged-disconnected",
        'raise Kobako::DisconnectedError, "fake"',
        forged("Kobako::DisconnectedError"),
        calls=0,
    ),
    Case(
        "forged-no-service",
        'raise Kobako::NoServiceError, "fake"',
        forged("Kobako::NoServiceError"),
        calls=0,
    ),
    Case(
        "forged-handles-exhausted",
        'raise Kobako::HandleExhaustedError, "fake"',
        forged("Kobako::HandleExhaustedError"),
        calls=0,
    ),
    Case(
        "forged-message-size",
        'raise Kobako::MessageSizeError, "fake"',
        forged("Kobako::MessageSizeError"),
        calls=0,
    ),
    Case(
        "forged-via-exception-method",
        'raise Kobako::ServiceError.new("x").exception("ValueError: fake")',
        forged("Kobako::ServiceError"),
        calls=0,
    ),
    Case(
        "forged-after-a-real-failure",
        'begin; Svc.boom; rescue; end; raise Kobako::ServiceError, "KeyError: fake"',
        forged("Kobako::ServiceError"),
        calls=1,
    ),
    Case(
        "forged-mark-is-unreachable",
        'e = begin; Svc.boom; rescue => x; x; end; e.instance_variable_get(:"kobako origin")',
        ruby_error("NameError"),
        calls=1,
    ),
    Case(
        "real-service-error-reraised-later",
        "e = begin; Svc.boom; rescue => x; x; end; Svc.echo(1); raise e",
        raises(ServiceError, klass="KeyError"),
        calls=2,
    ),
    Case(
        "real-service-error-message-redefined",
        'begin; Svc.boom; rescue => e; def e.message = "ValueError: fake"; raise e; end',
        raises(ServiceError, klass="KeyError", match="real"),
        calls=1,
    ),
    Case(
        "service-error-class-replaced",
        "Kobako.send(:remove_const, :ServiceError); Kobako.const_set(:ServiceError, Class.new)\n"
        "Svc.boom",
        raises(ServiceError, klass="KeyError"),
        calls=1,
    ),
    Case(
        "hidden-call-limit",
        "Kobako.send(:remove_const, :ServiceCallLimitError); loop { Svc.echo(1) }",
        raises(ServiceCallLimitError),
        calls=MAX_SERVICE_CALLS,
    ),
    # ---- metaprogramming on core classes ----
    Case("redefine-string-size", 'String.define_method(:size) { 0 }; "abc".size', Value(0)),
    Case("remove-string", 'Object.send(:remove_const, :String); "a"', Value("a")),
    Case("redefine-integer-to-s", "class Integer; def to_s = 'x'; end; 2**70", Value(2**70)),
    Case(
        "redefine-raise",
        "module Kernel; def raise(*) = :nope; end; raise 'x'",
        Value(Symbol("nope")),
    ),
    Case(
        "eval-huge-expression",
        'eval("1 + " * 5000 + "1")',
        ruby_error("ScriptError", "codegen error"),
    ),
    Case("eval-deep-brackets", 'eval("[" * 10000 + "]" * 10000)', ruby_error("SyntaxError")),
    Case("instance-eval-string", 'Object.new.instance_eval("self.class.name")', Value("Object")),
    Case("binding-eval", 'x = 1; binding.eval("x + 1")', Value(2)),
    # ---- nesting across a Service reply (echo adds two levels: [[args], kwargs]) ----
    Case("reply-127-levels", DEPTH_SCRIPT.format(n=125), Value(127), calls=1),
    Case(
        "reply-128-levels",
        DEPTH_SCRIPT.format(n=126),
        Value(128),
        calls=1,
    ),
    Case(
        "reply-129-levels",
        DEPTH_SCRIPT.format(n=127),
        raises(ServiceError, klass="ValueError", match="nested deeper than 128 levels"),
        calls=1,
    ),
    # ---- Fibers ----
    Case("fiber-yield-at-root", "Fiber.yield", ruby_error("FiberError")),
    Case(
        "fiber-double-resume",
        "f = Fiber.new { Fiber.new { f.resume }.resume }; f.resume",
        ruby_error("FiberError"),
    ),
    Case("fiber-dead-resume", "f = Fiber.new { 1 }; f.resume; f.resume", ruby_error("FiberError")),
    Case("fiber-ping-pong", "f = Fiber.new { loop { Fiber.yield } }; loop { f.resume }", TIMEOUT),
    Case("fiber-nesting", "Fiber.new { def g = Fiber.new { g }.resume; g }.resume", TIMEOUT),
    Case(
        "fiber-10k-suspended",
        "fs = Array.new(10_000) { Fiber.new { Fiber.yield } }; fs.each(&:resume); fs.size",
        Value(10_000),
    ),
    Case(
        "fiber-service-call",
        "Fiber.new { Fiber.yield Svc.echo(1) }.resume",
        Value([[1], {}]),
        calls=1,
    ),
    Case(
        "fiber-raise-exception",
        "Fiber.new { raise Exception, 'x' }.resume",
        ruby_error("Exception", "x"),
    ),
    # ---- Regexp (Oniguruma in the guest) ----
    Case(
        "regexp-nested-quantifier",
        '("a" * 40 + "!") =~ /(a+)+$/',
        ruby_error("Regexp::TimeoutError"),
    ),
    Case(
        "regexp-alternation-blowup",
        '("a" * 40 + "!") =~ /(a|aa)*$/',
        ruby_error("Regexp::TimeoutError"),
    ),
    Case(
        "regexp-rescue-retry-loop",
        'begin; ("a" * 40 + "!") =~ /(a+)+$/; rescue RegexpError; retry; end',
        TIMEOUT,
    ),
    Case(
        "regexp-invalid-utf8-subject", '"\\xff" =~ /a/', ruby_error("ArgumentError", "invalid byte")
    ),
    Case(
        "regexp-invalid-utf8-pattern",
        'Regexp.new("\\xfe")',
        ruby_error("ArgumentError", "invalid byte"),
    ),
    Case("regexp-bad-pattern", 'Regexp.new("(?<")', ruby_error("RegexpError")),
    Case("regexp-huge-repeat", 'Regexp.new("a{100000000}")', ruby_error("RegexpError")),
    Case(
        "regexp-deep-groups", 'Regexp.new("(" * 100_000 + ")" * 100_000)', ruby_error("RegexpError")
    ),
    Case(
        "regexp-dynamic-pattern-flood",
        "20_000.times { |i| /x#{i}/ =~ 'x1' }; :ok",
        Value(Symbol("ok")),
    ),
    Case("regexp-huge-subject", '("ab" * (1 << 20)).gsub(/b/, "c").size', Value(2 << 20)),
    Case(
        "regexp-redefined-matchdata",
        'class MatchData; def [](i) = raise "fake"; end; "abc" =~ /(b)/; $1',
        forged("RuntimeError"),
    ),
]

NEXT_RUN = '[1 + 1, "abc".size, 2**64, Svc.echo(:ok), Object.const_defined?(:K)]'
NEXT_VALUE = [2, 3, 2**64, [[Symbol("ok")], {}], False]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(
        timeout=TIMEOUT_S,
        memory_limit=32 * MiB,
        max_service_calls=MAX_SERVICE_CALLS,
        max_message_bytes=1 * MiB,
    ).bind("Svc")


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def test_corpus_is_large_and_named_uniquely() -> None:
    """The corpus holds at least 40 scripts, each with a unique name."""
    names = [case.name for case in CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", _params())
def test_hostile_script(sandbox: Sandbox, case: Case, pristine_fingerprint: str) -> None:
    """The script ends exactly as expected (type-exact values), and the next run on the
    Sandbox works and sees the core classes exactly as a fresh Sandbox does."""
    probe = Probe()
    overrides: dict[str, Any] = {}
    if isinstance(case.expect, Raises) and TimeoutError in case.expect.errors:
        overrides["timeout"] = TIMED_OUT_S
    if case.memory_limit is not None:
        overrides["memory_limit"] = case.memory_limit
    expect = case.expect
    if isinstance(expect, Value):
        ex = sandbox.run(case.script, bind={"Svc": probe}, **overrides)
        assert_exact(ex.value, expect.value)
        if expect.stdout is not None:
            assert ex.stdout == expect.stdout
    else:
        with pytest.raises(KobakoError) as info:
            sandbox.run(case.script, bind={"Svc": probe}, **overrides)
        err = info.value
        assert type(err) in expect.errors, f"{type(err).__name__}: {err}"
        assert isinstance(getattr(err, "execution", None), Execution)
        if expect.klass is not None:
            assert getattr(err, "klass", None) == expect.klass, str(err)
        if expect.match is not None:
            assert expect.match in str(err)
    if case.calls is not None:
        assert probe.calls == case.calls
    assert_exact(sandbox.run(NEXT_RUN, bind={"Svc": Probe()}).value, NEXT_VALUE)
    found = fingerprint_difference(fingerprint(sandbox), pristine_fingerprint)
    assert found is None, found
