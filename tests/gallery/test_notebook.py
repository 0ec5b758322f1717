"""Upload parsing/validation (every bad input is a clear SaturnError) and title derivation."""

from __future__ import annotations

import json

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.errors import SaturnError
from jupyterhub_saturn.gallery.errors import InvalidField, InvalidNotebook, NotebookTooLarge
from jupyterhub_saturn.gallery.notebook import derive_title, first_heading, parse_notebook, plain_text

from .hostile import benign_notebook
from ..property_budget import examples


def _nb(*cells, **meta):
    nb = nbformat.v4.new_notebook(cells=list(cells), metadata=meta)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return json.loads(json.dumps(nb))


def test_valid_notebook_parses_and_is_canonical():
    nb, blob = parse_notebook(benign_notebook())
    assert nb.nbformat == 4
    again, blob2 = parse_notebook(blob)
    assert blob2 == blob and again == nb
    parse_notebook(blob.decode())  # text works too


@pytest.mark.parametrize("data, needle", [
    (b"{not json", "not JSON: Expecting property name"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"[]", "must be a JSON object"),
    (b'"x"', "must be a JSON object"),
    (b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}', "nbformat must be 4"),
    (b'{"nbformat": "4", "nbformat_minor": 5, "metadata": {}, "cells": []}', "nbformat must be 4"),
    (b'{"nbformat": true, "nbformat_minor": 5, "metadata": {}, "cells": []}', "nbformat must be 4"),
    (b'{"nbformat": 4, "nbformat_minor": -1, "metadata": {}, "cells": []}', "nbformat_minor"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "cells must be a list"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1]}', "cells[0] must be an object"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []}', "metadata must be an object"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": NaN}, "cells": []}', "NaN is not valid JSON"),
    (b"[" * 100000 + b"]" * 100000, "not"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "a b",'
     b' "source": "", "metadata": {}, "outputs": [], "execution_count": null}]}',
     "not valid nbformat 4: 'a b' does not match"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": 5}, "cells": []}',
     "(at notebook.metadata.kernelspec)"),
])
def test_invalid_notebooks_name_the_problem(data, needle):
    with pytest.raises(InvalidNotebook) as err:
        parse_notebook(data)
    assert err.value.status == 400
    assert needle in err.value.text
    assert err.value.field.startswith("notebook")


def test_invalid_cell_names_the_path():
    nb = _nb(nbformat.v4.new_code_cell("x"))
    nb["cells"][0]["outputs"] = [{"output_type": "display_data", "data": {"text/html": 5}, "metadata": {}}]
    with pytest.raises(InvalidNotebook) as err:
        parse_notebook(nb)
    assert err.value.field == "notebook.cells[0].outputs[0].data.text/html"


def test_too_large_names_the_limit():
    nb = _nb(nbformat.v4.new_markdown_cell("x" * 5000))
    with pytest.raises(NotebookTooLarge) as err:
        parse_notebook(nb, max_bytes=4096)
    assert err.value.status == 413 and "4 KiB (4096 bytes)" in err.value.text
    with pytest.raises(NotebookTooLarge):
        parse_notebook(json.dumps(nb).encode(), max_bytes=4096)


def test_unserializable_dict_and_wrong_types():
    with pytest.raises(InvalidNotebook, match="not JSON-serializable"):
        parse_notebook({"nbformat": 4, "x": object()})
    with pytest.raises(InvalidNotebook, match="JSON bytes, text or a dict"):
        parse_notebook(42)


def test_missing_and_duplicate_cell_ids_are_repaired():
    nb = _nb(nbformat.v4.new_markdown_cell("a"), nbformat.v4.new_markdown_cell("b"))
    nb["cells"][1]["id"] = nb["cells"][0]["id"]
    del nb["cells"][0]["id"]
    parsed, _ = parse_notebook(nb)
    ids = [c.id for c in parsed.cells]
    assert len(set(ids)) == 2


@pytest.mark.parametrize("source, title", [
    ("# Sales *Q3* report\n\ntext", "Sales Q3 report"),
    ("intro\n\n## Second level `code`", "Second level code"),
    ("```\n# not a heading\n```\n\n# Real one", "Real one"),
    ("Setext Title\n============\n", "Setext Title"),
    ("#hashtag not heading\n\n# Yes", "Yes"),
    ("# [Linked](https://x) <b>bold</b>", "Linked bold"),
    ("# my_snake_case notebook", "my_snake_case notebook"),
    ("#", None),
    ("no heading here", None),
])
def test_first_heading(source, title):
    assert first_heading(_nb(nbformat.v4.new_markdown_cell(source))) == title


