"""saturn-oidc end to end: a real oidc-provider on loopback, a real JupyterHub + proxy, a browser-like flow.

Claims in the provider -> hub groups -> roles (scopes) and profile entitlements, refusals with
clear pages (groups, claims, state, nonce, throwaway names, provider down) and re-sync on refresh.
"""

from __future__ import annotations

import binascii
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from tornado.web import create_signed_value, decode_signed_value

from jupyterhub_saturn.auth.oidc import decode_state, encode_state

from ..harness import Hub, wait_for
from ..oidc.provider import OIDCProvider, callback_location, provider_login
from .conftest import USERS, make_oidc_hub

pytestmark = pytest.mark.e2e

STATE_COOKIE = "oauthenticator-state"


@pytest.fixture(scope="module")
def idp_hub(tmp_path_factory):
    """One provider and one hub shared by the tests that don't change either."""
    d = tmp_path_factory.mktemp("oidc")
    provider = OIDCProvider(d / "idp")
    hubs: list[Hub] = []

    def make(config, start=False, env=None):
        hubs.append(Hub(d / "hub", config, env=env))
        return hubs[-1]

    try:
        hub = make_oidc_hub(make, provider, 'c.SaturnOIDCAuthenticator.required_claims = ["email"]\n')
        yield hub, provider
    finally:
        for h in hubs:
            h.stop()
        provider.stop()


def login(hub: Hub, sub: str) -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    return s, provider_login(s, hub.url, sub)


def page_text(r: requests.Response) -> str:
    assert "Traceback" not in r.text and "500 : Internal Server Error" not in r.text, r.text[:2000]
    return r.text.replace("&#39;", "'").replace("&#34;", '"').replace("&quot;", '"')


def groups(hub: Hub, user: str) -> list[str]:
    return sorted(hub.user_model(user)["groups"])


def token_scopes(hub: Hub, user: str) -> set[str]:
    r = hub.api("GET", "/user", token=hub.user_token(user))
    assert r.status_code == 200, r.text
    return set(r.json()["scopes"])


@pytest.mark.hub_versions
def test_discovery_from_issuer_alone_sends_pkce_nonce_and_discovered_scopes(idp_hub):
    hub, idp = idp_hub
    assert "authorize_url" not in hub.config_file.read_text() and "token_url" not in hub.config_file.read_text()
    r = requests.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(idp.issuer + "/auth?"), location
    q = parse_qs(urlparse(location).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) >= 43
    assert len(q["nonce"][0]) >= 20
    assert q["scope"][0].split() == ["openid", "profile", "email", "groups"]


@pytest.mark.hub_versions
def test_student_and_instructor_get_groups_roles_and_profiles(idp_hub):
    hub, _ = idp_hub
    s_stu, r = login(hub, "stu")
    assert r.status_code == 302, page_text(r)
    s_ins, r = login(hub, "ins")
    assert r.status_code == 302, page_text(r)
    assert groups(hub, "stu") == ["cs101", "students"]
    assert groups(hub, "ins") == ["cs101", "cs101-instructors", "instructors"]
    assert hub.user_model("stu")["admin"] is False and hub.user_model("ins")["admin"] is False

    # roles are held by the groups; the effective scopes show them
    assert "saturn-student" in hub.api("GET", "/groups/students").json()["roles"]
    assert "saturn-instructor-cs101" in hub.api("GET", "/groups/cs101-instructors").json()["roles"]
    stu, ins = token_scopes(hub, "stu"), token_scopes(hub, "ins")
    assert "custom:saturn:publish" in ins and "custom:saturn:publish" not in stu
    assert {"admin:servers!group=cs101", "read:users!group=cs101", "access:servers!group=cs101"} <= ins
    assert not any("group=cs102" in s for s in ins)
    assert not any(s.startswith(("admin:", "read:users!group")) for s in stu)

    # profile entitlements follow the groups: only the instructor is offered / granted the GPU
    assert 'value="t4"' not in s_stu.get(hub.url + "/hub/spawn", timeout=60).text
    assert 'value="t4"' in s_ins.get(hub.url + "/hub/spawn", timeout=60).text
    r = hub.spawn("stu", {"gpu": "t4"})
    assert r.status_code == 403 and "t4" in r.json()["message"], r.text
    r = hub.spawn("ins", {"gpu": "t4"})
    assert r.status_code in (201, 202), r.text
    assert hub.wait_ready("ins")["user_options"]["gpu"] == "t4"
    hub.stop_server("ins")


