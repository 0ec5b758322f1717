"""The spawner mixin against upstream's spawner settings: options_from_form, apply_user_options,
group_overrides and admin-declared extra user_options keys keep their upstream meaning."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tornado import web
from traitlets.config import Config

from jupyterhub_saturn.spawners.local import SaturnLocalSpawner

SATURN = {
    "sizes": {"small": {"cpu": 1, "memory": "2G"}, "medium": {"cpu": 2, "memory": "8G"}},
    "disks": ["10Gi"],
    "images": {"base": {}},
    "extra_options": {
        "team": {"type": "str", "choices": ["red", "blue"], "display_name": "Team"},
        "workers": {"type": "int", "min": 1, "max": 8},
        "debug": {"type": "bool"},
    },
}


def spawner(groups=(), **traits) -> SaturnLocalSpawner:
    cfg = Config()
    for k, v in SATURN.items():
        setattr(cfg.Saturn, k, v)
    for k, v in traits.items():
        section, _, name = k.rpartition("__")
        setattr(cfg[section or "Spawner"], name, v)
    s = SaturnLocalSpawner(config=cfg)
    s.user = SimpleNamespace(name="ann", groups=[SimpleNamespace(name=g) for g in groups])
    return s


async def apply(s, options):
    """What JupyterHub (5.3+) does for a spawn: group overrides, then apply_user_options."""
    s.user_options = options
    await s.apply_group_overrides()
    await s.apply_user_options(s, options)
    return s.user_options


# ------------------------------------------------------------ options_from_form


def test_default_form_conversion_unpacks_own_fields():
    s = spawner()
    assert s.run_options_from_form({"size": ["medium"], "_xsrf": ["x"]}) == {"size": "medium"}
    assert s.options_from_query({"size": ["medium"]}) == {"size": "medium"}
    # called directly with the form alone, as upstream's and KubeSpawner's defaults can be (KubeSpawner's tests do)
    assert s.options_from_form({"size": ["medium"]}) == {"size": "medium"}


def test_simple_and_passthrough_keep_upstream_meaning():
    form = {"size": ["medium"], "debug": ["on"], "team": ["red", "blue"]}
    assert spawner(options_from_form="simple").run_options_from_form(form) == {
        "size": "medium", "debug": True, "team": ["red", "blue"]}
    assert spawner(options_from_form="passthrough").run_options_from_form(form) == form


async def test_passthrough_options_still_select_a_size():
    s = spawner(options_from_form="passthrough")
    stored = await apply(s, s.run_options_from_form({"size": ["medium"], "team": ["blue"]}))
    assert stored["size"] == "medium" and stored["team"] == "blue"
    assert s.mem_limit == 8 * 10**9


async def test_configured_callable_is_used_for_form_and_query():
    seen = []

    def from_form(form_data, spawner):
        seen.append(spawner)
        return {"size": form_data["flavour"][0], "workers": int(form_data.get("n", ["2"])[0])}

    s = spawner(options_from_form=from_form)
    assert s.run_options_from_form({"flavour": ["medium"]}) == {"size": "medium", "workers": 2}
    # ?opt-flavour=small spawns go through the same callable (the mixin used to bypass it)
    assert s.options_from_query({"flavour": ["small"], "n": ["3"]}) == {"size": "small", "workers": 3}
    assert seen == [s, s]
    stored = await apply(s, {"size": "small", "workers": 3})
    assert stored["workers"] == 3 and s.mem_limit == 2 * 10**9


# ------------------------------------------------------------ declared extra options


async def test_declared_keys_reach_apply_user_options_and_pre_spawn_hook_typed():
    got = {}

    def hook(spawner, user_options):
        got.update(user_options)
        spawner.environment = {"TEAM": user_options.get("team", "")}

    s = spawner(apply_user_options=hook)
    stored = await apply(s, {"size": "medium", "team": "blue", "workers": "4", "debug": "on"})
    assert got["team"] == "blue" and got["workers"] == 4 and got["debug"] is True
    assert stored == dict(got) and stored["size"] == "medium"
    assert s.environment == {"TEAM": "blue"} and s.mem_limit == 8 * 10**9


@pytest.mark.parametrize("options,field,words", [
    ({"colour": "red"}, "colour", "unknown option 'colour'"),
    ({"team": "green"}, "team", "allowed: 'red', 'blue'"),
    ({"team": ["red", "blue"]}, "team", "team must be a string"),
    ({"workers": "99"}, "workers", "between 1 and 8"),
    ({"workers": "1e9"}, "workers", "whole number"),
    ({"debug": "maybe"}, "debug", "true or false"),
    ({"team": "x" * 100000}, "team", "longer than 256 characters"),
])
async def test_undeclared_keys_and_bad_values_are_400_naming_the_field(options, field, words):
    s = spawner()
    with pytest.raises(web.HTTPError) as e:
        await apply(s, options)
    assert e.value.status_code == 400
    message = e.value.log_message % e.value.args if e.value.args else e.value.log_message
    assert words in message and field in message


def test_form_offers_declared_choices_and_bools():
    s = spawner()
    html = s.form_context()
    names = [f.name for f in html.extra_fields]
    assert names == ["auto_shutoff", "team", "debug"]  # workers has no finite set: the admin's own form asks


# ------------------------------------------------------------ a size and group_overrides


def overrides(mem, cpu=None):
    override = {"mem_limit": mem} | ({"cpu_limit": cpu} if cpu else {})
    return {"01-big": {"groups": ["big"], "spawner_override": override}}


async def test_group_overrides_may_raise_a_size_but_not_lower_it():
    s = spawner(groups=["big"], group_overrides=overrides("16G", 4))
    await apply(s, {"size": "small"})
    assert s.mem_limit == 16 * 1024**3 and s.cpu_limit == 4
    s = spawner(groups=["big"], group_overrides=overrides("1G"))
    await apply(s, {"size": "medium"})
    assert s.mem_limit == 8 * 10**9 and s.cpu_limit == 2


async def test_group_limits_do_not_outlive_the_group():
    s = spawner(groups=["big"], group_overrides=overrides("16G"))
    await apply(s, {"size": "small"})
    s.user.groups = []
    await apply(s, {"size": "small"})
    assert s.mem_limit == 2 * 10**9


# ------------------------------------------------------------ stored choices, derived state


async def test_stored_user_options_are_the_choice_and_derived_values_live_in_the_state():
    s = spawner()
    stored = await apply(s, {"size": "medium", "team": "red"})
    assert stored == {"size": "medium", "team": "red"}  # no defaults added, nothing derived
    resolved = s.saturn_resolved
    assert {k: resolved[k] for k in ("size", "gpu", "disk", "image", "team")} == {
        "size": "medium", "gpu": "none", "disk": "10Gi", "image": "base", "team": "red"}
    assert resolved["auto_shutoff"] == s.saturn_shutoff.choice
    assert resolved["saturn_shutoff"]["idle_timeout"] == s.saturn_shutoff.idle_timeout
    state = s.get_state()
    assert state["saturn_resolved"] == resolved
    # a restarted hub loads it back: the shutoff the server was started with, not one recomputed from config
    again = spawner()
    again.load_state(state)
    assert again.saturn_resolved == resolved and again.saturn_shutoff == s.saturn_shutoff
    s.clear_state()  # stopped: the choice stays in user_options, the derived values go
    assert "saturn_resolved" not in s.get_state() and s.user_options == stored


async def test_derived_keys_in_input_never_reach_the_stored_choice():
    s = spawner()
    stored = await apply(s, {"size": "small", "saturn_notebook": "nb-1",
                             "saturn_shutoff": {"idle_timeout": 999999, "max_age": None}})
    assert stored == {"size": "small"}
    assert s.saturn_resolved["saturn_notebook"] == "nb-1"  # the launcher's, kept beside the choice
    assert s.saturn_resolved["saturn_shutoff"]["idle_timeout"] != 999999  # recomputed, never taken from input
    # an empty request stores nothing: the form and the next start take the defaults of that time
    assert await apply(spawner(), {}) == {}


async def test_a_refused_request_restores_the_accepted_choice_not_the_defaults():
    s = spawner()
    await apply(s, {"size": "medium"})
    with pytest.raises(web.HTTPError):
        await apply(s, {"size": "huge"})
    assert s.user_options == {"size": "medium"}
