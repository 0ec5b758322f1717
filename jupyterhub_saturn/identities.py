"""Which provider identity owns which hub username: (issuer, subject) bindings in one JSON file. Pure Python.

A name a provider suggests (``preferred_username``, a GitHub login, an email) is neither unique nor stable;
the provider's subject identifier is (OIDC Core 5.7). On a hub user's first sign-in the name is bound to
``(issuer, sub)``; a later sign-in under the same (normalized) name with another identity is refused
(:class:`IdentityTaken`, HTTP 403) until an administrator re-binds the name::

    jupyterhub-saturn identity show root1 --file /srv/jupyterhub/saturn-identities.json
    jupyterhub-saturn identity unbind root1 --file ...          # the next sign-in as root1 binds anew
    jupyterhub-saturn identity bind root1 ISSUER SUB --file ...  # bind to a known account now

The file is replaced atomically under a lock, so the hub and the command line can both write it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import SaturnError
from .gallery.atomic import atomic_write, locked

FORMAT = 1


class IdentityTaken(SaturnError):
    """The username is bound to another provider account (HTTP 403)."""

    status = 403


@dataclass(frozen=True)
class Binding:
    """One hub username's owner at the provider."""

    issuer: str
    subject: str
    bound: float

    def to_json(self) -> dict:
        return {"iss": self.issuer, "sub": self.subject, "bound": self.bound}


def taken_message(name: str, provider: str) -> str:
    """The 403 page's text for a sign-in whose username belongs to another account."""
    return (
        f"The username {name!r} on this hub already belongs to another {provider} account, so you cannot "
        "sign in with it. If that name should be yours (for example your account at the provider was "
        "re-created), ask the hub administrator to re-bind it: `jupyterhub-saturn identity unbind "
        f"{name}` on the hub (see docs/auth.md)."
    )


class IdentityBindings:
    """The bindings in ``path`` (created on first write); every call re-reads the file."""

    def __init__(self, path: str | os.PathLike, *, clock=time.time):
        self.path = Path(path)
        self._lock = self.path.with_name(f".{self.path.name}.lock")
        self._clock = clock

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("users"), dict):
            raise ValueError(f"{self.path} is not a format-{FORMAT} identity file")
        return data["users"]

    def _write(self, users: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"format": FORMAT, "users": users}, indent=1, sort_keys=True).encode()
        atomic_write(self.path, body)

    def get(self, name: str) -> Binding | None:
        """The binding of ``name`` (None if unbound)."""
        entry = self._read().get(name)
        if not isinstance(entry, dict):
            return None
        return Binding(str(entry.get("iss", "")), str(entry.get("sub", "")), float(entry.get("bound", 0)))

    def claim(self, name: str, issuer: str, subject: str, *, provider: str = "sign-in provider") -> bool:
        """Bind ``name`` to ``(issuer, subject)`` if unbound; True if it was newly bound.

        Raises :class:`IdentityTaken` if it is bound to another identity."""
        if not issuer or not subject:
            raise IdentityTaken(f"{provider} did not say which account this is (no issuer/subject), so the "
                                "hub cannot tell whose username this is", field="sub")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self._lock):
            users = self._read()
            entry = users.get(name)
            if isinstance(entry, dict):
                if (entry.get("iss"), entry.get("sub")) == (issuer, subject):
                    return False
                raise IdentityTaken(taken_message(name, provider), field="username")
            users[name] = {"iss": issuer, "sub": subject, "bound": self._clock()}
            self._write(users)
            return True

    def check(self, name: str, issuer: str, subject: str, *, provider: str = "sign-in provider") -> None:
        """Raise :class:`IdentityTaken` if ``name`` is bound to an identity other than ``(issuer, subject)``."""
        binding = self.get(name)
        if binding is not None and (binding.issuer, binding.subject) != (issuer, subject):
            raise IdentityTaken(taken_message(name, provider), field="username")

    def bind(self, name: str, issuer: str, subject: str) -> None:
        """Bind ``name`` to ``(issuer, subject)``, replacing any binding (the administrator's re-bind)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self._lock):
            users = self._read()
            users[name] = {"iss": issuer, "sub": subject, "bound": self._clock()}
            self._write(users)

    def unbind(self, name: str) -> bool:
        """Forget ``name``'s binding (the next sign-in binds it); True if there was one."""
        if not self.path.exists():
            return False
        with locked(self._lock):
            users = self._read()
            if users.pop(name, None) is None:
                return False
            self._write(users)
            return True
