"""Parse and validate uploaded notebooks; derive a plain-text title.

Every way a notebook enters the gallery goes through :func:`parse_notebook`, which
either returns a validated nbformat-4 ``NotebookNode`` or raises a gallery error that
names the problem (never a bare ``ValueError``/``TypeError`` from deep inside).
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from typing import Any

import nbformat
from nbformat.validator import normalize

from .errors import InvalidField, InvalidNotebook, NotebookTooLarge
from .fields import check_json_depth
from .trust import strip_trust

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_TITLE_CHARS = 120
MAX_MESSAGE_CHARS = 300


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _human_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def to_bytes(notebook: bytes | bytearray | str | dict, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The upload as bytes, checking the size limit before any parsing."""
    if isinstance(notebook, (bytes, bytearray, memoryview)):
        data = bytes(notebook)
    elif isinstance(notebook, str):
        data = notebook.encode("utf-8", "surrogatepass")
    elif isinstance(notebook, dict):
        try:
            data = json.dumps(notebook, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, RecursionError) as e:
            raise InvalidNotebook(f"notebook is not JSON-serializable: {_short(e)}", field="notebook") from None
    else:
        raise InvalidNotebook(
            f"notebook must be JSON bytes, text or a dict, not {type(notebook).__name__}", field="notebook"
        )
    if len(data) > max_bytes:
        raise NotebookTooLarge(
            f"notebook is {len(data)} bytes; the limit is {_human_size(max_bytes)} ({max_bytes} bytes)",
            field="notebook",
        )
    return data


def _json_path(path) -> str:
    out = "notebook"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _check_shape(data: Any) -> None:
    """Structural checks nbformat's normalizer assumes (it crashes on them otherwise)."""
    if not isinstance(data, dict):
        raise InvalidNotebook(f"notebook must be a JSON object, not {type(data).__name__}", field="notebook")
    major = data.get("nbformat")
    if type(major) is not int or major != 4:
        raise InvalidNotebook(
            f"notebook.nbformat must be 4, got {_short(json.dumps(major), 40)}",
            field="notebook.nbformat",
            allowed=["4"],
        )
    minor = data.get("nbformat_minor")
    if type(minor) is not int or minor < 0:
        raise InvalidNotebook(
            "notebook.nbformat_minor must be a non-negative integer", field="notebook.nbformat_minor"
        )
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise InvalidNotebook("notebook.cells must be a list", field="notebook.cells")
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise InvalidNotebook(f"notebook.cells[{i}] must be an object", field=f"notebook.cells[{i}]")
    if not isinstance(data.get("metadata"), dict):
        raise InvalidNotebook("notebook.metadata must be an object", field="notebook.metadata")


