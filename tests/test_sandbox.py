"""Sandbox.run: values, output capture, errors and bad input, through the real guest."""

from __future__ import annotations

import builtins
import math
import threading
import time

import pytest
from tests.exact import assert_exact

from kobako_async import (
    Execution,
    InvalidScriptError,
    Sandbox,
    SandboxError,
    ServiceCallLimitError,
    Symbol,
    TimeoutError,
    TrapError,
)
from kobako_async._codec import pack
from kobako_async._limits import Limits
from kobako_async._sandbox import Usage, decode_outcome
from kobako_async._services import Dispatcher


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


def run_value(sandbox: Sandbox, script: str) -> object:
    return sandbox.run(script).value


# ---- values, guest to host ----


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("nil", None),
        ("true", True),
        ("false", False),
        ("0", 0),
        ("-1", -1),
        ("2**62", 2**62),
        ("2**63 - 1", 2**63 - 1),
        ("-(2**63)", -(2**63)),
        ("2**64", 2**64),
        ("-(2**200) + 7", -(2**200) + 7),
        ("1.5", 1.5),
        ("-0.0", -0.0),
        ("Float::INFINITY", math.inf),
        ("-Float::INFINITY", -math.inf),
        ('"héllo"', "héllo"),
        ('""', ""),
        ("[1, [2, [3]]]", [1, [2, [3]]]),
        ("{}", {}),
        ('{"a" => 1, 2 => [3]}', {"a": 1, 2: [3]}),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_value_round_trips_exactly(sandbox: Sandbox, script: str, expected: object) -> None:
    """Each wire type comes back as the equal Python value of the same type."""
    value = run_value(sandbox, script)
    assert value == expected
    assert type(value) is type(expected)


def test_nan_comes_back_as_nan(sandbox: Sandbox) -> None:
    """Float::NAN survives the wire."""
    value = run_value(sandbox, "Float::NAN")
    assert isinstance(value, float) and math.isnan(value)


def test_invalid_utf8_string_is_bytes(sandbox: Sandbox) -> None:
    """A String that is not valid UTF-8 arrives as bytes, byte for byte."""
    assert run_value(sandbox, r'"\xff\xfeab"') == b"\xff\xfeab"
    assert run_value(sandbox, r'"\xed\xa0\x80"') == b"\xed\xa0\x80"  # an encoded surrogate


def test_symbol_is_a_str_subclass(sandbox: Sandbox) -> None:
    """Symbols come back as kobako_async.Symbol, distinct from String."""
    value = run_value(sandbox, "[:ok, 'ok']")
    assert value == ["ok", "ok"]
    assert isinstance(value, list)
    assert type(value[0]) is Symbol and type(value[1]) is str


def test_hash_keys_of_every_type(sandbox: Sandbox) -> None:
    """Hash keys may be any wire type; arrays and hashes become hashable stand-ins."""
    value = run_value(
        sandbox, "{nil => 1, 2.5 => 2, :s => 3, [1, 2] => 4, {a: 1} => 5, 2**70 => 6}"
    )
    assert isinstance(value, dict)
    assert value[None] == 1 and value[2.5] == 2 and value[Symbol("s")] == 3
    assert value[(1, 2)] == 4 and value[2**70] == 6
    assert {Symbol("a"): 1} in [dict(k) for k in value if isinstance(k, dict)]


@pytest.mark.parametrize(
    ("script", "klass_name"),
    [
        ("1..2", "Range"),
        ("Struct.new(:a).new(1)", "#<Class:"),
        ("Object.new", "Object"),
        ("[1, {a: -> {}}]", "Proc"),
        ("Class", "Class"),
    ],
)
def test_value_without_wire_form_raises(sandbox: Sandbox, script: str, klass_name: str) -> None:
    """Unrepresentable values raise SandboxError naming the class, never a silent to_s."""
    with pytest.raises(SandboxError, match="has no wire form") as info:
        sandbox.run(script)
    assert klass_name in info.value.message


def test_depth_limit(sandbox: Sandbox) -> None:
    """128 levels of nesting pass; 129 raise SandboxError."""
    nested: object = 1
    for _ in range(128):
        nested = [nested]
    assert_exact(run_value(sandbox, "a = 1; 128.times { a = [a] }; a"), nested)
    with pytest.raises(SandboxError, match="deeper than 128"):
        sandbox.run("a = 1; 129.times { a = [a] }; a")


@pytest.mark.parametrize("script", ["a = []; a << a; a", "h = {}; h[:me] = [h]; h"])
def test_cycles_raise(sandbox: Sandbox, script: str) -> None:
    """A cyclic structure raises SandboxError."""
    with pytest.raises(SandboxError, match="cyclic"):
        sandbox.run(script)


