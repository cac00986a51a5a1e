"""Run inputs: ``run(script, inputs={...})`` makes each key a local variable of the
script holding the codec-decoded value, on the Sandbox, the Pool and Jobs through map,
and on the command line (``--input NAME=JSON``, batch lines' "inputs")."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.exact import assert_exact

from kobako_async import (
    FrozenHash,
    Job,
    MessageSizeError,
    Pool,
    Sandbox,
    SandboxError,
    Symbol,
    TrapError,
)
from kobako_async._cli import EXIT_OK, EXIT_USAGE, main
from kobako_async._codec import pack
from kobako_async._guest import GuestRunner
from kobako_async._inputs import MAX_INPUTS
from kobako_async._limits import Limits
from kobako_async._sandbox import Usage, decode_outcome
from kobako_async._services import Dispatcher


class Counter:
    """A host object with no wire form: it reaches the script as a Handle."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, n: int) -> int:
        self.count += n
        return self.count


def nested(levels: int) -> list[Any]:
    """A list nested ``levels`` containers deep (``[]`` is one level)."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


# every type of the value table, as the script gets it back unchanged
ROUND_TRIPS = [
    pytest.param(None, id="nil"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(0, id="zero"),
    pytest.param(-(2**63), id="int64-min"),
    pytest.param(2**63 - 1, id="int64-max"),
    pytest.param(2**64, id="bignum"),
    pytest.param(-(3**90), id="negative-bignum"),
    pytest.param(1.5, id="float"),
    pytest.param(-0.0, id="negative-zero"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
    pytest.param(math.nan, id="nan"),
    pytest.param("", id="empty-str"),
    pytest.param("héllo ✓", id="str"),
    pytest.param(b"\xff\x00", id="bytes"),
    pytest.param(Symbol("sym"), id="symbol"),
    pytest.param([1, [2.0, ["x", None]], []], id="list"),
    pytest.param({"a": 1, 2: "b", Symbol("k"): [None], 1.5: {}, None: True}, id="mixed-keys"),
    pytest.param({(1, "t"): "tuple-key", FrozenHash({"h": 1}): "hash-key"}, id="frozen-keys"),
]


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_every_value_type_arrives_and_round_trips(sandbox: Sandbox, value: Any) -> None:
    """An input of every value type is a local holding the decoded value, returned unchanged."""
    assert_exact(sandbox.run("x", inputs={"x": value}).value, value)


@pytest.mark.parametrize(
    ("value", "ruby_class"),
    [
        (None, "NilClass"),
        (True, "TrueClass"),
        (7, "Integer"),
        (2**80, "Integer"),
        (math.nan, "Float"),
        ("s", "String"),
        (b"\xff", "String"),
        (Symbol("s"), "Symbol"),
        ([1], "Array"),
        ({"k": 1}, "Hash"),
        ((1, 2), "Array"),
    ],
    ids=["nil", "true", "int", "bignum", "nan", "str", "bytes", "symbol", "list", "dict", "tuple"],
)
def test_inputs_have_their_ruby_class(sandbox: Sandbox, value: Any, ruby_class: str) -> None:
    """Inside the script each input is an object of the Ruby class the codec maps it to."""
    assert_exact(sandbox.run("x.class.name", inputs={"x": value}).value, ruby_class)


def test_formula_from_the_issue(sandbox: Sandbox) -> None:
    """The issue's example: a formula over three inputs."""
    inputs = {"price": 10.0, "qty": 3, "discount": 0.5}
    assert_exact(sandbox.run("price * qty * (1 - discount)", inputs=inputs).value, 15.0)


def test_nan_and_bignum_keep_their_meaning(sandbox: Sandbox) -> None:
    """NaN is NaN and a bignum is exact arithmetic inside the script."""
    value = sandbox.run("[n.nan?, b + 1]", inputs={"n": math.nan, "b": 2**100}).value
    assert_exact(value, [True, 2**100 + 1])


def test_handle_input_is_callable_and_comes_back(sandbox: Sandbox) -> None:
    """A host object with no wire form is a Handle: its methods run, and it returns as itself."""
    counter = Counter()
    value = sandbox.run("c.add(2); [c.add(3), c]", inputs={"c": counter}).value
    assert value[0] == 5 and type(value[0]) is int
    assert value[1] is counter and counter.count == 5


