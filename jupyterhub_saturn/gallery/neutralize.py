"""Strip a notebook of everything a renderer could turn into active content.

Runs *before* nbconvert sees the notebook, on a copy: nbconvert then only ever handles
metadata we wrote ourselves, outputs of known-inert MIME types, pre-cleaned HTML,
validated base64 images with integer sizes, and attachment names of a fixed shape.
(nbconvert's own ``sanitize_html`` and our final HTML pass are the second and third lines.)
"""

from __future__ import annotations

import copy
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


def _clean_bundle(data) -> dict:
    out = {}
    if not isinstance(data, dict):
        return out
    if "text/vnd.mermaid" in data and "text/plain" not in data:
        data = dict(data, **{"text/plain": data["text/vnd.mermaid"]})
    for mime in SAFE_OUTPUT_TYPES:
        value = data.get(mime)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        if not isinstance(value, str):
            continue
        if mime in BASE64_TYPES and not _BASE64_RE.fullmatch(value):
            continue
        if mime == "text/html":
            value = clean_html(value)
        out[mime] = value
    return out


def _clean_output(output) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        text = output.get("text", "")
        return nbformat.v4.new_output("stream", name=name, text="".join(text) if isinstance(text, list) else str(text))
    if kind == "error":
        tb = output.get("traceback", [])
        return nbformat.v4.new_output(
            "error", ename=str(output.get("ename", "")), evalue=str(output.get("evalue", "")),
            traceback=[str(line) for line in tb] if isinstance(tb, list) else [],
        )
    if kind in ("display_data", "execute_result"):
        data = _clean_bundle(output.get("data"))
        if not data:
            return None
        meta = _clean_output_metadata(output.get("metadata"), data)
        if kind == "execute_result":
            count = output.get("execution_count")
            return nbformat.v4.new_output(kind, data=data, metadata=meta,
                                          execution_count=count if type(count) is int else None)
        return nbformat.v4.new_output(kind, data=data, metadata=meta)
    return None


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


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def neutralize(nb, *, title: str) -> nbformat.NotebookNode:
    """A rebuilt, inert copy of ``nb`` for rendering; ``title`` becomes its only title."""
    nb = copy.deepcopy(nb)
    safe = nbformat.v4.new_notebook(metadata=_notebook_metadata(nb.get("metadata") or {}, title))
    for cell in nb.get("cells", []):
        kind = cell.get("cell_type")
        source = _source(cell)
        meta = _cell_metadata(cell.get("metadata"))
        if kind == "code":
            outputs = [o for o in (_clean_output(x) for x in cell.get("outputs", []) if isinstance(x, dict)) if o]
            count = cell.get("execution_count")
            new = nbformat.v4.new_code_cell(source=source, metadata=meta, outputs=outputs,
                                            execution_count=count if type(count) is int else None)
        elif kind == "markdown":
            attachments, source = _clean_attachments(cell, source)
            new = nbformat.v4.new_markdown_cell(source=source, metadata=meta)
            if attachments:
                new["attachments"] = attachments
        elif kind == "raw":
            cell_meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            raw_type = cell_meta.get("raw_mimetype") or cell_meta.get("format")
            if isinstance(raw_type, str) and raw_type.lower() in RAW_MIMETYPES:
                meta["raw_mimetype"] = raw_type.lower()
            new = nbformat.v4.new_raw_cell(source=source, metadata=meta)
        else:
            continue
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and _CELL_ID_RE.fullmatch(cell_id):
            new["id"] = cell_id
        safe.cells.append(new)
    return safe