def test_shared_values_are_not_cycles(sandbox: Sandbox) -> None:
    """A value referenced twice (but not from inside itself) encodes twice."""
    assert run_value(sandbox, "a = [1]; [[a, [a]]]") == [[[1], [[1]]]]


# ---- output capture ----


def test_every_output_method_is_captured(sandbox: Sandbox) -> None:
    """puts/print/p/pp/printf/putc/$stdout.* go to stdout, warn/$stderr.* to stderr."""
    ex = sandbox.run(
        """
        puts "a", [1, [2]]
        print "b", 1
        p :c
        pp({d: 1})
        printf("%03d\\n", 7)
        putc 65; putc "Zz"; puts
        $stdout.write("w", 1); $stdout << "x" << 2; $stdout.print "y"; $stdout.puts "z"
        STDOUT.puts "k"
        warn "w1", "w2"
        $stderr.puts "e"; $stderr.print "f"; $stderr.write "g"; $stderr << "h"
        :done
        """
    )
    assert ex.stdout == "a\n1\n2\nb1:c\n{:d=>1}\n007\nAZ\nw1x2yz\nk\n"
    assert ex.stderr == "w1\nw2\ne\nfgh"
    assert ex.value == "done"
    assert not ex.stdout_truncated and not ex.stderr_truncated


def test_p_returns_its_argument(sandbox: Sandbox) -> None:
    """p returns what it printed, as in CRuby."""
    assert run_value(sandbox, "[p(1), p(1, 2), p]") == [1, [1, 2], None]


def test_output_cap_truncates_and_the_run_still_returns() -> None:
    """Past the cap output is dropped, the flag is set, and the value still comes back."""
    sandbox = Sandbox(stdout_limit=10, stderr_limit=3)
    ex = sandbox.run('puts "0123456789abc"; warn "xyz"; 42')
    assert ex.value == 42
    assert ex.stdout == "0123456789" and ex.stdout_truncated
    assert ex.stderr == "xyz" and ex.stderr_truncated


def test_printing_10_mib_is_capped_at_the_default(sandbox: Sandbox) -> None:
    """A script printing 10 MiB keeps the first 1 MiB and returns normally."""
    ex = sandbox.run('s = "x" * 1024; 10240.times { print s }; :ok')
    assert ex.value == "ok"
    assert len(ex.stdout) == 1 << 20 and ex.stdout_truncated


def test_output_survives_a_failed_run(sandbox: Sandbox) -> None:
    """A failed run's error carries the Execution with the output so far."""
    with pytest.raises(SandboxError) as info:
        sandbox.run('puts "before"; warn "oops"; raise "boom"')
    assert info.value.execution.stdout == "before\n"
    assert info.value.execution.stderr == "oops\n"


@pytest.mark.parametrize("limit", [-1, 2**32, 1.5, "1"])
def test_bad_limits_are_refused(limit: object) -> None:
    """Output limits outside [0, 2**32) raise ValueError at construction."""
    with pytest.raises(ValueError, match="stdout_limit"):
        Sandbox(stdout_limit=limit)  # type: ignore[arg-type]


# ---- isolation between runs ----


def test_every_run_starts_fresh(sandbox: Sandbox) -> None:
    """Constants, globals, methods and monkeypatches do not survive a run."""
    sandbox.run("X = 1; $g = 2; def helper = 3; class Integer; def +(o) = 0; end")
    script = "[Object.const_defined?(:X), $g, respond_to?(:helper, true), 1 + 1]"
    assert run_value(sandbox, script) == [False, None, False, 2]


def test_sandbox_is_shared_by_threads(sandbox: Sandbox) -> None:
    """Threads running at once on one runner keep their own Service calls, Handles and
    clock: each thread's per-run Service, a hermetic Time.now of 0 beside permissive
    runs that read the real clock."""
    permissive = Sandbox(profile="permissive")
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    class Counter:
        def __init__(self, step: int) -> None:
            self.step = step

        def add(self, x: int) -> int:
            return x + self.step

    def work(i: int) -> None:
        box = sandbox if i % 2 == 0 else permissive
        script = (
            f"x = {i}; c = Make.call; 200.times {{ x = c.add(x) }}; "
            "[x, Time.now.to_i, Make.call.add(0)]"
        )
        try:
            for _ in range(3):
                results[i] = box.run(script, bind={"Make": lambda: Counter(i)}).value
        except BaseException as exc:  # reported below: a thread's exception is lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    now = int(time.time())
    for i in range(8):
        x, clock, step = results[i]  # type: ignore[misc]
        assert (type(x), x, type(step), step) == (int, i + 200 * i, int, i)
        if i % 2 == 0:
            assert (type(clock), clock) == (int, 0)
        else:
            assert abs(clock - now) < 3600, clock


# ---- errors ----


