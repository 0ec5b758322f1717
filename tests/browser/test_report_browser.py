"""The public report page in Chromium: typeset math with no script, one scrolling document, one title,
link-preview tags, a phone layout that keeps Sign in and Run this copy; the launch answers at once."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG, launch_steps_visible, publish
from ..harness import Hub, wait_for

pytestmark = pytest.mark.e2e


def math_notebook(title: str) -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nEuler: $e^{{i\\pi}} + 1 = 0$.\n\n$$\\int_0^1 x^2\\,dx = \\frac{{1}}{{3}}$$")]
    for i in range(40):  # long enough to scroll
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## Part {i}\n\n" + f"Paragraph {i} with $x_{i}^2$ and some words. " * 3))
    nb.cells.append(nbformat.v4.new_code_cell("print(6 * 7)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="42\n")]))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    # every server is inside its shutoff warning as soon as it has run for a second (max age 20m, warning
    # 19m59s before): JupyterLab's status bar must show the warning without waiting
    h = Hub(tmp_path_factory.mktemp("report"), GALLERY_CONFIG + """
c.Saturn.auto_shutoff = {"choices": ["30m"], "default": "30m", "warn_before": "19m59s",
                         "caps": [{"match": {}, "max_age": "20m"}], "throwaway": {"max_idle": "30m", "max_age": "20m"}}
