"""The kobako-async command: run, batch, warm, version; exit statuses, bad input,
and the host-side rendering of values as Ruby's inspect (CRuby is the oracle)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cruby import cruby_stdout, needs_ruby

from kobako_async import Sandbox, Symbol
from kobako_async._cli import (
    EXIT_FUEL_EXHAUSTED,
    EXIT_MEMORY_LIMIT,
    EXIT_OK,
    EXIT_SANDBOX_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    main,
    parse_size,
)
from kobako_async._guestfile import ABI_VERSION
from kobako_async._inspect import json_safe, ruby_inspect

INSPECT_CASES = [
    "[2, 4, 6]",
    "{a: 1}",
    '{"k" => [1.5, nil, true, false]}',
    "[1e20, 1e16, 1e15, 123456789.125, 0.0001, 0.00001, -0.0, 2.5e-300, 1.0 / 3]",
    "[1.0 / 0, -1.0 / 0]",
    "2**80",
    "-(2**70)",
    '"a\\nb\\t\\"q\\" \\\\ \\e \\x01 \\x7f é 日本 \\u200b"',
    "'#{x} #$y #@z #'",
    '"\\u00a0 \\u2028 \\u0085 \\u0080 \\ue000 \\u0378 \\u{1F600} \\u{10FFFF} \\u00ad"',
    '"\\xff\\xfeab".b',
    '[:foo, :"foo bar", :+, :foo?, :[]=, :@iv, :Const, :"9x"]',
    "{[1, 2] => {b: 2}, nil => :x}",
    "[]",
    "{}",
]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


@needs_ruby
@pytest.mark.parametrize("expr", INSPECT_CASES)
def test_inspect_matches_cruby(sandbox: Sandbox, expr: str) -> None:
    """The host renders a run's value exactly as CRuby's ``p`` prints that value."""
    value = sandbox.run(expr).value
    assert ruby_inspect(value) + "\n" == cruby_stdout(f"p({expr})")


def test_nan_and_handles_render() -> None:
    """NaN renders as Ruby's NaN; a host object as a Kobako::Handle."""
    assert ruby_inspect(float("nan")) == "NaN"
    assert ruby_inspect(object()) == "#<Kobako::Handle object>"


def test_json_safe_keeps_types_apart() -> None:
    """The JSON form tags bytes, non-finite floats, non-string-keyed Hashes and handles."""
    value = {Symbol("a"): [b"\xff", float("inf"), {1: 2}, object()], "s": "t"}
    assert json_safe(value) == {
        "a": [
            {"$bytes": "/w=="},
            {"$float": "Infinity"},
            {"$hash": [[1, 2]]},
            {"$handle": "object"},
        ],
        "s": "t",
    }


@pytest.mark.parametrize(
    ("text", "size"),
    [("65536", 65536), ("512K", 512 << 10), ("64M", 64 << 20), ("1G", 1 << 30), ("2MiB", 2 << 20)],
)
def test_parse_size(text: str, size: int) -> None:
    """Sizes take binary K/M/G suffixes."""
    assert parse_size(text) == size


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_run_prints_output_then_inspect(capsys: pytest.CaptureFixture[str]) -> None:
    """``run -e`` prints the script's stdout, its stderr, then the value's inspect; exit 0."""
    status, out, err = _run(capsys, "run", "-e", 'puts "hi"; warn "w"; [1, 2, 3].map { _1 * 2 }')
    assert (status, out, err) == (EXIT_OK, "hi\n[2, 4, 6]\n", "w\n")