def test_raise_gives_sandbox_error_with_backtrace(sandbox: Sandbox) -> None:
    """An unrescued exception carries klass, message and (eval):N backtrace lines."""
    with pytest.raises(SandboxError) as info:
        sandbox.run('def check(x)\n  raise ArgumentError, "bad #{x}"\nend\ncheck(7)\n')
    err = info.value
    assert (err.klass, err.message) == ("ArgumentError", "bad 7")
    assert err.backtrace[0].startswith("(eval):2")
    assert err.backtrace[-1].startswith("(eval):4")
    assert isinstance(err.execution, Execution)
    assert str(err) == "ArgumentError: bad 7"


def test_syntax_error_names_the_line(sandbox: Sandbox) -> None:
    """A syntax error is a SandboxError with klass SyntaxError and the line number."""
    with pytest.raises(SandboxError, match=r"line 3") as info:
        sandbox.run("x = 1\ny = 2\nz = )\nw = 4\n")
    assert info.value.klass == "SyntaxError"


def test_deep_recursion_is_system_stack_error(sandbox: Sandbox) -> None:
    """Deep Ruby recursion raises SystemStackError as a SandboxError; the process lives on."""
    with pytest.raises(SandboxError) as info:
        sandbox.run("def f(n) = f(n + 1); f(0)")
    assert info.value.klass == "SystemStackError"
    assert len(info.value.backtrace) <= 101
    assert run_value(sandbox, "1 + 1") == 2


def test_recursion_through_blocks_ends_cleanly(sandbox: Sandbox) -> None:
    """Recursion through C frames (each/map) ends in SystemStackError, never a trap."""
    with pytest.raises(SandboxError, match=r"\ASystemStackError: SystemStackError\Z") as info:
        sandbox.run("def f(n) = [n].each { |x| f(x + 1) }; f(0)")
    assert info.value.klass == "SystemStackError"
    assert run_value(sandbox, "[1].map { _1 * 2 }") == [2]


def test_non_standard_error_is_reported(sandbox: Sandbox) -> None:
    """raise of a non-StandardError (Exception, ScriptError) is still a SandboxError."""
    for klass in ("Exception", "ScriptError", "NotImplementedError", "NoMemoryError"):
        with pytest.raises(SandboxError) as info:
            sandbox.run(f'raise {klass}, "x"')
        assert info.value.klass == klass


def test_exception_with_broken_message_is_reported(sandbox: Sandbox) -> None:
    """An exception whose #message raises still reports its class name."""
    with pytest.raises(SandboxError) as info:
        sandbox.run("class E < StandardError; def message = raise('no'); end; raise E")
    assert info.value.klass == "E"


def test_timeout_stops_a_busy_loop() -> None:
    """A busy loop ends with TimeoutError, a TrapError and a builtin TimeoutError."""
    sandbox = Sandbox(timeout=0.2)
    with pytest.raises(TimeoutError) as info:
        sandbox.run("loop {}")
    assert isinstance(info.value, TrapError)
    assert isinstance(info.value, builtins.TimeoutError)
    assert sandbox.run("1").value == 1


# ---- bad input ----


@pytest.mark.parametrize("script", [None, 1, b"nil", ["nil"]], ids=repr)
def test_non_str_script_is_refused(sandbox: Sandbox, script: object) -> None:
    """A script that is not a str raises InvalidScriptError (a TypeError too)."""
    with pytest.raises(InvalidScriptError, match="script must be a str") as info:
        sandbox.run(script)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


def test_nul_byte_is_refused(sandbox: Sandbox) -> None:
    """A raw NUL byte would silently end the script in the parser, so it is refused."""
    with pytest.raises(InvalidScriptError, match="NUL byte at offset 5"):
        sandbox.run("puts \0 1")


def test_nul_escape_in_literal_works(sandbox: Sandbox) -> None:
    """The escape sequence \\0 inside a literal is fine."""
    assert run_value(sandbox, r'"a\0b"') == "a\0b"


def test_lone_surrogate_is_refused(sandbox: Sandbox) -> None:
    """A str that cannot be UTF-8 encoded raises InvalidScriptError."""
    with pytest.raises(InvalidScriptError, match="UTF-8"):
        sandbox.run('"\ud800"')


def test_empty_script_is_nil(sandbox: Sandbox) -> None:
    """An empty (or comment-only) script runs and returns nil."""
    assert sandbox.run("").value is None
    assert sandbox.run("# nothing\n").value is None


def test_invalid_utf8_literal(sandbox: Sandbox) -> None:
    """Invalid UTF-8 written as escapes in a literal runs; its length counts bytes."""
    assert run_value(sandbox, r's = "\xff\xfe"; [s.bytesize, s.valid_encoding?]') == [2, False]


