"""saturn-local end to end: a real JupyterHub + configurable-http-proxy spawning real single-user servers."""

from __future__ import annotations

import re
import threading

import pytest
import requests

from ..harness import resolved, server_env, wait_for

pytestmark = pytest.mark.e2e

CATALOG = """
c.JupyterHub.spawner_class = "saturn-local"
c.JupyterHub.allow_named_servers = True
c.Saturn.sizes = {
    "small": {"display_name": "Small", "cpu": 1, "memory": "2G"},
    "medium": {"display_name": "Medium", "cpu": 2, "memory": "8G"},
    "large": {"display_name": "Large", "cpu": 8, "memory": "32G", "groups": ["staff"]},
}
c.Saturn.gpus = {
    "t4": {"display_name": "1 x T4", "count": 1, "groups": ["gpu-users"]},
    "a100x2": {"display_name": "2 x A100", "count": 2, "groups": ["staff"]},
}
c.Saturn.disks = {"10Gi": {}, "50Gi": {}, "200Gi": {"groups": ["staff"]}}
c.Saturn.images = {
    "python": {"display_name": "Python", "prefix": sys.prefix},
    "datascience": {"display_name": "Data science", "prefix": sys.prefix, "env": {"SATURN_FLAVOR": "ds"}},
}
c.Saturn.defaults = {"size": "small", "disk": "10Gi", "image": "python"}
c.SaturnLocalSpawner.gpu_devices = {"t4": ["0", "1"], "a100x2": ["2", "3"]}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from ..harness import Hub

    h = Hub(tmp_path_factory.mktemp("local"), CATALOG).start()
    h.ensure_user("ann", ["gpu-users"])
    h.ensure_user("bob", ["gpu-users"])
    h.ensure_user("cat", ["gpu-users"])
    h.ensure_user("stu")
    h.ensure_user("sam", ["staff"])
    yield h
    h.stop()


def _opts(model):
    return model.get("user_options") or {}


@pytest.mark.hub_versions
def test_api_spawn_each_profile_sets_limits_gpu_and_image(hub):
    cases = [
        ("sam", {"size": "small"}, dict(MEM_LIMIT=str(2 * 10**9), CPU_LIMIT=1.0, gpus="", disk=10 * 2**30)),
        ("sam", {"size": "medium", "disk": "50Gi"}, dict(MEM_LIMIT=str(8 * 10**9), CPU_LIMIT=2.0, gpus="", disk=50 * 2**30)),
        ("sam", {"size": "large", "gpu": "a100x2", "disk": "200Gi", "image": "datascience"},
         dict(MEM_LIMIT=str(32 * 10**9), CPU_LIMIT=8.0, gpus="2,3", disk=200 * 2**30)),
    ]
    for user, options, want in cases:
        r = hub.spawn(user, options)
        assert r.status_code in (201, 202), r.text
        model = hub.wait_ready(user)
        env = server_env(user)
        assert env["MEM_LIMIT"] == want["MEM_LIMIT"]
        assert float(env["CPU_LIMIT"]) == want["CPU_LIMIT"]
        assert env["CUDA_VISIBLE_DEVICES"] == want["gpus"]
        assert env["SATURN_DISK_LIMIT"] == str(want["disk"])
        assert env["HOME"].endswith("/homes/" + user) and env["_CWD"] == env["HOME"]
        # the choice is stored as sent; what the server started with (defaults included) is beside it, in its state
        expected = {"size": "small", "gpu": "none", "disk": "10Gi", "image": "python", **options}
        assert {k: resolved(model)[k] for k in expected} == expected and _opts(model) == options
        if options.get("image") == "datascience":
            assert env["SATURN_FLAVOR"] == "ds"
        # the server answers through the proxy
        token = hub.user_token(user)
        r = requests.get(hub.url + model["url"] + "api/status", headers={"Authorization": f"token {token}"}, timeout=30)
        assert r.status_code == 200, r.text
        hub.stop_server(user)


@pytest.mark.parametrize(
    "options, status, field, allowed",
    [
        ({"size": "huge"}, 400, "size", ["small", "medium"]),
        ({"size": "large"}, 403, "size", ["small", "medium"]),
        ({"gpu": "a100x2"}, 403, "gpu", ["none", "t4"]),
        ({"gpu": 1}, 400, "gpu", ["none", "t4"]),
        ({"disk": "200Gi"}, 403, "disk", ["10Gi", "50Gi"]),
        ({"image": ["python"]}, 400, "image", ["python", "datascience"]),
        ({"colour": "red"}, 400, "colour", ["size", "gpu", "disk", "image"]),
    ],
)
@pytest.mark.hub_versions
def test_bad_choices_answer_400_or_403_naming_field_and_allowed(hub, options, status, field, allowed):
    r = hub.spawn("ann", options)
    assert r.status_code == status, r.text
    message = r.json()["message"]
    assert repr(field) in message or field in message
    for value in allowed:
        assert repr(value) in message
    assert "Traceback" not in r.text
    assert "" not in hub.user_model("ann")["servers"]


def test_empty_options_take_the_defaults(hub):
    r = hub.spawn("stu", {})
    assert r.status_code in (201, 202), r.text
    model = hub.wait_ready("stu")
    assert {k: resolved(model)[k] for k in ("size", "gpu", "disk", "image")} == {
        "size": "small", "gpu": "none", "disk": "10Gi", "image": "python"}
    assert _opts(model) == {}  # nothing chosen, nothing stored: the next start takes the defaults of its time
    hub.stop_server("stu")


def test_gpu_assignment_is_exclusive_under_concurrent_spawns_and_released_on_stop(hub):
    users = ["ann", "bob", "cat"]
    results = {}

    def go(user):
        results[user] = hub.spawn(user, {"gpu": "t4"})

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [u for u, r in results.items() if r.status_code in (201, 202)]
    refused = [u for u, r in results.items() if r.status_code not in (201, 202)]
    assert len(ok) == 2 and len(refused) == 1, {u: (r.status_code, r.text) for u, r in results.items()}
    r = results[refused[0]]
    assert r.status_code == 503 and "no free t4 GPU" in r.json()["message"], r.text
    devices = set()
    for u in ok:
        hub.wait_ready(u)
        devices.add(server_env(u)["CUDA_VISIBLE_DEVICES"])
    assert devices == {"0", "1"}
    # stopping one frees its device for the refused user
    hub.stop_server(ok[0])
    r = hub.spawn(refused[0], {"gpu": "t4"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(refused[0])
    assert server_env(refused[0])["CUDA_VISIBLE_DEVICES"] in devices
    assert server_env(refused[0])["CUDA_VISIBLE_DEVICES"] != server_env(ok[1])["CUDA_VISIBLE_DEVICES"]
    for u in (refused[0], ok[1]):
        hub.stop_server(u)


def test_spawn_form_offers_only_entitled_choices_and_preselects_last(hub):
    hub.spawn("stu", {"size": "medium", "disk": "50Gi"})
    hub.wait_ready("stu")
    hub.stop_server("stu")
    s = hub.login("stu")
    page = s.get(hub.url + "/hub/spawn", timeout=30)
    assert page.status_code == 200
    html = page.text
    assert 'value="small"' in html and 'value="medium"' in html
    assert 'value="large"' not in html and 'value="t4"' not in html and 'value="200Gi"' not in html
    assert re.search(r'value="medium"\s+checked', html)
    assert re.search(r'value="50Gi"\s+selected', html)
    assert "advisory" in html


@pytest.mark.hub_versions
def test_form_post_spawns_and_bad_form_rerenders_with_message(hub):
    s = hub.login("bob")
    xsrf = s.cookies.get("_xsrf")
    bad = s.post(hub.url + "/hub/spawn", data={"size": "large", "_xsrf": xsrf}, timeout=60)
    assert bad.status_code == 403
    assert "you may not use size &#39;large&#39;" in bad.text or "you may not use size 'large'" in bad.text
    good = s.post(hub.url + "/hub/spawn", data={"size": "medium", "gpu": "t4", "disk": "50Gi", "image": "python",
                                                  "_xsrf": xsrf}, timeout=60, allow_redirects=False)
    assert good.status_code == 302, good.text[:500]
    model = hub.wait_ready("bob")
    assert _opts(model)["gpu"] == "t4"
    env = server_env("bob")
    assert env["MEM_LIMIT"] == str(8 * 10**9) and env["CUDA_VISIBLE_DEVICES"] in ("0", "1")
    home = s.get(hub.url + "/hub/home", timeout=30).text
    # the home page shows the running server's choices (display names, keyed by the stored choice)
    assert 'id="saturn-servers"' in home
    assert 'class="saturn-size" data-key="medium"' in home and 'class="saturn-gpu" data-key="t4"' in home
    hub.stop_server("bob")


@pytest.mark.hub_versions
def test_query_link_spawns_with_options(hub):
    s = hub.login("cat")
    major = hub.version()[0]
    params = {"opt-size": "medium", "opt-disk": "50Gi"} if major >= 6 else {"size": "medium", "disk": "50Gi"}
    r = s.get(hub.url + "/hub/spawn", params=params, timeout=60, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    model = hub.wait_ready("cat")
    assert _opts(model)["size"] == "medium" and _opts(model)["disk"] == "50Gi"
    hub.stop_server("cat")
    bad = s.get(hub.url + "/hub/spawn", params={"opt-size": "huge"} if major >= 6 else {"size": "huge"}, timeout=60)
    assert bad.status_code == 400 and "unknown size" in bad.text


def test_auto_shutoff_choice_is_stored_and_bad_choices_refused(hub):
    r = hub.spawn("stu", {"auto_shutoff": "6h", "saturn_shutoff": {"idle_timeout": 999999}})
    assert r.status_code in (201, 202), r.text
    model = hub.wait_ready("stu")
    assert _opts(model) == {"auto_shutoff": "6h"}  # what the user chose: no defaults, nothing derived
    opts = resolved(model)
    assert opts["auto_shutoff"] == "6h" and opts["size"] == "small", opts
    assert opts["saturn_shutoff"]["idle_timeout"] == 6 * 3600  # recomputed, never taken from input
    proc_args = " ".join(__import__("psutil").Process(int(server_env("stu")["_PID"])).cmdline())
    assert "--ServerApp.shutdown_no_activity_timeout=" in proc_args
    hub.stop_server("stu")
    r = hub.spawn("stu", {"auto_shutoff": "3 fortnights"})
    assert r.status_code == 400 and "auto_shutoff" in r.json()["message"] and "'1h'" in r.json()["message"], r.text


@pytest.mark.hub_versions
def test_a_refused_request_does_not_become_the_next_default(hub):
    assert hub.spawn("stu", {"size": "medium"}).status_code in (201, 202)
    hub.wait_ready("stu")
    hub.stop_server("stu")
    assert hub.spawn("stu", {"gpu": "t4"}).status_code == 403
    # a start without options reuses the last *accepted* choice, not the refused one
    r = hub.api("POST", "/users/stu/server")
    assert r.status_code in (201, 202), r.text
    model = hub.wait_ready("stu")
    assert _opts(model) == {"size": "medium"} and resolved(model)["gpu"] == "none"
    hub.stop_server("stu")
