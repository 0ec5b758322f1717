"""A sliding-window rate limiter with bounded memory and an injected clock.

Per key it keeps the times of at most ``limit`` admitted events; an event is admitted when
fewer than ``limit`` admitted events lie in the half-open window ``(now - window, now]``.
So no interval of length ``window`` ever holds more than ``limit`` admissions for a key,
and a refusal's wait is exact: the moment the oldest event in the window leaves it.

Memory: keys whose events have all left the window are dropped (amortised O(1) per call,
because keys are kept in order of their last admission). If more than ``max_keys`` keys
are still live, the least recently admitted ones are forgotten -- under a flood of distinct
clients those clients may get a fresh allowance; that is the price of a fixed bound.

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
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._latest = -math.inf

    def __len__(self) -> int:
        """Number of keys currently tracked."""
        return len(self._events)

    def wait(self, key: Hashable, now: float | None = None) -> float:
        """Seconds until ``key`` may be admitted (0.0 = now). Records nothing."""
        now = self._now(now)
        events = self._events.get(key)
        if events is None:
            return 0.0
        self._expire(events, now)
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.window - now

    def remaining(self, key: Hashable, now: float | None = None) -> int:
        """How many more events ``key`` may have right now."""
        now = self._now(now)
        events = self._events.get(key)
        if events is None:
            return self.limit
        self._expire(events, now)
        return self.limit - len(events)

    def acquire(self, key: Hashable, now: float | None = None) -> float:
        """Admit and record an event for ``key`` and return 0.0, or return the wait (no record)."""
        now = self._now(now)
        waiting = self.wait(key, now)
        if waiting > 0:
            return waiting
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        events.append(now)
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return 0.0

    def _now(self, now: float | None) -> float:
        now = self._clock() if now is None else float(now)
        # A clock that steps back must not reorder the log: treat it as standing still.
        self._latest = max(self._latest, now)
        self._evict_stale(self._latest)
        return self._latest

    def _expire(self, events: deque[float], now: float) -> None:
        while events and events[0] <= now - self.window:
            events.popleft()

    def _evict_stale(self, now: float) -> None:
        while self._events:
            key, events = next(iter(self._events.items()))
            if events and events[-1] > now - self.window:
                return
            del self._events[key]
