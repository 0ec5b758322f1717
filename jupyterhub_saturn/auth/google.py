"""``saturn-google``: Google login with hosted domain and/or Google groups -> hub groups.

The claims rules see Google's user info (``email``, ``verified_email``, ``hd`` the Workspace
domain, ...) plus ``domain`` (of the email) and ``google_groups`` (group names without
``@domain``, read through a service account: set ``google_service_account_keys`` and
``gsuite_administrator`` as for upstream's ``allowed_google_groups``)::

    c.SaturnGoogleAuthenticator.hosted_domain = ["college.edu"]
    c.SaturnGoogleAuthenticator.claim_groups = [
        {"claim": "hd", "map": {"college.edu": "members"}},
        {"claim": "google_groups", "map": {"cs101-staff": ["instructors", "cs101"], "cs101": ["students", "cs101"]}},
    ]
"""

from __future__ import annotations

from oauthenticator.google import GoogleOAuthenticator

from ..errors import ConfigError
from .claims import claims_referenced
from ..compat import google_member_groups
from .mount import SaturnAuthenticatorMixin
from .oidc import SaturnOAuthenticator


def google_claims(user: dict) -> dict:
    """Claims from Google's user info as upstream stores it (``google_groups`` and ``domain`` added)."""
    claims = dict(user or {})
    email = claims.get("email") or ""
    claims.setdefault("domain", email.split("@")[1].lower() if "@" in email else "")
    claims["google_groups"] = sorted(claims.get("google_groups") or [])
    return claims


class SaturnGoogleAuthenticator(SaturnAuthenticatorMixin, SaturnOAuthenticator, GoogleOAuthenticator):
    """GoogleOAuthenticator whose hub groups come from ``hd`` / Google groups via ``claim_groups``."""

    def _reads_google_groups(self) -> bool:
        return "google_groups" in claims_referenced(self.saturn_rules) or "google_groups" in self.required_claims

    def saturn_validate(self) -> None:
        super().saturn_validate()
        if self._reads_google_groups() and not (self.google_service_account_keys and self.gsuite_administrator):
            raise ConfigError(
                f"{type(self).__name__}.google_service_account_keys",
                "claim_groups reads google_groups, which needs google_service_account_keys and gsuite_administrator "
                "({domain: ...}) to look groups up",
            )

    async def saturn_collect(self, auth_model):
        user = auth_model["auth_state"][self.user_auth_state_key]
        fetched_upstream = bool(self.allowed_google_groups or self.admin_google_groups)
        if self._reads_google_groups() and not fetched_upstream:
            # upstream looks groups up only for allowed/admin_google_groups; the mapping needs them too
            if user.get("domain") in self.google_service_account_keys:
                user["google_groups"] = sorted(await google_member_groups(self, user["email"], user["domain"]))
            else:
                self.log.warning("No Google service account for domain %r: no google_groups for %s", user.get("domain"), user.get("email"))

    def saturn_claims(self, auth_state):
        return google_claims((auth_state or {}).get(self.user_auth_state_key))
