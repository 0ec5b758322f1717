"""No bad input turns into a 500: a fuzz suite of hostile requests against one real hub.

Over 1 000 requests across spawn user_options (REST), the spawn form, ``opt-`` links, publish payloads
(JSON and multipart), gallery and run ids, and usernames at login and in the REST API. The number of 5xx
answers is printed and asserted to be 0, and the hub's log must hold no traceback. Beside it: a hostile
record in the store leaves the gallery up, and names that used to fail at spawn get a working home.
"""

from __future__ import annotations

import json
import random
import re
from urllib.parse import quote

import pytest
import requests

from ..harness import Hub, wait_for
from .gallery_helpers import GALLERY_CONFIG, sample_notebook, xsrf_of

pytestmark = pytest.mark.e2e

SEED = 11

#: strings that have broken parsers, encoders, path builders and log readers somewhere
HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\udfff", "x\ud800y", "\u202egnp.exe", "\u2066rtl\u2069", "\x1b[31mred\x1b[0m",
    "line\nbreak", "\r\nSet-Cookie: x=1", "<script>alert(1)</script>", "'\"><img src=x onerror=alert(1)>",
    "../../etc/passwd", "..", ".", "/", "%2e%2e%2f", "%00", "%", "{{7*7}}", "${jndi:ldap://x}", "\ufeff", "\u0085",
    "ＡＢＣ", "ǅ", "𝕏" * 50, "😀" * 100, "a" * 300, "a" * 70_000, "small\x00", "SMALL", "small ", " small",
    "null", "true", "-1", "1e309", "NaN", "[]", "{}", "\\", "\\u0000", "@everyone", "anon~x", "anon~",
]
HOSTILE_VALUES = HOSTILE_TEXT + [None, True, False, 0, -1, 10**30, 1.5, float("inf"), [], {}, ["small"], {"a": 1},
                                 [[[[[]]]]], {"size": {"size": "small"}}]


def base_url(hub: Hub, raw: bytes) -> str:
    """Through the proxy, except paths that are not UTF-8: configurable-http-proxy answers those itself with
    500 (``URIError: URI malformed``) before the hub sees them, so they go to the hub's own port."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"http://127.0.0.1:{hub.hub_port}"
    return hub.url


def deep(n: int) -> str:
    return "[" * n + "]" * n


def text_values(rng: random.Random, k: int) -> list[str]:
    return [rng.choice(HOSTILE_TEXT) for _ in range(k)]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("hostile"), GALLERY_CONFIG + """
c.Saturn.gpus = {"t4": {"count": 1, "groups": ["gpu-users"]}}
c.SaturnLocalSpawner.gpu_devices = {"t4": ["0"]}
c.Saturn.launch_limits = {"rate": {"launches": 1000, "per": "1h"}}
c.JupyterHub.log_level = "INFO"
""").start()
    h.ensure_user("prof", ["instructors"])
    h.ensure_user("stud")
    h.prof_token = h.user_token("prof")
    h.stud_token = h.user_token("stud")
    yield h
    h.stop()


HEADER = re.compile(r"^\[[A-Z] \S+ \S+ (\S+)")


def hub_tracebacks(log: str) -> list[str]:
    """Tracebacks the hub logged (a header line from the ``JupyterHub`` logger, then its indented traceback);
    single-user servers write to the same file but are not the hub."""
    found, header = [], ""
    for line in log.splitlines():
        m = HEADER.match(line)
        if m:
            header = line if m.group(1) == "JupyterHub" else ""
        elif header and line.startswith((" ", "\t")) and line.strip().startswith("Traceback"):
            found.append(header)
    return found


class Tally:
    """Counts answers; remembers every 5xx with what caused it."""

    def __init__(self):
        self.total = 0
        self.errors: list[str] = []
        self.by_kind: dict[str, int] = {}

    def check(self, kind: str, r: requests.Response, what) -> requests.Response:
        self.total += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if r.status_code >= 500 or "Traceback" in r.text:
            self.errors.append(f"{kind} {r.status_code} for {what!r:.200}: {r.text[:300]!r}")
        return r


def _stop_started(hub: Hub, user: str) -> None:
    """Stop a server an accepted request started, once its start has finished: a stop that interrupts a
    pending start is JupyterHub's own race (5.5 logs a traceback from its HTTP client, 6.1 can answer 500),
    not what this suite is about."""
    wait_for(lambda: not hub.user_model(user)["servers"].get("", {}).get("pending"), timeout=240,
             what=f"{user}'s start to finish before stopping it")
    hub.stop_server(user)


def _stop_if_started(hub: Hub, user: str, r: requests.Response) -> None:
    if r.status_code in (201, 202):
        _stop_started(hub, user)


def fuzz_spawn_api(hub: Hub, tally: Tally, rng: random.Random, n: int) -> None:
    for i in range(n):
        choice = i % 4
        if choice == 0:
            options = {rng.choice(["size", "gpu", "disk", "image", "auto_shutoff"]): rng.choice(HOSTILE_VALUES)}
        elif choice == 1:
            options = {rng.choice(HOSTILE_TEXT[:40]) or "k": rng.choice(HOSTILE_VALUES)}
        elif choice == 2:
            options = {"size": "small", "gpu": "t4"}  # not entitled: 403
        else:
            options = {"saturn_shutoff": rng.choice(HOSTILE_VALUES), "size": rng.choice(HOSTILE_VALUES)}
        body = json.dumps(options if hub.version() < (6, 0) else {"user_options": options})
        r = tally.check("spawn-api", hub.api("POST", "/users/stud/server", data=body), options)
        _stop_if_started(hub, "stud", r)
    for body in (deep(100_000), '{"user_options": ' + deep(5000) + "}", "{", "\udfff".encode("utf-8", "surrogatepass"),
                 b"\xff\xfe", json.dumps({"user_options": [1, 2]})):
        r = tally.check("spawn-api", hub.api("POST", "/users/stud/server", data=body), body[:40])
        _stop_if_started(hub, "stud", r)


def fuzz_spawn_form_and_links(hub: Hub, tally: Tally, rng: random.Random, n: int) -> None:
    s = hub.login("stud")
    for i in range(n):
        key = rng.choice(["size", "gpu", "disk", "image", "auto_shutoff", "saturn_shutoff", "x"])
        value = rng.choice(HOSTILE_TEXT[:-1]).encode("utf-8", "surrogatepass")
        raw = quote(key) + "=" + quote(value[:2000] if i % 2 else value)  # the proxy caps URLs (header size)
        if i % 2:
            r = s.get(f"{hub.url}/hub/spawn?opt-{raw}", timeout=60, allow_redirects=False)
            tally.check("opt-link", r, raw)
        else:
            page = s.get(f"{hub.url}/hub/spawn", timeout=60)
            xsrf = re.search(r'xsrf_token: "([^"]+)"', page.text).group(1)
            r = s.post(f"{hub.url}/hub/spawn?_xsrf={xsrf}", data=raw, timeout=60, allow_redirects=False,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            tally.check("spawn-form", r, raw)
        if r.status_code in (302, 303):
            _stop_started(hub, "stud")


def fuzz_publish(hub: Hub, tally: Tally, rng: random.Random, n_json: int, n_multipart: int) -> None:
    nb = sample_notebook()
    for i in range(n_json):
        field = rng.choice(["title", "description", "filename", "environment", "notebook", "extra"])
        value = rng.choice(HOSTILE_VALUES)
        body = {"notebook": nb, field: value}
        if field == "environment" and i % 2:
            body[field] = {rng.choice(["image", "size", "gpu", "disk", "Bad!"]): value}
        data = json.dumps(body, ensure_ascii=bool(i % 2), allow_nan=True).encode("utf-8", "surrogatepass")
        r = tally.check("publish-json", hub.api("POST", "/saturn/notebooks", token=hub.prof_token, data=data), body.get(field))
        if r.status_code == 201:
            hub.api("DELETE", f"/saturn/notebooks/{r.json()['id']}", token=hub.prof_token)
    wrapped = json.dumps(nb)[:-1]
    for body in (deep(100_000), '{"notebook": ' + deep(100_000) + "}",
                 wrapped + ', "metadata": {"x": ' + deep(5_000) + "}}",
                 '{"notebook": {}, "title": "\\udfff"}', '{"notebook": ' + json.dumps(nb) + ', "title": "\\udfff"}',
                 '{"notebook": ' + json.dumps(nb) + ', "description": "\\u202e"}', b"\xff", "[]", "null", "1"):
        data = body.encode() if isinstance(body, str) else body
        r = tally.check("publish-json", hub.api("POST", "/saturn/notebooks", token=hub.prof_token, data=data), body[:60])
        assert r.status_code == 400, (body[:60], r.text[:300])
    for i in range(n_multipart):
        fields = {k: v for k, v in zip(["title", "description", "size", "image", "gpu"], text_values(rng, 5))
                  if rng.random() < 0.6}
        notebook = rng.choice([json.dumps(nb).encode(), deep(100_000).encode(), b"\xff\xfe", b"",
                               json.dumps({"cells": [], "metadata": {"x": json.loads(deep(150))}, "nbformat": 4,
                                           "nbformat_minor": 5}).encode()])
        files = {"notebook": (rng.choice(["a.ipynb", "\u202e.ipynb", "../x", ""]), notebook)}
        data = {k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}
        r = tally.check("publish-multipart", hub.api("POST", "/saturn/notebooks", token=hub.prof_token,
                                                     files=files, data=data), fields)
        if r.status_code == 201:
            hub.api("DELETE", f"/saturn/notebooks/{r.json()['id']}", token=hub.prof_token)


def fuzz_ids(hub: Hub, tally: Tally, rng: random.Random, n: int) -> None:
    s = requests.Session()
    for i in range(n):
        raw = rng.choice(HOSTILE_TEXT[:-1]).encode("utf-8", "surrogatepass")[:3000]
        nb_id = quote(raw, safe="") or "x"
        path = rng.choice([f"/hub/gallery/{nb_id}", f"/hub/gallery/{nb_id}/rendered",
                           f"/hub/gallery/{nb_id}/download/{rng.choice(['ipynb', 'html', 'exe', 'md'])}",
                           f"/hub/run/{nb_id}", f"/hub/api/saturn/notebooks/{nb_id}"])
        tally.check("ids", s.get(base_url(hub, raw) + path, timeout=30, allow_redirects=False), path)


def fuzz_usernames(hub: Hub, tally: Tally, rng: random.Random, n: int) -> None:
    for i in range(n):
        name = rng.choice(HOSTILE_TEXT[:-1])
        if i % 2:
            s = requests.Session()
            page = s.get(hub.url + "/hub/login", timeout=30)
            body = (f"_xsrf={quote(s.cookies.get('_xsrf') or xsrf_of(page.text))}&password=pw&username="
                    + quote(name.encode("utf-8", "surrogatepass")))
            r = s.post(hub.url + "/hub/login", data=body, timeout=60, allow_redirects=False,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            tally.check("login", r, name)
        else:
            raw = name.encode("utf-8", "surrogatepass")[:2000]
            r = requests.post(f"{base_url(hub, raw)}/hub/api/users/{quote(raw, safe='') or '%20'}", timeout=30,
                              headers={"Authorization": f"token {hub.token}"})
            tally.check("api-user", r, name)


@pytest.mark.hub_versions
def test_a_thousand_hostile_requests_get_no_5xx_and_leave_no_traceback(hub):
    rng = random.Random(SEED)
    tally = Tally()
    fuzz_spawn_api(hub, tally, rng, 80)
    fuzz_spawn_form_and_links(hub, tally, rng, 80)
    fuzz_publish(hub, tally, rng, 330, 120)
    fuzz_ids(hub, tally, rng, 300)
    fuzz_usernames(hub, tally, rng, 120)
    print(f"\nhostile requests: {tally.total} ({tally.by_kind}); 5xx answers: {len(tally.errors)}")
    assert tally.total >= 1000
    assert tally.errors == [], "\n".join(e[:160] for e in tally.errors)
    assert hub_tracebacks(hub.log_text()) == []


@pytest.mark.hub_versions
def test_one_warning_line_per_refused_spawn_option(hub):
    before = len(hub.log_text())
    r = hub.spawn("stud", {"size": "huge\nfake log line"})
    assert r.status_code == 400 and r.json()["message"].startswith("unknown size 'huge")
    s = hub.login("stud")
    prefix = "opt-" if hub.version() >= (6, 0) else ""  # JupyterHub 5 passes query arguments as they are
    r = s.get(f"{hub.url}/hub/spawn?{prefix}gpu=t4", timeout=60)
    assert r.status_code in (400, 403)  # the form again, with the message (JupyterHub 6) or a generic one (5.5)
    new = hub.log_text()[before:]
    refusals = [line for line in new.splitlines() if "Refused spawn option" in line]
    assert len(refusals) == 2, new
    assert refusals[0].startswith("[W") and "for stud: field size: unknown size 'huge\\nfake log line'" in refusals[0]
    assert refusals[1].startswith("[W") and "for stud: field gpu:" in refusals[1]
    assert hub_tracebacks(new) == [] and "fake log line" not in new.replace("huge\\nfake log line", "")
    assert "Exception applying user_options" not in new and "Error starting" not in new


def test_gallery_stays_up_with_a_hostile_record_in_the_store(hub):
    good = hub.api("POST", "/saturn/notebooks", token=hub.prof_token,
                   json={"notebook": sample_notebook("Still listed")}).json()
    bad = hub.api("POST", "/saturn/notebooks", token=hub.prof_token,
                  json={"notebook": sample_notebook("Hostile")}).json()
    record = hub.dir / "gallery-store" / "notebooks" / bad["id"] / "record.json"
    data = json.loads(record.read_text())
    data["title"] = "\udfff"
    record.write_text(json.dumps(data))
    listing = requests.get(f"{hub.url}/hub/gallery", timeout=30)
    assert listing.status_code == 200 and "Still listed" in listing.text and bad["id"] not in listing.text
    for path in (f"/hub/gallery/{bad['id']}", f"/hub/gallery/{bad['id']}/rendered", f"/hub/run/{bad['id']}"):
        assert requests.get(hub.url + path, timeout=30).status_code == 404, path
    assert requests.get(f"{hub.url}/hub/gallery/{good['id']}", timeout=30).status_code == 200
    assert "damaged gallery record" in hub.log_text()


@pytest.mark.parametrize("name", ["é" * 150, "名" * 100])
def test_names_that_used_to_fail_get_a_working_home(hub, name):
    escaped = quote(name, safe="")
    assert hub.api("POST", f"/users/{escaped}").status_code in (201, 409)
    r = hub.spawn(escaped)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    homes = [p for p in hub.homes.iterdir() if p.is_dir()]
    assert all(p.parent == hub.homes for p in homes) and all(len(p.name.encode()) <= 255 for p in homes)
    hub.stop_server(escaped)
