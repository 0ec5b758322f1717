"""Rendering: every hostile notebook becomes inert HTML, benign content survives."""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.errors import SaturnError
from jupyterhub_saturn.gallery import render
from jupyterhub_saturn.gallery.render import (
    RENDERED_CSP,
    RENDERED_HEADERS,
    RenderFailed,
    to_html,
    to_ipynb,
    to_markdown,
    to_python,
)

from .hostile import BENIGN_TEXTS, PAYLOAD_JS, PNG_B64, benign_notebook, hostile_notebooks, marker
from .inert import inert_problems
from ..property_budget import examples

HOSTILE = hostile_notebooks()


def _text(html: str) -> str:
    return BeautifulSoup(html, "html.parser").get_text(" ")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_notebook_renders_inert(name):
    html = to_html(HOSTILE[name])
    assert inert_problems(html) == []
    assert marker(name) in _text(html)


def _live_payload(html: str) -> bool:
    soup = BeautifulSoup(html, "html.parser")
    if any("__pwned" in s.get_text() for s in soup.find_all("script")):
        return True
    for el in soup.find_all(True):
        for name, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if "__pwned" in value and name not in ("alt", "title"):
                return True
    return False


def test_corpus_is_live_against_plain_nbconvert_and_checker_sees_it():
    """Without our layers, nbconvert emits live payloads for most of the corpus, and the checker flags them."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    live = []
    for name, nb in HOSTILE.items():
        try:
            html, _ = exporter.from_notebook_node(nbformat.from_dict(nb))
        except Exception:  # noqa: BLE001 - plain nbconvert chokes on some of the corpus
            continue
        if _live_payload(html):
            live.append(name)
            assert inert_problems(html), name
    assert len(live) >= 12, live


def test_no_script_element_at_all():
    html = to_html(benign_notebook())
    assert "<script" not in html.lower()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None
    assert "require.js" not in html and "mathjax" not in html.lower()


def test_benign_content_still_renders():
    html = to_html(benign_notebook())
    soup = BeautifulSoup(html, "html.parser")
    text = soup.get_text(" ")
    for expected in BENIGN_TEXTS:
        assert expected in text or expected in html, expected
    assert soup.find("h1") is not None and "Quarterly report" in soup.find("h1").get_text()
    assert soup.find("h2") is not None
    assert soup.find("em") is not None and soup.find("strong") is not None
    assert len(soup.find_all("table")) >= 2  # markdown table and the dataframe
    assert soup.find("li") is not None
    link = soup.find("a", href="https://jupyter.org/")
    assert link is not None and link["target"] == "_blank" and "noopener" in link["rel"]
    imgs = [img["src"] for img in soup.find_all("img") if img.get("src")]
    assert f"data:image/png;base64,{PNG_B64}" in imgs  # output image and the attachment
    assert sum(src.startswith("data:image/png;base64,") for src in imgs) >= 2
    assert any(src.startswith("data:image/svg+xml;base64,") for src in imgs)
    sized = soup.find("img", width="200")
    assert sized is not None and sized.get("height") == "200"
    # math is typeset on the server as MathML (no MathJax without JS): the markdown formula and the output
    maths = soup.find_all("math")
    assert len(maths) >= 2 and "$" not in text.replace("$\\alpha^2$", "")
    assert any(m.find("mi", string="π") for m in maths) and any(m.find("mi", string="α") for m in maths)
    assert soup.find("td", style=re.compile("text-align")) is not None
    assert ".dataframe td" not in text  # <style scoped> dropped entirely, not shown as text
    assert soup.title.get_text() == "Quarterly report"


def test_title_is_escaped_plain_text():
    html = to_html(HOSTILE["title_metadata_script"])
    assert BeautifulSoup(html, "html.parser").title.get_text() == "Title"
    html = to_html(benign_notebook(), title='</title><script>x</script>Custom "title"')
    assert BeautifulSoup(html, "html.parser").title.get_text() == 'Custom "title"'


def test_hostile_attachment_names_are_not_used():
    html = to_html(HOSTILE["attachment_traversal"])
    assert "etc/passwd" not in html and "win.ini" not in html
    soup = BeautifulSoup(html, "html.parser")
    pngs = [i for i in soup.find_all("img") if i.get("src", "").startswith("data:image/png")]
    assert len(pngs) == 3  # the three traversal-named PNGs still show, under safe names
    assert not any("text/html" in i.get("src", "") for i in soup.find_all("img"))


def test_image_sizes_survive_only_as_numbers():
    nb = benign_notebook()
    nb["cells"][3]["outputs"][0]["metadata"] = {"image/png": {"width": "640", "height": 480.0}}
    soup = BeautifulSoup(to_html(nb), "html.parser")
    img = soup.find("img", width="640")
    assert img is not None and img["height"] == "480"
    html = to_html(HOSTILE["image_size_injection"])
    for img in BeautifulSoup(html, "html.parser").find_all("img"):
        assert set(img.attrs) <= {"src", "alt", "class", "width", "height"}


def test_csp_constant():
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in RENDERED_CSP.split(";"))}
    assert directives["script-src"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    assert "sandbox" in directives
    assert "allow-same-origin" not in RENDERED_CSP and "allow-scripts" not in RENDERED_CSP
    assert "allow-top-navigation" not in RENDERED_CSP and "allow-forms" not in RENDERED_CSP
    assert directives["img-src"] == ["data:"]
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]
    assert RENDERED_HEADERS["Content-Security-Policy"] == RENDERED_CSP
    assert RENDERED_HEADERS["X-Content-Type-Options"] == "nosniff"


def test_page_carries_meta_csp_as_second_line():
    soup = BeautifulSoup(to_html(benign_notebook()), "html.parser")
    meta = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None and "script-src 'none'" in meta["content"]


def test_fails_closed_when_a_layer_is_broken(monkeypatch):
    """If cleaning were skipped, the audit refuses to return the page instead of leaking it."""
    monkeypatch.setattr(render, "clean_html", lambda html: str(html))
    monkeypatch.setattr(render, "neutralize", lambda nb, **kw: nb)
    monkeypatch.setattr(render, "_exporter", _unsafe_exporter)
    with pytest.raises(RenderFailed) as err:
        to_html(HOSTILE["html_output_script"])
    assert err.value.status == 422


def _unsafe_exporter(kind, _cache={}):
    from nbconvert import HTMLExporter

    if "x" not in _cache:
        _cache["x"] = HTMLExporter(template_name="lab", raw_template=render._REPORT_TEMPLATE,
                                   exclude_input_prompt=True, filters={"saturn_latex": lambda t: str(t)})
    return _cache["x"]


def test_invalid_input_is_a_clear_error():
    with pytest.raises(SaturnError) as err:
        to_html(b"{not json")
    assert err.value.status == 400 and "not JSON" in err.value.text


def test_markdown_export_inlines_images_and_drops_scripts():
    md = to_markdown(benign_notebook())
    assert "# Quarterly report" in md
    assert f"data:image/png;base64,{PNG_B64}" in md
    assert "data:image/svg+xml;base64," in md
    md = to_markdown(HOSTILE["javascript_output"])
    assert PAYLOAD_JS not in md
    md = to_markdown(HOSTILE["html_output_script"])
    assert "<script" not in md.lower() and "onclick" not in md


def test_python_export():
    py = to_python(benign_notebook())
    assert "answer = 6 * 7" in py and "# # Quarterly report" in py


def test_ipynb_export_is_canonical_and_valid():
    data = to_ipynb(benign_notebook())
    nb = nbformat.reads(data.decode(), as_version=4)
    nbformat.validate(nb)
    assert to_ipynb(data) == data


# ------------------------------------------------------------------ property test
_hostile_text = st.one_of(
    st.sampled_from([
        f"<script>{PAYLOAD_JS}</script>", f'<img src=x onerror="{PAYLOAD_JS}">', f"javascript:{PAYLOAD_JS}",
        '"><svg onload=alert(1)>', "</pre></div><iframe src=javascript:alert(1)>", "]]>-->",
        "<a href='java&#09;script:alert(1)'>x</a>", "<style>*{background:url(javascript:x)}</style>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "\x00\x1b[31m", "{{ 7*7 }}",
        "{% raw %}", "<!--", "<![CDATA[", "&lt;script&gt;",
    ]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
)
_texts = st.lists(_hostile_text, min_size=1, max_size=4).map("".join)


@st.composite
def _notebooks(draw):
    cells = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["markdown", "code", "raw"]))
        src = draw(_texts)
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(src)
        elif kind == "raw":
            cell = nbformat.v4.new_raw_cell(src, metadata={"raw_mimetype": "text/html"})
        else:
            mime = draw(st.sampled_from(["text/html", "text/markdown", "text/plain", "text/latex",
                                         "image/svg+xml", "application/javascript", "text/vnd.mermaid"]))
            out = nbformat.v4.new_output("display_data", data={mime: draw(_texts)},
                                         metadata={"width": draw(_texts), "filenames": {mime: draw(_texts)}})
            cell = nbformat.v4.new_code_cell(src, outputs=[out, nbformat.v4.new_output(
                "stream", name="stdout", text=draw(_texts))], execution_count=1)
            cell.metadata["tags"] = [draw(_texts).replace(",", "") or "t"]
        cell["id"] = f"c{i}"
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "title": draw(_texts), "language_info": {"name": draw(_texts), "pygments_lexer": draw(_texts)}})
    return json.loads(json.dumps(nb))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_notebooks())
def test_random_hostile_notebooks_render_inert(nb):
    html = to_html(nb)
    assert inert_problems(html) == []


def test_svg_output_stays_an_image():
    html = to_html(HOSTILE["svg_output_script"])
    srcs = [i["src"] for i in BeautifulSoup(html, "html.parser").find_all("img") if i.get("src")]
    svg = [base64.b64decode(s.split(",", 1)[1]).decode() for s in srcs if s.startswith("data:image/svg+xml")]
    assert svg  # rendered only as <img src=data:...>, where SVG script never runs


# ------------------------------------------------------------- budget and fuzz
def test_oversized_markup_degrades_to_text_not_to_minutes():
    from jupyterhub_saturn.gallery.neutralize import MAX_RICH_ITEM

    huge_md = "<b>bold</b> *md* line\n\n" * (MAX_RICH_ITEM // 20)
    huge_html = "<table>" + "<tr><td>cell</td></tr>" * (MAX_RICH_ITEM // 20) + "</table>"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Big"),
        nbformat.v4.new_markdown_cell(huge_md),
        nbformat.v4.new_code_cell("df", outputs=[nbformat.v4.new_output("display_data", data={"text/html": huge_html})]),
        nbformat.v4.new_code_cell("df", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": huge_html, "text/plain": "plain fallback"})]),
    ])
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    html = to_html(json.loads(json.dumps(nb)))
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("h1").get_text().startswith("Big")
    assert soup.find("b") is None  # the huge markdown is shown verbatim, not rendered
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "text/html output of" in html and "download the notebook" in html
    assert "plain fallback" in html
    assert inert_problems(html) == []


def _set_path(doc, path, value):
    target = doc
    for key in path[:-1]:
        ok = (isinstance(target, dict) and key in target) or (
            isinstance(target, list) and isinstance(key, int) and key < len(target))
        if not ok:
            return
        target = target[key]
    if isinstance(target, dict):
        target[path[-1]] = value
    elif isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        target[path[-1]] = value


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=12) | _hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["image/png", "text/html", "width", "height", "tags", "name", "pygments_lexer", "x",
                         "text/plain", "image/svg+xml", "filenames", "raw_mimetype", "application/json"]),
        children, max_size=3),
    max_leaves=12,
)
_paths = st.sampled_from([
    ("metadata", "language_info"), ("metadata", "kernelspec"), ("metadata", "widgets"), ("metadata", "title"),
    ("cells", 0, "attachments"), ("cells", 0, "metadata"), ("cells", 1, "metadata"), ("cells", 2, "metadata"),
    ("cells", 1, "outputs", 0, "data"), ("cells", 1, "outputs", 0, "metadata"), ("cells", 1, "outputs", 1),
    ("cells", 1, "outputs", 0, "data", "image/png"), ("cells", 1, "outputs", 0, "metadata", "image/png"),
    ("cells", 0, "attachments", "a.png"), ("cells", 1, "execution_count"), ("cells", 2, "source"),
])


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_paths, _json), min_size=1, max_size=4))
def test_fuzz_any_valid_notebook_renders_inert_or_fails_clearly(mutations):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("![a](attachment:a.png) x"),
        nbformat.v4.new_code_cell("1", execution_count=1, outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG_B64}),
            nbformat.v4.new_output("stream", name="stdout", text="out")]),
        nbformat.v4.new_raw_cell("<b>raw</b>"),
    ])
    nb.cells[0]["attachments"] = {"a.png": {"image/png": PNG_B64}}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    nb = json.loads(json.dumps(nb))
    for path, value in mutations:
        _set_path(nb, path, value)
    for exporter in (to_html, to_markdown, to_python):
        try:
            out = exporter(nb)
        except SaturnError as err:
            assert err.status in (400, 422) and err.text
            return
        if exporter is to_html:
            assert inert_problems(out) == []


def test_code_is_highlighted_then_plain_past_the_budget():
    from jupyterhub_saturn.gallery.render import HIGHLIGHT_BUDGET

    small = "def f(x):\n    return x  # <b>not bold</b>\n"
    big = "value = 1  # line\n" * (HIGHLIGHT_BUDGET // 18 + 10)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(small), nbformat.v4.new_code_cell(big)])
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    html = to_html(json.loads(json.dumps(nb)))
    soup = BeautifulSoup(html, "html.parser")
    blocks = soup.find_all("div", class_="highlight")
    assert len(blocks) == 2
    assert blocks[0].find("span", class_="k") is not None  # 'def' coloured as a keyword
    assert "<b>not bold</b>" in blocks[0].get_text()
    assert blocks[1].find("span", class_="k") is None and blocks[1].get_text().count("value = 1") == big.count("value")
    assert inert_problems(html) == []
