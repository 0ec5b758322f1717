"""Hub usernames: one normal form, which names can sign in, and a safe home-directory name for each. Pure Python.

- :func:`normalize_username` is applied once, at sign-in: Unicode NFKC, then lower case (as JupyterHub
  lower-cases), so ``ROOT1``, ``Ｒｏｏｔ１`` and ``root1`` are the same account.
- :func:`username_problem` says why a name cannot be a hub user here (a server could never start for it:
  control characters and NUL end up in environment variables, lone surrogates cannot be encoded).
- :func:`home_dir_name` turns any acceptable name into one path component that is safe and bounded:
  names that were already safe keep their existing directory (percent-encoding as before); others are
  cut and suffixed with ``=`` and a hash of the full name, so distinct names never share a home.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote

#: longest username accepted at sign-in (JupyterHub's database column holds 255 characters)
MAX_USERNAME_CHARS = 255
#: longest home directory name, in bytes (what file systems allow; every name that fitted keeps its old home)
MAX_HOME_NAME_BYTES = 255

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SAFE_CHARS = "@.-_+"


def normalize_username(name: str) -> str:
    """The one form of ``name`` the hub stores: NFKC, then lower case."""
    return unicodedata.normalize("NFKC", name).lower()


def username_problem(name) -> str | None:
    """Why ``name`` cannot sign in to this hub (None if it can)."""
    if not isinstance(name, str) or not name.strip():
        return "the username is empty"
    if len(name) > MAX_USERNAME_CHARS:
        return f"the username is {len(name)} characters long; at most {MAX_USERNAME_CHARS} are allowed"
    m = _UNSAFE.search(name)
    if m:
        return (f"the username contains the character U+{ord(m.group()):04X} (a control, bidirectional-override "
                "or invalid character), which a server cannot be started with")
    if "/" in name:
        return "the username contains '/'"
    return None


def home_dir_name(name: str) -> str:
    """One safe path component (never '', '.', '..'; at most :data:`MAX_HOME_NAME_BYTES` bytes) for ``name``."""
    raw = name.encode("utf-8", "surrogatepass")
    encoded = quote(raw, safe=_SAFE_CHARS)  # what earlier versions used: existing homes stay where they are
    if encoded in ("", ".", ".."):
        encoded = "".join(f"%{b:02X}" for b in raw) or "%"
    if len(encoded) <= MAX_HOME_NAME_BYTES and not _UNSAFE.search(encoded):
        return encoded
    digest = hashlib.sha256(raw).hexdigest()[:16]
    keep = MAX_HOME_NAME_BYTES - len(digest) - 1
    head = encoded[:keep]
    head = head[: head.rfind("%")] if "%" in head[-2:] else head  # never cut a %XX escape in half
    return f"{head}={digest}"  # quote() always encodes '=', so no plain name can take this directory
