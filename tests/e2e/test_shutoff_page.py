"""Time left, visible: ``GET /hub/api/saturn/shutoff`` and the home page's warning banner, on a
real hub with the culler as a managed service. The warning shows before the stop."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from ..harness import Hub, resolved, wait_for

pytestmark = pytest.mark.e2e

CONFIG = """
from jupyterhub_saturn.culler import culler_service
c.JupyterHub.spawner_class = "saturn-local"
c.JupyterHub.allow_named_servers = True
c.Saturn.auto_shutoff = {"choices": ["1m", "1h", "never"], "default": "1m", "warn_before": "30s",
                         "caps": [{"match": {}, "max_age": "2h"}]}
service, role = culler_service(every=2)
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)
c.JupyterHub.services.append({"name": "nobody", "api_token": "nobody-token-0123456789"})
"""

BANNER = re.compile(r'<div id="saturn-shutoff-warning"[^>]*>')


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now():
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("shutoff-page"), CONFIG).start()
    for name in ("dan", "eli"):
        h.ensure_user(name)
    yield h
    h.stop()


def banner(html: str) -> tuple[bool, str]:
    """(visible, text) of the warning banner."""
    m = BANNER.search(html)
    assert m, "no warning banner element on the home page"
    end = html.index("</div>", m.end())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[m.end():end])).strip()
    return "hidden" not in m.group(0), text


@pytest.mark.hub_versions
def test_route_reports_deadlines_and_the_banner_shows_before_the_stop(hub):
    r = hub.spawn("dan", {})
    assert r.status_code in (201, 202), r.text
    model = hub.wait_ready("dan")
    session = hub.login("dan")

    def look_before_the_window():
        # fresh activity: 60 s to go, the last 30 s with a warning; a look that a loaded machine made
        # too slow to land before the window is taken again after fresh activity (bounded by wait_for)
        stamp = now().replace(tzinfo=None).isoformat() + "Z"
        r = hub.api("POST", "/users/dan/activity", json={"servers": {"": {"last_activity": stamp}}})
        assert r.status_code == 200, r.text
        route = session.get(hub.url + "/hub/api/saturn/shutoff", timeout=30)
        home = session.get(hub.url + "/hub/home", timeout=30).text
        assert route.status_code == 200, route.text
        return (stamp, route, home) if now() < utc(route.json()["servers"][""]["warn_at"]) else None

    stamp, route, home = wait_for(look_before_the_window, timeout=180, interval=0, what="a look before the window")
    body = route.json()
    assert body["user"] == "dan" and set(body["servers"]) == {""}
    s = body["servers"][""]
    assert (s["auto_shutoff"], s["idle_timeout"], s["max_age"], s["warn_before"]) == ("1m", 60, 7200, 30)
    assert s["started"] == model["started"] and s["reason"] == "idle" and s["managed"]
    assert utc(s["idle_deadline"]) == utc(stamp) + timedelta(seconds=60) == utc(s["stop_at"])
    assert utc(s["age_deadline"]) == utc(model["started"]) + timedelta(hours=2)
    assert utc(s["warn_at"]) == utc(s["stop_at"]) - timedelta(seconds=30)
    assert not s["warn"] and 30 < s["seconds_left"] <= 60, s
    # the admin API's server model carries the same inputs
    srv = hub.user_model("dan")["servers"][""]
    assert resolved(srv)["saturn_shutoff"] == {"idle_timeout": 60, "max_age": 7200, "warn_before": 30,
                                               "count_busy_kernels": False}
    assert srv["user_options"] == {}, srv  # what the user chose: nothing; the defaults and numbers are derived
    assert utc(srv["last_activity"]) + timedelta(seconds=60) == utc(s["stop_at"])
    # the home page, rendered before the warning window: time left, no banner
    assert not banner(home)[0]
    row = re.search(r'<td class="saturn-stop-at" data-stop-at="([^"]+)">(.*?)</td>', home, re.S)
    assert row and row.group(1) == s["stop_at"] and "idle" in row.group(2) and "UTC" in row.group(2)

    def warned():
        b = session.get(hub.url + "/hub/api/saturn/shutoff", timeout=30).json()
        return b if b["servers"] and b["servers"][""]["warn"] else None

    w = wait_for(warned, timeout=90, interval=0.5, what="the warning window")
    assert 0 <= w["servers"][""]["seconds_left"] <= 30
    html = session.get(hub.url + "/hub/home", timeout=30).text
    still_running = "" in hub.user_model("dan")["servers"]
    visible, text = banner(html)
    assert visible and "Your server default will shut down in" in text and "idle" in text, text
    assert still_running, "the warning came too late to be seen"
    wait_for(lambda: "" not in hub.user_model("dan")["servers"], timeout=120, what="the culler to stop dan")
    stop_lines = [line for line in hub.log_text().splitlines() if "] Stopping dan: idle deadline" in line]
    assert len(stop_lines) == 1
    deadline = utc(re.search(r"idle deadline (\S+) passed", stop_lines[0]).group(1))
    assert utc(w["now"]) < deadline == utc(s["stop_at"])
    # once stopped, nothing is reported and the banner is gone
    assert session.get(hub.url + "/hub/api/saturn/shutoff", timeout=30).json()["servers"] == {}
    assert not banner(session.get(hub.url + "/hub/home", timeout=30).text)[0]


def test_route_lists_each_running_server(hub):
    for name, choice in (("big", "1h"), ("small", "1m")):
        r = hub.spawn("eli", {"auto_shutoff": choice}, server=name)
        assert r.status_code in (201, 202), r.text
        hub.wait_ready("eli", name)
    r = hub.api("GET", "/saturn/shutoff?user=eli")
    assert r.status_code == 200, r.text
    servers = r.json()["servers"]
    assert set(servers) == {"big", "small"}
    assert servers["big"]["auto_shutoff"] == "1h" and servers["big"]["seconds_left"] > 3000
    assert servers["small"]["auto_shutoff"] == "1m" and servers["small"]["seconds_left"] <= 60
    for name in servers:
        hub.stop_server("eli", name)


@pytest.mark.parametrize("who, query, status, words", [
    (None, "", 403, "credentials"),
    ("dan", "?user=eli", 404, "No access"),
    ("dan", "?user=", 400, "user"),
    ("dan", "?user=%20", 400, "user"),
    ("admin", "?user=nobody-here", 404, "No such user"),
    ("admin", "", 400, "a service must name the user"),
    ("service-without-scopes", "?user=dan", 403, "read:servers"),
    ("token-without-read-servers", "", 403, "read:servers"),
])
def test_route_refuses_properly(hub, who, query, status, words):
    headers = {}
    if who == "admin":
        headers["Authorization"] = f"token {hub.token}"
    elif who == "service-without-scopes":
        headers["Authorization"] = "token nobody-token-0123456789"
    elif who == "token-without-read-servers":
        headers["Authorization"] = "token " + hub.user_token("dan", scopes=["read:users:activity!user=dan"])
    if who == "dan":
        session = hub.login("dan")
        r = session.get(hub.url + "/hub/api/saturn/shutoff" + query, timeout=30)
    else:
        import requests

        r = requests.get(hub.url + "/hub/api/saturn/shutoff" + query, headers=headers, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert words in r.json()["message"]


def test_admin_may_ask_about_any_user(hub):
    r = hub.api("GET", "/saturn/shutoff?user=dan")
    assert r.status_code == 200 and r.json()["user"] == "dan" and r.json()["servers"] == {}


# ------------------------------------------------------------ the banner in a real browser


def test_banner_appears_counts_down_and_goes_in_the_browser(hub, browser):
    hub.ensure_user("fia")
    r = hub.spawn("fia", {})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("fia")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{hub.url}/hub/login")
        page.fill("input[name=username]", "fia")
        page.fill("input[name=password]", "pw")
        page.click("input[type=submit], button[type=submit]")
        banner = page.locator("#saturn-shutoff-warning")

        def loaded_before_the_window():
            # fresh activity, then the page; a load a loaded machine made too slow is done again
            stamp = now().replace(tzinfo=None).isoformat() + "Z"
            r = hub.api("POST", "/users/fia/activity", json={"servers": {"": {"last_activity": stamp}}})
            assert r.status_code == 200, r.text
            page.goto(f"{hub.url}/hub/home")
            hidden = banner.is_hidden()
            warn_at = utc(stamp) + timedelta(seconds=30)
            return (warn_at, hidden) if now() < warn_at else None

        warn_at, hidden = wait_for(loaded_before_the_window, timeout=180, interval=0, what="a page load before the window")
        assert hidden
        left = page.locator("tr.saturn-server[data-server=''] .saturn-time-left")
        first = left.inner_text()
        # no reload from here on: the page's script shows the banner when the window opens ...
        banner.wait_for(state="visible", timeout=90_000)
        assert now() >= warn_at - timedelta(seconds=1)
        text = banner.inner_text()
        assert "Your server default will shut down in" in text and "idle" in text, text
        assert left.inner_text() != first  # the countdown moves
        # ... and hides it once the culler has stopped the server
        wait_for(lambda: "" not in hub.user_model("fia")["servers"], timeout=120, what="the culler to stop fia")
        banner.wait_for(state="hidden", timeout=60_000)
    finally:
        context.close()
