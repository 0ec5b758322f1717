"""``jupyterhub_saturn.setup(c)`` on a hub whose authenticator is the institution's own (not a saturn-* class):
every feature is there, config mistakes stop the hub naming the key, the admin's templates win."""

from __future__ import annotations

import requests
import pytest

from ..harness import Hub
from ..upstream.suites import write_kubeconfig
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook

# the mount relies on how each JupyterHub version builds its routes and template loader
pytestmark = [pytest.mark.e2e, pytest.mark.hub_versions]

#: an institution's own authenticator, defined in its config (like an LDAP or CILogon subclass would be)
CAMPUS_AUTH = """
from jupyterhub.auth import Authenticator

class CampusAuthenticator(Authenticator):
    async def authenticate(self, handler, data):
        if data.get("password") == "campus":
            return {"name": data["username"], "groups": ["instructors"] if data["username"] == "prof" else []}
        return None

c.JupyterHub.authenticator_class = CampusAuthenticator
c.Authenticator.manage_groups = True
"""


def campus_auth(templates: str) -> str:
    return CAMPUS_AUTH + f"c.JupyterHub.template_paths = [{templates!r}]\n"

SETUP = """
import jupyterhub_saturn
jupyterhub_saturn.setup(c)
"""

ADMIN_HOME = """{% extends "templates/home.html" %}
{% block main %}<p id="campus-home">Welcome to Campus</p>{{ super() }}{% endblock %}
"""
ADMIN_PAGE = """{% extends "templates/page.html" %}
{% block stylesheet %}{{ super() }}<meta name="campus-page" content="yes">{% endblock %}
"""


def _admin_templates(directory):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "home.html").write_text(ADMIN_HOME)
    (directory / "page.html").write_text(ADMIN_PAGE)
    return str(directory)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("mount-any-auth")
    config = GALLERY_CONFIG + campus_auth(_admin_templates(root / "campus-templates")) + SETUP
    h = Hub(root / "hub", config).start()
    h.ensure_user("prof", ["instructors"])
    h.prof_token = h.user_token("prof")
    yield h
    h.stop()


def test_the_admins_authenticator_is_kept_and_the_product_is_mounted(hub):
    log = hub.log_text()
    assert "jupyterhub-saturn mounted into SaturnCampusAuthenticator" in log
    assert "extra_handlers is deprecated" not in log
    # the institution's own login rules decide
    s = hub.login("ann", password="campus")
    with pytest.raises(AssertionError):
        hub.login("ann", password="pw")
    # throwaway names stay reserved whatever the authenticator returns
    with pytest.raises(AssertionError):
        hub.login("anon~abc", password="campus")
    # the shutoff API and a spawn refusal naming the field and the allowed values
    r = s.get(hub.url + "/hub/api/saturn/shutoff", timeout=30)
    assert r.status_code == 200 and r.json()["servers"] == {}, r.text
    r = hub.spawn("ann", {"size": "huge"})
    assert r.status_code == 400 and "size" in r.json()["message"] and "'small'" in r.json()["message"], r.text


def test_admin_templates_come_first_and_product_pages_extend_them(hub):
    s = hub.login("ann", password="campus")
    home = s.get(hub.url + "/hub/home", timeout=30)
    assert home.status_code == 200
    assert 'id="campus-home"' in home.text           # the admin's home.html wins over the product's
    assert "saturn-server-table" not in home.text
    assert 'name="campus-page"' in home.text         # ... and the admin's page.html is used
    gallery = requests.get(hub.url + "/hub/gallery", timeout=30)
    assert gallery.status_code == 200
    assert 'name="campus-page"' in gallery.text      # the product's page extends the admin's page.html


def test_publish_and_anonymous_run_this_copy(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Campus lecture"))
    assert rec.status_code == 201, rec.text
    rec = rec.json()
    assert "Campus lecture" in requests.get(hub.url + "/hub/gallery", timeout=30).text
    _, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    name = status["url"].split("/user/")[1].split("/")[0]
    assert name.startswith("anon~")
    model = hub.user_model(name)
    assert model["roles"] == ["saturn-throwaway"] and model["groups"] == ["saturn-throwaway"]
    hub.stop_server(name)


@pytest.mark.parametrize("bad_line, path", [
    ('c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2 apples"}}', "Saturn.sizes.small.memory"),
    ('c.SaturnGallery.warm_pool = {"nope": 1}', "SaturnGallery.warm_pool.nope"),
    ("c.SaturnGallery.warm_pool = None", "The 'warm_pool' trait of a SaturnGallery instance expected a dict"),
])
def test_a_config_mistake_stops_the_hub_naming_the_key(hub_factory, tmp_path, bad_line, path):
    config = GALLERY_CONFIG + campus_auth(_admin_templates(tmp_path / "t")) + bad_line + SETUP
    code, output = hub_factory(config, start=False).run_expecting_exit()
    assert code != 0
    assert f"jupyterhub-saturn configuration error: {path}" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_an_authenticator_name_that_does_not_load_stops_the_hub(hub_factory):
    code, output = hub_factory('c.JupyterHub.authenticator_class = "no-such-auth"' + SETUP, start=False).run_expecting_exit()
    assert code != 0
    assert "jupyterhub-saturn configuration error: JupyterHub.authenticator_class: cannot load 'no-such-auth'" in output


def test_without_setup_a_saturn_spawner_still_refuses_a_profile_list(hub_factory, tmp_path):
    """JupyterHub's stock DummyAuthenticator, saturn-kube, no ``setup(c)``: nothing saturn validates at start-up,
    so the spawner refuses the config itself: a spawn is a 503 naming KubeSpawner.profile_list, not a server
    that silently ignores the profiles (no cluster is needed: the refusal comes before any API call)."""
    config = """
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "saturn-kube"
c.KubeSpawner.profile_list = [{"display_name": "Large", "kubespawner_override": {"mem_limit": "32G"}}]
"""
    hub = hub_factory(config, env={"KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig"))})
    hub.ensure_user("kim")
    r = hub.spawn("kim", {})
    assert r.status_code == 503, r.text[:500]
    assert "jupyterhub-saturn configuration error: KubeSpawner.profile_list" in r.json()["message"]
    assert "c.Saturn" in r.json()["message"]
    log = hub.log_text()
    assert "jupyterhub-saturn configuration error: KubeSpawner.profile_list" in log and "Traceback" not in log
