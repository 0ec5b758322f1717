"""groups -> JupyterHub roles: saturn_roles / apply_saturn_roles, and JupyterHub accepts the result."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from jupyterhub_saturn.auth.roles import PUBLISH_SCOPE, apply_saturn_roles, saturn_roles
from jupyterhub_saturn.errors import ConfigError

SPEC = {
    "student": {"groups": ["students"]},
    "instructor": {"groups": ["instructors"], "courses": {"cs101": ["cs101-instructors"], "cs102": "cs102-staff"}},
    "admin": {"groups": ["hub-admins"]},
}


def by_name(result):
    return {r["name"]: r for r in result["load_roles"]}


def test_roles_scopes_and_groups():
    result = saturn_roles(SPEC)
    roles = by_name(result)
    assert set(roles) == {"saturn-student", "saturn-instructor", "saturn-instructor-cs101", "saturn-instructor-cs102",
                          "saturn-admin"}
    assert roles["saturn-student"]["groups"] == ["students"] and PUBLISH_SCOPE not in roles["saturn-student"]["scopes"]
    assert PUBLISH_SCOPE in roles["saturn-instructor"]["scopes"]
    cs101 = roles["saturn-instructor-cs101"]
    assert cs101["groups"] == ["cs101-instructors"]
    assert {"admin:servers!group=cs101", "read:users!group=cs101", "access:servers!group=cs101",
            "list:users!group=cs101", PUBLISH_SCOPE, "admin-ui"} <= set(cs101["scopes"])
    assert not any("cs102" in s for s in cs101["scopes"])
    assert roles["saturn-instructor-cs102"]["groups"] == ["cs102-staff"]
    assert result["custom_scopes"][PUBLISH_SCOPE]["description"]
    assert result["admin_groups"] == ["hub-admins"]
    assert result["allowed_groups"] == ["students", "instructors", "cs101-instructors", "cs102-staff", "hub-admins"]


def test_empty_spec_gives_nothing_but_the_scope():
    assert saturn_roles(None)["load_roles"] == [] and saturn_roles({})["allowed_groups"] == []


@pytest.mark.parametrize("spec, path", [
    ({"teacher": {}}, "saturn_roles.teacher"),
    ({"student": {"group": ["x"]}}, "saturn_roles.student.group"),
    ({"student": {"groups": ["ok", "not ok"]}}, "saturn_roles.student.groups[1]"),
    ({"instructor": {"courses": ["cs101"]}}, "saturn_roles.instructor.courses"),
    ({"instructor": {"courses": {"cs 101": ["x"]}}}, "saturn_roles.instructor.courses.cs 101"),
    ({"instructor": {"courses": {"cs101": []}}}, "saturn_roles.instructor.courses.cs101"),
    ({"admin": "hub-admins"}, "saturn_roles.admin"),
])
def test_mistakes_name_the_key_path(spec, path):
    with pytest.raises(ConfigError) as e:
        saturn_roles(spec)
    assert e.value.field == path, e.value.text


def test_apply_extends_existing_config():
    c = Config()
    c.JupyterHub.load_roles = [{"name": "culler", "scopes": ["list:users"], "services": ["culler"]}]
    c.SaturnOIDCAuthenticator.allowed_groups = {"guests"}
    apply_saturn_roles(c, SPEC, authenticator="SaturnOIDCAuthenticator")
    names = [r["name"] for r in c.JupyterHub.load_roles]
    assert names[0] == "culler" and "saturn-instructor-cs101" in names
    assert c.SaturnOIDCAuthenticator.allowed_groups == {"guests", "students", "instructors", "cs101-instructors",
                                                        "cs102-staff", "hub-admins"}
    assert c.SaturnOIDCAuthenticator.admin_groups == {"hub-admins"}


def test_jupyterhub_accepts_the_roles_and_custom_scope():
    """JupyterHub's own role/scope validation (what load_roles goes through at start-up)."""
    from jupyterhub import roles as jh_roles
    from jupyterhub import scopes as jh_scopes

    result = saturn_roles(SPEC)
    jh_scopes.define_custom_scopes(result["custom_scopes"])
    try:
        for role in result["load_roles"]:
            jh_roles._validate_role_name(role["name"])
            jh_scopes._check_scopes_exist(role["scopes"], who_for=role["name"])
    finally:
        for name in result["custom_scopes"]:
            jh_scopes.scope_definitions.pop(name, None)


def test_sharing_roles_follow_saturn_sharing():
    from jupyterhub_saturn.auth.roles import SHARER_ROLE, sharing_roles
    from jupyterhub_saturn.policy.sharing import SharingPolicy

    assert sharing_roles(SharingPolicy.from_config(None)) == {"role": None, "user_role_scopes": []}
    everyone = sharing_roles(SharingPolicy.from_config({"enabled": True}))
    assert everyone["role"] is None and "shares!user" in everyone["user_role_scopes"]
    groups = sharing_roles(SharingPolicy.from_config({"enabled": True, "groups": ["a", "b"], "by_name": False}))
    assert groups["role"] == {"name": SHARER_ROLE, "description": groups["role"]["description"],
                              "scopes": ["shares!user"], "groups": ["a", "b"]}
    assert groups["user_role_scopes"] == []