def test_run_file_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``run FILE`` reads the file; ``run -`` reads stdin (here through a real pipe)."""
    script = tmp_path / "s.rb"
    script.write_text("{a: 1}\n")
    assert _run(capsys, "run", str(script)) == (EXIT_OK, "{:a=>1}\n", "")
    done = subprocess.run(
        [sys.executable, "-m", "kobako_async", "run", "-"],
        input="6 * 7",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "42\n", "")


def test_empty_file_is_nil(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty script file runs and its value is nil."""
    empty = tmp_path / "empty.rb"
    empty.write_bytes(b"")
    assert _run(capsys, "run", str(empty)) == (EXIT_OK, "nil\n", "")


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("directory", r": is a directory, not a Ruby file"),
        ("missing", r"nope\.rb: cannot read it \(No such file or directory\)"),
        ("latin1", r": not UTF-8 text \(byte 6 is 0xe9\)"),
    ],
)
def test_unusable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, match: str
) -> None:
    """A directory, a missing file or a non-UTF-8 file: one error line, exit 2, no traceback."""
    path = {"directory": tmp_path, "missing": tmp_path / "nope.rb"}.get(kind, tmp_path / "l.rb")
    if kind == "latin1":
        path.write_bytes("p 'caf\u00e9'".encode("latin-1"))
    status, out, err = _run(capsys, "run", str(path))
    assert (status, out) == (EXIT_USAGE, "")
    assert err.count("\n") == 1 and err.startswith("kobako-async: error: ")
    assert re.search(match, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["run", "-e", "1", "--memory-limit", "12X"],
        ["run", "-e", "1", "--timeout", "soon"],
        ["run", "-e", "1", "--timeout", "-1"],
        ["run", "-e", "1", "--memory-limit", "100K"],
        ["run", "-e", "1", "x.rb"],
        ["batch"],
        ["frobnicate"],
    ],
    ids=[
        "no-script",
        "bad-size",
        "bad-seconds",
        "negative-timeout",
        "tiny-memory",
        "two",
        "batch",
        "cmd",
    ],
)
def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Bad arguments: exit status 2 and exactly one error line on stderr."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse exits for what it parses itself
        status = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert status == EXIT_USAGE
    assert err.count("\n") == 1 and re.match(r"kobako-async( \w+)?: error: ", err), err


