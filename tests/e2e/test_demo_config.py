"""The ready config `make demo` runs: the README's logins, entitlements and Run this copy work as stated."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from ..harness import REPO, Hub, resolved, server_env, wait_for
from .gallery_helpers import run_copy, sample_notebook

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    hub = Hub(tmp, "")
    # the demo config itself, with only the ports moved so tests can run beside a real demo
    hub.config_file.write_text(
        f"c = get_config()\n"
        f"load_subconfig({str(REPO / 'config' / 'jupyterhub_config.py')!r})\n"
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{hub.port}'\n"
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub.hub_port}'\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{hub.proxy_api_port}'\n"
        f"c.JupyterHub.services.append({{'name': 'tester', 'api_token': {hub.token!r}}})\n"
        f"c.JupyterHub.load_roles.append({{'name': 'tester-role', 'scopes': ['admin:users', 'admin:servers', 'tokens', "
        f"'list:users', 'read:users', 'list:services', 'read:services'], 'services': ['tester']}})\n"
    )
    hub.env["SATURN_DEMO_DIR"] = str(tmp / "state")
    hub.start()
    yield hub
    hub.stop()


@pytest.mark.hub_versions
def test_readme_logins_and_entitlements(demo):
    student = demo.login("student", "saturn-demo")
    form = student.get(demo.url + "/hub/spawn", timeout=60).text
    assert 'value="small"' in form and 'value="large"' not in form and 'value="t4"' not in form
    instructor = demo.login("instructor", "saturn-demo")
    form = instructor.get(demo.url + "/hub/spawn", timeout=60).text
    assert 'value="large"' in form and 'value="t4"' in form
    s = requests.Session()
    s.get(demo.url + "/hub/login", timeout=30)
    r = s.post(demo.url + "/hub/login", data={"username": "mallory", "password": "saturn-demo",
                                              "_xsrf": s.cookies.get("_xsrf")}, allow_redirects=False, timeout=30)
    assert r.status_code != 302  # not an allowed user
    r = demo.spawn("instructor", {"size": "medium", "gpu": "t4", "auto_shutoff": "never"})
    assert r.status_code == 400 and "1h idle cap for gpu 't4'" in r.json()["message"]
    r = demo.spawn("instructor", {"size": "medium", "gpu": "t4", "auto_shutoff": "1h"})
    assert r.status_code in (201, 202), r.text
    demo.wait_ready("instructor")
    env = server_env("instructor")
    assert env["CUDA_VISIBLE_DEVICES"] in ("0", "1") and env["MEM_LIMIT"] == str(8 * 10**9)
    demo.stop_server("instructor")
    r = demo.spawn("student", {"auto_shutoff": "never"})
    assert r.status_code in (400, 403), r.text
    r = demo.spawn("instructor", {"auto_shutoff": "never"})
    assert r.status_code in (201, 202), r.text
    assert resolved(demo.wait_ready("instructor"))["saturn_shutoff"]["idle_timeout"] is None
    demo.stop_server("instructor")


def test_the_demo_hub_starts_quietly(demo):
    # what a user reads in the terminal: no deprecation, testing-authenticator or error lines to decode; the one
    # warning left is JupyterHub's own notice that the loopback demo runs without SSL
    log = demo.log_text()
    lines = log[:log.index("JupyterHub is now running")].splitlines()  # start-up only: later tests log refusals
    noisy = [line for line in lines if line.startswith(("[W", "[E", "[C", "Traceback")) or "eprecat" in line]
    assert [line for line in noisy if "without SSL" not in line] == [], noisy


def test_the_demo_admin_logs_in_with_a_long_password_only(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    def load(**env):
        for key in ("SATURN_DEMO_ADMIN_PASSWORD", "SATURN_DEMO_PASSWORD"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SATURN_DEMO_DIR", str(tmp_path))
        return PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "config")).load_config()

    c = load()
    assert c.JupyterHub.authenticator_class == "saturn-shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "saturn-demo"
    assert "admin_users" not in c.Authenticator and "admin_password" not in c.SharedPasswordAuthenticator
    c = load(SATURN_DEMO_ADMIN_PASSWORD="x" * 32)
    assert c.Authenticator.admin_users == {"admin"} and c.SharedPasswordAuthenticator.admin_password == "x" * 32


def test_instructor_publishes_and_a_visitor_runs_a_copy(demo):
    token = demo.user_token("instructor")
    r = demo.api("POST", "/saturn/notebooks", token=token, json={"notebook": sample_notebook("Demo lecture")})
    assert r.status_code == 201, r.text
    nb_id = r.json()["id"]
    assert demo.api("POST", "/saturn/notebooks", token=demo.user_token("student"),
                    json={"notebook": sample_notebook()}).status_code == 403
    _, status = run_copy(demo, nb_id)
    assert status["state"] == "ready", status
    name = status["url"].split("/user/")[1].split("/")[0]
    demo.stop_server(name)


def test_the_culler_service_runs(demo):
    r = demo.api("GET", "/services")
    assert r.status_code == 200, r.text
    assert "saturn-culler" in r.json(), r.json()
    assert wait_for(lambda: "saturn-culler" in demo.log_text() and "sweep" in demo.log_text().lower(), timeout=90,
                    what="the culler's first sweep")


def test_the_demo_config_is_the_one_make_demo_runs():
    assert '/bin/jupyterhub" -f config/jupyterhub_config.py' in (REPO / "scripts" / "demo.sh").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme and "saturn-demo" in readme
    # and the file is valid Python that JupyterHub can load
    assert subprocess.run([sys.executable, "-m", "py_compile", str(REPO / "config" / "jupyterhub_config.py")]).returncode == 0


def test_make_demo_runs_from_its_own_venv_without_the_test_extras():
    # make's own plan (nothing runs: -n), every target taken as out of date (-B)
    plan = subprocess.run(["make", "-n", "-B", "demo"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    installs = [line for line in lines if "pip install" in line and " -e " in line]
    assert any(".demo-envs/hub/bin/pip install" in line and '-e ".[collab]"' in line for line in installs), installs
    assert installs and not any("[test]" in line or ".[kube" in line or "oauth" in line for line in installs), installs
    assert "VENV=.demo-envs/hub bash scripts/demo.sh" in lines, lines[-5:]
    assert not any(".venv" in line for line in lines)  # the test venvs stay as they are, unused
    # the labextension is built with the demo hub venv's jupyter-builder and linked into both demo environments
    assert any(".demo-envs/hub/bin/jupyter-builder" in line for line in lines)
    assert sum("share/jupyter/labextensions/jupyterhub-saturn" in line for line in lines) >= 2


#: installed in the test venv for the tests only (setup.cfg's `test` extra): the demo must not need them
TEST_ONLY = ("pytest", "pytest_asyncio", "hypothesis", "playwright", "psutil", "oauthenticator", "kubespawner")


def test_the_demo_config_and_what_it_loads_need_no_test_extra(tmp_path):
    code = f"""
import sys
from traitlets.config import PyFileConfigLoader
config = PyFileConfigLoader("jupyterhub_config.py", path={str(REPO / "config")!r}).load_config()
assert config.JupyterHub.spawner_class == "saturn-local"
import jupyterhub_saturn.auth.builtin, jupyterhub_saturn.spawners.local, jupyterhub_saturn.handlers
import jupyterhub_saturn.culler.app, jupyterhub_saturn.cli, jupyterhub_saturn.singleuser.watchdog
# looked for (nbconvert probes for playwright) is fine; imported is not
print(sorted(m for m in sys.modules if m.split(".")[0] in {TEST_ONLY!r}) or "ok")
"""
    env = {**os.environ, "SATURN_DEMO_DIR": str(tmp_path / "state")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]
