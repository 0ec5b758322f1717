"""The pre-render pass: only inert, well-formed parts of a notebook reach nbconvert."""

from __future__ import annotations

import json

import nbformat

from jupyterhub_saturn.gallery.neutralize import SAFE_OUTPUT_TYPES, neutralize

from .hostile import PAYLOAD_JS, PNG_B64, benign_notebook, hostile_notebooks

HOSTILE = hostile_notebooks()


def _n(nb, title="T"):
    return neutralize(nbformat.from_dict(nb), title=title)


def test_result_is_valid_nbformat():
    for nb in [*HOSTILE.values(), benign_notebook()]:
        nbformat.validate(_n(nb))


def test_notebook_metadata_is_rebuilt():
    out = _n(HOSTILE["widget_state_script"], title="</title><script>x</script>Nice")
    assert out.metadata.title == "Nice" and "widgets" not in out.metadata
    out = _n(HOSTILE["pygments_lexer_injection"])
    assert "language_info" not in out.metadata  # neither the name nor the lexer is a known alias
    out = _n(HOSTILE["kernelspec_injection"])
    assert "kernelspec" not in out.metadata
    out = _n(benign_notebook())
    assert out.metadata.language_info == {"name": "python", "pygments_lexer": "ipython3"}
    assert out.metadata.kernelspec == {"name": "python3", "display_name": "Python 3", "language": "python"}


def test_no_payload_left_in_metadata_anywhere():
    for name, nb in HOSTILE.items():
        out = _n(nb)
        assert PAYLOAD_JS not in json.dumps(out.metadata), name
        for cell in out.cells:
            assert PAYLOAD_JS not in json.dumps(cell.metadata), name
            for output in cell.get("outputs", []):
                assert PAYLOAD_JS not in json.dumps(output.get("metadata", {})), name


def test_only_safe_output_types_survive():
    for nb in HOSTILE.values():
        for cell in _n(nb).cells:
            for output in cell.get("outputs", []):
                assert set(output.get("data", {})) <= set(SAFE_OUTPUT_TYPES)
    out = _n(HOSTILE["javascript_output"])
    assert all(not c.get("outputs") or all("application/javascript" not in o.get("data", {}) for o in c.outputs)
               for c in out.cells)
    # a widget view with a text/plain fallback keeps only the fallback
    widget = _n(HOSTILE["widget_state_script"]).cells[1].outputs[0]
    assert dict(widget.data) == {"text/plain": "IntSlider()"}


def test_html_outputs_are_precleaned():
    out = _n(HOSTILE["html_output_script"]).cells[1].outputs[0]
    assert "<script" not in out.data["text/html"] and "onclick" not in out.data["text/html"]


def test_image_metadata_is_numeric_or_gone():
    outs = _n(HOSTILE["image_size_injection"]).cells[1].outputs
    for out in outs:
        for meta in out.metadata.values():
            assert set(meta) <= {"width", "height", "needs_background", "unconfined"}
            assert all(isinstance(meta[k], int) for k in ("width", "height") if k in meta)
    benign = _n(benign_notebook()).cells[3].outputs[0]
    assert benign.metadata == {"image/png": {"width": 200, "height": 200}}


def test_output_filenames_and_bad_base64_are_dropped():
    out = _n(HOSTILE["output_filenames_metadata"]).cells[1].outputs[0]
    assert "filenames" not in json.dumps(out.metadata)
    assert out.data["image/png"] == PNG_B64
    bad = _n(HOSTILE["image_data_injection"]).cells[1].outputs
    assert [dict(o.data) for o in bad] == [{"text/plain": "fig"}]


def test_attachments_get_safe_names_and_image_types_only():
    cell = _n(HOSTILE["attachment_traversal"]).cells[1]
    names = set(cell.attachments)
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)
    assert "x.html" not in names  # its only bundle was text/html
    for bundle in cell.attachments.values():
        assert set(bundle) <= {"image/png", "image/jpeg", "image/gif", "image/svg+xml"}
    assert "attachment:../" not in cell.source and "attachment:/etc" not in cell.source
    assert "attachment:ok.png" in cell.source


