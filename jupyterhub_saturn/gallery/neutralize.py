"""Strip a notebook of everything a renderer could turn into active content.

Runs *before* nbconvert sees the notebook, on a copy: nbconvert then only ever handles
metadata we wrote ourselves, outputs of known-inert MIME types, pre-cleaned HTML,
validated base64 images with integer sizes, and attachment names of a fixed shape.
(nbconvert's own ``sanitize_html`` and our final HTML pass are the second and third lines.)
"""

from __future__ import annotations

import re

import nbformat
from pygments.lexers import find_lexer_class_by_name
from pygments.util import ClassNotFound

from .notebook import plain_text
from .sanitize import clean_html

#: Output MIME types that survive, in nbconvert's HTML priority order.
SAFE_OUTPUT_TYPES = ("text/html", "text/markdown", "image/svg+xml", "text/latex", "image/png",
                     "image/jpeg", "text/plain")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
BASE64_TYPES = ("image/png", "image/jpeg", "image/gif")
RAW_MIMETYPES = ("text/html", "text/markdown", "text/latex", "text/restructuredtext", "text/x-python")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+#.-]{0,39}")
_TAG_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ATTACHMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}(?:\.[A-Za-z0-9]{1,8})?")
_CELL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/=\s]*")
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/svg+xml": ".svg"}
MAX_IMAGE_DIM = 20000
#: Markup (Markdown cells, HTML/Markdown outputs) costs ~10 s/MB to render and sanitize in
#: pure Python. One item above MAX_RICH_ITEM, or anything past a notebook-wide RICH_BUDGET,
#: is shown as plain text instead (outputs fall back to text/plain or a notice), which
#: bounds the worst-case render time of a maximum-size notebook.
MAX_RICH_ITEM = 1024 * 1024
RICH_BUDGET = 2 * 1024 * 1024
RICH_TYPES = ("text/html", "text/markdown")
#: Plain text (streams, text/plain, tracebacks) is cheaper (~2 s/MB when full of ``<&>``) and
#: is cut, with a notice, past MAX_TEXT_ITEM per output or TEXT_BUDGET per notebook.
MAX_TEXT_ITEM = 512 * 1024
TEXT_BUDGET = 4 * 1024 * 1024


class _Budget:
    """How much more of one kind of content this page may carry."""

    def __init__(self, total: int, item_max: int):
        self.left = total
        self.item_max = item_max

    def take(self, size: int) -> bool:
        if size > self.item_max or size > self.left:
            return False
        self.left -= size
        return True

    def clip(self, text: str) -> str:
        keep = min(len(text), self.item_max, self.left)
        self.left -= keep
        if keep == len(text):
            return text
        return text[:keep] + f"\n[… {len(text) - keep} more characters not shown; download the notebook to see them]"


#: Every cell and output costs ~1-2 ms of templating and cleaning; past this many, the
#: rest of the notebook is summarised by a notice.
MAX_ITEMS = 4000


class _Budgets:
    def __init__(self):
        self.rich = _Budget(RICH_BUDGET, MAX_RICH_ITEM)
        self.text = _Budget(TEXT_BUDGET, MAX_TEXT_ITEM)
        self.items = MAX_ITEMS


