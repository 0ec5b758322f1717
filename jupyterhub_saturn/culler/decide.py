"""What the culler does with each server and throwaway user: pure functions over JupyterHub's
REST models (the dicts ``GET /hub/api/users`` returns). No I/O, so every rule is unit-tested.

A server's deadlines come from its own ``state.saturn_resolved.saturn_shutoff`` (written by the
spawner beside its user_options, see :mod:`jupyterhub_saturn.policy.resolved`; servers started
before that split carry it in ``user_options.saturn_shutoff``) plus ``started`` and
``last_activity`` -- hub state, so a restarted culler reaches the same answer. Servers
without that state get the culler's :class:`Fallback` (none by default: left alone).

Actions for one server:

- ``skip``: pending start/stop, not ready, or timestamps unreadable -- look again next sweep.
- ``keep``: its deadline has not come (or nothing will ever stop it).
- ``stop``: past its deadline.
- ``check-kernels``: past its *idle* deadline, but busy kernels count as activity for it;
  :func:`after_kernel_check` turns the kernels' answer into ``stop``, ``touch`` (record
  activity now and keep) or ``keep``. Max age is never lifted by busy kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..policy import Deadlines, Shutoff, deadlines, load_shutoff, resolved_options
from ..policy.deadlines import IDLE

STOP = "stop"
KEEP = "keep"
SKIP = "skip"
CHECK_KERNELS = "check-kernels"
TOUCH = "touch"


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def parse_time(value: object) -> datetime | None:
    """A JupyterHub timestamp (ISO 8601, ``Z`` or offset; naive = UTC) as aware UTC.

    ``None`` and ``""`` give ``None``; anything else unparseable raises ``ValueError``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError(f"not a timestamp: {value!r:.40}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def isoformat(moment: datetime | None) -> str | None:
    """``moment`` as JupyterHub writes timestamps (UTC with ``Z``), or ``None``."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class Fallback:
    """The shutoff for servers without saturn state (``None`` everywhere = leave them alone)."""

    idle_timeout: int | None = None
    max_age: int | None = None

    def shutoff(self) -> Shutoff | None:
        if self.idle_timeout is None and self.max_age is None:
            return None
        return Shutoff("fallback", self.idle_timeout, self.max_age, 0, False)


@dataclass(frozen=True)
class ServerDecision:
    """The verdict on one server, with the numbers behind it (for logs and reports)."""

    user: str
    server: str  # "" = the default server
    action: str
    why: str
    url: str | None = None
    shutoff: Shutoff | None = None
    deadlines: Deadlines | None = None

    @property
    def log_name(self) -> str:
        return f"{self.user}/{self.server}" if self.server else self.user


def shutoff_for(server: Mapping, fallback: Fallback) -> tuple[Shutoff | None, str | None]:
    """The stored shutoff of a server model (its ``state``, else its ``user_options``), else the fallback;
    with the problem when neither applies."""
    loaded = load_shutoff(resolved_options(server.get("user_options"), server.get("state")))
    if loaded.shutoff is not None:
        return loaded.shutoff, None
    fb = fallback.shutoff()
    if fb is not None:
        return fb, None
    return None, loaded.problem


def decide_server(user: str, name: str, server: Mapping, *, now: datetime, fallback: Fallback) -> ServerDecision:
    """The action for one server model of ``user`` (``name`` "" = default server)."""
    if not isinstance(server, Mapping):
        return ServerDecision(user, name, SKIP, f"server model is {type(server).__name__}")
    if server.get("pending"):
        return ServerDecision(user, name, SKIP, f"pending {server['pending']}")
    if not server.get("ready"):
        return ServerDecision(user, name, SKIP, "not ready")
    shutoff, problem = shutoff_for(server, fallback)
    if shutoff is None:
        return ServerDecision(user, name, KEEP, f"no auto-shutoff ({problem}) and no fallback")
    try:
        started = parse_time(server.get("started"))
        active = parse_time(server.get("last_activity"))
    except ValueError as e:
        return ServerDecision(user, name, SKIP, f"unreadable timestamp: {e}", shutoff=shutoff)
    if started is None:
        return ServerDecision(user, name, SKIP, "no 'started' time", shutoff=shutoff)
    d = deadlines(shutoff, started=started, last_activity=active, now=now)
    url = server.get("url") if isinstance(server.get("url"), str) else None
    if not d.should_stop(now):
        why = "never stops" if d.stop_at is None else f"{d.reason} deadline {isoformat(d.stop_at)}"
        return ServerDecision(user, name, KEEP, why, url, shutoff, d)
    why = f"{d.reason} deadline {isoformat(d.stop_at)} passed"
    if d.reason == IDLE and shutoff.count_busy_kernels:
        return ServerDecision(user, name, CHECK_KERNELS, why, url, shutoff, d)
    return ServerDecision(user, name, STOP, why, url, shutoff, d)


def decide_user(user: Mapping, *, now: datetime, fallback: Fallback) -> list[ServerDecision]:
    """Decisions for every server in a user model (``servers`` as the hub lists them)."""
    name = user.get("name")
    servers = user.get("servers")
    if not isinstance(name, str) or not isinstance(servers, Mapping):
        return []
    return [decide_server(name, key, srv, now=now, fallback=fallback) for key, srv in servers.items()]


def kernels_busy(kernels: object) -> bool:
    """True when any kernel in a ``GET /api/kernels`` answer is executing."""
    if not isinstance(kernels, list):
        raise ValueError(f"expected a list of kernels, got {type(kernels).__name__}")
    return any(isinstance(k, Mapping) and k.get("execution_state") == "busy" for k in kernels)


def after_kernel_check(decision: ServerDecision, busy: bool | None, now: datetime) -> ServerDecision:
    """Resolve ``check-kernels``: busy -> ``touch``; idle -> ``stop``; unknown (``None``) ->
    ``keep``, except once a whole further idle timeout has passed, then ``stop`` (a broken
    check must not keep servers forever)."""
    if busy:
        return _with(decision, TOUCH, "kernels busy: counted as activity")
    if busy is False:
        return _with(decision, STOP, decision.why + "; no busy kernels")
    d, s = decision.deadlines, decision.shutoff
    if d is not None and s is not None and d.idle_deadline is not None and s.idle_timeout is not None:
        if now >= d.idle_deadline + timedelta(seconds=s.idle_timeout):
            return _with(decision, STOP, decision.why + "; kernels unknown for a further idle timeout")
    return _with(decision, KEEP, decision.why + "; kernels unknown, retry next sweep")


def _with(decision: ServerDecision, action: str, why: str) -> ServerDecision:
    return ServerDecision(
        decision.user, decision.server, action, why, decision.url, decision.shutoff, decision.deadlines
    )


def throwaway_removable(user: Mapping, *, now: datetime, grace: float) -> tuple[bool, str]:
    """May a throwaway user with no *ready* server be deleted? Only with no server at all
    (not even pending) and when created and last active more than ``grace`` seconds ago --
    a user the "Run this copy" handler just made gets time to start its server."""
    servers = user.get("servers")
    if servers is None:
        return False, "servers not visible (needs read:servers)"
    if servers:
        return False, "has servers " + ", ".join(repr(s) for s in servers)
    if user.get("pending"):
        return False, f"pending {user['pending']}"
    try:
        moments = [parse_time(user.get(key)) for key in ("created", "last_activity")]
    except ValueError as e:
        return False, f"unreadable timestamp: {e}"
    known = [m for m in moments if m is not None]
    if not known:
        return False, "no created/last_activity time (needs read:users)"
    latest = max(known)
    if (now - latest).total_seconds() < grace:
        return False, f"younger than the {grace:g}s grace"
    return True, f"no server since {isoformat(latest)}"


def server_status(server: Mapping, *, now: datetime, fallback: Fallback | None = None) -> dict:
    """The JSON the shutoff route shows for one server model: when it stops and why.

    ``server`` needs ``state`` (or, started before the split, ``user_options``), ``started``,
    ``last_activity`` (strings or datetimes), ``ready`` and ``pending``; the answer matches what the
    culler decides from the same state.
    """
    shutoff, problem = shutoff_for(server, fallback or Fallback())
    out = {
        "name": server.get("name", ""),
        "ready": bool(server.get("ready")),
        "pending": server.get("pending") or None,
        "auto_shutoff": shutoff.choice if shutoff else None,
        "managed": shutoff is not None,
        "problem": problem,
        "idle_timeout": shutoff.idle_timeout if shutoff else None,
        "max_age": shutoff.max_age if shutoff else None,
        "warn_before": shutoff.warn_before if shutoff else 0,
        "count_busy_kernels": shutoff.count_busy_kernels if shutoff else False,
        "started": None,
        "last_activity": None,
        "idle_deadline": None,
        "age_deadline": None,
        "stop_at": None,
        "warn_at": None,
        "reason": None,
        "warn": False,
        "seconds_left": None,
    }
    try:
        started = parse_time(server.get("started"))
        active = parse_time(server.get("last_activity"))
    except ValueError as e:
        out["problem"] = f"unreadable timestamp: {e}"
        return out
    out["started"], out["last_activity"] = isoformat(started), isoformat(active)
    if shutoff is None or started is None:
        return out
    d = deadlines(shutoff, started=started, last_activity=active, now=now)
    seconds_left = d.seconds_left(now)
    out.update(
        idle_deadline=isoformat(d.idle_deadline),
        age_deadline=isoformat(d.age_deadline),
        stop_at=isoformat(d.stop_at),
        warn_at=isoformat(d.warn_at),
        reason=d.reason,
        warn=d.should_warn(now),
        seconds_left=None if seconds_left is None else round(seconds_left, 1),
    )
    return out
