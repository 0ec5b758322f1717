"""Run this copy into a running server of another environment: the launch says so, stops nothing unasked,
and on the user's click restarts the server in the notebook's environment with their other choices kept."""

from __future__ import annotations

import html
import re

import pytest
import requests

from ..harness import Hub, resolved, server_env, wait_for
from .gallery_helpers import GALLERY_CONFIG, TWO_ENVIRONMENTS, publish, run_copy, sample_notebook, xsrf_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("restart"), GALLERY_CONFIG + TWO_ENVIRONMENTS).start()
    h.ensure_user("prof", ["instructors"])
    h.prof_token = h.user_token("prof")
    h.rec = publish(h, h.prof_token, sample_notebook("Frames"), environment={"image": "ds"}).json()
    yield h
    h.stop()


def _start(hub, user: str, **options) -> int:
    """Start ``user``'s server with ``options``; the pid of its process once ready."""
    hub.ensure_user(user)
    r = hub.spawn(user, options)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user)
    return int(server_env(user, hub=hub)["_PID"])


def _offer(hub, s, nb_id: str):
    """Run this copy as a browser would; the launch (waiting on the offer) and its page."""
    s, status = run_copy(hub, nb_id, session=s)
    assert status["state"] == "choose", status
    page = s.get(f"{hub.url}/hub/run/{nb_id}/launch/{status['id']}", timeout=30)
    assert page.status_code == 200
    return status, page.text


def _wait_done(hub, s, launch_id: str) -> dict:
    return wait_for(lambda: (st := s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json())["state"]
                    in ("ready", "failed") and st, timeout=180, what="the launch to finish")


@pytest.mark.hub_versions
def test_restart_in_the_notebooks_environment_only_on_the_users_click(hub):
    pid = _start(hub, "rita", image="python", size="medium", auto_shutoff="6h")
    s = hub.login("rita")
    status, page = _offer(hub, s, hub.rec["id"])
    assert status["offer"] == {"running": "python", "wanted": "ds", "running_name": "Python 3",
                               "wanted_name": "Data science"}, status
    assert "Your server is running" in status["message"] and "Data science" in status["message"]
    assert 'id="saturn-launch-restart"' in page and "Restart in Data science" in page
    assert "Open the copy in Python 3" in page
    # asking stopped nothing: the same process still serves, and a repeated Run this copy joins the same question
    s, again = run_copy(hub, hub.rec["id"], session=s)
    assert again["id"] == status["id"] and again["state"] == "choose"
    model = hub.user_model("rita")["servers"][""]
    assert model["ready"] and model["user_options"]["image"] == "python"
    assert int(server_env("rita", hub=hub)["_PID"]) == pid
    choice_url = f"{hub.url}/hub/run/{hub.rec['id']}/launch/{status['id']}/choice"
    # hostile answers: a 400 naming the field and the answers; no XSRF token, no change; not the owner's, 404
    r = s.post(choice_url, data={"_xsrf": xsrf_of(page), "choice": "stop-everything"}, allow_redirects=False,
               timeout=30)
    text = html.unescape(r.text)
    assert r.status_code == 400 and "choice" in text and "'restart', 'keep'" in text and "Traceback" not in text
    r = s.post(choice_url, data={"choice": "restart"}, allow_redirects=False, timeout=30)
    assert r.status_code == 403, r.status_code
    other = hub.login("prof")
    r = other.post(choice_url, data={"_xsrf": other.xsrf, "choice": "restart"}, allow_redirects=False, timeout=30)
    assert r.status_code == 404, r.status_code
    assert int(server_env("rita", hub=hub)["_PID"]) == pid
    # the click: stop, start in the notebook's environment with the other choices kept, copy, open
    r = s.post(choice_url, data={"_xsrf": xsrf_of(page), "choice": "restart"}, allow_redirects=False, timeout=60)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/launch/{status['id']}"), r.text[:300]
    # a double click is the same click
    r2 = s.post(choice_url, data={"_xsrf": xsrf_of(page), "choice": "keep"}, allow_redirects=False, timeout=60)
    assert r2.status_code == 303
    done = _wait_done(hub, s, status["id"])
    assert done["state"] == "ready" and done["url"].startswith("/user/rita/lab/tree/gallery/Frames"), done
    options = resolved(hub.user_model("rita")["servers"][""])
    assert options["image"] == "ds" and options["size"] == "medium" and options["auto_shutoff"] == "6h", options
    assert options["saturn_notebook"] == hub.rec["id"]
    # the old process is gone (the stop finished before the start); a new one runs the notebook's environment
    env = wait_for(lambda: (e := server_env("rita", hub=hub)) and int(e["_PID"]) != pid and e, timeout=60,
                   what="rita's restarted server process")
    assert env["SATURN_TEST_ENV"] == "ds"
    token = hub.user_token("rita")
    copy = requests.get(f"{hub.url}/user/rita/api/contents/{done['url'].split('/lab/tree/')[1]}",
                        headers={"Authorization": f"token {token}"}, timeout=30)
    assert copy.status_code == 200 and copy.json()["type"] == "notebook"
    # now the server runs the notebook's environment: the next copy goes straight in
    s, status = run_copy(hub, hub.rec["id"], session=s)
    assert status["state"] == "ready" and status["offer"] is None, status
    hub.stop_server("rita")


def test_keep_copies_into_the_running_server_as_it_is(hub):
    pid = _start(hub, "kim", image="python")
    s = hub.login("kim")
    status, page = _offer(hub, s, hub.rec["id"])
    r = s.post(f"{hub.url}/hub/run/{hub.rec['id']}/launch/{status['id']}/choice",
               data={"_xsrf": xsrf_of(page), "choice": "keep"}, allow_redirects=False, timeout=60)
    assert r.status_code == 303
    done = _wait_done(hub, s, status["id"])
    assert done["state"] == "ready" and re.match(r"/user/kim/lab/tree/gallery/Frames", done["url"]), done
    assert hub.user_model("kim")["servers"][""]["user_options"]["image"] == "python"
    assert int(server_env("kim", hub=hub)["_PID"]) == pid
    hub.stop_server("kim")


def test_a_stopped_server_starts_in_the_notebooks_environment_without_asking(hub):
    hub.ensure_user("sam")
    s = hub.login("sam")
    s, status = run_copy(hub, hub.rec["id"], session=s)
    assert status["state"] == "ready", status
    assert hub.user_model("sam")["servers"][""]["user_options"]["image"] == "ds"
    hub.stop_server("sam")
