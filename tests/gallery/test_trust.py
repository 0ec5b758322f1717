"""Published notebooks and copies carry no trust marks."""

from __future__ import annotations

import json

import nbformat
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.notebook import parse_notebook
from jupyterhub_saturn.gallery.trust import is_trusted, strip_trust


def trusted_notebook() -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x"), nbformat.v4.new_markdown_cell("<b>hi</b>")]
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/html": "<script>fetch('http://127.0.0.1:9/x')</script>",
                              "application/javascript": "fetch('http://127.0.0.1:9/y')"})]
    for cell in nb.cells:
        cell.metadata["trusted"] = True
    nb.metadata["signature"] = "sha256:" + "0" * 64
    nb.metadata["trusted"] = True
    return json.loads(json.dumps(nb))


def test_parse_notebook_stores_no_trust_and_keeps_everything_else():
    nb, blob = parse_notebook(trusted_notebook())
    stored = json.loads(blob)
    assert not is_trusted(stored) and not is_trusted(nb)
    assert "trusted" not in blob.decode() and "signature" not in blob.decode()
    # outputs and other metadata stay as published
    assert "<script>" in stored["cells"][0]["outputs"][0]["data"]["text/html"]


def test_strip_trust_is_idempotent_and_tolerates_odd_shapes():
    nb = trusted_notebook()
    assert is_trusted(nb)
    once = json.dumps(strip_trust(nb), sort_keys=True)
    assert json.dumps(strip_trust(json.loads(once)), sort_keys=True) == once
    for odd in (None, [], "x", {"cells": None}, {"cells": [1, {"metadata": "x"}]}, {"metadata": 3},
                {"worksheets": [{"cells": [{"trusted": True, "metadata": {"trusted": True}}]}]}):
        strip_trust(odd)
    v3 = {"worksheets": [{"cells": [{"trusted": True, "metadata": {"trusted": True}}]}]}
    assert strip_trust(v3) == {"worksheets": [{"cells": [{"metadata": {}}]}]}


@given(st.lists(st.booleans(), max_size=8), st.booleans())
def test_no_combination_of_marks_survives(flags, signed):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(str(i)) for i in range(len(flags))]
    for cell, flag in zip(nb.cells, flags):
        cell.metadata["trusted"] = flag
    if signed:
        nb.metadata["signature"] = "sha256:" + "a" * 64
    stored = json.loads(parse_notebook(json.loads(json.dumps(nb)))[1])
    assert not is_trusted(stored)
