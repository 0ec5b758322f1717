"""A visitor in headless Chromium: gallery → notebook page → Run this copy → JupyterLab → run a cell."""

from __future__ import annotations

import re

import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG, publish, sample_notebook
from ..harness import Hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("browser"), GALLERY_CONFIG).start()
    h.ensure_user("prof", ["instructors"])
    h.prof_token = h.user_token("prof")
    yield h
    h.stop()


@pytest.mark.hub_versions
def test_visitor_runs_a_copy_and_executes_a_cell(hub, page):
    rec = publish(hub, hub.prof_token, sample_notebook("Browser lecture", code="print(6 * 7)")).json()
    page.goto(f"{hub.url}/hub/gallery")
    page.click(f"text=Browser lecture")
    page.wait_for_url(re.compile(rf".*/hub/gallery/{rec['id']}$"))
    # the page is the report itself
    page.locator("text=Some").first.wait_for()
    page.click("#saturn-run-button")
    page.wait_for_url(re.compile(rf".*/user/anon~[0-9a-f]+/lab/tree/gallery/Browser%20lecture%20[0-9-]+\.ipynb.*"), timeout=180_000)
    # JupyterLab opens the copy; run the code cell
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first
    cell.wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell").nth(1).click()
    # wait for the kernel, then run the selected cell
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus").first.wait_for(timeout=120_000)
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").filter(has_text="42")
    output.first.wait_for(timeout=120_000)