def _as_text_block(source: str) -> str:
    """Markdown that shows ``source`` verbatim (a fence longer than any backtick run in it)."""
    longest = max((len(m) for m in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{source}\n{fence}"


def _lexer_name(value) -> str | None:
    """A pygments lexer alias we know, or ``None``."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        return None
    try:
        find_lexer_class_by_name(value)
    except ClassNotFound:
        return None
    return value


def _dimension(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= MAX_IMAGE_DIM:
        return value
    return None


def _notebook_metadata(meta: dict, title: str) -> dict:
    out: dict = {"title": plain_text(title) or "Notebook"}
    lang = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
    name = _lexer_name(lang.get("name"))
    lexer = _lexer_name(lang.get("pygments_lexer")) or name
    info = {}
    if name:
        info["name"] = name
    if lexer:
        info["pygments_lexer"] = lexer
    if info:
        out["language_info"] = info
    ks = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
    ks_name = ks.get("name") if isinstance(ks.get("name"), str) and _NAME_RE.fullmatch(ks["name"]) else None
    if ks_name:
        out["kernelspec"] = {"name": ks_name, "display_name": plain_text(str(ks.get("display_name", "")), 60)}
        language = _lexer_name(ks.get("language"))
        if language:
            out["kernelspec"]["language"] = language
    return out


def _clean_output_metadata(meta, kept_types) -> dict:
    out = {}
    if not isinstance(meta, dict):
        return out
    for mime in kept_types:
        if mime not in IMAGE_TYPES:
            continue
        sources = [meta.get(mime) if isinstance(meta.get(mime), dict) else {}, meta]
        clean = {}
        for key in ("width", "height"):
            for src in sources:
                dim = _dimension(src.get(key))
                if dim is not None:
                    clean[key] = dim
                    break
        for src in sources:
            if src.get("needs_background") in ("light", "dark"):
                clean["needs_background"] = src["needs_background"]
                break
        if any(src.get("unconfined") is True for src in sources):
            clean["unconfined"] = True
        if clean:
            out[mime] = clean
    return out


def _clean_bundle(data, clean_outputs: bool, budget: _Budgets) -> dict:
    out: dict = {}
    if not isinstance(data, dict):
        return out
    too_big = []
    if "text/vnd.mermaid" in data and "text/plain" not in data:
        data = dict(data, **{"text/plain": data["text/vnd.mermaid"]})
    for mime in SAFE_OUTPUT_TYPES:
        value = data.get(mime)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        if not isinstance(value, str):
            continue
        if mime in BASE64_TYPES:
            if not _BASE64_RE.fullmatch(value):
                continue
            value = "".join(value.split())
        if mime in RICH_TYPES and not budget.rich.take(len(value)):
            too_big.append(f"{mime} output of {len(value) / 1e6:.1f} MB")
            continue
        if mime in ("text/plain", "text/latex"):
            value = budget.text.clip(value)
        if mime == "text/html" and clean_outputs:
            value = clean_html(value)
        out[mime] = value
    if too_big and not out:
        out["text/plain"] = f"[{', '.join(too_big)} is too much for this page; download the notebook to see it]"
    return out


def _clean_output(output, clean_outputs: bool, budget: _Budgets) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        text = output.get("text", "")
        text = budget.text.clip("".join(text) if isinstance(text, list) else str(text))
        return {"output_type": "stream", "name": name, "text": text}
    if kind == "error":
        tb = output.get("traceback", [])
        tb = budget.text.clip("\n".join(str(line) for line in tb) if isinstance(tb, list) else "")
        return {"output_type": "error", "ename": budget.text.clip(str(output.get("ename", ""))),
                "evalue": budget.text.clip(str(output.get("evalue", ""))), "traceback": tb.split("\n")}
    if kind in ("display_data", "execute_result"):
        data = _clean_bundle(output.get("data"), clean_outputs, budget)
        if not data:
            return None
        meta = _clean_output_metadata(output.get("metadata"), data)
        if kind == "execute_result":
            count = output.get("execution_count")
            return {"output_type": kind, "data": data, "metadata": meta,
                    "execution_count": count if type(count) is int else None}
        return {"output_type": kind, "data": data, "metadata": meta}
    return None


def _clean_outputs(outputs: list, clean_outputs: bool, budget: _Budgets) -> list:
    out = []
    for i, output in enumerate(outputs):
        budget.items -= 1
        if budget.items < 0:
            out.append({"output_type": "stream", "name": "stdout",
                        "text": f"[{len(outputs) - i} more outputs not shown; download the notebook to see them]"})
            break
        if isinstance(output, dict):
            cleaned = _clean_output(output, clean_outputs, budget)
            if cleaned:
                out.append(cleaned)
    return out


def _clean_attachments(cell, source: str) -> tuple[dict, str]:
    attachments = cell.get("attachments")
    out: dict = {}
    if not isinstance(attachments, dict):
        return out, source
    for n, (name, bundle) in enumerate(attachments.items()):
        if not isinstance(bundle, dict):
            continue
        kept = {m: v for m, v in bundle.items()
                if m in IMAGE_TYPES and isinstance(v, str) and _BASE64_RE.fullmatch(v)}
        if not kept:
            continue
        safe = name if isinstance(name, str) and _ATTACHMENT_RE.fullmatch(name) else None
        if safe is None:
            safe = f"attachment-{n}{_EXT[next(iter(kept))]}"
            source = source.replace(f"attachment:{name}", f"attachment:{safe}")
        out[safe] = kept
    return out, source


def _cell_metadata(meta) -> dict:
    tags = meta.get("tags") if isinstance(meta, dict) else None
    out: dict = {}
    if isinstance(tags, list):
        out["tags"] = [t for t in tags if isinstance(t, str) and _TAG_RE.fullmatch(t)][:32]
    return out


def _cell(kind: str, source: str, meta: dict, **extra) -> dict:
    return {"cell_type": kind, "source": source, "metadata": meta, **extra}


def _unique_ids(cells: list) -> None:
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        n = 0
        while cell["id"] in seen:
            n += 1
            cell["id"] = f"cell-{i}-{n}"
        seen.add(cell["id"])


def _raw_cell(cell, source: str, meta: dict, budget: _Budgets):
    """Raw cells keep a known mimetype; untyped/HTML ones render as HTML, so they use the budget."""
    cell_meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    raw_type = cell_meta.get("raw_mimetype") or cell_meta.get("format") or ""
    raw_type = raw_type.lower() if isinstance(raw_type, str) else "application/octet-stream"
    if raw_type and raw_type not in RAW_MIMETYPES:
        raw_type = "application/octet-stream"  # shown by no exporter, as before
    if raw_type in ("", "text/html") and not budget.rich.take(len(source)):
        return _cell("markdown", _as_text_block(source), meta)
    if raw_type:
        meta["raw_mimetype"] = raw_type
    return _cell("raw", source, meta)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def neutralize(nb, *, title: str, clean_outputs: bool = True) -> nbformat.NotebookNode:
    """A rebuilt, inert copy of ``nb`` for rendering; ``title`` becomes its only title.

    ``nb`` itself is never modified (the copy is built from new dicts and immutable strings).

    ``clean_outputs=False`` leaves ``text/html`` outputs to the renderer's own cleaning pass
    (the HTML report cleans them in the template; other exporters need them clean here).
    """
    budget = _Budgets()
    cells = []
    all_cells = nb.get("cells", [])
    for n, cell in enumerate(all_cells):
        budget.items -= 1
        if budget.items < 0:
            cells.append(_cell("markdown", f"*[{len(all_cells) - n} more cells not shown on this page; "
                                           "download the notebook to see them]*", {}, id="saturn-truncated"))
            break
        kind = cell.get("cell_type")
        source = _source(cell)
        meta = _cell_metadata(cell.get("metadata"))
        if kind == "code":
            outputs = _clean_outputs(cell.get("outputs") or [], clean_outputs, budget)
            count = cell.get("execution_count")
            new = _cell("code", source, meta, outputs=outputs, execution_count=count if type(count) is int else None)
        elif kind == "markdown":
            attachments, source = _clean_attachments(cell, source)
            if not budget.rich.take(len(source)):
                source, attachments = _as_text_block(budget.text.clip(source)), {}
            new = _cell("markdown", source, meta)
            if attachments:
                new["attachments"] = attachments
        elif kind == "raw":
            new = _raw_cell(cell, source, meta, budget)
        else:
            continue
        cell_id = cell.get("id")
        new["id"] = cell_id if isinstance(cell_id, str) and _CELL_ID_RE.fullmatch(cell_id) else f"cell-{len(cells)}"
        cells.append(new)
    _unique_ids(cells)
    metadata = _notebook_metadata(nb.get("metadata") or {}, title)
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})