def test_instructor_manages_only_their_course_servers(idp_hub):
    hub, _ = idp_hub
    for sub in ("stu", "ins", "other"):
        assert login(hub, sub)[1].status_code == 302
    ins_token = hub.user_token("ins")
    stu_token = hub.user_token("stu")
    assert hub.api("GET", "/users/stu", token=ins_token).status_code == 200
    assert hub.api("GET", "/users/other", token=ins_token).status_code in (403, 404)
    assert hub.api("POST", "/users/other/server", token=ins_token).status_code in (403, 404)
    assert hub.api("GET", "/users/ins", token=stu_token).status_code in (403, 404)
    assert hub.api("POST", "/users/ins/server", token=stu_token).status_code in (403, 404)
    listed = {u["name"] for u in hub.api("GET", "/users", token=ins_token).json()}
    assert "stu" in listed and "other" not in listed
    body = {"size": "small", "gpu": "none"}
    r = hub.api("POST", "/users/stu/server", token=ins_token, json={"user_options": body} if hub.version() >= (6, 0) else body)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("stu")
    r = hub.api("DELETE", "/users/stu/server", token=ins_token)
    assert r.status_code in (202, 204), r.text
    wait_for(lambda: "" not in hub.user_model("stu")["servers"], timeout=60, what="student server stop")


def test_admin_group_makes_hub_admin_who_may_publish(idp_hub):
    hub, _ = idp_hub
    assert login(hub, "boss")[1].status_code == 302
    model = hub.user_model("boss")
    assert model["admin"] is True and sorted(model["groups"]) == ["hub-admins"]
    assert "custom:saturn:publish" in token_scopes(hub, "boss")


@pytest.mark.parametrize("sub", ["nogroups", "unmapped"])
def test_user_outside_allowed_groups_gets_403_saying_so(idp_hub, sub):
    hub, _ = idp_hub
    _, r = login(hub, sub)
    assert r.status_code == 403
    text = page_text(r)
    assert f"You signed in as {sub}, but none of your groups may use this hub" in text
    assert "Your groups: none" in text
    for group in ("students", "instructors", "cs101-instructors", "hub-admins"):
        assert group in text.split("Groups allowed here:")[1]
    assert hub.api("GET", f"/users/{sub}").status_code == 404


@pytest.mark.parametrize("sub, claim", [("noname", "preferred_username"), ("noemail", "email")])
def test_missing_required_claim_gets_a_page_naming_it(idp_hub, sub, claim):
    hub, _ = idp_hub
    _, r = login(hub, sub)
    assert r.status_code == 403
    assert f"did not send the claim '{claim}'" in page_text(r)


def test_login_into_throwaway_namespace_is_refused(idp_hub):
    hub, _ = idp_hub
    _, r = login(hub, "sneaky")
    assert r.status_code == 403
    assert "'anon~x' is reserved for anonymous servers" in page_text(r)
    assert hub.api("GET", "/users/anon~x").status_code == 404


