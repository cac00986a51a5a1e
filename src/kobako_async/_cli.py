"""The ``kobako-async`` command (also ``python -m kobako_async``).

    kobako-async run FILE.rb | -e CODE | -     one script; output, then the value's inspect
                 [--input name=JSON ...]      (each input a local variable of the script)
    kobako-async batch FILE.jsonl              one script per line, through a Pool
    kobako-async warm                          compile and cache the guest module
    kobako-async version                       library, guest and wasmtime versions

Exit statuses: see EXIT_HELP.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ._errors import (
    FuelExhaustedError,
    GuestLoadError,
    KobakoError,
    MemoryLimitError,
    SandboxError,
    ServiceError,
    TimeoutError,
    TrapError,
)
from ._inputs import check_input_name
from ._inspect import json_safe, ruby_inspect
from ._limits import (
    MAX_MESSAGE_BYTES,
    MAX_SERVICE_CALLS,
    MEMORY_LIMIT_BYTES,
    STDERR_LIMIT_BYTES,
    STDOUT_LIMIT_BYTES,
    TIMEOUT_S,
)

EXIT_OK = 0
EXIT_SANDBOX_ERROR = 1  # the script raised or did not compile; also: a batch had failures
EXIT_USAGE = 2  # bad arguments, an unreadable or undecodable file
EXIT_SERVICE_ERROR = 3
EXIT_TRAP = 4
EXIT_TIMEOUT = 5
EXIT_MEMORY_LIMIT = 6
EXIT_FUEL_EXHAUSTED = 7
EXIT_GUEST_LOAD = 8  # the guest file is missing or unusable
EXIT_OTHER = 9  # any other KobakoError
# most specific first: the first class the error is an instance of decides
EXIT_STATUSES: tuple[tuple[type[KobakoError], int], ...] = (
    (TimeoutError, EXIT_TIMEOUT),
    (MemoryLimitError, EXIT_MEMORY_LIMIT),
    (FuelExhaustedError, EXIT_FUEL_EXHAUSTED),
    (TrapError, EXIT_TRAP),
    (ServiceError, EXIT_SERVICE_ERROR),
    (SandboxError, EXIT_SANDBOX_ERROR),
    (GuestLoadError, EXIT_GUEST_LOAD),
)
EXIT_HELP = """\
exit statuses of run:
  0  success            1  SandboxError (the script raised or did not compile)
  2  bad arguments or an unreadable file
  3  ServiceError       4  TrapError (another engine stop, a crashed worker)
  5  TimeoutError       6  MemoryLimitError       7  FuelExhaustedError
  8  GuestLoadError     9  any other KobakoError
