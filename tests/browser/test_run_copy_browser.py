"""Run this copy in headless Chromium: a visitor goes gallery → notebook page → Run this copy → JupyterLab → runs a
cell; a signed-in user whose server runs another environment is asked, and restarts it only with a click."""

from __future__ import annotations

import re

import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG, TWO_ENVIRONMENTS, publish, sample_notebook
from ..harness import Hub, server_env, wait_for
from .test_report_browser import AXE, serious_violations
from .test_untrusted_copy_browser import login

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("browser"), GALLERY_CONFIG + TWO_ENVIRONMENTS).start()
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


def test_the_offer_to_restart_in_the_notebooks_environment(hub, browser):
    rec = publish(hub, hub.prof_token, sample_notebook("Other frames"), environment={"image": "ds"}).json()
    hub.ensure_user("rob")
    # the CSP is bypassed only to let axe-core in
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page, hub, "rob")  # before the server runs (a login would then open JupyterLab)
        r = hub.spawn("rob", {"image": "python", "size": "medium"})
        assert r.status_code in (201, 202), r.text
        hub.wait_ready("rob")
        pid = server_env("rob", hub=hub)["_PID"]
        page.goto(f"{hub.url}/hub/gallery/{rec['id']}")
        page.click("#saturn-run-button")
        offer = page.locator("#saturn-launch-offer")
        offer.wait_for()
        text = offer.inner_text()
        assert "Python 3" in text and "Data science" in text and "unsaved changes" in text, text
        assert page.locator("#saturn-launch-restart").inner_text().strip() == "Restart in Data science"
        assert AXE.exists(), "axe-core is not installed: run `make node`"
        assert serious_violations(page) == []
        # the question stopped nothing
        model = hub.user_model("rob")["servers"][""]
        assert model["ready"] and model["user_options"]["image"] == "python"
        assert server_env("rob", hub=hub)["_PID"] == pid
        page.click("#saturn-launch-restart")
        page.wait_for_url(re.compile(r".*/user/rob/lab/tree/gallery/Other%20frames%20[0-9-]+\.ipynb.*"),
                          timeout=180_000)
        options = hub.user_model("rob")["servers"][""]["user_options"]
        assert options["image"] == "ds" and options["size"] == "medium", options
        env = wait_for(lambda: (e := server_env("rob", hub=hub)) and e["_PID"] != pid and e, timeout=60,
                       what="rob's restarted server process")
        assert env["SATURN_TEST_ENV"] == "ds"
    finally:
        context.close()
    hub.stop_server("rob")
