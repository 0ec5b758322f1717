"""Public notebook ids: a URL-safe slug of the title plus a short random suffix.

An id is checked against :data:`ID_RE` before it is used for anything, so
``../x``, ``%2e%2e``, ``/etc/passwd`` or a NUL byte never reach the filesystem.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata

from .errors import InvalidField

SUFFIX_LEN = 8
SLUG_MAX = 40
ID_MAX = SLUG_MAX + 1 + SUFFIX_LEN
_ALPHABET = string.ascii_lowercase + string.digits

#: Lower-case words of ``[a-z0-9]`` joined by single hyphens, ending in an 8-char suffix.
ID_RE = re.compile(r"(?:[a-z0-9]+-)+[a-z0-9]{%d}" % SUFFIX_LEN)
ID_PATTERN = ID_RE.pattern


def slugify(title: str) -> str:
    """ASCII, lower-case, hyphen-separated words of the title; ``notebook`` if nothing is left."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rstrip("-")
    return slug or "notebook"


def new_id(title: str) -> str:
    """A fresh id for a notebook with this title."""
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(SUFFIX_LEN))
    return f"{slugify(title)}-{suffix}"


def check_id(value: object) -> str:
    """Return ``value`` if it is a well-formed id, else raise :class:`InvalidField` (HTTP 400)."""
    if not isinstance(value, str) or len(value) > ID_MAX or not ID_RE.fullmatch(value):
        shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
        raise InvalidField(
            f"notebook id {shown} is not valid: it must be lower-case letters, digits and single "
            f"hyphens ending in a {SUFFIX_LEN}-character suffix, at most {ID_MAX} characters "
            f"(pattern {ID_PATTERN})",
            field="id",
        )
    return value
