"""Publish, public pages and Run this copy against a real hub with saturn-local."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
import requests

from ..harness import Hub, resolved, wait_for
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook, xsrf_of

pytestmark = pytest.mark.e2e


def _fake_prefix(root: Path, script: str) -> Path:
    """A Python prefix whose jupyterhub-singleuser runs ``script`` first (a fault-injection point)."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "jupyterhub-singleuser"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    base = tmp_path_factory.mktemp("gallery")
    # the barrier lives in the gated prefix: the sandbox mounts that (read-only), so the server sees it appear
    barrier = base / "gated" / "servers-may-start"
    real = Path(sys.executable).parent / "jupyterhub-singleuser"
    # "gated": the server process waits until the test creates the barrier file; "broken": it exits at once
    gated = _fake_prefix(base / "gated", f'while [ ! -e "{barrier}" ]; do sleep 0.05; done\nexec "{real}" "$@"')
    broken = _fake_prefix(base / "broken", 'echo "no such environment" >&2; exit 3')
    h = Hub(base / "hub", GALLERY_CONFIG + f"""
c.SaturnGallery.max_notebook_size = "200K"
c.Saturn.launch_limits = {{"max_throwaway_servers": 3, "max_per_notebook": 2, "rate": {{"launches": 50, "per": "1h"}}}}
c.Saturn.images = {{"python": {{"prefix": sys.prefix}}, "gated": {{"prefix": {str(gated)!r}}},
                    "broken": {{"display_name": "Broken env", "prefix": {str(broken)!r}}}}}
""").start()
    h.barrier = barrier
    h.ensure_user("prof", ["instructors"])
    h.ensure_user("stud")
    h.prof_token = h.user_token("prof")
    h.stud_token = h.user_token("stud")
    yield h
    h.stop()


def test_publish_rules(hub):
    r = publish(hub, hub.stud_token)
    assert r.status_code == 403 and "may not publish" in r.json()["message"]
    r = hub.api("POST", "/saturn/notebooks", token=hub.prof_token, data=b"{not json")
    assert r.status_code == 400 and "neither JSON" in r.json()["message"]
    r = hub.api("POST", "/saturn/notebooks", token=hub.prof_token, json={"notebook": {"cells": "nope"}})
    assert r.status_code == 400, r.text
    r = publish(hub, hub.prof_token, environment={"image": "conda"})
    assert r.status_code == 400 and "'python'" in r.json()["message"]
    big = sample_notebook(code="x = '" + "a" * 300_000 + "'")
    r = publish(hub, hub.prof_token, big)
    assert r.status_code == 413, r.text
    r = publish(hub, hub.prof_token, environment={"image": "python", "size": "medium"}, description="Intro")
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["title"] == "Lecture 1" and rec["author"] == "prof" and rec["environment"]["size"] == "medium"
    # republish keeps the id and URL; unpublish removes it
    r2 = hub.api("PUT", f"/saturn/notebooks/{rec['id']}", token=hub.prof_token,
                 json={"notebook": sample_notebook("Lecture 1 (v2)")})
    assert r2.status_code == 200 and r2.json()["id"] == rec["id"] and r2.json()["title"] == "Lecture 1 (v2)"
    page = requests.get(f"{hub.url}/hub/gallery/{rec['id']}", timeout=30)
    assert page.status_code == 200 and "Lecture 1 (v2)" in page.text
    assert hub.api("DELETE", f"/saturn/notebooks/{rec['id']}", token=hub.stud_token).status_code == 403
    assert hub.api("DELETE", f"/saturn/notebooks/{rec['id']}", token=hub.prof_token).status_code == 204
    assert requests.get(f"{hub.url}/hub/gallery/{rec['id']}", timeout=30).status_code == 404


