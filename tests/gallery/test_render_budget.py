"""Rendering is bounded: pathological Markdown stays within the budget, and past it falls back to plain text."""

from __future__ import annotations

import json
import time

import nbformat
import pytest

from jupyterhub_saturn.gallery import render
from jupyterhub_saturn.gallery.render import MARKDOWN_SECONDS, MAX_MARKDOWN_CHARS, to_html

from .inert import inert_problems

#: bracket bombs and friends, each ~50 000 characters (nbconvert's files/ rewrite took 14-25 s on several)
PATHOLOGICAL = {
    "open brackets": "[" * 50_000,
    "link openers": "[a](" * 12_500,
    "image openers": "![" * 25_000,
    "nested links": "[" * 5_000 + "a" + "](b)" * 5_000,
    "reference links": "[x]" * 16_000,
    "emphasis": "*a " * 16_000,
    "underscores": "_a " * 16_000,
    "angle brackets": "<" * 50_000,
    "autolinks": "<http://" * 6_000,
}


def _nb(*sources: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in sources])
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return json.dumps(nb)


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_markdown_renders_within_the_budget(name):
    start = time.thread_time()  # CPU time of this thread: what the render costs, whatever else the machine runs
    html = to_html(_nb(PATHOLOGICAL[name]), title=name)
    spent = time.thread_time() - start
    assert spent < MARKDOWN_SECONDS + 2, f"{name}: {spent:.1f}s of CPU"
    assert inert_problems(html) == []


def test_past_the_page_budget_markdown_is_plain_text(monkeypatch, caplog):
    now = [0.0]

    def clock():  # every reading moves 60 % of the budget on: the first block is formatted, the next are not
        now[0] += MARKDOWN_SECONDS * 0.6
        return now[0]

    monkeypatch.setattr(render, "clock", clock)
    html = to_html(_nb("# First *formatted*", "second **not** formatted <b>x</b>", "third"), title="t")
    assert "<em>formatted</em>" in html
    assert "second **not** formatted &lt;b&gt;x&lt;/b&gt;" in html and "<strong>not</strong>" not in html
    assert html.count('class="saturn-plain"') == 2
    assert "time budget was used up" in html
    assert "2 Markdown block(s) shown as plain text" in caplog.text
    assert inert_problems(html) == []


def test_an_over_long_markdown_block_is_plain_text():
    html = to_html(_nb("*" + "a" * MAX_MARKDOWN_CHARS + "*", "*short*"), title="t")
    assert f"longer than {MAX_MARKDOWN_CHARS} characters" in html
    assert "<em>short</em>" in html


def test_budget_is_per_page():
    assert to_html(_nb("*one*"), title="a") and to_html(_nb("*two*"), title="b").count("<em>two</em>") == 1
    assert render._local.markdown_deadline is None
