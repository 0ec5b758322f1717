"""A sliding-window rate limiter with bounded memory and an injected clock.

Per key it keeps the times of at most ``limit`` admitted events; an event is admitted when
fewer than ``limit`` admitted events lie in the half-open window ``(now - window, now]``.
So no interval of length ``window`` ever holds more than ``limit`` admissions for a key,
and a refusal's wait is exact (to the microsecond): when the oldest event in the window leaves it.

Memory: keys whose events have all left the window are dropped (amortised O(1) per call,
because keys are kept in order of their last admission). If more than ``max_keys`` keys
are still live, the least recently admitted ones are forgotten -- under a flood of distinct
clients those clients may get a fresh allowance; that is the price of a fixed bound.

Times are kept as whole microseconds so that "has this event left the window" and "how
long until it does" are the same exact integer comparison (with floats, rounding could
refuse a launch yet report a wait of zero).

Not thread-safe: use it from one event loop (each call runs to completion between awaits).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        if not (isinstance(window, (int, float)) and math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a positive number of seconds, got {window!r}")
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be a positive int, got {max_keys!r}")
        self.limit = limit
        self.window = float(window)
        self._window = _ticks(window)
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[Hashable, deque[int]] = OrderedDict()
        self._latest: int | None = None

    def __len__(self) -> int:
        """Number of keys currently tracked."""
        return len(self._events)

    def wait(self, key: Hashable, now: float | None = None) -> float:
        """Seconds until ``key`` may be admitted (0.0 = now). Records nothing."""
        return self._wait(key, self._now(now)) / _PER_SECOND

    def remaining(self, key: Hashable, now: float | None = None) -> int:
        """How many more events ``key`` may have right now."""
        ticks = self._now(now)
        events = self._events.get(key)
        if events is None:
            return self.limit
        self._expire(events, ticks)
        return self.limit - len(events)

    def acquire(self, key: Hashable, now: float | None = None) -> float:
        """Admit and record an event for ``key`` and return 0.0, or return the wait (no record)."""
        ticks = self._now(now)
        waiting = self._wait(key, ticks)
        if waiting > 0:
            return waiting / _PER_SECOND
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        events.append(ticks)
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return 0.0

    def _wait(self, key: Hashable, ticks: int) -> int:
        events = self._events.get(key)
        if events is None:
            return 0
        self._expire(events, ticks)
        if len(events) < self.limit:
            return 0
        return events[0] + self._window - ticks

    def _now(self, now: float | None) -> int:
        ticks = _ticks(self._clock() if now is None else now)
        # A clock that steps back must not reorder the log: treat it as standing still.
        if self._latest is None or ticks > self._latest:
            self._latest = ticks
        self._evict_stale(self._latest)
        return self._latest

    def _expire(self, events: deque[int], now: int) -> None:
        while events and now - events[0] >= self._window:
            events.popleft()

    def _evict_stale(self, now: int) -> None:
        while self._events:
            key, events = next(iter(self._events.items()))
            if events and now - events[-1] < self._window:
                return
            del self._events[key]


_PER_SECOND = 1_000_000


def _ticks(seconds: float) -> int:
    return round(seconds * _PER_SECOND)
