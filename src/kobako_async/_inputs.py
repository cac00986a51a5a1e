"""Run inputs: host values that become local variables of the script.

``run(script, inputs={"price": 10.0})`` declares ``price`` as a top-level local of the
script, holding the codec-decoded value. The names are checked here, before the run;
the values travel in the run request (no Service round trip): one msgpack value per
name, packed back to back in one bin field, so each value may nest MAX_DEPTH
containers like a Service reply's. A host object with no wire form becomes a Handle
in the run's table, so the script can call its methods.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._codec import HandleExhausted, HandleTable, WireError, pack, to_wire

# Ruby's reserved words that match the local-name pattern; the capitalized ones
# (BEGIN, END, __FILE__...) already fail it or are listed for clarity.
RUBY_KEYWORDS = frozenset(
    "__ENCODING__ __LINE__ __FILE__ BEGIN END alias and begin break case class def"
    " defined? do else elsif end ensure false for if in module next nil not or redo"
    " rescue retry return self super then true undef unless until when while yield".split()
)

# mruby allows 255 local variables in a scope (codegen: "too many local variables"),
# inputs included: this leaves the script room for locals of its own
MAX_INPUTS = 200

_LOCAL_NAME = re.compile(r"[a-z_][A-Za-z0-9_]*")
# _1 .. _9 are the numbered block parameters: reserved in Ruby 2.7+
_NUMBERED_PARAM = re.compile(r"_[1-9]")


def check_input_name(name: object) -> str:
    """``name`` as a plain str, if it is a valid Ruby local variable name.

    Raises:
        ValueError: not a str, empty, not ``[a-z_][A-Za-z0-9_]*`` (ASCII), a Ruby
            keyword, or a numbered block parameter (``_1``).
    """
    if not isinstance(name, str):
        raise ValueError(f"input names must be str, not {type(name).__name__}: {name!r:.60}")
    text = str.__str__(name)
    if not _LOCAL_NAME.fullmatch(text) or not text.isascii():
        raise ValueError(
            f"input name {text!r:.60} is not a Ruby local variable name ([a-z_][A-Za-z0-9_]*)"
        )
    if text in RUBY_KEYWORDS:
        raise ValueError(f"input name {text!r} is a Ruby keyword")
    if _NUMBERED_PARAM.fullmatch(text):
        raise ValueError(f"input name {text!r} is reserved for a numbered block parameter")
    return text


def check_inputs(inputs: object) -> None:
    """Raises TypeError if ``inputs`` is not a mapping, ValueError for a bad name or
    more than MAX_INPUTS of them."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a mapping of names to values, not {type(inputs).__name__}")
    if len(inputs) > MAX_INPUTS:
        raise ValueError(f"at most {MAX_INPUTS} inputs, got {len(inputs)}")
    for name in inputs:
        check_input_name(name)


def encode_inputs(
    inputs: Mapping[str, Any] | None, handles: HandleTable
) -> tuple[list[str], bytes]:
    """The request's two input fields: the names, and their values packed back to back.

    Raises:
        TypeError: ``inputs`` is not a mapping.
        ValueError: a bad name, more than MAX_INPUTS inputs, or a value that cannot
            be sent (nested deeper than 128 levels or cyclic, a str with lone
            surrogates, dict keys Ruby would merge, no Handles left).
    """
    if not inputs:
        if inputs is not None and not isinstance(inputs, Mapping):
            check_inputs(inputs)
        return [], b""
    check_inputs(inputs)
    names: list[str] = []
    packed: list[bytes] = []
    for name, value in inputs.items():
        text = str.__str__(name)
        try:
            packed.append(pack(to_wire(value, handles)))
        except (WireError, HandleExhausted) as exc:
            raise ValueError(f"input {text!r} cannot be sent: {exc}") from exc
        except (UnicodeEncodeError, TypeError, OverflowError) as exc:
            raise ValueError(f"input {text!r} cannot be sent: {exc}") from exc
        names.append(text)
    return names, b"".join(packed)
