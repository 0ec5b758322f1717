"""Launch limits under attack: a burst of simultaneous launches, and forged X-Forwarded-For headers
sent from outside (behind a proxy) and from code inside a sandboxed throwaway server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from ..harness import Hub, server_process, wait_for
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook, xsrf_of
from .kernel_helpers import run_code

pytestmark = pytest.mark.e2e

CONFIG = GALLERY_CONFIG + """
c.Saturn.launch_limits = {"max_per_notebook": 5, "max_throwaway_servers": 40, "rate": {"launches": 1, "per": "1h"}}
c.JupyterHub.concurrent_spawn_limit = 100
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("launch-attacks"), CONFIG).start()
    h.ensure_user("prof", ["instructors"])
    h.prof_token = h.user_token("prof")
    yield h
    h.stop()
    h.kill_owned()


def xsrf_session(hub, nb_id):
    s = requests.Session()
    page = s.get(f"{hub.url}/hub/run/{nb_id}?manual=1", timeout=30)
    return s.cookies.get_dict(), xsrf_of(page.text)


def test_thirty_simultaneous_launches_admit_exactly_the_cap(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Burst")).json()
    cookies, xsrf = xsrf_session(hub, rec["id"])

    def launch(i):
        return requests.post(f"{hub.url}/hub/run/{rec['id']}", data={"_xsrf": xsrf}, cookies=cookies,
                             headers={"X-Forwarded-For": f"10.20.0.{i + 1}"}, allow_redirects=False, timeout=180)

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(launch, range(30)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(303) == 5 and codes.count(429) == 25, codes
    for r in answers:
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1 and "max_per_notebook is 5" in r.text
    # the launches go on in the background after their 303: wait for the admitted servers, never more
    def ready():
        users = [u for u in hub.api("GET", "/users").json() if u["name"].startswith("anon~") and u["servers"]]
        assert len(users) <= 5, [u["name"] for u in users]
        return users if len(users) == 5 and all(u["servers"][""].get("ready") for u in users) else None

    running = wait_for(ready, timeout=240, what="the five admitted copies ready")
    hub.attacker = running[0]["name"]


def test_forged_forwarded_for_from_outside_does_not_lift_the_rate_limit(hub):
    """A client behind a real proxy (which appends the address it saw) writes its own hops on the left."""
    rec = publish(hub, hub.prof_token, sample_notebook("Outside")).json()
    answers = [run_copy(hub, rec["id"], headers={"X-Forwarded-For": f"6.6.6.{i}, 203.0.113.7"})[1] for i in range(3)]
    assert isinstance(answers[0], dict) and answers[0]["state"] == "ready", answers[0]
    for r in answers[1:]:
        assert r.status_code == 429 and "rate limit" in r.text and int(r.headers["Retry-After"]) > 60


INSIDE = r'''
import json, re, requests
out = []
for i, base in enumerate([PUBLIC] * 3 + [DIRECT] * 3):
    s = requests.Session()
    forged = {"X-Forwarded-For": f"198.51.100.{i + 1}", "X-Real-Ip": f"198.51.100.{i + 1}"}
    page = s.get(f"{base}/hub/run/{NB}?manual=1", timeout=30, headers=forged)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = s.post(f"{base}/hub/run/{NB}", data={"_xsrf": xsrf}, allow_redirects=False, timeout=180, headers=forged)
    out.append([r.status_code, r.headers.get("Retry-After"), "launch rate limit reached" in r.text])
print(json.dumps(out))
'''


def test_forged_forwarded_for_from_inside_a_sandboxed_server_does_not_lift_the_rate_limit(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Inside")).json()
    attacker = hub.attacker
    token = hub.user_token(attacker, scopes=[f"access:servers!user={attacker}"])
    code = (f"PUBLIC = {hub.url!r}\nDIRECT = 'http://127.0.0.1:{hub.hub_port}'\nNB = {rec['id']!r}\n" + INSIDE)
    out = json.loads(run_code(f"{hub.url}/user/{quote(attacker, safe='~')}/", token, code).splitlines()[-1])
    codes = [c for c, _, _ in out]
    # one launch per hour for the whole server, whichever door and whatever headers it uses
    assert codes.count(303) == 1 and codes.count(429) == 5, out
    for c, retry, rate_limited in out:
        if c == 429:
            assert int(retry) > 60 and rate_limited, out
    # attributed to the server's own uid, through the proxy and directly
    uid = server_process(attacker, hub=hub).uids().real
    assert hub.log_text().count(f"by uid:{uid} refused: launch rate limit") == 5
