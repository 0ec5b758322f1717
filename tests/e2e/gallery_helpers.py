"""Helpers for the gallery / Run-this-copy end-to-end tests."""

from __future__ import annotations

import re

import nbformat
import requests

from ..harness import wait_for

GALLERY_CONFIG = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}, "medium": {"cpu": 2, "memory": "4G"}}
c.Saturn.images = {"python": {"prefix": sys.prefix}}
c.SaturnGallery.store_dir = "gallery-store"
c.SaturnGallery.publisher_groups = ["instructors"]
"""

#: two environments tests tell apart by the variable each gives its servers (Run this copy's restart offer)
TWO_ENVIRONMENTS = """
c.Saturn.images = {"python": {"display_name": "Python 3", "prefix": sys.prefix, "env": {"SATURN_TEST_ENV": "python"}},
                   "ds": {"display_name": "Data science", "prefix": sys.prefix, "env": {"SATURN_TEST_ENV": "ds"}}}
c.Saturn.auto_shutoff = {"choices": ["1h", "6h"], "default": "1h"}
"""


def sample_notebook(title: str = "Lecture 1", code: str = "print(6 * 7)") -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nSome *text*."), nbformat.v4.new_code_cell(code)]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.from_dict(nb)


def publish(hub, token: str, nb: dict | None = None, **fields) -> requests.Response:
    body = {"notebook": nb or sample_notebook(), **fields}
    return hub.api("POST", "/saturn/notebooks", token=token, json=body)


def xsrf_of(html: str) -> str:
    m = re.search(r'name="_xsrf" value="([^"]+)"', html)
    assert m, "no _xsrf field on the page"
    return m.group(1)


def run_copy(hub, nb_id: str, session: requests.Session | None = None, headers: dict | None = None):
    """Press Run this copy like a browser; return (session, final launch status): ready, failed, or choose
    (the user's server runs another environment and the launch waits for their answer)."""
    s = session or requests.Session()
    page = s.get(f"{hub.url}/hub/run/{nb_id}?manual=1", timeout=30, headers=headers)
    assert page.status_code == 200, page.text[:300]
    key = re.search(r'name="launch_key" value="([^"]+)"', page.text).group(1)
    r = s.post(f"{hub.url}/hub/run/{nb_id}", data={"_xsrf": xsrf_of(page.text), "launch_key": key},
               allow_redirects=False, timeout=120, headers=headers)
    if r.status_code != 303:
        return s, r
    launch_page = s.get(hub.url + r.headers["Location"], timeout=30)
    assert launch_page.status_code == 200, launch_page.text[:300]
    status_url = re.search(r'data-status-url="([^"]+)"', launch_page.text).group(1)

    def done():
        st = s.get(hub.url + status_url, timeout=30).json()
        return st if st["state"] in ("ready", "failed", "choose") else None

    status = wait_for(done, timeout=180, interval=0.3, what="launch to finish")
    return s, status


def launch_steps_visible(cdp) -> bool:
    """Whether Run this copy's steps are on screen in a Chromium page's current document (the report's, the run
    page's or the launch page's), asked over ``cdp`` (``context.new_cdp_session(page)``): unlike Playwright's
    locators, it does not wait for a navigation in flight to commit."""
    r = cdp.send("Runtime.evaluate", {"expression": "!!(document.getElementById('saturn-launch-steps') || "
                                      "{checkVisibility: () => false}).checkVisibility()", "returnByValue": True})
    return r.get("result", {}).get("value") is True
