"""Who may share a server, for how long a share link lives, who may accept one. Pure Python.

Configuration (``Saturn.sharing``; every key optional)::

    enabled: true                 # off by default: nobody gets the share scopes
    groups: [students, instructors]   # who may share (absent: every signed-in user; admins always)
    max_code_lifetime: 7d         # the longest a share link may live (JupyterHub's own cap is one year)
    default_expiry: 1d            # what the sharing page offers first (<= max_code_lifetime)
    by_name: true                 # sharers may share with a user or group by name (they see names)
    revoke_within: 30s            # how soon a running server refuses a revoked guest, open websockets too

Rules, each refusal an error value naming the rule (403) or the field (400):

- a throwaway (anonymous ``anon~``) server is never shared, and nobody shares *with* a throwaway user;
- a throwaway user never redeems a share link;
- guests get access to the server only (JupyterHub's default share scope ``access:servers``): no start,
  stop or delete, no change of the owner's profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError, InvalidChoice, NotEntitled
from ..throwaway import is_throwaway
from .durations import config_duration, format_duration, parse_duration

#: JupyterHub's bounds on a share code's ``expires_in`` (apihandlers/shares.py: one minute .. one year)
HUB_MIN_CODE_SECONDS = 60
HUB_MAX_CODE_SECONDS = 525600 * 60
KEYS = ("enabled", "groups", "max_code_lifetime", "default_expiry", "by_name", "revoke_within")
#: bounds on revoke_within: the single-user server asks the hub again at least this often
REVOKE_WITHIN_RANGE = (1, 3600)
#: the scopes a sharer needs (granted by the product's role only when sharing is on)
SHARER_SCOPES = ("shares!user",)
#: what sharing by name needs besides (JupyterHub checks them on the sharer)
BY_NAME_SCOPES = ("read:users:name", "read:groups:name")
#: JupyterHub's names for users and groups, loosely (the hub decides existence)
_NAME = re.compile(r"^[^\s/?#%\x00-\x1f]{1,255}$")
TARGET_KINDS = ("user", "group")
#: the single-user server extension that closes a revoked guest's open websockets
GUEST_ACCESS_EXTENSION = "jupyterhub_saturn.singleuser.extension"


class SharingRefused(NotEntitled):
    """Sharing is not allowed for this person or server (HTTP 403, naming the rule)."""


@dataclass(frozen=True)
class SharingPolicy:
    """The parsed ``Saturn.sharing`` (see the module docstring)."""

    enabled: bool = False
    groups: tuple[str, ...] | None = None
    max_code_lifetime: int = 7 * 86400
    default_expiry: int = 86400
    by_name: bool = True
    revoke_within: int = 30

    @classmethod
    def from_config(cls, value: Mapping | None, path: str = "Saturn.sharing") -> SharingPolicy:
        """Parse the config mapping; raises :class:`ConfigError` naming the key path."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected a mapping with keys {', '.join(KEYS)}, got {value!r}")
        unknown = sorted(str(k) for k in set(value) - set(KEYS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "unknown key", allowed=KEYS)
        for key in ("enabled", "by_name"):
            if key in value and not isinstance(value[key], bool):
                raise ConfigError(f"{path}.{key}", f"expected true or false, got {value[key]!r}")
        groups = value.get("groups")
        if groups is not None:
            if isinstance(groups, str) or not isinstance(groups, (list, tuple)):
                raise ConfigError(f"{path}.groups", f"expected a list of hub group names, got {groups!r}")
            if not groups:
                raise ConfigError(f"{path}.groups", "an empty list lets nobody share; set enabled: false instead")
            for i, g in enumerate(groups):
                if not isinstance(g, str) or not _NAME.match(g):
                    raise ConfigError(f"{path}.groups[{i}]", f"{g!r} is not a hub group name")
            groups = tuple(dict.fromkeys(groups))
        cap = config_duration(value.get("max_code_lifetime", cls.max_code_lifetime), path=f"{path}.max_code_lifetime")
        if not HUB_MIN_CODE_SECONDS <= cap <= HUB_MAX_CODE_SECONDS:
            raise ConfigError(f"{path}.max_code_lifetime",
                              f"{format_duration(cap)} is outside JupyterHub's range for share links (1m to 365d)")
        default = config_duration(value.get("default_expiry", min(cls.default_expiry, cap)),
                                  path=f"{path}.default_expiry")
        if not HUB_MIN_CODE_SECONDS <= default <= cap:
            raise ConfigError(f"{path}.default_expiry",
                              f"{format_duration(default)} must be between 1m and max_code_lifetime "
                              f"({format_duration(cap)})")
        revoke = config_duration(value.get("revoke_within", cls.revoke_within), path=f"{path}.revoke_within")
        if not REVOKE_WITHIN_RANGE[0] <= revoke <= REVOKE_WITHIN_RANGE[1]:
            raise ConfigError(f"{path}.revoke_within", f"{format_duration(revoke)} must be between 1s and 1h")
        return cls(enabled=value.get("enabled", False), groups=groups, max_code_lifetime=cap,
                   default_expiry=default, by_name=value.get("by_name", True), revoke_within=revoke)

    def server_args(self, args: Iterable[str]) -> list[str]:
        """Single-user server arguments that make a revoke reach a running server within ``revoke_within``,
        when sharing is on: its cache of the hub's answer about a login (``HubOAuth.cache_max_age``, 300 s
        upstream) is shortened, unless the admin's own ``args`` already set it; and the guest-access
        extension closes the open websockets of logins that lost access (checking every half of it)."""
        if not self.enabled:
            return []
        args = [str(a) for a in args]
        extra = [] if any("cache_max_age" in a for a in args) else [f"--HubOAuth.cache_max_age={self.revoke_within}"]
        if not any(GUEST_ACCESS_EXTENSION in a for a in args):
            extra.append(f"--ServerApp.jpserver_extensions={GUEST_ACCESS_EXTENSION}=True")
        return extra

    # ------------------------------------------------------------------ who may share

    def sharer_scopes(self) -> list[str]:
        """Scopes the product's sharer role carries (empty when sharing is off)."""
        if not self.enabled:
            return []
        return list(SHARER_SCOPES) + (list(BY_NAME_SCOPES) if self.by_name else [])

    def check_may_share(self, owner: str, groups: Iterable[str], *, admin: bool = False) -> None:
        """Raise :class:`SharingRefused` unless ``owner`` (in ``groups``) may share their servers."""
        if is_throwaway(owner):
            raise SharingRefused("a temporary (anonymous) server can never be shared", field="server")
        if not self.enabled:
            raise SharingRefused("sharing is turned off on this hub (Saturn.sharing.enabled)", field="sharing")
        if admin or self.groups is None:
            return
        if not set(groups) & set(self.groups):
            raise SharingRefused("sharing servers is for members of " + ", ".join(self.groups),
                                 field="sharing", allowed=self.groups)

    def check_target(self, kind: str, name: object) -> str:
        """A user or group name to share with: well-formed, never a throwaway user; returns it."""
        if kind not in TARGET_KINDS:
            raise InvalidChoice(f"kind: {kind!r} is not a kind of share target", field="kind", allowed=TARGET_KINDS)
        if not self.by_name:
            raise SharingRefused("sharing by name is turned off on this hub (Saturn.sharing.by_name); "
                                 "share a link instead", field=kind)
        if not isinstance(name, str) or not _NAME.match(name.strip()):
            raise InvalidChoice(f"{kind}: expected a {kind} name", field=kind)
        name = name.strip()
        if kind == "user" and is_throwaway(name):
            raise SharingRefused("temporary (anonymous) users can never be given access to a server", field="user")
        return name

    def code_lifetime(self, requested: object) -> int:
        """Seconds a new share link lives: ``requested`` (a duration; empty = the default), within the cap."""
        if requested is None or requested == "":
            return self.default_expiry
        seconds = parse_duration(requested, field="expires_in")
        if seconds < HUB_MIN_CODE_SECONDS:
            raise InvalidChoice("expires_in: a share link lives at least 1m", field="expires_in",
                                allowed=self.expiry_choices())
        if seconds > self.max_code_lifetime:
            raise InvalidChoice(f"expires_in: {format_duration(seconds)} is longer than this hub allows for a share "
                                f"link ({format_duration(self.max_code_lifetime)})", field="expires_in",
                                allowed=self.expiry_choices())
        return seconds

    def expiry_choices(self) -> list[str]:
        """Expiry choices the sharing page offers: common ones within the cap, the default and the cap."""
        common = [3600, 8 * 3600, 86400, 7 * 86400, 30 * 86400]
        seconds = sorted({s for s in common if s <= self.max_code_lifetime} | {self.default_expiry,
                                                                               self.max_code_lifetime})
        return [format_duration(s) for s in seconds]

    # ------------------------------------------------------------------ who may redeem

    @staticmethod
    def check_may_redeem(username: str) -> None:
        """Raise :class:`SharingRefused` when ``username`` may not accept a share link."""
        if is_throwaway(username):
            raise SharingRefused("a temporary (anonymous) session cannot accept a share link; sign in with "
                                 "your own account first", field="code")
