"""The namespace of throwaway users created by anonymous "Run this copy" launches.

Throwaway names are ``anon~<random>``. The ``~`` keeps them apart from names an identity
provider hands out in practice, and :class:`~jupyterhub_saturn.auth.mount.SaturnAuthenticatorMixin`
refuses every login whose name falls in this namespace, so a login can never land in a
throwaway account whatever the provider says. Pure Python.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "anon~"
_NAME_RE = re.compile(r"^anon~[a-z0-9]{6,32}$")


def new_name(nbytes: int = 6) -> str:
    """A fresh, unguessable throwaway username."""
    return PREFIX + secrets.token_hex(nbytes)


def is_throwaway(name: str) -> bool:
    """True for any name in the throwaway namespace (valid or not): such names are never login names."""
    return isinstance(name, str) and name.lower().startswith(PREFIX)


def is_valid_throwaway(name: str) -> bool:
    """True for names this module could have made."""
    return isinstance(name, str) and bool(_NAME_RE.match(name))