def test_one_mib_script(sandbox: Sandbox) -> None:
    """A 1 MiB script compiles and runs."""
    line = "x = x + 1 # padding padding padding padding padding padding\n"
    script = "x = 0\n" + line * ((1 << 20) // len(line)) + "x"
    assert len(script) >= (1 << 20) - len(line)
    assert run_value(sandbox, script) == (1 << 20) // len(line)


@pytest.mark.parametrize(
    ("script", "klass", "message"),
    [
        ("exit", "NoMethodError", "exit"),
        ("exit!(1)", "NoMethodError", "exit!"),
        ("abort('x')", "NoMethodError", "abort"),
        ("require 'socket'", "LoadError", "cannot load such file -- socket"),
        ("File.read('/etc/passwd')", "NameError", "File"),
        ("IO.popen('ls')", "NameError", "IO"),
        ("ENV['HOME']", "NameError", "ENV"),
        ("`ls`", "NotImplementedError", "backquote"),
        ("system('ls')", "NoMethodError", "system"),
        ("Dir.pwd", "NameError", "Dir"),
        ("sleep 1", "NoMethodError", "sleep"),
        ("fork", "NoMethodError", "fork"),
        ("Socket", "NameError", "Socket"),
    ],
)
def test_host_access_is_absent(sandbox: Sandbox, script: str, klass: str, message: str) -> None:
    """exit, File, IO, ENV, backticks and system do not exist; require loads only built-ins."""
    with pytest.raises(SandboxError) as info:
        sandbox.run(script)
    assert info.value.klass == klass
    assert message in info.value.message


# ---- outcome decoding: who decides an error's kind ----


def _error_outcome(body: list[object]) -> bytes:
    return pack([1, body, b"", b"", False, False, False])


@pytest.mark.parametrize(
    "origin",
    ["7", 0, -1, True, 1.5, [1, "x", "y"]],
    ids=repr,
)
def test_malformed_exception_origin_is_a_trap(origin: object) -> None:
    """An error outcome whose origin mark is malformed breaks the ABI: TrapError."""
    payload = _error_outcome(["RuntimeError", "m", [], origin])
    with pytest.raises(TrapError, match="broke the ABI"):
        decode_outcome(payload, Usage(0.0, 0))


@pytest.mark.parametrize("origin", [None, "absent"])
def test_unmarked_kobako_error_is_a_script_error(origin: object) -> None:
    """Without the guest's origin mark a Kobako::* class name is only a script error."""
    body: list[object] = ["Kobako::ServiceCallLimitError", "m", []]
    if origin is None:
        body.append(None)
    with pytest.raises(SandboxError) as info:
        decode_outcome(_error_outcome(body), Usage(0.0, 0))
    assert type(info.value) is SandboxError
    assert info.value.klass == "Kobako::ServiceCallLimitError"


def test_marked_error_is_decided_by_the_host_reply() -> None:
    """With the mark, the Dispatcher's record of that call decides, not the Ruby class."""
    dispatcher = Dispatcher({}, Limits())
    dispatcher.error_replies[3] = ("Kobako::ServiceCallLimitError", "too many")
    body = ["StandardError", "changed", [], 3]
    with pytest.raises(ServiceCallLimitError) as info:
        decode_outcome(_error_outcome(body), Usage(0.0, 0), dispatcher)
    assert (info.value.klass, info.value.message) == ("Kobako::ServiceCallLimitError", "too many")


def test_mark_of_a_call_with_no_error_reply_is_a_script_error() -> None:
    """A mark naming a call the host answered with a value (or never saw) decides nothing."""
    dispatcher = Dispatcher({}, Limits())
    body = ["Kobako::ServiceCallLimitError", "forged", [], 3]
    with pytest.raises(SandboxError) as info:
        decode_outcome(_error_outcome(body), Usage(0.0, 0), dispatcher)
    assert type(info.value) is SandboxError


def test_large_overlapping_moves_keep_their_contents(sandbox: Sandbox) -> None:
    """Copies and moves of many 64 KiB chunks (the guest's memmove loop), overlapping
    both ways, keep every byte: Array#insert/delete_at, String#slice! and #insert."""
    script = """
      a = (0...300_000).to_a
      a.insert(1, -1)
      ok_insert = a[0, 3] == [0, -1, 1] && a[-1] == 299_999 && a.size == 300_001
      a.delete_at(1)
      ok_delete = a == (0...300_000).to_a
      s = (0...200_000).map { |i| (i % 251).chr }.join
      t = s.dup
      t.slice!(0, 7)
      u = s.dup
      u.insert(3, "xyz")
      ok_string = t == s[7..] && u[0, 6] == s[0, 3] + "xyz" && u[6..] == s[3..]
      [ok_insert, ok_delete, ok_string, ("ab" * (1 << 20)).count("b")]
    """
    assert run_value(sandbox, script) == [True, True, True, 1 << 20]