batch exits 0 when every run succeeded and 1 otherwise (each line has its error)."""

_SIZE = re.compile(r"\A\s*(\d+)\s*([KMG]?)(?:i?B)?\s*\Z", re.IGNORECASE)
_SIZE_SHIFT = {"": 0, "K": 10, "M": 20, "G": 30}
PROGRESS_INTERVAL_S = 0.1


class UsageError(Exception):
    """A bad argument or input file: reported as one line, exit status 2."""


def exit_status(exc: KobakoError) -> int:
    """The ``run`` exit status for a run that raised ``exc``."""
    for cls, status in EXIT_STATUSES:
        if isinstance(exc, cls):
            return status
    return EXIT_OTHER


def parse_size(text: str) -> int:
    """``"64M"`` -> 67108864. Accepts a byte count with an optional K, M or G
    (binary: 1K = 1024) and an optional ``B``/``iB``. Raises argparse.ArgumentTypeError."""
    found = _SIZE.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 65536, 512K, 64M, 1G)")
    return int(found[1]) << _SIZE_SHIFT[found[2].upper()]


def _optional(parse: Any) -> Any:
    def parse_or_none(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_or_none.__name__ = getattr(parse, "__name__", "value")
    return parse_or_none


def _seconds(text: str) -> float:
    try:
        return float(text.removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def _count(text: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_limits(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits (per run)")
    group.add_argument(
        "--timeout",
        type=_optional(_seconds),
        default=TIMEOUT_S,
        metavar="SECONDS",
        help=f"wall-clock limit, or none (default {TIMEOUT_S:g})",
    )
    group.add_argument(
        "--memory-limit",
        type=_optional(parse_size),
        default=MEMORY_LIMIT_BYTES,
        metavar="SIZE",
        help="guest memory, e.g. 64M, or none (default 64M)",
    )
    group.add_argument(
        "--fuel", type=_count, default=None, metavar="N", help="instruction budget (default: off)"
    )
    group.add_argument(
        "--max-service-calls",
        type=_optional(_count),
        default=MAX_SERVICE_CALLS,
        metavar="N",
        help=f"Service calls per run, or none (default {MAX_SERVICE_CALLS})",
    )
    group.add_argument(
        "--max-message-bytes",
        type=parse_size,
        default=MAX_MESSAGE_BYTES,
        metavar="SIZE",
        help="size of a Service call, reply or the outcome (default 16M)",
    )
    group.add_argument(
        "--stdout-limit",
        type=parse_size,
        default=STDOUT_LIMIT_BYTES,
        metavar="SIZE",
        help="stdout kept (default 1M)",
    )
    group.add_argument(
        "--stderr-limit",
        type=parse_size,
        default=STDERR_LIMIT_BYTES,
        metavar="SIZE",
        help="stderr kept (default 1M)",
    )
    group.add_argument("--seed", type=_count, default=None, help="seed of rand and Random")
    group.add_argument(
        "--permissive",
        action="store_true",
        help="the real clock and fresh entropy (default: hermetic)",
    )


def _library_version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The ``kobako-async`` argument parser."""
    parser = _Parser(
        prog="kobako-async",
        description="Run untrusted Ruby scripts in a WebAssembly-isolated mruby.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_HELP,
    )
    parser.add_argument("--version", action="version", version=f"kobako_async {_library_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run one script",
        description="Run one script and print its output and value.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", metavar="FILE", help="a Ruby file, or - for stdin")
    source.add_argument("-e", dest="code", metavar="CODE", help="the script itself")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a local variable of the script holding the JSON value (repeatable)",
    )
    _add_limits(run)

    batch = commands.add_parser(
        "batch",
        help="run one script per JSON line through a Pool",
        description=(
            "Each line is a JSON string (the script) or an object"
            ' {"script": ..., "seed": ..., "inputs": {"name": value, ...}}.'
            " Writes one JSON result per line, with its input's line index."
        ),
    )
    batch.add_argument("file", metavar="FILE.jsonl", help="the scripts, or - for stdin")
    batch.add_argument("--workers", type=_count, default=None, help="worker processes")
    batch.add_argument("--concurrency", type=_count, default=None, help="runs in flight")
    batch.add_argument(
        "--ordered", action="store_true", help="write results in input order (default: as done)"
    )
    _add_limits(batch)

    commands.add_parser("warm", help="compile the guest module into the cache")
    commands.add_parser("version", help="print the library, guest and wasmtime versions")
    return parser


def _limit_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "timeout": args.timeout,
        "memory_limit": args.memory_limit,
        "fuel": args.fuel,
        "max_service_calls": args.max_service_calls,
        "max_message_bytes": args.max_message_bytes,
        "stdout_limit": args.stdout_limit,
        "stderr_limit": args.stderr_limit,
        "profile": "permissive" if args.permissive else "hermetic",
    }


def parse_inputs(items: Sequence[str]) -> dict[str, Any]:
    """The ``--input NAME=JSON`` options as run inputs. Raises UsageError."""
    inputs: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"--input {item!r:.60}: expected NAME=JSON")
        try:
            check_input_name(name)
        except ValueError as exc:
            raise UsageError(f"--input {name!r:.60}: {exc}") from None
        if name in inputs:
            raise UsageError(f"--input {name!r}: given twice")
        try:
            inputs[name] = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--input {name}: not JSON ({exc})") from None
    return inputs


