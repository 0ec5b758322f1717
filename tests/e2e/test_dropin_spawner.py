"""An admin's existing spawner config keeps working with saturn-local, on a real hub with real servers:
options_from_form (form and ?opt- links), declared extra user_options reaching pre_spawn_hook, and
group_overrides raising a size's memory limit (docs/compat.md)."""

from __future__ import annotations

import pytest

from ..harness import server_env

pytestmark = pytest.mark.e2e

CONFIG = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {
    "small": {"display_name": "Small", "cpu": 1, "memory": "2G"},
    "medium": {"display_name": "Medium", "cpu": 2, "memory": "8G"},
}
c.Saturn.images = {"python": {"display_name": "Python", "prefix": sys.prefix}}
c.Saturn.extra_options = {"team": {"type": "str", "choices": ["red", "blue"]}}

def from_form(form_data, spawner):
    # an admin's own form: a "flavour" field for the size, and a team
    options = {"size": form_data["flavour"][0]}
    if "team" in form_data:
        options["team"] = form_data["team"][0]
    return options

c.Spawner.options_from_form = from_form

def pre_spawn_hook(spawner):
    spawner.environment = dict(spawner.environment, TEAM=str(spawner.user_options.get("team")))

c.Spawner.pre_spawn_hook = pre_spawn_hook
c.Spawner.group_overrides = {"big": {"groups": ["big"], "spawner_override": {"mem_limit": "16G"}}}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from ..harness import Hub

    h = Hub(tmp_path_factory.mktemp("dropin"), CONFIG).start()
    h.ensure_user("dee")
    h.ensure_user("gil", ["big"])
    yield h
    h.stop()


@pytest.mark.hub_versions
def test_query_link_goes_through_the_admins_options_from_form_to_pre_spawn_hook(hub):
    s = hub.login("dee")
    opt = "opt-" if hub.version()[0] >= 6 else ""
    r = s.get(hub.url + "/hub/spawn", params={f"{opt}flavour": "medium", f"{opt}team": "blue"},
              timeout=60, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    model = hub.wait_ready("dee")
    assert model["user_options"]["size"] == "medium" and model["user_options"]["team"] == "blue"
    env = server_env("dee", hub=hub)
    assert env["TEAM"] == "blue" and env["MEM_LIMIT"] == str(8 * 10**9)
    hub.stop_server("dee")
    bad = s.get(hub.url + "/hub/spawn", params={f"{opt}flavour": "medium", f"{opt}team": "<script>"}, timeout=60)
    assert bad.status_code == 400 and "unknown team" in bad.text and "&lt;script&gt;" in bad.text


@pytest.mark.hub_versions
def test_api_extra_keys_declared_or_refused_and_group_overrides_raise_the_size(hub):
    r = hub.spawn("gil", {"size": "small", "colour": "red"})
    assert r.status_code == 400 and "unknown option 'colour'" in r.text
    r = hub.spawn("gil", {"size": "small", "team": ["red"] * 3})
    assert r.status_code == 400 and "team must be a string" in r.text
    r = hub.spawn("gil", {"size": "small", "team": "red"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("gil")
    env = server_env("gil", hub=hub)
    # the small size (2G) is raised by the group override (16G), and the team reached pre_spawn_hook
    assert env["MEM_LIMIT"] == str(16 * 1024**3) and env["TEAM"] == "red"
    hub.stop_server("gil")
