"""Saturn.sharing: config validation naming the key, who may share, link lifetimes, who may redeem."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from jupyterhub_saturn.errors import ConfigError, InvalidChoice, NotEntitled
from jupyterhub_saturn.policy.sharing import SharingPolicy, SharingRefused
from jupyterhub_saturn.settings import Saturn

ON = SharingPolicy.from_config({"enabled": True, "groups": ["students", "instructors"],
                                "max_code_lifetime": "7d", "default_expiry": "1d"})


def test_default_is_off_and_grants_no_scopes():
    policy = SharingPolicy.from_config(None)
    assert not policy.enabled and policy.sharer_scopes() == []
    with pytest.raises(SharingRefused, match="turned off"):
        policy.check_may_share("alice", ["students"])


def test_enabled_grants_share_scopes_and_names_only_with_by_name():
    assert ON.sharer_scopes() == ["shares!user", "read:users:name", "read:groups:name"]
    assert SharingPolicy.from_config({"enabled": True, "by_name": False}).sharer_scopes() == ["shares!user"]


@pytest.mark.parametrize("value, path", [
    ([], "Saturn.sharing"),
    ({"enable": True}, "Saturn.sharing.enable"),
    ({"enabled": "yes"}, "Saturn.sharing.enabled"),
    ({"by_name": 1}, "Saturn.sharing.by_name"),
    ({"groups": "students"}, "Saturn.sharing.groups"),
    ({"groups": []}, "Saturn.sharing.groups"),
    ({"groups": ["ok", "bad name"]}, "Saturn.sharing.groups[1]"),
    ({"max_code_lifetime": "forever"}, "Saturn.sharing.max_code_lifetime"),
    ({"max_code_lifetime": "30s"}, "Saturn.sharing.max_code_lifetime"),
    ({"max_code_lifetime": "400d"}, "Saturn.sharing.max_code_lifetime"),
    ({"max_code_lifetime": "1h", "default_expiry": "1d"}, "Saturn.sharing.default_expiry"),
    ({"default_expiry": "10s"}, "Saturn.sharing.default_expiry"),
    ({"revoke_within": "0s"}, "Saturn.sharing.revoke_within"),
    ({"revoke_within": "2h"}, "Saturn.sharing.revoke_within"),
    ({"revoke_within": "soon"}, "Saturn.sharing.revoke_within"),
])
def test_config_mistakes_name_the_key(value, path):
    with pytest.raises(ConfigError) as e:
        SharingPolicy.from_config(value)
    assert e.value.field == path and e.value.text.startswith(path + ":")


def test_start_up_validation_covers_sharing():
    with pytest.raises(ConfigError, match=r"^Saturn.sharing.default_expiry"):
        Saturn(sharing={"max_code_lifetime": "1h", "default_expiry": "2h"}).validate()
    assert Saturn(sharing={"enabled": True}).sharing_policy.enabled


def test_a_revoke_reaches_running_servers_within_revoke_within():
    ext = "--ServerApp.jpserver_extensions=jupyterhub_saturn.singleuser.extension=True"
    assert ON.revoke_within == 30 and ON.server_args([]) == ["--HubOAuth.cache_max_age=30", ext]
    assert SharingPolicy.from_config({"enabled": True, "revoke_within": "5s"}).server_args(["--x"]) == [
        "--HubOAuth.cache_max_age=5", ext]
    # the admin's own setting wins (the extension then checks open websockets every half of it)
    assert ON.server_args(["--HubOAuth.cache_max_age=120"]) == [ext]
    assert ON.server_args(["--HubOAuth.cache_max_age=120", ext]) == []
    # sharing off changes nothing
    assert SharingPolicy.from_config({"revoke_within": "5s"}).server_args([]) == []


def test_default_expiry_follows_a_short_cap():
    assert SharingPolicy.from_config({"max_code_lifetime": "1h"}).default_expiry == 3600


def test_who_may_share():
    ON.check_may_share("alice", ["students"])
    ON.check_may_share("root", [], admin=True)
    with pytest.raises(SharingRefused) as e:
        ON.check_may_share("bob", ["visitors"])
    assert e.value.status == 403 and "members of students, instructors" in e.value.text
    SharingPolicy.from_config({"enabled": True}).check_may_share("anyone", [])


@pytest.mark.parametrize("owner", ["anon~abc123", "ANON~x", "anon~"])
def test_throwaway_servers_are_never_shared_even_by_admins(owner):
    with pytest.raises(SharingRefused, match="temporary"):
        SharingPolicy.from_config({"enabled": True}).check_may_share(owner, [], admin=True)


def test_throwaway_users_never_redeem_nor_receive():
    with pytest.raises(SharingRefused, match="cannot accept"):
        SharingPolicy.check_may_redeem("anon~abc123")
    SharingPolicy.check_may_redeem("alice")
    with pytest.raises(SharingRefused, match="temporary"):
        ON.check_target("user", "anon~abc123")


def test_targets():
    assert ON.check_target("user", " bob ") == "bob"
    assert ON.check_target("group", "cs101") == "cs101"
    with pytest.raises(InvalidChoice) as e:
        ON.check_target("role", "x")
    assert e.value.field == "kind" and e.value.allowed == ["user", "group"]
    for bad in ["", "a/b", "x y", None, 3, "a\x00b", "n" * 300]:
        with pytest.raises(InvalidChoice):
            ON.check_target("user", bad)
    with pytest.raises(NotEntitled, match="by_name"):
        SharingPolicy.from_config({"enabled": True, "by_name": False}).check_target("user", "bob")


def test_code_lifetime_within_the_cap():
    assert ON.code_lifetime(None) == ON.code_lifetime("") == 86400
    assert ON.code_lifetime("2h") == 7200 and ON.code_lifetime("7d") == 7 * 86400
    with pytest.raises(InvalidChoice) as e:
        ON.code_lifetime("8d")
    assert e.value.status == 400 and e.value.field == "expires_in" and "7d" in e.value.text
    assert "7d" in e.value.allowed
    for bad in ["30s", "soon", "-1h", "99999999999d", [], {}]:
        with pytest.raises(InvalidChoice):
            ON.code_lifetime(bad)


def test_expiry_choices_stay_within_the_cap():
    policy = SharingPolicy.from_config({"max_code_lifetime": "2d", "default_expiry": "3h"})
    assert policy.expiry_choices() == ["1h", "3h", "8h", "1d", "2d"]


@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.floats(allow_nan=True)))
def test_hostile_lifetimes_are_a_value_or_a_400(value):
    try:
        seconds = ON.code_lifetime(value)
    except InvalidChoice as e:
        assert e.status == 400 and e.field == "expires_in"
    else:
        assert 60 <= seconds <= ON.max_code_lifetime