def test_handles_nested_in_an_input(sandbox: Sandbox) -> None:
    """Handles inside containers of an input are callable too."""
    a, b = Counter(), Counter()
    value = sandbox.run("cs[:list].map { |c| c.add(1) }", inputs={"cs": {Symbol("list"): [a, b]}})
    assert_exact(value.value, [1, 1])


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("Price", "not a Ruby local variable name"),
        ("end", "is a Ruby keyword"),
        ("self", "is a Ruby keyword"),
        ("nil", "is a Ruby keyword"),
        ("defined?", "not a Ruby local variable name"),
        ("1x", "not a Ruby local variable name"),
        ("", "not a Ruby local variable name"),
        ("a-b", "not a Ruby local variable name"),
        ("a b", "not a Ruby local variable name"),
        ("naïve", "not a Ruby local variable name"),
        ("x\n", "not a Ruby local variable name"),
        ("_1", "reserved for a numbered block parameter"),
        ("@x", "not a Ruby local variable name"),
        (5, "input names must be str, not int"),
        (b"x", "input names must be str, not bytes"),
        (None, "input names must be str, not NoneType"),
    ],
    ids=lambda v: repr(v),
)
def test_bad_names_are_value_errors_before_the_run(sandbox: Sandbox, name: Any, match: str) -> None:
    """A key that is not a Ruby local name is a ValueError at run(); the Sandbox keeps working."""
    with pytest.raises(ValueError, match=match):
        sandbox.run("1", inputs={name: 1})
    assert_exact(sandbox.run("1").value, 1)


def test_names_that_are_valid(sandbox: Sandbox) -> None:
    """Underscores, digits after the first letter, capitals after it, and a lone ``_``."""
    inputs = {"_": 1, "_x": 2, "aB9": 3, "snake_case_2": 4, "it": 5, Symbol("sym"): 6}
    assert_exact(sandbox.run("[_, _x, aB9, snake_case_2, it, sym]", inputs=inputs).value,
                 [1, 2, 3, 4, 5, 6])  # fmt: skip


def test_inputs_must_be_a_mapping(sandbox: Sandbox) -> None:
    """inputs that is not a mapping is a TypeError."""
    with pytest.raises(TypeError, match="inputs must be a mapping of names to values, not list"):
        sandbox.run("1", inputs=[("x", 1)])  # type: ignore[arg-type]


def test_too_many_inputs(sandbox: Sandbox) -> None:
    """MAX_INPUTS inputs work (mruby's scope has room for 255 locals); one more is a ValueError."""
    inputs = {f"v{i}": i for i in range(MAX_INPUTS)}
    script = f"a = 1; b = 2; v0 + v{MAX_INPUTS - 1} + a + b"
    assert_exact(sandbox.run(script, inputs=inputs).value, MAX_INPUTS + 2)
    inputs["one_more"] = 0
    with pytest.raises(ValueError, match=f"at most {MAX_INPUTS} inputs, got {MAX_INPUTS + 1}"):
        sandbox.run("1", inputs=inputs)


def test_input_shadows_a_method_name(sandbox: Sandbox) -> None:
    """An input named like a method is the local, as in Ruby; a call with arguments stays a call."""
    ex = sandbox.run('[puts, rand, format("%d", 7)]', inputs={"puts": 1, "rand": 2, "format": 3})
    assert_exact(ex.value, [1, 2, "7"])
    assert ex.stdout == ""


def test_method_defined_in_the_script_does_not_see_inputs(sandbox: Sandbox) -> None:
    """Inputs are locals of the script only: a method's own scope does not see them."""
    with pytest.raises(
        SandboxError, match="undefined method 'price'|undefined method `price'"
    ) as info:
        sandbox.run("def total; price * 2; end; total", inputs={"price": 3})
    assert info.value.klass == "NoMethodError"


def test_blocks_and_reassignment_see_inputs(sandbox: Sandbox) -> None:
    """A block closes over an input, and the script may reassign it, as any local."""
    ex = sandbox.run("k = k + 1; [1, 2].map { |x| x * k }", inputs={"k": 2})
    assert_exact(ex.value, [3, 6])


def test_inputs_survive_garbage_collection_and_closures(sandbox: Sandbox) -> None:
    """Input values stay live through GC; a Fiber, eval and local_variables see them."""
    big = [*range(5000), "end"]
    script = (
        'GC.start; 2000.times { "a" * 100 }; GC.start; [Fiber.new { big.size }.resume, big[-1]]'
    )
    assert_exact(sandbox.run(script, inputs={"big": big}).value, [5001, "end"])
    ex = sandbox.run('[eval("x + 1"), local_variables]', inputs={"x": 1, "y": 2})
    assert_exact(ex.value, [2, [Symbol("x"), Symbol("y")]])


def test_inputs_do_not_survive_the_run(sandbox: Sandbox) -> None:
    """The next run without inputs has no such local."""
    sandbox.run("x", inputs={"x": 1})
    assert_exact(sandbox.run("defined?(x)").value, None)