@pytest.mark.parametrize(
    ("argv", "status", "kind"),
    [
        (["-e", 'raise ArgumentError, "bad"'], EXIT_SANDBOX_ERROR, "SandboxError"),
        (["-e", "def", "--json"], EXIT_SANDBOX_ERROR, "SandboxError"),
        (["-e", "loop {}", "--timeout", "0.1"], EXIT_TIMEOUT, "TimeoutError"),
        (
            ["-e", '"x" * (100 << 20)', "--memory-limit", "16M"],
            EXIT_MEMORY_LIMIT,
            "MemoryLimitError",
        ),
        (["-e", "loop {}", "--fuel", "10_000"], EXIT_FUEL_EXHAUSTED, "FuelExhaustedError"),
    ],
    ids=["raise", "syntax", "timeout", "memory", "fuel"],
)
def test_error_families_have_their_exit_status(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: int, kind: str
) -> None:
    """Each error family exits with its own status; --json names the error class."""
    got, out, err = _run(capsys, "run", *argv, "--json")
    result = json.loads(out)
    assert got == status
    assert result["error"]["type"] == kind
    assert result["value"] is None and err == ""


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object: value (JSON-safe), inspect, stdout, stderr, usage, error."""
    status, out, _ = _run(capsys, "run", "--json", "-e", 'print "o"; {b: "\\xff".b}')
    result = json.loads(out)
    assert status == EXIT_OK and out.count("\n") == 1
    assert result["value"] == {"b": {"$bytes": "/w=="}}
    assert result["inspect"] == '{:b=>"\\xFF"}'
    assert (result["stdout"], result["stderr"], result["error"]) == ("o", "", None)
    assert type(result["usage"]["memory_peak_bytes"]) is int


def test_seed_and_permissive(capsys: pytest.CaptureFixture[str]) -> None:
    """--seed fixes rand; --permissive gives the real clock (hermetic: the epoch)."""
    first = _run(capsys, "run", "--seed", "7", "-e", "rand(1000)")
    assert first == _run(capsys, "run", "--seed", "7", "-e", "rand(1000)")
    assert _run(capsys, "run", "-e", "Time.now.to_i")[1] == "0\n"
    assert int(_run(capsys, "run", "--permissive", "-e", "Time.now.to_i")[1]) > 1_700_000_000


def _batch_file(tmp_path: Path) -> Path:
    lines = [json.dumps("1 + 1"), json.dumps({"script": "rand(100)", "seed": 3})]
    lines += [json.dumps("raise 'no'"), "", json.dumps({"script": "[:a]"})]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_ordered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """batch --ordered writes one result per script in input order; a failure exits 1."""
    status, out, err = _run(
        capsys, "batch", str(_batch_file(tmp_path)), "--workers", "2", "--ordered"
    )
    results = [json.loads(line) for line in out.splitlines()]
    assert status == EXIT_SANDBOX_ERROR and err == ""  # stderr is not a tty: no bar
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["inspect"] for r in results] == ["2", results[1]["inspect"], None, "[:a]"]
    assert results[2]["error"]["type"] == "SandboxError"


def test_batch_completion_order_through_a_tty(tmp_path: Path) -> None:
    """Unordered batch gives every index once; on a terminal stderr shows a progress bar."""
    import pty

    jobs = tmp_path / "ok.jsonl"
    jobs.write_text("\n".join(json.dumps(f"{i} * 2") for i in range(20)) + "\n")
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "kobako_async", "batch", str(jobs), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=120,
        cwd=tmp_path,
    )
    os.close(follower)
    shown = os.read(leader, 65536).decode()
    os.close(leader)
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert done.returncode == EXIT_OK
    assert sorted(r["index"] for r in results) == list(range(20))
    assert all(r["value"] == r["index"] * 2 for r in results)
    assert "20/20 (0 failed)" in shown


def test_batch_bad_line_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A batch line that is not a script names its line number; exit 2."""
    path = tmp_path / "bad.jsonl"
    path.write_text('"1"\n{"code": 1}\n')
    status, out, err = _run(capsys, "batch", str(path))
    assert (status, out) == (EXIT_USAGE, "")
    assert err.startswith(f"kobako-async: error: {path}:2: expected a JSON string")


def test_version_and_warm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """version names the library, guest and wasmtime; warm fills the module cache."""
    from importlib import metadata

    status, out, _ = _run(capsys, "version")
    lines = out.splitlines()
    assert status == EXIT_OK
    assert lines[0] == f"kobako_async {metadata.version('kobako_async')}"
    assert "mruby 3.3.0, Oniguruma 6.9.9" in lines[1] and f"ABI {ABI_VERSION}" in lines[1]
    assert lines[2] == f"wasmtime {metadata.version('wasmtime')}"
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "kobako_async", "warm"],
        env={**os.environ, "KOBAKO_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(list(cache.glob("*.cwasm"))) == 2  # the plain and the fuel-metered engine


def test_missing_guest_is_one_line(tmp_path: Path) -> None:
    """With $KOBAKO_WASM at a missing file, the CLI says so in one line and exits 8."""
    done = subprocess.run(
        [sys.executable, "-m", "kobako_async", "run", "-e", "1"],
        env={**os.environ, "KOBAKO_WASM": str(tmp_path / "gone.wasm")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 8
    assert done.stderr.count("\n") == 1 and "gone.wasm cannot be read" in done.stderr


def test_version_flag_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the library version; run --help lists the exit statuses."""
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"kobako_async {metadata.version('kobako_async')}\n"
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "5  TimeoutError" in capsys.readouterr().out


def test_limits_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout none and --memory-limit none run without those limits."""
    assert _run(capsys, "run", "--timeout", "none", "--memory-limit", "none", "-e", "1 + 1") == (
        EXIT_OK,
        "2\n",
        "",
    )