def _json_inputs(item: Any, where: str) -> dict[str, Any] | None:
    """A batch line's "inputs" object, names checked. Raises UsageError."""
    inputs = item.get("inputs")
    if inputs is None:
        return None
    if not isinstance(inputs, dict):
        raise UsageError(f"{where}: inputs must be a JSON object, got {type(inputs).__name__}")
    for name in inputs:
        try:
            check_input_name(name)
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
    return inputs


def _read_text(name: str, what: str) -> str:
    """The UTF-8 text of file ``name`` (``-``: stdin). Raises UsageError."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory, not a {what}") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name}: not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})"
        ) from None


def _error_json(exc: KobakoError) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for field in ("klass", "backtrace", "exit_status"):
        if hasattr(exc, field):
            error[field] = getattr(exc, field)
    return error


def _result_json(execution: Any, error: KobakoError | None) -> dict[str, Any]:
    """One run as a JSON object: value, inspect, stdout, stderr, usage, error."""
    if error is not None:
        execution = getattr(error, "execution", None)
    result: dict[str, Any] = {
        "value": None if error else json_safe(execution.value),
        "inspect": None if error else ruby_inspect(execution.value),
        "stdout": execution.stdout if execution else "",
        "stderr": execution.stderr if execution else "",
        "usage": None,
        "error": _error_json(error) if error else None,
    }
    if execution is not None:
        result["usage"] = {
            "wall_time_s": execution.usage.wall_time_s,
            "memory_peak_bytes": execution.usage.memory_peak_bytes,
        }
    return result


def _cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._sandbox import Sandbox

    script = args.code if args.code is not None else _read_text(args.file, "Ruby file")
    inputs = parse_inputs(args.inputs)
    try:
        sandbox = Sandbox(**_limit_kwargs(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    execution, error = None, None
    try:
        execution = sandbox.run(script, inputs=inputs, seed=args.seed)
    except KobakoError as exc:
        error = exc
    if args.json:
        out.write(json.dumps(_result_json(execution, error), ensure_ascii=False) + "\n")
        return exit_status(error) if error else EXIT_OK
    shown = execution or getattr(error, "execution", None)
    if shown is not None:
        out.write(shown.stdout)
        err.write(shown.stderr)
    if error is not None:
        err.write(f"{type(error).__name__}: {error}\n")
        return exit_status(error)
    assert execution is not None
    out.write(ruby_inspect(execution.value) + "\n")
    return EXIT_OK


BatchJob = tuple[str, int | None, dict[str, Any] | None]


def _batch_jobs(name: str) -> list[BatchJob]:
    """The (script, seed, inputs) of every line. Raises UsageError naming the bad line."""
    jobs: list[BatchJob] = []
    for number, line in enumerate(_read_text(name, "JSON Lines file").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{name}:{number}: not JSON ({exc})") from None
        if isinstance(item, str):
            jobs.append((item, None, None))
        elif isinstance(item, dict) and isinstance(item.get("script"), str):
            seed = item.get("seed")
            if seed is not None and (type(seed) is not int):
                raise UsageError(f"{name}:{number}: seed must be an integer, got {seed!r}")
            jobs.append((item["script"], seed, _json_inputs(item, f"{name}:{number}")))
        else:
            raise UsageError(
                f'{name}:{number}: expected a JSON string or {{"script": "..."}}, got {line[:60]}'
            )
    return jobs


class Progress:
    """A one-line progress bar, redrawn in place on a terminal (at most every
    PROGRESS_INTERVAL_S); draws nothing when the stream is not a tty."""

    WIDTH = 30

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream, self.total, self.done, self.failed = stream, total, 0, 0
        self.enabled = stream.isatty()
        self._drawn = 0.0

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= PROGRESS_INTERVAL_S or self.done == self.total):
            self._drawn = now
            self.stream.write("\r" + self.render())
            self.stream.flush()

    def render(self) -> str:
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return f"[{bar}] {self.done}/{self.total} ({self.failed} failed)"

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")


def _cmd_batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import anyio

    from ._pool import Pool

    jobs = _batch_jobs(args.file)
    for name in ("workers", "concurrency"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be a positive integer, got {value}")
    try:
        pool = Pool(workers=args.workers, **_limit_kwargs(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    concurrency = args.concurrency or 2 * pool.workers
    progress = Progress(err, len(jobs))
    failures = 0
    output_closed = False

    async def main() -> None:
        nonlocal failures
        pending: dict[int, dict[str, Any]] = {}
        next_index = 0
        room = anyio.Semaphore(concurrency)  # bounds the tasks, not only the runs

        def write(index: int, result: dict[str, Any]) -> None:
            nonlocal output_closed
            if output_closed:
                return
            try:  # a line at a time, so a reader sees each result as it completes
                out.write(json.dumps({"index": index, **result}, ensure_ascii=False) + "\n")
                out.flush()
            except BrokenPipeError:  # `kobako-async batch ... | head`: stop the batch
                output_closed = True
                tg.cancel_scope.cancel()

        def emit(index: int, result: dict[str, Any]) -> None:
            nonlocal next_index
            if not args.ordered:
                write(index, result)
                return
            pending[index] = result
            while next_index in pending:
                write(next_index, pending.pop(next_index))
                next_index += 1

        async def one(
            index: int, script: str, seed: int | None, inputs: dict[str, Any] | None
        ) -> None:
            nonlocal failures
            try:
                result = _result_json(await pool.run(script, inputs=inputs, seed=seed), None)
            except KobakoError as exc:
                result = _result_json(None, exc)
            finally:
                room.release()
            failed = result["error"] is not None
            failures += failed
            emit(index, result)
            progress.advance(failed)

        async with pool, anyio.create_task_group() as tg:
            for index, (script, seed, inputs) in enumerate(jobs):
                await room.acquire()
                tg.start_soon(one, index, script, seed, inputs)

    try:
        anyio.run(main)
    finally:
        progress.close()
    if output_closed:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return EXIT_SANDBOX_ERROR
    return EXIT_SANDBOX_ERROR if failures else EXIT_OK


def _cmd_warm(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._guest import GuestRunner
    from ._module_cache import default_cache_dir

    for metered in (False, True):  # the fuel-metered engine compiles its own module
        GuestRunner(metered=metered)
    out.write(f"compiled module cached in {default_cache_dir()}\n")
    return EXIT_OK


def _cmd_version(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from importlib import metadata

    from ._guestfile import guest_info

    info = guest_info()
    out.write(f"kobako_async {_library_version()}\n")
    out.write(
        f"guest {info.path} sha256:{info.sha256} ABI {info.abi_version},"
        f" mruby {info.mruby_version}, Oniguruma {info.oniguruma_version}\n"
    )
    out.write(f"wasmtime {metadata.version('wasmtime')}\n")
    return EXIT_OK


_COMMANDS = {"run": _cmd_run, "batch": _cmd_batch, "warm": _cmd_warm, "version": _cmd_version}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kobako-async`` command line; returns the exit status.

    Errors of the caller's making (arguments, files, the guest file) are one line
    on stderr, never a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        return _COMMANDS[args.command](args, out, err)
    except UsageError as exc:
        err.write(f"kobako-async: error: {exc}\n")
        return EXIT_USAGE
    except GuestLoadError as exc:
        err.write(f"kobako-async: error: {exc}\n")
        return EXIT_GUEST_LOAD
    except KeyboardInterrupt:
        return 130
    finally:
        try:
            out.flush()
        except BrokenPipeError:  # `kobako-async batch ... | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


if __name__ == "__main__":
    sys.exit(main())
