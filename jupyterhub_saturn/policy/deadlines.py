"""When a server's auto-shutoff fires, from its :class:`Shutoff` and its timestamps.

All datetimes are timezone-aware (naive ones raise ``ValueError``: JupyterHub's ORM keeps
naive UTC, so adapters must attach ``timezone.utc`` first); results are in UTC.

- Idleness counts from the later of ``started`` and ``last_activity`` (activity recorded
  before this start belongs to an earlier run and is ignored).
- Timestamps in the future (clock skew between hub, proxy and cluster) are pulled back to
  ``now``: skew may postpone a shutoff, never bring it forward.
- ``stop_at`` is the earlier of the idle and max-age deadlines; on a tie the reason is
  ``"max-age"``, the limit no activity can lift.
- ``warn_at`` is ``warn_before`` ahead of ``stop_at`` (never before ``started``); no warning
  when ``warn_before`` is 0 or nothing will stop the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .shutoff_state import Shutoff

IDLE = "idle"
MAX_AGE = "max-age"


@dataclass(frozen=True)
class Deadlines:
    """The moments a server gets warned and stopped; ``None`` means never."""

    idle_deadline: datetime | None
    age_deadline: datetime | None
    stop_at: datetime | None
    reason: str | None  # "idle", "max-age" or None
    warn_at: datetime | None

    def should_stop(self, now: datetime) -> bool:
        """True once ``now`` has reached ``stop_at``."""
        return self.stop_at is not None and _utc(now, "now") >= self.stop_at

    def should_warn(self, now: datetime) -> bool:
        """True between ``warn_at`` and ``stop_at``."""
        if self.warn_at is None or self.stop_at is None:
            return False
        now = _utc(now, "now")
        return self.warn_at <= now < self.stop_at

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds until ``stop_at`` (0 when past it); ``None`` when nothing will stop it."""
        if self.stop_at is None:
            return None
        return max(0.0, (self.stop_at - _utc(now, "now")).total_seconds())


def deadlines(
    shutoff: Shutoff, *, started: datetime, last_activity: datetime | None, now: datetime
) -> Deadlines:
    """Compute the :class:`Deadlines` of a server started at ``started``."""
    now = _utc(now, "now")
    started = min(_utc(started, "started"), now)
    active = started
    if last_activity is not None:
        active = max(started, min(_utc(last_activity, "last_activity"), now))
    idle_deadline = _plus(active, shutoff.idle_timeout)
    age_deadline = _plus(started, shutoff.max_age)
    stop_at, reason = None, None
    if age_deadline is not None:
        stop_at, reason = age_deadline, MAX_AGE
    if idle_deadline is not None and (stop_at is None or idle_deadline < stop_at):
        stop_at, reason = idle_deadline, IDLE
    warn_at = None
    if stop_at is not None and shutoff.warn_before > 0:
        warn_at = max(started, stop_at - timedelta(seconds=shutoff.warn_before))
    return Deadlines(idle_deadline, age_deadline, stop_at, reason, warn_at)


def _plus(moment: datetime, seconds: int | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:  # beyond year 9999: as good as never
        return None


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment.astimezone(timezone.utc)