def test_cell_tags_and_magics_filtered():
    cell = _n(HOSTILE["cell_tags_injection"]).cells[1]
    assert cell.metadata == {"tags": ["ok-tag"]}


def test_raw_cells_keep_only_known_mimetypes():
    cells = _n(HOSTILE["raw_cell_html"]).cells
    assert cells[1].metadata == {"raw_mimetype": "text/html"}
    nb = HOSTILE["raw_cell_html"]
    nb["cells"][1]["metadata"] = {"raw_mimetype": 'text/html"><script>'}
    assert _n(nb).cells[1].metadata == {"raw_mimetype": "application/octet-stream"}  # rendered by nobody


def test_mermaid_becomes_plain_text():
    out = _n(HOSTILE["mermaid_injection"]).cells[1].outputs[0]
    assert set(out.data) == {"text/plain"}


def test_original_is_not_modified():
    nb = nbformat.from_dict(HOSTILE["widget_state_script"])
    before = json.dumps(nb, sort_keys=True)
    neutralize(nb, title="x")
    assert json.dumps(nb, sort_keys=True) == before


# ------------------------------------------------------------------ budgets
from jupyterhub_saturn.gallery import neutralize as nz  # noqa: E402


def _plain_nb(cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return json.loads(json.dumps(nb))


def test_too_many_cells_end_with_a_notice():
    out = _n(_plain_nb([nbformat.v4.new_markdown_cell(f"cell {i}") for i in range(nz.MAX_ITEMS + 50)]))
    assert len(out.cells) == nz.MAX_ITEMS + 1
    assert "50 more cells not shown" in out.cells[-1].source


def test_too_many_outputs_end_with_a_notice():
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{i}\n") for i in range(nz.MAX_ITEMS + 10)]
    out = _n(_plain_nb([nbformat.v4.new_code_cell("x", outputs=outputs)]))
    kept = out.cells[0].outputs
    assert len(kept) == nz.MAX_ITEMS  # the cell took one item
    assert "more outputs not shown" in kept[-1].text


def test_long_text_is_clipped_with_a_notice():
    text = "y" * (nz.MAX_TEXT_ITEM + 100)
    out = _n(_plain_nb([nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=text),
        nbformat.v4.new_output("display_data", data={"text/plain": "short"})])]))
    stream, plain = out.cells[0].outputs
    assert stream.text.startswith("y" * 1000) and "100 more characters not shown" in stream.text
    assert plain.data["text/plain"] == "short"


def test_text_budget_is_notebook_wide():
    chunk = "z" * nz.MAX_TEXT_ITEM
    n = nz.TEXT_BUDGET // nz.MAX_TEXT_ITEM + 2
    out = _n(_plain_nb([nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=chunk) for _ in range(n)])]))
    shown = sum(o.text.count("z") for o in out.cells[0].outputs)
    assert shown == nz.TEXT_BUDGET


def test_huge_markdown_becomes_a_verbatim_block():
    source = "```python\nx\n```\n" + "*a* " * (nz.MAX_RICH_ITEM // 4)
    cell = _n(_plain_nb([nbformat.v4.new_markdown_cell(source)])).cells[0]
    fence = cell.source.split("text\n", 1)[0]
    assert set(fence) == {"`"} and len(fence) >= 4 and cell.source.rstrip().endswith(fence)


def test_rich_budget_is_notebook_wide():
    html = "<b>x</b>" * (nz.MAX_RICH_ITEM // 8 - 1)
    n = nz.RICH_BUDGET // len(html) + 2
    outs = [nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "fallback"})
            for _ in range(n)]
    nb = nbformat.from_dict(_plain_nb([nbformat.v4.new_code_cell("x", outputs=outs)]))
    cell = neutralize(nb, title="T", clean_outputs=False).cells[0]  # cleaning is not under test here
    kinds = [next(iter(o.data)) for o in cell.outputs]
    assert kinds.count("text/html") == nz.RICH_BUDGET // len(html)
    assert kinds[-1] == "text/plain"
