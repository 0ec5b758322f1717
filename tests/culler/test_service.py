"""culler_service(): the service and role dicts for jupyterhub_config.py; the app's option checks."""

import sys

import pytest

from jupyterhub_saturn.culler import culler_scopes, culler_service
from jupyterhub_saturn.culler.app import SaturnCuller
from jupyterhub_saturn.errors import ConfigError


def test_defaults_give_the_narrow_role_and_a_module_command():
    service, role = culler_service()
    assert service["name"] == "saturn-culler"
    assert service["command"][:3] == [sys.executable, "-m", "jupyterhub_saturn.culler"]
    assert "--every=60" in service["command"] and "--concurrency=10" in service["command"]
    assert role["services"] == ["saturn-culler"]
    assert role["scopes"] == [
        "list:users", "read:users:activity", "read:servers", "admin:server_state", "delete:servers",
        "read:groups!group=saturn-throwaway", "read:users!group=saturn-throwaway",
        "delete:users!group=saturn-throwaway",
    ]
    assert not {"admin:users", "admin:servers", "access:servers", "users:activity"} & set(role["scopes"])


def test_busy_kernels_add_access_and_activity_scopes_and_need_the_proxy_url():
    service, role = culler_service(busy_kernels=True, proxy_url="http://127.0.0.1:8000")
    assert {"access:servers", "users:activity"} <= set(role["scopes"])
    assert "--proxy-url=http://127.0.0.1:8000" in service["command"]
    with pytest.raises(ConfigError, match=r"culler_service\.proxy_url: is required"):
        culler_service(busy_kernels=True)


def test_no_throwaway_group_means_no_user_deletion():
    assert not any("users!" in s or "groups" in s for s in culler_scopes(throwaway_group=None))
    service, _ = culler_service(throwaway_group="")
    assert "--throwaway-group=" in service["command"]


def test_options_are_passed_through():
    service, role = culler_service(name="cull", every=2, concurrency=4, fallback_idle_timeout="1h",
                                   fallback_max_age=7200, throwaway_grace=0, command=["jupyterhub-saturn-culler"],
                                   extra_args=["--page-size=50"], environment={"X": "1"})
    assert service["command"] == ["jupyterhub-saturn-culler", "--every=2", "--concurrency=4",
                                  "--fallback-idle-timeout=1h", "--fallback-max-age=7200s",
                                  "--throwaway-group=saturn-throwaway", "--throwaway-grace=0s", "--exit-with-parent",
                                  "--page-size=50"]
    assert service["environment"] == {"X": "1"} and role["name"] == "cull-role" and role["services"] == ["cull"]


@pytest.mark.parametrize("kwargs, path", [
    ({"every": 0}, "culler_service.every"),
    ({"every": "60"}, "culler_service.every"),
    ({"concurrency": 0}, "culler_service.concurrency"),
    ({"concurrency": 2.5}, "culler_service.concurrency"),
    ({"fallback_idle_timeout": "90"}, "culler_service.fallback_idle_timeout"),
    ({"fallback_max_age": "soon"}, "culler_service.fallback_max_age"),
    ({"throwaway_grace": "-1s"}, "culler_service.throwaway_grace"),
    ({"proxy_url": "127.0.0.1:8000"}, "culler_service.proxy_url"),
    ({"name": ""}, "culler_service.name"),
])
def test_mistakes_raise_config_error_naming_the_parameter(kwargs, path):
    with pytest.raises(ConfigError) as info:
        culler_service(**kwargs)
    assert info.value.field == path


def app(*argv, token="t"):
    a = SaturnCuller()
    a.initialize([f"--SaturnCuller.api_token={token}", *argv])
    return a


def test_app_reads_options():
    a = app("--every=2", "--concurrency=3", "--fallback-idle-timeout=1h30m", "--throwaway-grace=0s",
            "--api-url=http://127.0.0.1:1/hub/api")
    settings = a.checked()
    assert (a.every, a.concurrency) == (2.0, 3)
    assert settings["fallback"].idle_timeout == 5400 and settings["fallback"].max_age is None
    assert settings["throwaway_grace"] == 0


def test_app_reads_the_hub_environment(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://hub:8081/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret")
    a = SaturnCuller()
    a.initialize([])
    assert (a.api_url, a.api_token) == ("http://hub:8081/hub/api", "secret")


@pytest.mark.parametrize("argv, path", [
    (["--every=0"], "SaturnCuller.every"),
    (["--concurrency=0"], "SaturnCuller.concurrency"),
    (["--page-size=0"], "SaturnCuller.page_size"),
    (["--fallback-idle-timeout=10"], "SaturnCuller.fallback_idle_timeout"),
    (["--throwaway-grace="], "SaturnCuller.throwaway_grace"),
    (["--proxy-url=localhost:8000"], "SaturnCuller.proxy_url"),
    (["--api-url=hub:8081"], "SaturnCuller.api_url"),
])
def test_app_option_mistakes_name_the_option(argv, path):
    with pytest.raises(ConfigError) as info:
        app(*argv).checked()
    assert info.value.field == path


def test_app_without_a_token_refuses_to_start(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    a = SaturnCuller()
    a.initialize([])
    with pytest.raises(ConfigError, match="SaturnCuller.api_token"):
        a.checked()


@pytest.mark.parametrize("seconds, text", [(None, ""), (0, "0s"), (-3, "0s"), (9.9, "9s"), (75, "1m 15s"),
                                           (3600, "1h 00m"), (3 * 3600 + 125, "3h 02m")])
def test_time_left_formatting_on_the_home_page(seconds, text):
    from jupyterhub_saturn.handlers.shutoff import format_left

    assert format_left(seconds) == text


def test_the_culler_reaches_the_hub_on_its_own_loopback():
    from traitlets.config import Config

    from jupyterhub_saturn.culler import local_hub_api_url

    c = Config()
    assert local_hub_api_url(c) == "http://127.0.0.1:8081/hub/api"
    c.JupyterHub.hub_bind_url = "http://:8081"           # what the z2jh chart sets
    c.JupyterHub.base_url = "/jhub/"
    assert local_hub_api_url(c) == "http://127.0.0.1:8081/jhub/hub/api"
    c.JupyterHub.hub_bind_url = "http://127.0.0.1:18081"
    service, _ = culler_service(api_url=local_hub_api_url(c))
    assert "--api-url=http://127.0.0.1:18081/jhub/hub/api" in service["command"]
    with pytest.raises(ConfigError, match=r"culler_service\.api_url"):
        culler_service(api_url="hub:8081")
