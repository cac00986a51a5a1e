"""Run one fidelity script through CRuby and through the Sandbox, the same way.

Both sides run the same wrapped text (see ``wrap``): the script's source inside a
``begin``/``rescue Exception``, followed by one line that prints a marker and then
either ``value <inspect of the last value>`` or ``error <Class>: <message>``. An
``Outcome`` is the script's own stdout (everything before the marker) plus that
last line, so "identical" means the same stdout and the same final value, or the
same uncaught exception class and message.

CRuby runs as ``ruby --disable-gems -`` with the wrapped text on stdin, ``TZ=UTC``
(the guest's local time is UTC) and a UTF-8 locale. ``--disable-gems`` keeps
did_you_mean and error_highlight from decorating exception messages: that text is
presentation, not behaviour. A guest run that raises a KobakoError (the script did
not compile, or a limit or trap stopped it) never matches CRuby, whose wrapped run
always ends in the marker line.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kobako_async import KobakoError, Sandbox, SandboxError

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
KNOWN_DIFFERENCES = HERE / "known_differences.txt"

RUBY = os.environ.get("KOBAKO_FIDELITY_RUBY", "/usr/bin/ruby")
RUBY_TIMEOUT_S = 30.0
RUBY_WORKERS = 4
GUEST_TIMEOUT_S = 10.0
GUEST_MEMORY_LIMIT_BYTES = 256 << 20
OUTPUT_LIMIT_BYTES = 1 << 20

MARKER = "__KOBAKO_FIDELITY__"

# The script's first line of code is 2 lines lower on both sides, so __LINE__ and
# backtraces agree.
_HEAD = "begin\n__fidelity_value = begin\n"
_TAIL = f"""
end
$stdout.print("\\n{MARKER} value " + __fidelity_value.inspect + "\\n")
rescue Exception => __fidelity_error
$stdout.print("\\n{MARKER} error " + __fidelity_error.class.to_s + ": " + \
__fidelity_error.message.to_s + "\\n")
end
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one side printed and how the script ended."""

    stdout: str
    result: str
    """``value <inspect>``, ``error <Class>: <message>``, or ``kobako <Error>: ...``."""


@dataclass(frozen=True, slots=True)
class Script:
    """One fidelity script: its category (the folder) and name."""

    path: Path

    @property
    def category(self) -> str:
        return self.path.parent.name

    @property
    def key(self) -> str:
        """``<category>/<name>.rb``: the id used in known_differences.txt."""
        return f"{self.category}/{self.path.name}"

    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(root: Path = SCRIPTS) -> list[Script]:
    """Every script under ``root``, sorted by category and name."""
    return [Script(p) for p in sorted(root.glob("*/*.rb"))]


def wrap(source: str) -> str:
    """The text both CRuby and the guest run for ``source``.

    Leading comment lines stay first so magic comments
    (``# frozen_string_literal: true``) keep their effect.
    """
    lines = source.splitlines(keepends=True)
    lead = 0
    while lead < len(lines) and lines[lead].startswith("#"):
        lead += 1
    body = "".join(lines[lead:]).rstrip("\n")
    return "".join(lines[:lead]) + _HEAD + body + _TAIL


def split_output(text: str) -> Outcome:
    """Split wrapped output into the script's stdout and its marker line."""
    head, sep, tail = text.rpartition(f"\n{MARKER} ")
    if not sep:
        return Outcome(text, "no result line (the run did not finish)")
    return Outcome(head, tail.rstrip("\n"))


def run_ruby(script: Script) -> Outcome:
    """Run ``script`` under CRuby."""
    env = {**os.environ, "TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    env.pop("RUBYOPT", None)
    proc = subprocess.run(
        [RUBY, "--disable-gems", "-"],
        input=wrap(script.source()).encode("utf-8"),
        capture_output=True,
        timeout=RUBY_TIMEOUT_S,
        env=env,
        check=False,
    )
    outcome = split_output(proc.stdout.decode("utf-8", "replace"))
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        return Outcome(outcome.stdout, f"ruby exited {proc.returncode}: {err}")
    return outcome


def run_ruby_all(scripts: Iterable[Script]) -> dict[str, Outcome]:
    """CRuby outcomes by script key, a few processes at a time."""
    listed = list(scripts)
    with ThreadPoolExecutor(RUBY_WORKERS) as pool:
        return dict(zip((s.key for s in listed), pool.map(run_ruby, listed), strict=True))


def create_sandbox() -> Sandbox:
    """The Sandbox every script runs in: generous limits, hermetic profile."""
    return Sandbox(
        timeout=GUEST_TIMEOUT_S,
        memory_limit=GUEST_MEMORY_LIMIT_BYTES,
        stdout_limit=OUTPUT_LIMIT_BYTES,
        stderr_limit=OUTPUT_LIMIT_BYTES,
    )


def run_guest(sandbox: Sandbox, script: Script) -> Outcome:
    """Run ``script`` in the guest; a KobakoError becomes a ``kobako`` result."""
    try:
        execution = sandbox.run(wrap(script.source()))
    except SandboxError as exc:
        return Outcome(exc.execution.stdout, f"kobako {type(exc).__name__}: {exc}")
    except KobakoError as exc:
        return Outcome("", f"kobako {type(exc).__name__}: {exc}")
    return split_output(execution.stdout)


def load_known_differences(path: Path = KNOWN_DIFFERENCES) -> dict[str, str]:
    """``{script key: reason}`` from known_differences.txt (``key | reason`` lines)."""
    known: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, reason = line.partition("|")
        if not sep or not reason.strip():
            raise ValueError(f"{path.name}: expected 'script | reason', got {raw!r}")
        known[key.strip()] = reason.strip()
    return known