def test_input_values_are_not_shared_between_runs(sandbox: Sandbox) -> None:
    """Mutating an input in the guest changes neither the host value nor the next run's."""
    data = {"items": [1]}
    assert_exact(sandbox.run("d['items'] << 2; d", inputs={"d": data}).value, {"items": [1, 2]})
    assert_exact(data, {"items": [1]})
    assert_exact(sandbox.run("d", inputs={"d": data}).value, {"items": [1]})


def test_error_line_numbers_are_unchanged_with_inputs(sandbox: Sandbox) -> None:
    """Backtraces and syntax errors name the same lines with and without inputs."""
    script = "a = 1\nb = 2\nraise 'boom'"
    for inputs in (None, {"x": 1, "y": [2]}):
        with pytest.raises(SandboxError, match="boom") as info:
            sandbox.run(script, inputs=inputs)
        assert info.value.backtrace[0] == "(eval):3"
    for inputs in (None, {"x": 1}):
        with pytest.raises(SandboxError, match="line 3") as syntax:
            sandbox.run("x\n\n)", inputs=inputs)
        assert syntax.value.klass == "SyntaxError"


def test_depth_rule_is_the_codecs(sandbox: Sandbox) -> None:
    """An input may nest 128 containers; 129, or a cycle, is a ValueError naming the input."""
    assert_exact(sandbox.run("x.flatten", inputs={"x": nested(128)}).value, [])
    with pytest.raises(ValueError, match="input 'x' cannot be sent: value nested deeper than 128"):
        sandbox.run("x", inputs={"x": nested(129)})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="input 'c' cannot be sent: .*cyclic"):
        sandbox.run("c", inputs={"c": cycle})


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("\ud800", "input 'v' cannot be sent: .*surrogate"),
        ({"a": 1, b"a": 2}, "input 'v' cannot be sent: .*one key in Ruby"),
    ],
    ids=["lone-surrogate", "merging-keys"],
)
def test_unsendable_values_are_value_errors(sandbox: Sandbox, value: Any, match: str) -> None:
    """A value the codec cannot send is a ValueError before the run."""
    with pytest.raises(ValueError, match=match):
        sandbox.run("v", inputs={"v": value})


def test_inputs_count_toward_max_message_bytes() -> None:
    """Encoded inputs over max_message_bytes are a MessageSizeError before the run."""
    small = Sandbox(max_message_bytes=1024)
    assert_exact(small.run("s.size", inputs={"s": "x" * 1000}).value, 1000)
    with pytest.raises(MessageSizeError, match="inputs are 2004 bytes encoded, over max_message"):
        small.run("s.size", inputs={"s": "x" * 2000})
    assert_exact(small.run("1").value, 1)


def test_inputs_over_the_memory_limit_are_a_clean_error(sandbox: Sandbox) -> None:
    """Inputs too big for the run's memory: a TrapError saying so; the next run works."""
    floor = GuestRunner().min_memory_bytes
    with pytest.raises(TrapError, match="could not allocate the request"):
        sandbox.run("x.size", inputs={"x": "x" * (8 << 20)}, memory_limit=floor + (1 << 20))
    assert_exact(sandbox.run("x.size", inputs={"x": "x" * (8 << 20)}).value, 8 << 20)


@pytest.mark.parametrize(
    "request_fields",
    [
        [["a"], b""],
        [["a"], pack(1) + pack(2)],
        [["a"], b"\xc1"],
        [[1], pack(1)],
        ["a", pack(1)],
        [["a"], 1],
        [[f"v{i}" for i in range(256)], pack(0) * 256],
    ],
    ids=[
        "missing-value",
        "extra-value",
        "invalid-value",
        "name-not-str",
        "names-not-array",
        "values-not-bin",
        "over-255-names",
    ],  # fmt: skip
)
def test_malformed_input_fields_are_a_guest_error(request_fields: list[Any]) -> None:
    """Input fields that disagree with each other are a malformed request, never a trap."""
    runner = GuestRunner()
    dispatch = Dispatcher({}, Limits()).dispatch
    request = pack([b"1", 1024, 1024, [], 0, *request_fields])
    with pytest.raises(SandboxError, match="malformed run request"):
        decode_outcome(runner.run(request, None, dispatch).payload, Usage(0.0, 0))


# ---- the Pool ----


@pytest.fixture(scope="module")
async def pool(anyio_backend: object) -> AsyncIterator[Pool]:
    async with Pool(workers=1, max_message_bytes=4096) as shared:
        yield shared


@pytest.mark.anyio
async def test_pool_runs_with_inputs(pool: Pool) -> None:
    """The Pool carries inputs in the Run request: the formula, and every type round-trips."""
    inputs = {"price": 10.0, "qty": 3, "discount": 0.5}
    assert_exact((await pool.run("price * qty * (1 - discount)", inputs=inputs)).value, 15.0)
    values = [p.values[0] for p in ROUND_TRIPS]
    assert_exact((await pool.run("v", inputs={"v": values})).value, values)


