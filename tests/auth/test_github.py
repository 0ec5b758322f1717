"""saturn-github: org/team membership -> hub groups, from recorded GitHub API answer shapes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tornado import web

from jupyterhub_saturn.auth.github import SaturnGitHubAuthenticator, github_claims

# Shapes of GET /user, /user/teams and /user/orgs (GitHub REST API, trimmed)
USER = {
    "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User", "site_admin": False,
    "name": "The Octocat", "company": "@github", "email": None,
}
TEAMS = [
    {"id": 1, "node_id": "MDQ6VGVhbTE=", "name": "CS101 Staff", "slug": "cs101-staff", "privacy": "closed",
     "permission": "pull", "organization": {"login": "my-uni", "id": 9, "node_id": "MDEyOk9yZ2FuaXphdGlvbjk="}},
    {"id": 2, "node_id": "MDQ6VGVhbTI=", "name": "Robotics", "slug": "robotics", "privacy": "closed",
     "permission": "pull", "organization": {"login": "hobby-org", "id": 10}},
]
ORGS = [{"login": "my-uni", "id": 9, "description": ""}, {"login": "open-source-friends", "id": 11}]

RULES = [
    {"claim": "teams", "map": {"my-uni:cs101-staff": ["instructors", "cs101-instructors", "cs101"],
                               "my-uni:cs101-students": ["students", "cs101"]}},
    {"claim": "orgs", "map": {"my-uni": "members"}},
]


def auth_state(teams=TEAMS, orgs=ORGS):
    return {"github_user": dict(USER), "teams": teams, "orgs": orgs,
            "token_response": {"access_token": "x", "token_type": "bearer"}}


def test_github_claims_from_api_shapes():
    claims = github_claims(USER, TEAMS, ORGS)
    assert claims["login"] == "octocat"
    assert claims["teams"] == ["hobby-org:robotics", "my-uni:cs101-staff"]
    assert claims["orgs"] == ["hobby-org", "my-uni", "open-source-friends"]
    assert github_claims(USER)["teams"] == [] and github_claims(USER)["orgs"] == []


async def test_team_and_org_membership_map_to_groups():
    a = SaturnGitHubAuthenticator(claim_groups=RULES)
    assert await a.get_user_groups(auth_state()) == {"instructors", "cs101-instructors", "cs101", "members"}
    assert await a.get_user_groups(auth_state(teams=[], orgs=[])) == set()


def test_read_org_scope_and_teams_follow_the_rules():
    a = SaturnGitHubAuthenticator(claim_groups=RULES)
    assert a.scope == ["read:org"] and a.populate_teams_in_auth_state is True and a.manage_groups is True
    b = SaturnGitHubAuthenticator(claim_groups={"claim": "login", "map": {"octocat": "cats"}})
    assert b.scope == [] and b.populate_teams_in_auth_state is False


async def test_check_allowed_returns_false_as_upstream_and_the_sign_in_names_groups():
    a = SaturnGitHubAuthenticator(claim_groups=RULES, allowed_groups={"students", "instructors"})
    model = {"name": "octocat", "admin": None, "groups": ["members"], "auth_state": auth_state()}
    # upstream's contract, which subclasses calling super() rely on: False, not an exception
    assert await a.check_allowed("octocat", model) is False

    async def authenticate(handler, data=None):
        return dict(model, groups=list(model["groups"]))

    a.authenticate = authenticate
    handler = SimpleNamespace(find_user=lambda name: None)
    with pytest.raises(web.HTTPError) as e:
        await a.get_authenticated_user(handler, {})
    assert e.value.status_code == 403
    assert "Your groups: members" in e.value.jupyterhub_message
    assert "Groups allowed here: instructors, students" in e.value.jupyterhub_message
    model["groups"] = ["instructors"]
    assert await a.check_allowed("octocat", model) is True


@pytest.mark.parametrize("cls", ["github", "google"])
def test_group_management_defaults_to_upstreams_without_claim_groups(cls):
    """Upstream's manage_groups default is False: with it on and no source of groups every login emptied the
    user's hub groups, and load_groups stopped the hub ("Group management has been offloaded")."""
    from jupyterhub_saturn.auth.google import SaturnGoogleAuthenticator  # noqa: PLC0415
    from oauthenticator.github import GitHubOAuthenticator  # noqa: PLC0415
    from oauthenticator.google import GoogleOAuthenticator  # noqa: PLC0415

    ours, stock = {"github": (SaturnGitHubAuthenticator, GitHubOAuthenticator),
                   "google": (SaturnGoogleAuthenticator, GoogleOAuthenticator)}[cls]
    assert ours().manage_groups is stock().manage_groups is False
    assert ours(claim_groups=RULES).manage_groups is True
    assert ours(manage_groups=True, auth_state_groups_key="x.y").manage_groups is True


def test_username_is_bound_to_the_numeric_account_id_not_the_login():
    a = SaturnGitHubAuthenticator()
    assert a.saturn_identity({"name": "octocat", "auth_state": auth_state()}) == ("https://github.com", "583231")
    renamed = auth_state()
    renamed["github_user"]["login"] = "someone-else"
    assert a.saturn_identity({"auth_state": renamed})[1] == "583231"