@pytest.mark.hub_versions
def test_tampered_state_is_refused_and_ends_that_sign_in(idp_hub):
    hub, _ = idp_hub
    s = requests.Session()
    r = provider_login(s, hub.url, "stu", stop_at_callback=True)
    location = callback_location(r)
    q = parse_qs(urlparse(location).query)
    forged = dict(q, state=[encode_state({"state_id": "0" * 32})])
    tampered = location.split("?")[0] + "?" + urlencode({k: v[0] for k, v in forged.items()})
    r = s.get(tampered, allow_redirects=False, timeout=30)
    assert r.status_code == 400
    assert "does not belong to the sign-in this browser started" in page_text(r)
    assert 'href="/hub/login"' in r.text
    # the real response can't be used after that either: this browser's sign-in is gone
    r = s.get(location, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "no sign-in in progress" in page_text(r)


def test_replayed_callback_is_refused(idp_hub):
    hub, _ = idp_hub
    s = requests.Session()
    r = provider_login(s, hub.url, "stu", stop_at_callback=True)
    location = callback_location(r)
    cookie = s.cookies.get(STATE_COOKIE)
    assert s.get(location, allow_redirects=False, timeout=60).status_code == 302
    # the same response again, with the state cookie captured before it was used
    attacker = requests.Session()
    attacker.cookies.set(STATE_COOKIE, cookie)
    r = attacker.get(location, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "already used" in page_text(r)
    # and in the original browser (cookie cleared after use)
    r = s.get(location, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "no sign-in in progress" in page_text(r)


def test_id_token_with_another_nonce_is_refused(idp_hub):
    hub, _ = idp_hub
    s = requests.Session()
    r = provider_login(s, hub.url, "stu", stop_at_callback=True)
    secret = binascii.a2b_hex((hub.dir / "cookie_secret").read_text().strip())
    state = decode_state(decode_signed_value(secret, STATE_COOKIE, s.cookies.get(STATE_COOKIE).strip('"')))
    assert state["nonce"] and state["state_id"]
    state["nonce"] = "a-nonce-this-sign-in-never-sent"
    browser = requests.Session()
    browser.cookies.set(STATE_COOKIE, create_signed_value(secret, STATE_COOKIE, encode_state(state)).decode())
    r = browser.get(callback_location(r), allow_redirects=False, timeout=60)
    assert r.status_code == 400
    assert "nonce does not match" in page_text(r)
    assert "Rejected ID token" in hub.log_text()


def test_sign_in_cancelled_at_the_provider_gets_a_clear_page(idp_hub):
    hub, _ = idp_hub
    r = provider_login(requests.Session(), hub.url, "stu", abort=True)
    assert r.status_code == 403
    assert "did not sign you in: access_denied (End-User aborted interaction)" in page_text(r)


# ---------------------------------------------------------------- one hub per test


def test_provider_down_gives_503_at_sign_in_and_keeps_signed_in_users(hub_factory, oidc_provider):
    idp = oidc_provider()
    hub = make_oidc_hub(hub_factory, idp, "c.Authenticator.auth_refresh_age = 1\n")
    s_ins, r = login(hub, "ins")
    assert r.status_code == 302, page_text(r)
    s = requests.Session()
    r = provider_login(s, hub.url, "stu", stop_at_callback=True)
    idp.stop()
    r = s.get(callback_location(r), allow_redirects=False, timeout=60)
    assert r.status_code == 503
    assert r.headers.get("Retry-After") == "30"
    assert f"(127.0.0.1:{idp.port}) could not be reached" in page_text(r)
    # a signed-in user whose auth is due for a refresh keeps working while the provider is down
    time.sleep(2)

    def still_in():
        r = s_ins.get(hub.url + "/hub/home", allow_redirects=False, timeout=30)
        assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
        return "keeping current auth" in hub.log_text()

    wait_for(still_in, timeout=60, interval=1, what="refresh attempted during the outage")


def test_provider_down_at_start_then_discovered_at_first_sign_in(hub_factory, oidc_provider):
    idp = oidc_provider()
    hub = make_oidc_hub(hub_factory, idp, start_provider=False)
    assert "will retry at the first sign-in" in hub.log_text()
    r = requests.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=30)
    assert r.status_code == 503 and "cannot be reached right now" in page_text(r)
    idp.start()
    s, r = login(hub, "ins")
    assert r.status_code == 302, page_text(r)
    assert groups(hub, "ins") == ["cs101", "cs101-instructors", "instructors"]


@pytest.mark.parametrize("case, extra, issuer, expected", [
    ("issuer mismatch", "", "http://localhost:{port}", ["SaturnOIDCAuthenticator.issuer", "says its issuer is"]),
    ("plain http", "", "http://sso.example.edu", ["SaturnOIDCAuthenticator.issuer", "plain http"]),
    ("bad mapping", 'c.SaturnOIDCAuthenticator.claim_groups = [{"claim": "groups", "map": {"x": "no spaces"}}]\n',
     None, ["SaturnOIDCAuthenticator.claim_groups[0].map.x", "not a valid group name"]),
])
def test_config_mistakes_stop_the_hub_naming_the_key(hub_factory, oidc_provider, case, extra, issuer, expected):
    idp = oidc_provider()
    hub = make_oidc_hub(hub_factory, idp, extra, start_hub=False,
                        issuer=issuer.format(port=idp.port) if issuer else None)
    code, log = hub.run_expecting_exit()
    assert code != 0, log[-3000:]
    for text in expected:
        assert text in log, log[-3000:]


@pytest.mark.hub_versions
def test_changed_claims_are_picked_up_on_refresh(hub_factory, oidc_provider):
    idp = oidc_provider()
    hub = make_oidc_hub(hub_factory, idp, "c.Authenticator.auth_refresh_age = 2\n")
    s, r = login(hub, "stu")
    assert r.status_code == 302, page_text(r)
    assert groups(hub, "stu") == ["cs101", "students"]
    assert 'value="t4"' not in s.get(hub.url + "/hub/spawn", timeout=60).text

    idp.set_claims("stu", **{**USERS["stu"], "groups": ["cs101-staff"]})

    def promoted():
        s.get(hub.url + "/hub/home", timeout=30)
        return groups(hub, "stu") == ["cs101", "cs101-instructors", "instructors"]

    wait_for(promoted, timeout=90, interval=1, what="groups re-synced on refresh")
    assert 'value="t4"' in s.get(hub.url + "/hub/spawn", timeout=60).text
    assert "custom:saturn:publish" in token_scopes(hub, "stu")

    # dropped from every allowed group: the next refresh ends the session and a new sign-in is refused
    idp.set_claims("stu", **{**USERS["stu"], "groups": []})

    def signed_out():
        r = s.get(hub.url + "/hub/home", allow_redirects=False, timeout=30)
        return r.status_code == 302 and "/hub/login" in r.headers["Location"]

    wait_for(signed_out, timeout=90, interval=1, what="session ended after losing all groups")
    assert groups(hub, "stu") == []  # and the groups (so the roles) the claims gave are gone
    _, r = login(hub, "stu")
    assert r.status_code == 403 and "none of your groups may use this hub" in page_text(r)


def test_refresh_with_expired_access_token_uses_refresh_token(hub_factory, oidc_provider):
    idp = oidc_provider(access_token_ttl=2)
    hub = make_oidc_hub(hub_factory, idp, "c.Authenticator.auth_refresh_age = 1\n")
    s, r = login(hub, "ins")
    assert r.status_code == 302, page_text(r)
    idp.set_claims("ins", **{**USERS["ins"], "groups": ["cs101-staff", "cs102-staff"]})

    # no request reaches the hub meanwhile, so the first refresh below finds the access token expired
    time.sleep(idp.access_token_ttl + 2)

    def updated():
        s.get(hub.url + "/hub/home", timeout=30)
        return "cs102-instructors" in groups(hub, "ins")

    wait_for(updated, timeout=90, interval=1, what="groups re-synced through the refresh token")
    log = hub.log_text()
    assert "Refreshing oauth access token for ins" in log
    assert "Rejected ID token" not in log