@pytest.mark.anyio
async def test_pool_handle_input(pool: Pool) -> None:
    """A Handle input is in the run's table in the parent: callable, and back as itself."""
    counter = Counter()
    value = (await pool.run("[c.add(4), c]", inputs={"c": counter})).value
    assert value[0] == 4 and type(value[0]) is int and value[1] is counter


@pytest.mark.anyio
async def test_pool_refuses_bad_inputs_and_keeps_working(pool: Pool) -> None:
    """Bad names are ValueError, oversize inputs MessageSizeError, at run(); the Pool runs on."""
    with pytest.raises(ValueError, match="is a Ruby keyword"):
        await pool.run("1", inputs={"end": 1})
    with pytest.raises(MessageSizeError, match="inputs are .* over max_message_bytes"):
        await pool.run("1", inputs={"s": "x" * 5000})
    with pytest.raises(SandboxError, match="price"):
        await pool.run("def f; price; end; f", inputs={"price": 1})
    assert_exact((await pool.run_nowait("x + 1", inputs={"x": 1})).value, 2)


@pytest.mark.anyio
async def test_jobs_through_map_carry_inputs(pool: Pool) -> None:
    """A Job's inputs reach its run; a Job with bad inputs is a failure value of its own."""
    jobs = [Job("n * 2", inputs={"n": i}) for i in range(4)]
    jobs.append(Job("1", inputs={"Bad": 1}))
    jobs.append(Job("s", inputs={"s": "x" * 5000}))
    async with pool.map(jobs) as results:
        by_index = {r.index: r async for r in results}
    for i in range(4):
        execution = by_index[i].execution
        assert execution is not None
        assert_exact(execution.value, i * 2)
    bad = by_index[4].error
    assert bad is not None and isinstance(bad.__cause__, ValueError)
    assert "not a Ruby local variable name" in str(bad.__cause__)
    assert isinstance(by_index[5].error, MessageSizeError)


# ---- the command line ----


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse exits for what it parses itself
        status = exc.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_input_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """``--input NAME=JSON`` (repeatable) makes JSON values locals of the script."""
    status, out, err = _cli(
        capsys, "run", "-e", "[a + b.size, c]", "--input", "a=1", "--input", 'b=[2, "x"]',
        "--input", 'c={"k": null}',
    )  # fmt: skip
    assert (status, out, err) == (EXIT_OK, '[3, {"k"=>nil}]\n', "")


@pytest.mark.parametrize(
    ("flag", "match"),
    [
        ("novalue", "expected NAME=JSON"),
        ("End=1", "not a Ruby local variable name"),
        ("self=1", "is a Ruby keyword"),
        ("x=[1", "x: not JSON"),
    ],
    ids=["no-equals", "bad-name", "keyword", "bad-json"],
)
def test_cli_bad_input_is_one_usage_line(
    capsys: pytest.CaptureFixture[str], flag: str, match: str
) -> None:
    """A bad --input exits with the usage status and one error line naming it."""
    status, out, err = _cli(capsys, "run", "-e", "1", "--input", flag)
    assert status == EXIT_USAGE and out == "" and err.count("\n") == 1
    assert match in err


def test_cli_input_given_twice(capsys: pytest.CaptureFixture[str]) -> None:
    """The same name twice is a usage error, not a silent overwrite."""
    status, _, err = _cli(capsys, "run", "-e", "x", "--input", "x=1", "--input", "x=2")
    assert status == EXIT_USAGE and "given twice" in err


def test_cli_batch_lines_carry_inputs(tmp_path: Path) -> None:
    """A batch line's "inputs" object becomes the run's inputs."""
    path = tmp_path / "jobs.jsonl"
    lines = [{"script": "a * b", "inputs": {"a": 6, "b": 7}}, {"script": "defined?(a)"}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    # a child process: the module's Pool fixture holds an event loop in this thread
    done = subprocess.run(
        [sys.executable, "-m", "kobako_async", "batch", str(path), "--workers", "1", "--ordered"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == EXIT_OK, done.stderr
    assert [r["inspect"] for r in results] == ["42", "nil"]


@pytest.mark.parametrize(
    ("inputs", "match"),
    [([1], "inputs must be a JSON object, got list"), ({"A": 1}, "not a Ruby local")],
    ids=["not-object", "bad-name"],
)
def test_cli_batch_bad_inputs_name_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inputs: Any, match: str
) -> None:
    """Bad inputs on a batch line are a usage error naming the file and line."""
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps("1") + "\n" + json.dumps({"script": "1", "inputs": inputs}) + "\n")
    status, _, err = _cli(capsys, "batch", str(path))
    assert status == EXIT_USAGE and f"{path}:2:" in err and match in err
