"""A publisher marks cells trusted and ships script outputs; a logged-in user's copy runs none of them.

A loopback beacon listener counts hits. The copy made by Run this copy, opened in JupyterLab
in Chromium, never hits it. The control: the same notebook written into the same server with
its trust marks kept (what a copy did before) hits it, so the test can see a script run.
"""

from __future__ import annotations

import http.server
import re
import threading
from urllib.parse import quote

import nbformat
import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG, publish
from ..harness import Hub, wait_for
from ..ports import free_port

pytestmark = pytest.mark.e2e


class Beacon:
    """A loopback HTTP listener recording the paths it is asked for."""

    def __init__(self):
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def trusted_notebook(beacon_port: int) -> dict:
    url = f"http://127.0.0.1:{beacon_port}"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Trusted by its publisher"), nbformat.v4.new_code_cell("1 + 1")]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": f"<b>rendered output</b><img src=x onerror=\"fetch('{url}/img')\">"
                     f"<script>fetch('{url}/script')</script>",
        "application/javascript": f"fetch('{url}/js')",
        "text/plain": "rendered output",
    })]
    # what JupyterLab saves for a trusted notebook: every code cell marked (a marked markdown cell would
    # change the signature jupyter_server computes and make even the control untrusted)
    nb.cells[1].metadata["trusted"] = True
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.from_dict(nb)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("untrusted"), GALLERY_CONFIG).start()
    h.ensure_user("prof", ["instructors"])
    h.ensure_user("ann")
    yield h
    h.stop()
    h.kill_owned()


def login(page, hub, user):
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url("**/hub/**")


def wait_outputs(page):
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").first.wait_for(timeout=120_000)


def test_a_copy_opened_in_jupyterlab_runs_no_publisher_script(hub, page):
    beacon = Beacon()
    try:
        nb = trusted_notebook(beacon.port)
        rec = publish(hub, hub.user_token("prof"), nb, title="Trusted").json()
        login(page, hub, "ann")
        page.goto(f"{hub.url}/hub/gallery/{rec['id']}")
        page.click("#saturn-run-button")
        page.wait_for_url(re.compile(rf".*/user/ann/lab/tree/gallery/[^/]+\.ipynb.*"), timeout=180_000)
        wait_outputs(page)
        # the copy on disk carries no trust marks
        (copy_path,) = (hub.homes / "ann" / "gallery").glob("*.ipynb")  # the copy, by its readable name
        copy = copy_path.read_text()
        assert '"trusted"' not in copy and '"signature"' not in copy
        page.wait_for_timeout(1500)  # give any onload/onerror/script payload time to fire
        assert beacon.hits == []

        # control: the same notebook written with its trust marks kept does run its scripts
        token = hub.user_token("ann", scopes=["access:servers!user=ann"])
        import requests

        body = {"type": "notebook", "format": "json", "content": nb}
        put = requests.put(f"{hub.url}/user/ann/api/contents/{quote('control.ipynb')}", json=body,
                           headers={"Authorization": f"token {token}"}, timeout=60)
        assert put.status_code in (200, 201), put.text[:300]
        page.goto(f"{hub.url}/user/ann/lab/tree/control.ipynb")
        wait_outputs(page)
        wait_for(lambda: beacon.hits, timeout=30, what="the control's scripts to run")
    finally:
        beacon.close()