from jupyterhub_saturn.handlers.gallery import land_visitors_on_gallery
c.JupyterHub.default_url = land_visitors_on_gallery
""").start()
    h.ensure_user("prof", ["instructors"])
    h.prof_token = h.user_token("prof")
    h.rec = publish(h, h.prof_token, math_notebook("Waves and phasors"),
                    description="Complex numbers for signal people").json()
    yield h
    h.stop()


def test_report_is_one_typeset_document_without_script(hub, page):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{hub.url}/hub/gallery/{hub.rec['id']}")
    state = page.evaluate("""() => ({
        frames: document.querySelectorAll('iframe').length,
        scripts: document.querySelectorAll('script').length,
        maths: document.querySelectorAll('math').length,
        mathWidth: document.querySelector('math').getBoundingClientRect().width,
        dollars: document.body.innerText.includes('$$'),
        titles: [...document.querySelectorAll('h1')].map(h => h.textContent.trim()),
        docTitle: document.title,
        scrolls: document.scrollingElement.scrollHeight > window.innerHeight,
        og: document.querySelector('meta[property="og:title"]').content,
        desc: document.querySelector('meta[name="description"]').content,
    })""")
    assert state["frames"] == 0 and state["scripts"] == 0, state
    assert state["maths"] >= 40 and state["mathWidth"] > 10 and not state["dollars"], state
    assert state["titles"] == ["Waves and phasors"] and state["docTitle"] == "Waves and phasors", state
    assert state["scrolls"], "the report is the page: it scrolls as one document"
    assert state["og"] == "Waves and phasors" and state["desc"] == "Complex numbers for signal people"
    # the page runs no script: an injected one is refused by the CSP sandbox
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                  " document.body.appendChild(s); }")
    assert page.evaluate("() => window.__ran") is None
    # the downloaded .html has the same typeset math
    body = page.request.get(f"{hub.url}/hub/gallery/{hub.rec['id']}/download/html").text()
    assert body.count("<math") >= 40 and "$$" not in body


def test_phone_layout_keeps_sign_in_and_run(hub, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(f"{hub.url}/hub/gallery/{hub.rec['id']}")
        for selector in ("#saturn-login-link", "#saturn-run-button", "#saturn-gallery-link"):
            box = phone.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, (selector, box)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 376
    finally:
        context.close()


def test_run_this_copy_answers_at_once_with_progress(hub, page):
    page.goto(f"{hub.url}/hub/gallery/{hub.rec['id']}")
    launching = page.locator("#saturn-launching")
    assert not launching.is_visible()
    page.locator("#saturn-run-button").focus()  # keyboard focus alone announces no launch
    assert not launching.is_visible()
    page.locator("#saturn-run-button").blur()
    # the hub answers the run page with "204 No Content" (the browser stays on the report): the steps show
    # from the click alone, before and whatever the hub answers
    run_page = re.compile(r".*/hub/run/[^/?]+/?$")
    page.route(run_page, lambda route: route.fulfill(status=204))
    with page.expect_response(run_page):
        page.click("#saturn-run-button")
    assert "/hub/gallery/" in page.url
    launching.locator("#saturn-launch-steps").wait_for(state="visible", timeout=5_000)
    assert launching.locator(".saturn-step-active").inner_text().startswith("Queued")
    assert page.evaluate("() => document.querySelectorAll('script').length") == 0  # still no script
    page.unroute(run_page)
    # the real click: the first visible steps (the report's, then the run page's), timed from the click
    cdp = page.context.new_cdp_session(page)
    t0 = time.perf_counter()
    page.click("#saturn-run-button", no_wait_after=True)
    wait_for(lambda: launch_steps_visible(cdp), timeout=60, interval=0.005, what="launch steps on screen")
    first_feedback = time.perf_counter() - t0
    page.wait_for_url(re.compile(r".*/hub/run/"), wait_until="domcontentloaded")
    page.locator("#saturn-launch-steps").wait_for()
    # the run page, then the launch page, show the steps; the POST does not wait for the server
    page.wait_for_url(re.compile(r".*/hub/run/[^/]+/launch/[^/]+$"), timeout=30_000)
    page.locator(".saturn-step-active, .saturn-step-done").first.wait_for()
    assert page.locator("#saturn-launch-steps li").count() == 4
    page.wait_for_url(re.compile(r".*/user/anon~[0-9a-f]+/lab/tree/gallery/.*"), timeout=180_000)
    # the steps showed while the hub had answered nothing (the run page was held above): the feedback is the
    # browser's own, independent of the hub's load; benchmarks/launch_latency.py measures its latency
    print(f"click -> launch steps visible: {first_feedback * 1000:.0f} ms")
    # JupyterLab: the time left in the status bar, the warning before shutoff, and a way to keep the copy
    require_labextension()
    item = page.locator("#jp-saturn-time-left")
    item.locator(".jp-saturn-time-left-text").filter(has_text=re.compile(r"Shuts off in (19m|18m)")).wait_for(timeout=120_000)
    assert "jp-saturn-warn" in item.get_attribute("class")
    toast = page.locator(".Toastify__toast").filter(has_text="This server shuts down in")
    toast.first.wait_for(timeout=60_000)
    assert "maximum age" in toast.first.inner_text()
    assert toast.first.get_by_role("button", name="Sign in to keep this copy").is_visible()
    keep = item.locator(".jp-saturn-keep")
    assert keep.is_visible() and keep.inner_text() == "Sign in to keep this copy"
    # edit the copy (unsaved), then keep it: it is saved, the visitor signs in, and the edited copy opens
    # in their own server
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first.wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Spinner").wait_for(state="hidden", timeout=120_000)
    # the first cell is Markdown: select it, edit it, leave edit mode
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell").first.click()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+End")
    page.keyboard.type(" kept edit 5150")
    first = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell").first
    first.locator(".cm-content").filter(has_text="kept edit 5150").wait_for(timeout=30_000)
    page.keyboard.press("Escape")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-mod-commandMode").first.wait_for(timeout=30_000)
    keep.click()
    page.wait_for_url(re.compile(r".*/hub/login\?next=.*saturn%2Fkeep.*|.*/hub/login\?next=.*saturn/keep.*"), timeout=60_000)
    page.fill("input[name=username]", "keeper")
    page.fill("input[name=password]", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r".*/user/keeper/lab/tree/gallery/.*"), timeout=180_000)
    token = hub.user_token("keeper")
    path = page.url.split("/lab/tree/")[1].split("?")[0]
    import requests

    content = requests.get(f"{hub.url}/user/keeper/api/contents/{path}", headers={"Authorization": f"token {token}"},
                           timeout=30).json()
    assert "kept edit 5150" in str(content["content"]), path
    hub.stop_server("keeper")


def require_labextension() -> None:
    """The prebuilt JupyterLab extension must be installed (``make labextension``): fail in CI, skip locally."""
    import os
    import sys
    from pathlib import Path

    built = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterhub-saturn" / "package.json"
    if not built.exists():
        message = f"the JupyterLab extension is not built/installed ({built}); run `make labextension`"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_gallery_cards_filter_badges_and_friendly_404(hub, page):
    other = publish(hub, hub.prof_token, math_notebook("Sorting algorithms"), description="Merge and quick sort").json()
    page.goto(f"{hub.url}/")  # visitors land on the gallery (c.JupyterHub.default_url = land_visitors_on_gallery)
    page.wait_for_url(re.compile(r".*/hub/gallery$"))
    cards = page.locator(".saturn-card-col")
    assert cards.count() >= 2
    card = page.locator(f'.saturn-card-col[data-id="{hub.rec["id"]}"]')
    assert "Python" in card.inner_text() or "python" in card.inner_text()
    assert "image:" not in card.inner_text() and "size:" not in card.inner_text()  # display names, not keys
    assert page.locator("#saturn-nav-gallery").is_visible()  # the navbar links the gallery, also for visitors
    page.fill("#saturn-search", "merge")
    assert page.locator(f'.saturn-card-col[data-id="{other["id"]}"]').is_visible()
    assert not card.is_visible()
    page.fill("#saturn-search", "no such words anywhere")
    assert page.locator("#saturn-gallery-none").is_visible()
    page.fill("#saturn-search", "")
    # the Markdown badge links to a launch of this notebook; its image is served
    card.locator("summary").click()
    snippet = card.locator(".saturn-badge-md").input_value()
    assert snippet.endswith(f"/hub/run/{hub.rec['id']})") and "/hub/gallery/badge.svg" in snippet
    badge = page.request.get(f"{hub.url}/hub/gallery/badge.svg")
    assert badge.status == 200 and badge.headers["content-type"] == "image/svg+xml" and "Run this copy" in badge.text()
    run_url = snippet.rsplit("(", 1)[1].rstrip(")")
    page.goto(run_url.replace("/hub/run/", "/hub/run/", 1) + "?manual=1")
    assert page.locator("#saturn-run-button").is_visible()
    # an unknown or malformed id: a friendly 404 with a way back
    for bad in ("does-not-exist", "nope"):
        response = page.goto(f"{hub.url}/hub/gallery/{bad}")
        assert response.status == 404
        assert page.locator("h1").inner_text() == "There is no published notebook here"
        assert "pattern" not in page.content()
    page.click("#saturn-missing-gallery")
    page.wait_for_url(re.compile(r".*/hub/gallery/?$"))


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA findings on the page (the report's CSP is bypassed to inject it)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return result


def test_accessibility_of_gallery_report_launch_and_spawn_pages(hub, browser):
    if not AXE.exists():
        message = f"axe-core is not installed ({AXE}); run `make node`"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        found = {}
        for name, path in (("gallery", "/hub/gallery"), ("report", f"/hub/gallery/{hub.rec['id']}"),
                           ("launch", f"/hub/run/{hub.rec['id']}?manual=1")):
            page.goto(hub.url + path)
            found[name] = serious_violations(page)
        page.goto(f"{hub.url}/hub/login")
        page.fill("input[name=username]", "prof")
        page.fill("input[name=password]", "pw")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/hub/**")
        page.goto(f"{hub.url}/hub/spawn")
        found["spawn form"] = serious_violations(page)
        assert all(not v for v in found.values()), found
    finally:
        context.close()
