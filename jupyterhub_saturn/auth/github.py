"""``saturn-github``: GitHub login with organization and team membership -> hub groups.

The claims rules see the GitHub user (``login``, ``id``, ``email``, ...) plus ``orgs`` (organization
logins) and ``teams`` (``"<org>:<team-slug>"``, the form upstream's ``allowed_organizations`` uses)::

    c.SaturnGitHubAuthenticator.claim_groups = [
        {"claim": "teams", "map": {"my-uni:cs101-staff": ["instructors", "cs101-instructors", "cs101"],
                                   "my-uni:cs101-students": ["students", "cs101"]}},
        {"claim": "orgs", "map": {"my-uni": "members"}},
    ]

Teams and organizations are read with the ``read:org`` scope (requested by default when a rule
reads them).
"""

from __future__ import annotations

import json

from oauthenticator.github import GitHubOAuthenticator
from requests.utils import parse_header_links
from traitlets import default

from .claims import claims_referenced
from .mount import SaturnAuthenticatorMixin
from .oidc import SaturnOAuthenticator


def github_claims(user: dict, teams: list | None = None, orgs: list | None = None) -> dict:
    """Claims from GitHub API answers: ``/user``, ``/user/teams`` and ``/user/orgs`` (any may be missing)."""
    claims = dict(user or {})
    team_names, org_names = [], []
    for team in teams or []:
        org = ((team or {}).get("organization") or {}).get("login")
        slug = (team or {}).get("slug")
        if org and slug:
            team_names.append(f"{org}:{slug}")
            org_names.append(org)
    for org in orgs or []:
        login = (org or {}).get("login") if isinstance(org, dict) else org
        if login:
            org_names.append(login)
    claims["teams"] = sorted(set(team_names))
    claims["orgs"] = sorted(set(org_names))
    return claims


class SaturnGitHubAuthenticator(SaturnAuthenticatorMixin, SaturnOAuthenticator, GitHubOAuthenticator):
    """GitHubOAuthenticator whose hub groups come from org/team membership via ``claim_groups``."""

    def _reads(self, claim: str) -> bool:
        return claim in claims_referenced(self.saturn_rules) or claim in self.required_claims

    @default("populate_teams_in_auth_state")
    def _populate_teams_default(self):
        return self._reads("teams") or self._reads("orgs")

    @default("scope")
    def _scope_default(self):
        return ["read:org"] if self._reads("teams") or self._reads("orgs") else []

    async def saturn_collect(self, auth_model):
        auth_state = auth_model["auth_state"]
        if self._reads("orgs") and "read:org" in self.scope:
            token = auth_state["token_response"]
            auth_state["orgs"] = await self._fetch_all(f"{self.github_api}/user/orgs?per_page=100",
                                                       token["access_token"], token.get("token_type", "bearer"))

    async def _fetch_all(self, url: str, access_token: str, token_type: str) -> list:
        """Every item of a paginated GitHub list (follows ``Link: rel="next"``)."""
        items: list = []
        for _ in range(50):
            resp = await self.httpfetch(url, "fetching GitHub organizations", parse_json=False, method="GET",
                                        headers=self.build_userdata_request_headers(access_token, token_type),
                                        validate_cert=self.validate_server_cert)
            items += json.loads(resp.body.decode("utf8"))
            links = parse_header_links(resp.headers.get("Link", ""))
            url = next((link["url"] for link in links if link.get("rel") == "next"), None)
            if not url:
                break
        return items

    def saturn_claims(self, auth_state):
        auth_state = auth_state or {}
        return github_claims(auth_state.get(self.user_auth_state_key), auth_state.get("teams"), auth_state.get("orgs"))
