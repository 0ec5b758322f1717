"""Store-backed exports (report HTML and downloads) with a bounded per-version cache.

A cache entry is keyed by ``(id, version, format)``: a republish makes a new version, so
stale renders are never served; the least recently used entries go first once either
``max_entries`` or ``max_bytes`` is exceeded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .errors import UnknownFormat
from .render import DOWNLOAD_HEADERS, RENDERED_HEADERS, to_html, to_markdown, to_python
from .store import NotebookStore, Record

#: format -> (file extension, content type)
FORMATS = {
    "html": (".html", "text/html; charset=utf-8"),
    "ipynb": (".ipynb", "application/x-ipynb+json"),
    "markdown": (".md", "text/markdown; charset=utf-8"),
    "python": (".py", "text/x-python; charset=utf-8"),
}


@dataclass(frozen=True)
class Export:
    """One rendered/exported document, ready to be sent with ``headers``."""

    record: Record
    format: str
    body: bytes
    content_type: str
    filename: str
    headers: dict = field(default_factory=dict)


def byline(record: Record) -> str:
    """``"by ada · 2 December 2026"`` (the date of the last update, UTC)."""
    day = time.gmtime(record.updated)
    return f"by {record.author} · {day.tm_mday} {time.strftime('%B %Y', day)}"


class GalleryExports:
    """Render notebooks of a :class:`NotebookStore`, caching each version's output (bounded)."""

    def __init__(self, store: NotebookStore, *, max_entries: int = 64, max_bytes: int = 128 * 1024 * 1024,
                 observer=None):
        self.store = store
        #: called as ``observer(format, seconds)`` after each export actually computed (metrics)
        self.observer = observer
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, str, str], Export] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.renders = 0  # how many times something was actually rendered (for tests/metrics)

    def export(self, nb_id: str, fmt: str = "html") -> Export:
        """The current version of ``nb_id`` as ``fmt`` (one of :data:`FORMATS`)."""
        if fmt not in FORMATS:
            raise UnknownFormat(f"unknown export format {str(fmt)[:40]!r}", field="format", allowed=list(FORMATS))
        record = self.store.get(nb_id)
        hit = self._get((record.id, record.version, fmt))
        if hit is not None:
            return hit
        started = time.perf_counter()
        record, data = self.store.read(nb_id)
        ext, ctype = FORMATS[fmt]
        if fmt == "html":
            body = to_html(data, title=record.title, byline=byline(record), description=record.description,
                           max_bytes=self.store.max_bytes).encode("utf-8")
            headers = dict(RENDERED_HEADERS)
        else:
            if fmt == "ipynb":
                body = data
            elif fmt == "markdown":
                body = to_markdown(data, max_bytes=self.store.max_bytes).encode("utf-8")
            else:
                body = to_python(data, max_bytes=self.store.max_bytes).encode("utf-8")
            headers = dict(DOWNLOAD_HEADERS, **{
                "Content-Type": ctype,
                "Content-Disposition": f'attachment; filename="{record.id}{ext}"',
            })
        result = Export(record=record, format=fmt, body=body, content_type=ctype,
                        filename=f"{record.id}{ext}", headers=headers)
        self._put((record.id, record.version, fmt), result)
        if self.observer is not None:
            self.observer(fmt, time.perf_counter() - started)
        return result

    def _get(self, key):
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _put(self, key, value: Export) -> None:
        with self._lock:
            self.renders += 1
            if len(value.body) > self.max_bytes:
                return
            old = self._cache.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._cache[key] = value
            self._size += len(value.body)
            while len(self._cache) > self.max_entries or self._size > self.max_bytes:
                _, evicted = self._cache.popitem(last=False)
                self._size -= len(evicted.body)

    def forget(self, nb_id: str) -> None:
        """Drop every cached output of ``nb_id`` (e.g. after unpublish)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == nb_id]:
                self._size -= len(self._cache.pop(key).body)

    @property
    def cached(self) -> int:
        """Number of cached outputs."""
        return len(self._cache)
