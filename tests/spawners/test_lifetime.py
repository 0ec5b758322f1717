"""The spawner side of server lifetimes: settings, start-up validation, what a server is told."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.policy import Shutoff
from jupyterhub_saturn.singleuser.lifetime import ENV_MARKER, ENV_MAX_AGE, ENV_UNREACHABLE, Bounds
from jupyterhub_saturn.spawners.local import SaturnLocalSpawner


def spawner(name="ann", **traits) -> SaturnLocalSpawner:
    cfg = Config()
    for k, v in traits.items():
        setattr(cfg.SaturnLocalSpawner, k, v)
    s = SaturnLocalSpawner(config=cfg)
    s.user = SimpleNamespace(name=name, groups=[])
    return s


def test_defaults_are_minutes_and_shorter_for_throwaways():
    s = spawner()  # the watchdog gives a server as long to stop cleanly as the spawner's stop does
    assert s.lifetime_bounds() == Bounds(hub_unreachable=300, max_age=None, check_interval=30,
                                         stop_grace=s.interrupt_timeout)
    assert spawner("anon~0123456789ab").lifetime_bounds().hub_unreachable == 90


def test_max_age_plus_grace_and_bounds_off():
    s = spawner("anon~0123456789ab", throwaway_hub_unreachable_timeout=0, max_age_grace="2m")
    s.saturn_shutoff = Shutoff("10m", 600, 3600, 0)
    assert s.lifetime_bounds() == Bounds(hub_unreachable=None, max_age=3720, check_interval=30,
                                         stop_grace=s.interrupt_timeout)


@pytest.mark.parametrize("trait,value,words", [
    ("hub_unreachable_timeout", "5 apples", "SaturnLocalSpawner.hub_unreachable_timeout"),
    ("throwaway_hub_unreachable_timeout", -1, "SaturnLocalSpawner.throwaway_hub_unreachable_timeout"),
    ("hub_check_interval", 0, "SaturnLocalSpawner.hub_check_interval"),
    ("max_age_grace", "90", "SaturnLocalSpawner.max_age_grace"),
])
def test_mistakes_stop_the_hub_naming_the_key(trait, value, words):
    cfg = Config()
    setattr(cfg.SaturnLocalSpawner, trait, value)
    with pytest.raises(ConfigError) as e:
        SaturnLocalSpawner.validate_config(cfg)
    assert words in e.value.text


def test_the_server_is_told_its_bounds_and_marker(monkeypatch):
    s = spawner()
    s._saturn_marker = "m" * 32
    monkeypatch.setattr("jupyterhub.spawner.Spawner.get_env", lambda self: {})
    env = s.get_env()
    assert env[ENV_MARKER] == "m" * 32 and env[ENV_UNREACHABLE] == "300" and ENV_MAX_AGE not in env
    off = spawner(watchdog=False)
    off._saturn_marker = "x"
    assert ENV_UNREACHABLE not in off.get_env()


def test_watchdog_command_default_is_this_python_isolated():
    assert spawner()._default_watchdog_command() == [sys.executable, "-I", "-m", "jupyterhub_saturn.singleuser"]


# ------------------------------------------------------------ revoking a forgotten server's token


@pytest.fixture
def bob():
    from jupyterhub import orm
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")  # JupyterHub's tables, without its migration machinery (seconds)
    orm.Base.metadata.create_all(engine)
    db = sessionmaker(bind=engine)()
    user = orm.User(name="bob")
    db.add(user)
    db.add(orm.OAuthClient(identifier="jupyterhub"))  # tokens belong to the hub's client by default
    db.commit()
    s = spawner("bob")
    s.user = SimpleNamespace(name="bob", groups=[], orm_user=user, db=db, base_url="/user/bob/")
    return s, user, db


def notes(user) -> list[str]:
    return sorted(t.note for t in user.api_tokens)


def test_the_recorded_token_is_revoked_and_nothing_else(bob):
    s, user, db = bob
    old = user.new_api_token(note="Server at /user/bob/")
    user.new_api_token(note="Server at /user/bob/")  # another with the same note (e.g. made by bob himself)
    user.new_api_token(note="Server at /user/bob/lab/")  # his named server
    user.new_api_token(note="Requested via api")
    s.load_state({"saturn_token_id": s._orm_token(old).id})
    assert s.revoke_stale_tokens() == 1
    assert s._orm_token(old) is None
    assert notes(user) == ["Requested via api", "Server at /user/bob/", "Server at /user/bob/lab/"]


def test_without_a_record_tokens_named_for_the_server_go_but_never_a_start_in_progress(bob):
    s, user, db = bob
    user.new_api_token(note="Server at /user/bob/")
    s.api_token = user.new_api_token(note="Server at /user/bob/")  # a start in progress
    user.new_api_token(note="Requested via api")
    s.load_state({"saturn_token_id": "7"})  # not an id: ignored
    assert s.revoke_stale_tokens() == 0  # and no server on record: nothing was running, nothing to revoke
    s.server = SimpleNamespace(url="http://127.0.0.1:1/user/bob/")  # the hub had a server on record
    assert s.revoke_stale_tokens() == 1
    assert s._orm_token(s.api_token) is not None
    assert notes(user) == ["Requested via api", "Server at /user/bob/"]


@pytest.mark.parametrize("section,key,value,stops", [
    ("LocalProcessSpawner", "shell_cmd", ["bash", "-c"], True),
    ("LocalProcessSpawner", "popen_kwargs", {"umask": 0o077}, True),
    ("SaturnLocalSpawner", "system_users", True, False),
    ("SaturnLocalSpawner", "home_root", "/srv/homes", False),
])
def test_a_local_process_spawner_migration_must_choose_who_servers_run_as(section, key, value, stops):
    cfg = Config()
    cfg[section][key] = value
    if not stops:
        SaturnLocalSpawner.check_migration(cfg)
        return
    with pytest.raises(ConfigError) as e:
        SaturnLocalSpawner.check_migration(cfg)
    assert e.value.field == "SaturnLocalSpawner.system_users" and f"LocalProcessSpawner.{key}" in e.value.text
    cfg.SaturnLocalSpawner.system_users = False  # the admin's explicit choice
    SaturnLocalSpawner.check_migration(cfg)