def parse_notebook(notebook: bytes | bytearray | str | dict, max_bytes: int = DEFAULT_MAX_BYTES):
    """Validate an upload and return ``(NotebookNode, canonical_bytes)``.

    Missing or duplicate cell ids are repaired (as Jupyter does); everything else that
    is not valid nbformat 4 raises :class:`InvalidNotebook` with nbformat's message.
    """
    raw = to_bytes(notebook, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNotebook(f"notebook is not UTF-8 text: {e.reason} at byte {e.start}", field="notebook") from None
    check_json_depth(raw, "notebook", error=InvalidNotebook)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise InvalidNotebook(
            f"notebook is not JSON: {e.msg} at line {e.lineno} column {e.colno}", field="notebook"
        ) from None
    except (ValueError, RecursionError) as e:
        raise InvalidNotebook(f"notebook is not acceptable JSON: {_short(e)}", field="notebook") from None
    _check_shape(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, data = normalize(data)
            strip_trust(data)  # a publisher's trust is never passed on to readers
            nbformat.validate(data)
    except nbformat.ValidationError as e:
        where = _json_path(getattr(e, "absolute_path", []) or [])
        raise InvalidNotebook(
            f"notebook is not valid nbformat 4: {_short(getattr(e, 'message', e))} (at {where})",
            field=where,
        ) from None
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:
        raise InvalidNotebook(f"notebook is not valid nbformat 4: {_short(e)}", field="notebook") from None
    try:
        canonical = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        blob = canonical.encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError) as e:
        raise InvalidNotebook(f"notebook cannot be stored: {_short(e)}", field="notebook") from None
    return nbformat.from_dict(data), blob


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_TAG = re.compile(r"<[^>]*>")
_ELEMENT_WITH_CONTENT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPH = re.compile(r"`+|(?<!\w)[*_~]+|[*_~]+(?!\w)")


def plain_text(value: str, limit: int = MAX_TITLE_CHARS) -> str:
    """Markdown/HTML-ish text reduced to one line of plain text (no tags, no control chars)."""
    text = unicodedata.normalize("NFC", value)
    text = _LINK.sub(r"\1", text)
    text = _ELEMENT_WITH_CONTENT.sub("", text)
    text = _TAG.sub("", text)
    text = _EMPH.sub("", text)
    text = text.replace("<", "").replace(">", "")
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def first_heading(nb) -> str | None:
    """The first Markdown heading (ATX ``# x`` or setext ``x\\n===``), outside code fences."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        lines = _source(cell).splitlines()
        fence = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if fence:
                if stripped.startswith(fence):
                    fence = None
                continue
            if stripped.startswith(("```", "~~~")):
                fence = stripped[:3]
                continue
            m = re.match(r"^ {0,3}#{1,6}(?:\s+(.*?))?\s*#*\s*$", line)
            if m and m.group(1):
                text = plain_text(m.group(1))
                if text:
                    return text
            if stripped and i + 1 < len(lines) and re.match(r"^ {0,3}(=+|-+)\s*$", lines[i + 1]):
                text = plain_text(stripped)
                if text and not re.match(r"^[-=*_ ]+$", stripped):
                    return text
    return None


def derive_title(nb, *, title: str | None = None, filename: str | None = None) -> str:
    """Title: explicit argument, else first heading, else metadata title, else filename."""
    if title is not None:
        if not isinstance(title, str):
            raise InvalidField("title must be text", field="title")
        text = plain_text(title)
        if not text:
            raise InvalidField("title must contain visible text", field="title")
        return text
    heading = first_heading(nb)
    if heading:
        return heading
    meta_title = nb.get("metadata", {}).get("title")
    if isinstance(meta_title, str) and plain_text(meta_title):
        return plain_text(meta_title)
    if isinstance(filename, str):
        base = re.split(r"[\\/]", filename)[-1]
        if base.lower().endswith(".ipynb"):
            base = base[: -len(".ipynb")]
        text = plain_text(base)
        if text:
            return text
    return "Untitled notebook"


_ATX = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def drop_title_heading(nb, title: str) -> bool:
    """Remove the notebook's opening heading when it repeats ``title`` (the page shows the title once).

    Only an ATX heading on the first non-blank line of the first cell counts; returns whether one was removed.
    """
    cells = nb.get("cells") or []
    if not cells or cells[0].get("cell_type") != "markdown":
        return False
    lines = _source(cells[0]).splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = _ATX.match(line.rstrip("\r\n"))
        if m and plain_text(m.group(1)) == title:
            cells[0]["source"] = "".join(lines[:i] + lines[i + 1:])
            return True
        return False
    return False


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|#%]+')


def copy_name(title: str, day: str, n: int = 0, *, fallback: str = "notebook") -> str:
    """A readable file name for a copy: ``"Lecture 1 2026-12-02.ipynb"``, ``"… (2).ipynb"`` for the n-th clash."""
    stem = " ".join(_UNSAFE_NAME.sub(" ", plain_text(title or "")).split()).strip(" .")[:80].strip(" .")
    stem = f"{stem or fallback} {day}"
    return f"{stem}.ipynb" if n == 0 else f"{stem} ({n + 1}).ipynb"
