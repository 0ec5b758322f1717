"""The hostile corpus itself: big enough, valid, and every notebook carries the payload."""

from __future__ import annotations

import base64
import json

import nbformat

from .hostile import BENIGN_TEXTS, PAYLOAD_JS, benign_notebook, hostile_notebooks, marker, png_bytes


def test_corpus_size_and_validity():
    corpus = hostile_notebooks()
    assert len(corpus) >= 15
    for name, nb in corpus.items():
        nbformat.validate(nbformat.from_dict(nb))
        assert marker(name) in json.dumps(nb), name


def test_every_notebook_carries_the_payload():
    for name, nb in hostile_notebooks().items():
        text = json.dumps(nb)
        assert "__pwned" in text or "__pwned" in _decoded_attachments(nb), name


def _decoded_attachments(nb) -> str:
    out = []
    for cell in nb["cells"]:
        for bundle in cell.get("attachments", {}).values():
            for value in bundle.values():
                out.append(base64.b64decode(value).decode("utf-8", "replace"))
    return "".join(out)


def test_payload_sets_the_documented_globals():
    assert "window.__pwned=1" in PAYLOAD_JS and "document.title='PWNED'" in PAYLOAD_JS
    assert "document.cookie" in PAYLOAD_JS


def test_copies_are_independent():
    a = hostile_notebooks()
    a["markdown_script"]["cells"].clear()
    assert hostile_notebooks()["markdown_script"]["cells"]


def test_benign_notebook_and_png():
    nb = benign_notebook()
    nbformat.validate(nbformat.from_dict(nb))
    assert all(t in json.dumps(nb) or t.replace("\\", "\\\\") in json.dumps(nb) for t in BENIGN_TEXTS)
    assert png_bytes().startswith(b"\x89PNG\r\n\x1a\n")
