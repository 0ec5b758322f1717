"""Store-backed exports: formats, headers, per-version caching, bounds."""

from __future__ import annotations

import json

import nbformat
import pytest

from jupyterhub_saturn.gallery.errors import UnknownFormat, UnknownNotebook
from jupyterhub_saturn.gallery.exports import FORMATS, GalleryExports
from jupyterhub_saturn.gallery.render import RENDERED_CSP
from jupyterhub_saturn.gallery.store import NotebookStore

from .hostile import benign_notebook, hostile_notebooks
from .inert import inert_problems


def nb_with(text):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.cells[0]["id"] = "c0"
    return json.loads(json.dumps(nb))


@pytest.fixture
def store(tmp_path):
    return NotebookStore(tmp_path / "g")


def test_html_export_headers_and_content(store):
    rec = store.publish(benign_notebook(), author="alice")
    exp = GalleryExports(store).export(rec.id)
    assert exp.content_type == "text/html; charset=utf-8" and exp.filename == f"{rec.id}.html"
    assert exp.headers["Content-Security-Policy"] == RENDERED_CSP
    assert "Content-Disposition" not in exp.headers
    html = exp.body.decode()
    assert "Quarterly report" in html and inert_problems(html) == []


@pytest.mark.parametrize("fmt, needle", [("ipynb", b'"nbformat": 4'), ("markdown", b"# Quarterly report"),
                                         ("python", b"answer = 6 * 7")])
def test_downloads(store, fmt, needle):
    rec = store.publish(benign_notebook(), author="alice")
    exp = GalleryExports(store).export(rec.id, fmt)
    assert needle in exp.body
    ext, ctype = FORMATS[fmt]
    assert exp.headers["Content-Disposition"] == f'attachment; filename="{rec.id}{ext}"'
    assert exp.headers["X-Content-Type-Options"] == "nosniff" and exp.content_type == ctype
    assert "sandbox" in exp.headers["Content-Security-Policy"]
    if fmt == "ipynb":
        assert exp.body == store.read_notebook(rec.id)


def test_cache_per_version(store):
    exports = GalleryExports(store)
    rec = store.publish(nb_with("# First"), author="alice")
    a = exports.export(rec.id)
    b = exports.export(rec.id)
    assert a is b and exports.renders == 1
    store.publish(nb_with("# Second"), author="alice", id=rec.id)
    c = exports.export(rec.id)
    assert exports.renders == 2 and b"Second" in c.body and b"First" not in c.body
    exports.export(rec.id, "python")
    assert exports.renders == 3 and exports.cached == 3


def test_cache_is_bounded(store):
    exports = GalleryExports(store, max_entries=3)
    ids = [store.publish(nb_with(f"# N{i}"), author="alice").id for i in range(5)]
    for nb_id in ids:
        exports.export(nb_id)
    assert exports.cached == 3
    exports.export(ids[0])  # evicted earlier: rendered again
    assert exports.renders == 6
    small = GalleryExports(store, max_bytes=400_000)
    for nb_id in ids:
        small.export(nb_id)  # each report is ~260 KB of inline CSS: only one fits
    assert small.cached == 1


def test_unpublished_is_404_even_if_cached(store):
    exports = GalleryExports(store)
    rec = store.publish(nb_with("# Gone"), author="alice")
    exports.export(rec.id)
    store.unpublish(rec.id, user="alice")
    with pytest.raises(UnknownNotebook):
        exports.export(rec.id)
    exports.forget(rec.id)
    assert exports.cached == 0


def test_unknown_format_lists_allowed(store):
    rec = store.publish(nb_with("# x"), author="alice")
    with pytest.raises(UnknownFormat) as err:
        GalleryExports(store).export(rec.id, "pdf")
    assert err.value.status == 400 and err.value.field == "format"
    assert err.value.allowed == ["html", "ipynb", "markdown", "python"]


def test_whole_hostile_corpus_through_the_store(store):
    exports = GalleryExports(store)
    for name, nb in hostile_notebooks().items():
        rec = store.publish(nb, author="mallory")
        for fmt in FORMATS:
            exp = exports.export(rec.id, fmt)
            assert exp.body
        assert inert_problems(exports.export(rec.id).body.decode()) == [], name
