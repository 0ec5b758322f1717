"""When a single-user server must stop itself, whatever its hub does: pure rules, no I/O.

The watchdog (:mod:`jupyterhub_saturn.singleuser.watchdog`) runs every server and asks the
hub, every ``check_interval`` seconds, "who am I?" with the server's own API token. A
:class:`Lifetime` turns those answers and a monotonic clock into a verdict:

- ``max-age``: ``max_age`` seconds have passed since the server started (the hub's
  max age plus a grace, so the culler normally stops the server first). Enforced from
  inside, so it holds while the hub is down.
- ``hub-unreachable``: no answer from the hub for ``hub_unreachable`` seconds (refused
  connections, timeouts, errors). A hub restart shorter than the bound is survived.
- ``forgotten``: the hub answered twice, with no valid answer in between, that the server's
  token is unknown (HTTP 401/403). JupyterHub revokes a server's token when it stops or stops tracking the server
  (e.g. it was found dead after a restart, or the database was lost), so a server the hub
  no longer knows stops instead of running unaccounted.

Settings travel from the spawner to the watchdog as environment variables
(:meth:`Bounds.to_env` / :meth:`Bounds.from_env`); no JupyterHub import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

OK = "ok"
UNREACHABLE = "unreachable"
FORGOTTEN = "forgotten"

MAX_AGE = "max-age"
HUB_UNREACHABLE = "hub-unreachable"
HUB_FORGOT = "forgotten"

#: "unknown token" answers (with no valid answer in between) before the server stops: one could be a fluke
FORGOTTEN_ANSWERS = 2

ENV_UNREACHABLE = "SATURN_HUB_UNREACHABLE_TIMEOUT"
ENV_INTERVAL = "SATURN_HUB_CHECK_INTERVAL"
ENV_MAX_AGE = "SATURN_SERVER_MAX_AGE"
ENV_STOP_GRACE = "SATURN_SERVER_STOP_GRACE"
ENV_MARKER = "SATURN_SERVER_MARKER"


@dataclass(frozen=True)
class Bounds:
    """The limits one server runs under; ``None`` turns a limit off. Seconds."""

    hub_unreachable: float | None = 300.0
    max_age: float | None = None
    check_interval: float = 30.0
    stop_grace: float = 10.0

    def __post_init__(self):
        for name in ("hub_unreachable", "max_age"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 seconds or None, got {value!r}")
        if not self.check_interval > 0:
            raise ValueError(f"check_interval must be > 0 seconds, got {self.check_interval!r}")
        if not self.stop_grace >= 0:
            raise ValueError(f"stop_grace must be >= 0 seconds, got {self.stop_grace!r}")

    @property
    def probe_every(self) -> float:
        """Seconds between hub checks: the configured interval, but at least three checks per bound."""
        if self.hub_unreachable is None:
            return self.check_interval
        return min(self.check_interval, self.hub_unreachable / 3)

    def to_env(self) -> dict[str, str]:
        """The environment variables that carry these bounds to the watchdog."""
        env = {ENV_INTERVAL: _num(self.check_interval), ENV_STOP_GRACE: _num(self.stop_grace),
               ENV_UNREACHABLE: _num(self.hub_unreachable or 0)}
        if self.max_age is not None:
            env[ENV_MAX_AGE] = _num(self.max_age)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Bounds":
        """Read :meth:`to_env`'s variables (absent: defaults; ``0`` = off); ValueError names a bad one."""

        def number(name: str, default):
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
            if value != value or value < 0 or value == float("inf"):
                raise ValueError(f"{name}={raw!r} must be a finite number of seconds >= 0")
            return value

        unreachable = number(ENV_UNREACHABLE, cls.hub_unreachable)
        max_age = number(ENV_MAX_AGE, None)
        interval = number(ENV_INTERVAL, cls.check_interval)
        if interval == 0:
            raise ValueError(f"{ENV_INTERVAL} must be > 0")
        return cls(hub_unreachable=unreachable or None, max_age=max_age or None, check_interval=interval,
                   stop_grace=number(ENV_STOP_GRACE, cls.stop_grace))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Lifetime:
    """Hub answers and the clock → whether, and why, the server must stop now."""

    def __init__(self, bounds: Bounds, started: float):
        self.bounds = bounds
        self.started = started
        self.last_answer = started  # the hub is taken as reachable when the server starts
        self.forgotten = 0
        self.last_outcome: str | None = None

    def observe(self, now: float, outcome: str) -> None:
        """Record one hub check: :data:`OK`, :data:`UNREACHABLE` or :data:`FORGOTTEN`."""
        if outcome not in (OK, UNREACHABLE, FORGOTTEN):
            raise ValueError(f"unknown outcome {outcome!r}")
        self.last_outcome = outcome
        if outcome == OK:
            self.last_answer = max(self.last_answer, now)
            self.forgotten = 0
        elif outcome == FORGOTTEN:
            self.forgotten += 1
        # UNREACHABLE: nothing to record; the time since the last answer grows

    def verdict(self, now: float) -> tuple[str, str] | None:
        """``(reason, message)`` when the server must stop at ``now``, else None. Max age wins ties."""
        b = self.bounds
        if b.max_age is not None and now - self.started >= b.max_age:
            return MAX_AGE, f"it reached its maximum age of {b.max_age:g} s"
        if self.forgotten >= FORGOTTEN_ANSWERS:
            return HUB_FORGOT, "the hub no longer knows this server (its API token was revoked)"
        silent = now - self.last_answer
        if b.hub_unreachable is not None and silent >= b.hub_unreachable:
            return HUB_UNREACHABLE, (f"the hub has not answered for {silent:.0f} s "
                                     f"(bound {b.hub_unreachable:g} s)")
        return None

    def seconds_to_next_event(self, now: float) -> float | None:
        """Seconds until the earliest bound could fire with no further answer (None: nothing pending)."""
        b = self.bounds
        moments = []
        if b.max_age is not None:
            moments.append(self.started + b.max_age)
        if b.hub_unreachable is not None:
            moments.append(self.last_answer + b.hub_unreachable)
        if not moments:
            return None
        return max(0.0, min(moments) - now)
