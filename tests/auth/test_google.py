"""saturn-google: hosted domain and Google groups -> hub groups, from recorded user info shapes."""

from __future__ import annotations

import pytest

from jupyterhub_saturn.auth.google import SaturnGoogleAuthenticator, google_claims
from jupyterhub_saturn.errors import ConfigError

# GET https://www.googleapis.com/oauth2/v1/userinfo (trimmed), as upstream stores it after
# user_info_to_username ("domain") and update_auth_model ("google_groups", without @domain)
USER = {
    "id": "109876543210987654321", "email": "ann@college.edu", "verified_email": True, "name": "Ann Lee",
    "given_name": "Ann", "family_name": "Lee", "picture": "https://lh3.googleusercontent.com/a/x=s96-c",
    "hd": "college.edu",
}
RULES = [
    {"claim": "hd", "map": {"college.edu": "members"}},
    {"claim": "google_groups", "map": {"cs101-staff": ["instructors", "cs101"], "cs101": ["students", "cs101"]}},
]


def state(**over):
    return {"google_user": {**USER, "domain": "college.edu", "google_groups": [], **over}}


def test_google_claims_adds_domain_and_sorted_groups():
    claims = google_claims({**USER, "google_groups": ["b", "a"]})
    assert claims["domain"] == "college.edu" and claims["google_groups"] == ["a", "b"]
    assert google_claims({"email": "x@Gmail.com"})["domain"] == "gmail.com"


async def test_hosted_domain_and_groups_map_to_groups():
    a = SaturnGoogleAuthenticator(claim_groups=RULES[:1])
    assert await a.get_user_groups(state()) == {"members"}
    assert await a.get_user_groups(state(hd="other.edu")) == set()
    b = SaturnGoogleAuthenticator(claim_groups=RULES, google_service_account_keys={"college.edu": "/k.json"},
                                  gsuite_administrator={"college.edu": "admin"})
    assert await b.get_user_groups(state(google_groups=["cs101-staff"])) == {"members", "instructors", "cs101"}
    # a personal account has no hd
    personal = {k: v for k, v in USER.items() if k != "hd"}
    assert await b.get_user_groups({"google_user": {**personal, "google_groups": ["cs101"]}}) == {"students", "cs101"}


def test_mapping_google_groups_needs_a_service_account():
    a = SaturnGoogleAuthenticator(claim_groups=RULES)
    with pytest.raises(ConfigError) as e:
        a.saturn_validate()
    assert e.value.field == "SaturnGoogleAuthenticator.google_service_account_keys"
    SaturnGoogleAuthenticator(claim_groups=RULES[:1]).saturn_validate()


def test_username_is_the_email_without_a_single_hosted_domain():
    a = SaturnGoogleAuthenticator(hosted_domain=["college.edu"])
    assert a.user_info_to_username(dict(USER)) == "ann"
    assert SaturnGoogleAuthenticator().user_info_to_username(dict(USER)) == "ann@college.edu"


def test_username_is_bound_to_the_stable_google_account_id():
    a = SaturnGoogleAuthenticator()
    assert a.saturn_identity({"auth_state": state()}) == ("https://accounts.google.com", "109876543210987654321")
    assert a.saturn_identity({"auth_state": state(sub="1234", email="new@college.edu")})[1] == "1234"
