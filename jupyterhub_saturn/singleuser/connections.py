"""Which open connections (websockets) of a single-user server lost their access: pure rules, no I/O.

A websocket (a notebook's real-time document, a kernel, a terminal) is authenticated once, when it
opens; a revoked guest would keep it until it closes. The server's guest-access extension
(:mod:`jupyterhub_saturn.singleuser.extension`) records each open connection with the credential
behind it (the login's token), and asks the hub again about every credential every :attr:`Watch.every`
seconds (at most half a :attr:`Watch.tick` late). A :class:`Watch` decides what to ask and what to close:

- ``ALLOWED``: the hub still gives this login access to the server; its connections stay.
- ``REFUSED``: the hub answered that the login is unknown or has no access (a revoked share): every
  connection opened with it is closed.
- ``UNKNOWN``: no answer (the hub restarting, an error): the connections stay and the credential is
  asked again at the next check; a hub that is down must not cut everyone off.

Credentials are opaque hashable values to this module (the adapter passes tokens).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

ALLOWED = "allowed"
REFUSED = "refused"
UNKNOWN = "unknown"
VERDICTS = (ALLOWED, REFUSED, UNKNOWN)

#: never check more often than this (seconds), whatever the login cache says
MIN_EVERY = 1.0


def check_every(revoke_within: float) -> float:
    """Seconds between checks so that a revoke reaches open connections within ``revoke_within``
    (the server's login cache, ``HubOAuth.cache_max_age``): half of it, at least :data:`MIN_EVERY`."""
    if not revoke_within > 0:
        raise ValueError(f"revoke_within must be > 0 seconds, got {revoke_within!r}")
    return max(MIN_EVERY, revoke_within / 2)


@dataclass
class _Credential:
    checked: float  # when the hub last confirmed it (or the connection was authenticated)
    connections: set = field(default_factory=set)


class Watch:
    """Open connections by id, the credential behind each, and when each credential was last confirmed."""

    def __init__(self, every: float):
        if not every > 0:
            raise ValueError(f"every must be > 0 seconds, got {every!r}")
        self.every = float(every)
        self._credentials: dict[Hashable, _Credential] = {}
        self._credential_of: dict[Hashable, Hashable] = {}

    @property
    def tick(self) -> float:
        """How often to look for due credentials: half of :attr:`every`, so a credential is asked about again
        between ``every`` and ``1.5 * every`` after its last confirmation, however the ticks fall."""
        return self.every / 2

    def __len__(self) -> int:
        return len(self._credential_of)

    def opened(self, connection: Hashable, credential: Hashable, now: float) -> None:
        """A connection was authenticated with ``credential`` at ``now`` (the hub just confirmed it)."""
        self.closed(connection)
        entry = self._credentials.get(credential)
        if entry is None:
            entry = self._credentials[credential] = _Credential(checked=now)
        entry.connections.add(connection)
        self._credential_of[connection] = credential

    def closed(self, connection: Hashable) -> None:
        """A connection went away (closed by either side); forgetting an unknown one is harmless."""
        credential = self._credential_of.pop(connection, None)
        if credential is None:
            return
        entry = self._credentials[credential]
        entry.connections.discard(connection)
        if not entry.connections:
            del self._credentials[credential]

    def due(self, now: float) -> list:
        """Credentials to ask the hub about now: those not confirmed for :attr:`every` seconds."""
        return [c for c, e in self._credentials.items() if now - e.checked >= self.every]

    def answer(self, credential: Hashable, verdict: str, now: float) -> list:
        """Record the hub's answer about ``credential`` to a question asked at ``now`` (the answer is as fresh
        as the question); returns the connections to close (forgotten here)."""
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        entry = self._credentials.get(credential)
        if entry is None:  # its connections closed while the hub was asked
            return []
        if verdict == ALLOWED:
            entry.checked = max(entry.checked, now)
            return []
        if verdict == UNKNOWN:
            return []
        doomed = sorted(entry.connections, key=repr)
        for connection in doomed:
            self.closed(connection)
        return doomed

    def connections(self, credential: Hashable) -> list:
        """The open connections using ``credential`` (for logs and tests)."""
        entry = self._credentials.get(credential)
        return sorted(entry.connections, key=repr) if entry else []
