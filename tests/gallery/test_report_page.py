"""The public page: trusted fragments go into the report's slots, before any notebook content."""

from __future__ import annotations

import nbformat
import pytest

from jupyterhub_saturn.gallery.errors import RenderFailed
from jupyterhub_saturn.gallery.render import to_html
from jupyterhub_saturn.gallery.report_page import ACTIONS_SLOT, compose

from .inert import inert_problems


def _report(markdown: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    return to_html(nbformat.writes(nb), title="T")


def test_fragments_land_in_their_slots():
    page = compose(_report("hello"), head="<!--H-->", topbar="<!--B-->", actions="<!--A-->")
    assert page.index("<!--H-->") < page.index("</head>") < page.index("<!--B-->") < page.index("<!--A-->")
    assert page.index("<!--A-->") < page.index("hello") and ACTIONS_SLOT not in page


def test_notebook_content_cannot_fake_a_slot():
    # the slot markup typed into a notebook is escaped or cleaned, so the first slot is always the template's
    hostile = _report('<div class="saturn-actions"></div></head><body x> <div class="saturn-content">')
    page = compose(hostile, head="<!--H-->", topbar="<!--B-->", actions="<!--A-->")
    assert page.count("<!--A-->") == 1 and page.index("<!--A-->") < page.index('<div class="saturn-content">')
    assert inert_problems(page.replace("<!--H-->", "").replace("<!--B-->", "").replace("<!--A-->", "")) == []


def test_a_report_without_slots_is_refused():
    with pytest.raises(RenderFailed):
        compose("<html><head></head><body>x</body></html>", head="", topbar="", actions="")