@pytest.mark.hub_versions
def test_public_pages_and_downloads(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Public page")).json()
    listing = requests.get(f"{hub.url}/hub/gallery", timeout=30)
    assert listing.status_code == 200 and "Public page" in listing.text
    page = requests.get(f"{hub.url}/hub/gallery/{rec['id']}", timeout=30)
    # the public page is the report itself (one document, no frame) under the report's sandboxing CSP
    assert "Run this copy" in page.text and "<iframe" not in page.text and "42" in page.text
    assert page.headers["Content-Security-Policy"] == requests.get(
        f"{hub.url}/hub/gallery/{rec['id']}/rendered", timeout=60).headers["Content-Security-Policy"]
    assert f'href="/hub/run/{rec["id"]}"' in page.text and 'property="og:title" content="Public page"' in page.text
    assert "10 minutes without activity" in page.text and "1 hour" in page.text
    rendered = requests.get(f"{hub.url}/hub/gallery/{rec['id']}/rendered", timeout=60)
    assert rendered.status_code == 200 and "42" in rendered.text
    csp = rendered.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "allow-same-origin" not in csp and "script-src 'none'" in csp
    for ext, needle in (("ipynb", '"cells"'), ("py", "print(6 * 7)"), ("md", "# Public page"), ("html", "Public page")):
        d = requests.get(f"{hub.url}/hub/gallery/{rec['id']}/download/{ext}", timeout=60)
        assert d.status_code == 200 and needle in d.text, (ext, d.status_code)
        assert d.headers["Content-Disposition"].startswith("attachment")
    for bad in ("../../etc/passwd", "%2e%2e%2fx", "nope", "does-not-exist", "a" * 300, "nope-abcdefgh", "%3Cscript%3E"):
        for path in (f"gallery/{bad}", f"run/{bad}"):
            r = requests.get(f"{hub.url}/hub/{path}", timeout=30)
            assert r.status_code in (400, 404), (bad, r.status_code)
            if r.status_code == 404 and "/" not in bad.replace("%2f", "/"):
                # a friendly page with a way back, not the id pattern
                assert "Browse the gallery" in r.text and "pattern" not in r.text and "<script>" not in r.text, r.text
    assert requests.get(f"{hub.url}/hub/gallery/{rec['id']}/download/exe", timeout=30).status_code == 404


@pytest.mark.hub_versions
def test_get_never_starts_a_server_and_post_needs_xsrf(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("No GET launches")).json()
    before = {u["name"] for u in hub.api("GET", "/users").json()}
    r = requests.get(f"{hub.url}/hub/run/{rec['id']}", timeout=30)
    assert r.status_code == 200 and "saturn-run-form" in r.text
    r = requests.post(f"{hub.url}/hub/run/{rec['id']}", timeout=30, allow_redirects=False)
    assert r.status_code == 403
    after = {u["name"] for u in hub.api("GET", "/users").json()}
    assert after == before


@pytest.mark.hub_versions
def test_anonymous_run_lands_in_jupyterlab_with_the_copy_and_is_isolated(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Anon run")).json()
    s, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    assert "/lab/tree/gallery/" in status["url"]
    name = status["url"].split("/user/")[1].split("/")[0]
    assert name.startswith("anon~")
    lab = s.get(hub.url + status["url"], timeout=60)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    # the copy is in the server
    model = hub.user_model(name)
    assert resolved(model["servers"][""])["saturn_notebook"] == rec["id"]
    assert "saturn_notebook" not in model["servers"][""]["user_options"]
    assert model["servers"][""]["user_options"]["gpu"] == "none"
    assert re.search(r"/gallery/Anon run \d{4}-\d{2}-\d{2}\.ipynb$", unquote(status["url"])), status["url"]
    contents = s.get(f"{hub.url}/user/{name}/api/contents/{status['url'].split('/lab/tree/')[1]}",
                     headers={"X-XSRFToken": s.cookies.get("_xsrf", domain="", path=f"/user/{name}/") or ""},
                     timeout=30)
    assert contents.status_code == 200, contents.text[:300]
    assert "print(6 * 7)" in json.dumps(contents.json()["content"])
    # isolation: no hub API, no other servers, no publishing
    assert s.get(f"{hub.url}/hub/api/users", timeout=30).status_code == 403
    assert s.get(f"{hub.url}/hub/api/users/stud", timeout=30).status_code in (403, 404)
    page = s.get(f"{hub.url}/hub/run/{rec['id']}?manual=1", timeout=30)
    r = s.post(f"{hub.url}/hub/api/saturn/notebooks", json={"notebook": sample_notebook()},
               headers={"X-XSRFToken": xsrf_of(page.text), "Referer": f"{hub.url}/hub/gallery"}, timeout=30)
    assert r.status_code == 403, r.text
    other = s.get(f"{hub.url}/user/stud/api/status", timeout=30, allow_redirects=False)
    assert other.status_code in (302, 403, 404, 424, 503), other.status_code
    hub.stop_server(name)


@pytest.mark.hub_versions
def test_logged_in_copy_goes_to_own_server_and_never_overwrites(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Mine")).json()
    # the student last chose 6h auto-shutoff; a copy that starts their server keeps that choice
    body = {"auto_shutoff": "6h"}
    r = hub.api("POST", "/users/stud/server", json={"user_options": body} if hub.version() >= (6, 0) else body)
    assert r.status_code in (201, 202), r.text
    wait_for(lambda: hub.user_model("stud")["servers"].get("", {}).get("ready"), timeout=120, what="stud's server")
    hub.stop_server("stud")
    s = hub.login("stud")
    s, status = run_copy(hub, rec["id"], session=s)
    assert status["state"] == "ready", status
    assert status["url"].startswith("/user/stud/lab/tree/gallery/")
    options = resolved(hub.user_model("stud")["servers"][""])
    assert options["auto_shutoff"] == "6h" and options["saturn_notebook"] == rec["id"], options
    s, status2 = run_copy(hub, rec["id"], session=s)
    assert status2["state"] == "ready", status2
    assert status2["url"] != status["url"] and unquote(status2["url"]).endswith(" (2).ipynb")
    hub.stop_server("stud")


def test_launch_limits_answer_429_and_503_with_retry_after(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Limited")).json()
    statuses = []
    for i in range(3):
        _, res = run_copy(hub, rec["id"], headers={"X-Forwarded-For": f"10.9.0.{i + 1}"})
        statuses.append(res)
    ok = [x for x in statuses if isinstance(x, dict) and x["state"] == "ready"]
    refused = [x for x in statuses if not isinstance(x, dict)]
    assert len(ok) == 2 and len(refused) == 1
    assert refused[0].status_code == 429 and "Retry-After" in refused[0].headers
    assert "per notebook" in refused[0].text or "copies" in refused[0].text
    # clean up the throwaway servers
    for u in hub.api("GET", "/users").json():
        if u["name"].startswith("anon~") and u["servers"]:
            hub.stop_server(u["name"])


def test_cli_publishes_from_inside_an_instructors_server(hub, tmp_path):
    import subprocess
    import sys

    from ..harness import server_env
    from .gallery_helpers import sample_notebook as nb

    assert hub.spawn("prof", {}).status_code in (201, 202)
    hub.wait_ready("prof")
    env = server_env("prof")
    path = tmp_path / "lecture9.ipynb"
    path.write_text(json.dumps(nb("Lecture 9")))
    run_env = {k: v for k, v in env.items() if not k.startswith("_")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "jupyterhub_saturn.cli", *args], env=run_env,
                              capture_output=True, text=True, timeout=60)

    p = cli("publish", str(path), "--image", "python", "--description", "from the CLI")
    assert p.returncode == 0, p.stderr
    nb_id = p.stdout.split(" as ")[1].split()[0]
    assert hub.api("GET", f"/saturn/notebooks/{nb_id}").json()["description"] == "from the CLI"
    p = cli("publish", str(path), "--id", nb_id, "--title", "Lecture 9 (fixed)")
    assert p.returncode == 0 and nb_id in p.stdout, p.stderr
    assert nb_id in cli("list").stdout
    p = cli("publish", str(path), "--image", "conda")
    assert p.returncode == 1 and "environment.image" in p.stderr and "'python'" in p.stderr
    (tmp_path / "bad.ipynb").write_text("{nope")
    p = cli("publish", str(tmp_path / "bad.ipynb"))
    assert p.returncode == 1 and "not a notebook" in p.stderr
    assert cli("unpublish", nb_id).returncode == 0
    hub.stop_server("prof")
    # a student's server token cannot publish
    assert hub.spawn("stud", {}).status_code in (201, 202)
    hub.wait_ready("stud")
    run_env = {k: v for k, v in server_env("stud").items() if not k.startswith("_")}
    p = cli("publish", str(path))
    assert p.returncode == 1 and "403" in p.stderr and "may not publish" in p.stderr
    hub.stop_server("stud")


def _run_page(s, hub, nb_id):
    page = s.get(f"{hub.url}/hub/run/{nb_id}?manual=1", timeout=30)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return xsrf_of(page.text), re.search(r'name="launch_key" value="([^"]+)"', page.text).group(1)


def _anon_users(hub) -> set[str]:
    return {u["name"] for u in hub.api("GET", "/users").json() if u["name"].startswith("anon~")}


def test_launch_answers_before_the_server_starts_and_a_repeat_joins_it(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Gated"), environment={"image": "gated"}).json()
    hub.barrier.unlink(missing_ok=True)  # servers of the "gated" environment cannot start until it exists
    s = requests.Session()
    xsrf, key = _run_page(s, hub, rec["id"])
    cookies_before_answer = s.cookies.copy()
    before = _anon_users(hub)
    t0 = time.perf_counter()
    r = s.post(f"{hub.url}/hub/run/{rec['id']}", data={"_xsrf": xsrf, "launch_key": key}, allow_redirects=False,
               timeout=60)
    answered = time.perf_counter() - t0
    assert r.status_code == 303 and "/launch/" in r.headers["Location"], r.text[:300]
    launch_id = r.headers["Location"].rsplit("/", 1)[1]
    status = s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json()
    # the server cannot be up (its process waits on the barrier): the answer came first
    assert status["state"] in ("queued", "starting") and status["steps"][0] == "Queued", status
    assert answered < 5, answered  # a loose bound for a loaded machine; the barrier is the real proof
    # a double click / reload repeats the key: same launch, no second throwaway user
    again = requests.Session()  # even without the first answer's login cookie (a cancelled navigation)
    again.cookies = cookies_before_answer
    r2 = again.post(f"{hub.url}/hub/run/{rec['id']}", data={"_xsrf": xsrf, "launch_key": key},
                    allow_redirects=False, timeout=60)
    assert r2.status_code == 303 and r2.headers["Location"] == r.headers["Location"]
    assert len(_anon_users(hub) - before) == 1
    page = again.get(hub.url + r2.headers["Location"], timeout=30)
    assert page.status_code == 200 and "Starting a server" in page.text and "Copying the notebook" in page.text
    status = wait_for(lambda: (st := s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json())["step"] >= 1
                      and st, timeout=60, what="the launch to reach 'Starting a server'")
    assert status["state"] == "starting" and status["message"], status
    hub.barrier.touch()
    done = wait_for(lambda: (st := s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json())["state"]
                    in ("ready", "failed") and st, timeout=180, what="the launch to finish")
    assert done["state"] == "ready" and done["step"] == 3 and "/lab/tree/gallery/" in done["url"], done
    hub.stop_server(done["url"].split("/user/")[1].split("/")[0])


def test_a_failed_start_is_reported_in_plain_words_with_a_way_back(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Broken"), environment={"image": "broken"}).json()
    s = hub.login("stud")
    xsrf, key = _run_page(s, hub, rec["id"])
    r = s.post(f"{hub.url}/hub/run/{rec['id']}", data={"_xsrf": xsrf, "launch_key": key}, allow_redirects=False,
               timeout=60)
    assert r.status_code == 303
    launch_id = r.headers["Location"].rsplit("/", 1)[1]
    done = wait_for(lambda: (st := s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json())["state"]
                    in ("ready", "failed") and st, timeout=120, what="the launch to fail")
    assert done["state"] == "failed" and done["step"] == 1 and "Traceback" not in done["message"], done
    page = s.get(hub.url + r.headers["Location"], timeout=30)
    assert f'href="/hub/gallery/{rec["id"]}"' in page.text and "Try again" in page.text
    # someone else's launch is not theirs to watch
    other = requests.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30)
    assert other.status_code in (403, 404) or "login" in other.url


def test_sign_in_to_keep_moves_the_edited_anonymous_copy_into_the_users_server(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Keep me")).json()
    hub.ensure_user("keeper")
    s, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    anon = status["url"].split("/user/")[1].split("/")[0]
    path = unquote(status["url"].split("/lab/tree/")[1])  # as JupyterLab knows it
    lab = s.get(hub.url + status["url"], timeout=60)
    assert lab.status_code == 200
    xsrf = next(c.value for c in s.cookies if c.name == "_xsrf" and c.path.startswith(f"/user/{anon}"))
    api = f"{hub.url}/user/{anon}/api/contents/{path}"
    model = s.get(api, headers={"X-XSRFToken": xsrf}, timeout=30).json()
    model["content"]["cells"].append(nbformat.v4.new_markdown_cell("my own edit 8231"))
    r = s.put(api, json={"type": "notebook", "format": "json", "content": model["content"]},
              headers={"X-XSRFToken": xsrf}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    # the time left the JupyterLab extension shows, for the throwaway user's own server
    left = s.get(f"{hub.url}/hub/saturn/time-left", timeout=30).json()
    assert left["throwaway"] is True and left["status"]["seconds_left"] > 0, left
    assert requests.get(f"{hub.url}/hub/saturn/time-left", timeout=30).status_code == 403
    # hostile paths are refused with the field named
    for bad in ("../../etc/passwd.ipynb", "/x.txt", ""):
        r = s.get(f"{hub.url}/hub/saturn/keep", params={"path": bad}, allow_redirects=False, timeout=30)
        assert r.status_code == 400 and "path" in r.text, (bad, r.status_code)
    r = s.get(f"{hub.url}/hub/saturn/keep", params={"path": path}, allow_redirects=False, timeout=60)
    assert r.status_code == 302 and "/hub/login?next=" in r.headers["Location"], (r.status_code, r.text[:300])
    nxt = requests.utils.unquote(r.headers["Location"].split("next=", 1)[1])
    # the throwaway session is signed out; sign in as a real user in the same browser
    assert s.get(f"{hub.url}/hub/saturn/time-left", timeout=30).status_code == 403
    login = s.get(f"{hub.url}/hub/login", timeout=30)
    r = s.post(f"{hub.url}/hub/login?next={requests.utils.quote(nxt)}",
               data={"username": "keeper", "password": "pw", "_xsrf": xsrf_of(login.text)}, timeout=60)
    assert "/launch/" in r.url, r.url
    launch_id = r.url.rsplit("/", 1)[1]
    done = wait_for(lambda: (st := s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=30).json())["state"]
                    in ("ready", "failed") and st, timeout=180, what="the kept copy to open")
    assert done["state"] == "ready" and done["url"].startswith("/user/keeper/lab/tree/"), done
    token = hub.user_token("keeper")
    content = requests.get(f"{hub.url}/user/keeper/api/contents/{done['url'].split('/lab/tree/')[1]}",
                           headers={"Authorization": f"token {token}"}, timeout=30)
    assert content.status_code == 200 and "my own edit 8231" in json.dumps(content.json()["content"])
    # the held copy is gone once kept
    assert s.get(hub.url + nxt, timeout=30).status_code == 404
    hub.stop_server("keeper")
    hub.stop_server(anon)


def test_cli_republishes_by_title_and_prints_public_links(hub, tmp_path, monkeypatch, capsys):
    from jupyterhub_saturn.cli import main

    nb_file = tmp_path / "lecture.ipynb"
    nb_file.write_text(json.dumps(sample_notebook("CLI lecture")))
    monkeypatch.setenv("JUPYTERHUB_API_URL", f"{hub.url}/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", hub.prof_token)
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", "https://hub.example.org/hub/")
    assert main(["publish", str(nb_file)]) == 0
    first = capsys.readouterr().out
    nb_id = re.search(r" as ([a-z0-9-]+)", first).group(1)
    assert f"page: https://hub.example.org/hub/gallery/{nb_id}" in first and "127.0.0.1" not in first
    # publishing the same notebook again updates it (same id), --new makes another
    assert main(["publish", str(nb_file), "--description", "v2"]) == 0
    again = capsys.readouterr().out
    assert again.startswith("Republished") and nb_id in again
    assert hub.api("GET", f"/saturn/notebooks/{nb_id}").json()["description"] == "v2"
    assert main(["publish", str(nb_file), "--new"]) == 0
    other = re.search(r" as ([a-z0-9-]+)", capsys.readouterr().out).group(1)
    assert other != nb_id
    # now two share the title: the CLI asks which, rather than guessing
    assert main(["publish", str(nb_file)]) == 1
    assert "pass --id" in capsys.readouterr().err


@pytest.mark.hub_versions
def test_spawn_progress_page_names_what_is_starting(hub):
    hub.ensure_user("pend")
    hub.barrier.unlink(missing_ok=True)  # the "gated" server stays pending until the barrier exists
    body = {"image": "gated", "size": "medium", "auto_shutoff": "6h"}
    r = hub.api("POST", "/users/pend/server", json={"user_options": body} if hub.version() >= (6, 0) else body)
    assert r.status_code == 202, r.text
    s = hub.login("pend")
    page = s.get(f"{hub.url}/hub/spawn-pending/pend", timeout=30)
    assert page.status_code == 200 and 'id="saturn-spawn-choices"' in page.text, page.text[:500]
    choices = page.text.split('id="saturn-spawn-choices"', 1)[1].split("</dl>", 1)[0]
    assert "medium" in choices and "gated" in choices and "after 6h idle" in choices, choices
    hub.barrier.touch()
    wait_for(lambda: hub.user_model("pend")["servers"].get("", {}).get("ready"), timeout=120, what="pend's server")
    hub.stop_server("pend")
