"""Errors as values: what was wrong, which field, what would have been allowed.

Raised by the pure core (profiles, policy, gallery) and rendered by the adapters as
HTTP answers (400/403/404/413/429/503) or as a start-up failure naming the key path.
One place decides the message; adapters never rephrase it.
"""

from __future__ import annotations

from collections.abc import Iterable


def _fmt_allowed(allowed: Iterable[str] | None) -> str:
    if allowed is None:
        return ""
    items = [str(a) for a in allowed]
    if not items:
        return " (nothing is allowed here)"
    return " (allowed: " + ", ".join(repr(a) for a in items) + ")"


class SaturnError(Exception):
    """A problem a person can act on.

    ``status`` is the HTTP status an adapter should answer with, ``field`` names the
    offending input (a user_options key, a form field, a config key path), and
    ``allowed`` lists the acceptable values when there is a finite set of them.
    """

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        allowed: Iterable[str] | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ):
        self.message = message
        self.field = field
        self.allowed = list(allowed) if allowed is not None else None
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        super().__init__(self.text)

    @property
    def text(self) -> str:
        """The full human-readable message, including the allowed values."""
        return self.message + _fmt_allowed(self.allowed)

    def to_json(self) -> dict:
        """A JSON-able description for API answers."""
        data = {"status": self.status, "message": self.text}
        if self.field is not None:
            data["field"] = self.field
        if self.allowed is not None:
            data["allowed"] = self.allowed
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data


class ConfigError(SaturnError):
    """Invalid configuration, found at start-up. ``field`` is the key path, e.g. ``Saturn.sizes.small.memory``."""

    status = 500

    def __init__(self, path: str, message: str, *, allowed: Iterable[str] | None = None):
        super().__init__(f"{path}: {message}", field=path, allowed=allowed)


class InvalidChoice(SaturnError):
    """A user-supplied value is malformed, unknown or of the wrong type (HTTP 400)."""

    status = 400


class NotEntitled(SaturnError):
    """The user may not use this choice (HTTP 403)."""

    status = 403


class LimitReached(SaturnError):
    """A launch limit or pool capacity is exhausted (HTTP 429 or 503, with Retry-After)."""

    status = 429