def test_title_precedence():
    with_heading = _nb(nbformat.v4.new_markdown_cell("# From heading"), title="From metadata")
    assert derive_title(with_heading) == "From heading"
    assert derive_title(with_heading, title="  Given\ttitle ") == "Given title"
    no_heading = _nb(nbformat.v4.new_code_cell("1"), title="From <i>metadata</i>")
    assert derive_title(no_heading) == "From metadata"
    bare = _nb(nbformat.v4.new_code_cell("1"))
    assert derive_title(bare, filename="../../dir\\sub/My Work.ipynb") == "My Work"
    assert derive_title(bare) == "Untitled notebook"
    with pytest.raises(InvalidField) as err:
        derive_title(bare, title="<script></script>")
    assert err.value.field == "title"
    with pytest.raises(InvalidField):
        derive_title(bare, title=5)


def test_plain_text_is_one_safe_line():
    text = plain_text("a\nb\x00c\u202ed <script>alert(1)</script>" + "x" * 500)
    assert "\n" not in text and "\x00" not in text and "\u202e" not in text and "<" not in text
    assert "alert" not in text and len(text) <= 120


# ----------------------------------------------------------------- fuzzing
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


def _valid_base():
    return _nb(nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1"))


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_bytes_only_raise_saturn_errors(data):
    try:
        parse_notebook(data)
    except SaturnError as err:
        assert err.status in (400, 413) and err.text
    except Exception as err:  # pragma: no cover - the point of the test
        pytest.fail(f"{type(err).__name__}: {err}")


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_fuzz_json_values_only_raise_saturn_errors(value):
    try:
        parse_notebook(json.dumps(value).encode())
    except SaturnError as err:
        assert err.status == 400 and err.text


_paths = st.sampled_from([
    ("nbformat",), ("nbformat_minor",), ("metadata",), ("cells",), ("cells", 0), ("cells", 1),
    ("cells", 0, "source"), ("cells", 1, "outputs"), ("cells", 1, "execution_count"), ("cells", 0, "cell_type"),
    ("cells", 1, "metadata"), ("cells", 0, "id"), ("metadata", "kernelspec"), ("metadata", "language_info"),
    ("cells", 0, "attachments"),
])


def _set_path(doc, path, value):
    target = doc
    for key in path[:-1]:
        if isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return
    last = path[-1]
    if isinstance(target, dict):
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_paths, _json), min_size=1, max_size=3))
def test_fuzz_mutated_notebooks_only_raise_saturn_errors(mutations):
    nb = _valid_base()
    for path, value in mutations:
        _set_path(nb, path, value)
    try:
        parsed, blob = parse_notebook(nb)
    except SaturnError as err:
        assert err.status == 400 and err.text
        return
    nbformat.validate(nbformat.reads(blob.decode(), as_version=4))


def test_copy_names_are_readable_and_safe():
    from jupyterhub_saturn.gallery.notebook import copy_name

    assert copy_name("Lecture 1", "2026-12-02") == "Lecture 1 2026-12-02.ipynb"
    assert copy_name("Lecture 1", "2026-12-02", 2) == "Lecture 1 2026-12-02 (3).ipynb"
    for hostile in ("../../etc/passwd", "a/b\\c", "<script>x</script>", "\x00\x1f", "..", "#%?*", "x" * 500):
        name = copy_name(hostile, "2026-12-02", fallback="nb-12345678")
        assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")
        assert name.endswith(" 2026-12-02.ipynb") and len(name) < 120, name


def test_drop_title_heading_only_when_it_repeats_the_title():
    from jupyterhub_saturn.gallery.notebook import drop_title_heading

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n# *Waves*\n\ntext")])
    assert drop_title_heading(nb, "Waves") and nb.cells[0].source == "\n\ntext"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Other\n\ntext")])
    assert not drop_title_heading(nb, "Waves") and nb.cells[0].source.startswith("# Other")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# Waves")])
    assert not drop_title_heading(nb, "Waves")
