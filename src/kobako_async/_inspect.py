"""Render a run's value on the host: as Ruby's ``inspect`` would (``[2, 4, 6]``,
``{:a=>1}``), and in a JSON-safe form.

The value carries its Ruby types across the boundary (``Symbol`` for Symbols, ``str``
for UTF-8 Strings, ``bytes`` for other Strings), so the guest need not render it.
Hashes print in mruby 3.3's (and CRuby 3.3's) ``{:a=>1}`` style.
"""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from ._codec import Symbol

# Symbols that inspect without quotes: identifiers, constants, ivars/gvars, operators
_PLAIN_SYMBOL = re.compile(
    r"\A(?:\$?[A-Za-z_][A-Za-z0-9_]*[?!=]?|@@?[A-Za-z_][A-Za-z0-9_]*"
    r"|\[\]=?|[+\-*/%<>~!^&|]|\*\*|[+\-]@|<=>|==|===|=~|!=|!~|<<|>>|<=|>=)\Z"
)
# what Ruby's String#inspect escapes as \uXXXX: controls, unassigned, line/paragraph
# separators (format and private-use characters print as they are)
_UNPRINTABLE = frozenset({"Cc", "Cn", "Zl", "Zp"})
_ESCAPES = {
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\f": "\\f",
    "\v": "\\v",
    "\b": "\\b",
    "\a": "\\a",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
}


def _float(value: float) -> str:
    """Ruby's Float#to_s: shortest round-trip digits, fixed notation for decimal
    exponents in (-4, 16), else ``1.0e+16``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits_t, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_t))
    assert isinstance(exponent, int)
    point = len(digits) + exponent  # digits before the decimal point
    if -4 < point < 16:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    mantissa = f"{digits[0]}.{digits[1:] or '0'}"
    return f"{sign}{mantissa}e{point - 1:+03d}"


def _string_body(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == "#" and text[i + 1 : i + 2] in ("{", "$", "@"):
            out.append("\\#")  # Ruby escapes what would interpolate
        elif "\udc80" <= ch <= "\udcff":  # an invalid byte, kept by surrogateescape
            out.append(f"\\x{ord(ch) - 0xDC00:02X}")
        elif unicodedata.category(ch) in _UNPRINTABLE and ch != "\x85":  # NEL: a space
            code = ord(ch)
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\u{{{code:X}}}")
        else:
            out.append(ch)
    return "".join(out)


def ruby_inspect(value: Any) -> str:
    """``value`` as Ruby's ``inspect`` renders the Ruby value it came from.

    Handles and other host objects (which have no Ruby literal) render as
    ``#<Kobako::Handle ClassName>``.
    """
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Symbol):
        name = str(value)
        return f":{name}" if _PLAIN_SYMBOL.match(name) else f':"{_string_body(name)}"'
    if isinstance(value, str):
        return f'"{_string_body(value)}"'
    if isinstance(value, bytes):
        return f'"{_string_body(value.decode("utf-8", "surrogateescape"))}"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(ruby_inspect(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{ruby_inspect(k)}=>{ruby_inspect(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return f"#<Kobako::Handle {type(value).__name__}>"


def json_safe(value: Any) -> Any:
    """``value`` in a form ``json.dumps`` accepts without loss of meaning.

    Symbols become strings; other Strings that are not UTF-8 ``{"$bytes": base64}``;
    non-finite floats ``{"$float": "NaN"}``; a Hash whose keys are not all strings
    ``{"$hash": [[key, value], ...]}`` (also when a Symbol and a String key share a
    name); host objects ``{"$handle": "ClassName"}``.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return str(value) if isinstance(value, Symbol) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": _float(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        keys = {str(k) for k in value if isinstance(k, str)}
        if len(keys) == len(value):  # all strings, and no Symbol shares a String's name
            return {str(k): json_safe(v) for k, v in value.items()}
        return {"$hash": [[json_safe(k), json_safe(v)] for k, v in value.items()]}
    return {"$handle": type(value).__name__}
