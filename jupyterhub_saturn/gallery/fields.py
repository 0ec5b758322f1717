"""Rules for the text and JSON a publisher sends: what may be stored and shown to every reader.

A publish carries free text (``title``, ``description``, ``filename``) and JSON (the body and the
notebook). Both end up on public pages, so before anything is stored:

- text must be encodable UTF-8 (no lone surrogates such as ``"\\udfff"``), free of control
  characters (tab, newline and carriage return are allowed) and of the bidi override and
  isolate characters (U+202A-U+202E, U+2066-U+2069) that make a page read differently from
  what it contains (CVE-2021-42574, "Trojan Source");
- JSON may nest at most :data:`MAX_JSON_DEPTH` levels (objects and arrays), checked by a
  scan that never recurses, before a parser that would.

Every refusal is an :class:`~.errors.InvalidField` (HTTP 400) naming the field. Pure Python.
"""

from __future__ import annotations

import re
from itertools import accumulate

from .errors import InvalidField

#: Deepest nesting of JSON objects/arrays accepted in a notebook (the JSON publish body may add one
#: level around it). Real notebooks nest < 20 levels; Python's parser fails near 1000.
MAX_JSON_DEPTH = 100

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# a string runs to its closing quote, or to the end of an unterminated text: every quote matches at the
# first try, so the scan stays linear whatever the input (no retry from each later quote)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def text_problem(value: str) -> str | None:
    """Why ``value`` may not be published as text (None if it may)."""
    m = _SURROGATE.search(value)
    if m:
        return f"contains a lone surrogate (U+{ord(m.group()):04X} at character {m.start()}), which is not valid Unicode text"
    m = _CONTROL.search(value)
    if m:
        return f"contains the control character U+{ord(m.group()):04X} at character {m.start()}"
    m = _BIDI.search(value)
    if m:
        return (f"contains the bidirectional override U+{ord(m.group()):04X} at character {m.start()}, "
                "which can make text display differently from what it says")
    return None


def check_text(value, field: str, *, max_chars: int | None = None) -> str | None:
    """``value`` (None or text) if it may be published as ``field``; raises InvalidField otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be text", field=field)
    if max_chars is not None and len(value) > max_chars:
        raise InvalidField(f"{field} is {len(value)} characters; at most {max_chars} are allowed", field=field)
    problem = text_problem(value)
    if problem:
        raise InvalidField(f"{field} {problem}", field=field)
    return value


def json_depth(data: bytes | str) -> int:
    """The deepest nesting of objects/arrays in JSON text ``data`` (well-formed or not), without recursion."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    if not brackets:
        return 0
    steps = (1 if b in (0x5B, 0x7B) else -1 for b in brackets)
    return max(accumulate(steps))


def check_json_depth(data: bytes | str, field: str, limit: int = MAX_JSON_DEPTH, error=InvalidField) -> None:
    """Raise ``error`` (default InvalidField, HTTP 400) if JSON text ``data`` nests deeper than ``limit``."""
    depth = json_depth(data)
    if depth > limit:
        raise error(f"{field} is JSON nested {depth} levels deep; at most {limit} levels are allowed",
                           field=field)
