"""Limits on anonymous "Run this copy" launches: global capacity, per notebook, per client.

Configuration (``Saturn.launch_limits``; every key optional)::

    max_throwaway_servers: 20      # running throwaway servers in total (0 = launches off)
    max_per_notebook: 10           # running throwaway copies of one notebook
    rate: {launches: 10, per: 1h}  # launches per client address (IPv6: per /64)
    trusted_proxies: [127.0.0.1/32, "::1/128"]   # whose X-Forwarded-For to believe
    max_tracked_clients: 10000     # memory bound of the rate limiter
    capacity_retry_after: 1m       # Retry-After when full and the caller knows no better

:meth:`LaunchGate.admit` checks all three limits; when any is exhausted it raises
:class:`LimitReached` for the limit with the longest wait (so the advertised
``retry_after`` is never too early): 429 for the client rate and the per-notebook limit,
503 for global capacity. The rate wait is exact; capacity waits come from the caller
(seconds until the earliest running throwaway server reaches its shutoff deadline) or,
failing that, from ``capacity_retry_after``. Only admitted launches count against the rate,
whether or not the spawn later succeeds.

Single event loop: ``admit`` is synchronous, so check-and-record cannot interleave with
another launch. The running counts are the caller's snapshot and must include servers
still pending, or two launches in quick succession can both see room for one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ConfigError, InvalidChoice, LimitReached
from .client_ip import DEFAULT_TRUSTED_PROXIES, IPNetwork, client_ip, parse_trusted_proxies, rate_key
from .durations import config_duration, format_duration
from .rate_limiter import RateLimiter

KEYS = (
    "max_throwaway_servers",
    "max_per_notebook",
    "rate",
    "trusted_proxies",
    "max_tracked_clients",
    "capacity_retry_after",
)
RATE_KEYS = ("launches", "per")
DEFAULTS = {
    "max_throwaway_servers": 20,
    "max_per_notebook": 10,
    "rate": {"launches": 10, "per": "1h"},
    "trusted_proxies": list(DEFAULT_TRUSTED_PROXIES),
    "max_tracked_clients": 10_000,
    "capacity_retry_after": "1m",
}


@dataclass(frozen=True)
class LaunchLimits:
    """The validated ``launch_limits`` section. Build it with :meth:`from_config`."""

    max_throwaway_servers: int
    max_per_notebook: int
    rate_launches: int
    rate_window: int  # seconds
    trusted_proxies: tuple[IPNetwork, ...]
    max_tracked_clients: int
    capacity_retry_after: int  # seconds

    @classmethod
    def from_config(cls, data: Mapping | None, path: str = "Saturn.launch_limits") -> LaunchLimits:
        """Validate ``data`` (``None`` = defaults); raise ``ConfigError`` naming the key path."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(path, f"expected a mapping, got {type(data).__name__}")
        for key in data:
            if key not in KEYS:
                raise ConfigError(f"{path}.{key}", "unknown key", allowed=KEYS)
        merged = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
        rate = merged["rate"]
        if not isinstance(rate, Mapping):
            raise ConfigError(f"{path}.rate", "expected a mapping like {launches: 10, per: 1h}", allowed=RATE_KEYS)
        for key in rate:
            if key not in RATE_KEYS:
                raise ConfigError(f"{path}.rate.{key}", "unknown key", allowed=RATE_KEYS)
        rate = {**DEFAULTS["rate"], **{k: v for k, v in rate.items() if v is not None}}
        return cls(
            max_throwaway_servers=_count(merged["max_throwaway_servers"], f"{path}.max_throwaway_servers", 0),
            max_per_notebook=_count(merged["max_per_notebook"], f"{path}.max_per_notebook", 0),
            rate_launches=_count(rate["launches"], f"{path}.rate.launches", 1),
            rate_window=config_duration(rate["per"], path=f"{path}.rate.per"),
            trusted_proxies=parse_trusted_proxies(merged["trusted_proxies"], f"{path}.trusted_proxies"),
            max_tracked_clients=_count(merged["max_tracked_clients"], f"{path}.max_tracked_clients", 1),
            capacity_retry_after=config_duration(
                merged["capacity_retry_after"], path=f"{path}.capacity_retry_after"
            ),
        )


def _count(value: object, path: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(path, f"expected a whole number >= {least}, got {value!r}")
    return value


class Admission(NamedTuple):
    """An admitted launch: the rate ``key`` it counted against and ``remaining`` launches."""

    key: str
    remaining: int


class LaunchGate:
    """Admits or refuses anonymous launches under :class:`LaunchLimits` (one event loop)."""

    def __init__(self, limits: LaunchLimits, *, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.rate = RateLimiter(
            limits.rate_launches, limits.rate_window, max_keys=limits.max_tracked_clients, clock=clock
        )

    def client_ip(self, remote_addr: str | None, forwarded_for: str | None) -> str:
        """The client address, believing ``X-Forwarded-For`` only from trusted proxies."""
        return client_ip(remote_addr, forwarded_for, self.limits.trusted_proxies)

    def admit(
        self,
        client_ip: str,
        notebook_id: str,
        *,
        running_total: int,
        running_for_notebook: int,
        now: float | None = None,
        capacity_free_in: float | None = None,
        notebook_free_in: float | None = None,
    ) -> Admission:
        """Record and admit a launch, or raise ``LimitReached`` (429/503) with ``retry_after``.

        ``capacity_free_in``/``notebook_free_in``: seconds until the earliest running
        throwaway server (of any notebook / of this one) is due to stop, if known.
        """
        if not isinstance(notebook_id, str) or not notebook_id or len(notebook_id) > 256:
            raise InvalidChoice("notebook id must be a non-empty string of at most 256 characters", field="notebook")
        _check_count(running_total, "running_total")
        _check_count(running_for_notebook, "running_for_notebook")
        key = rate_key(client_ip) if isinstance(client_ip, str) and client_ip else "unknown"
        refusals = []
        limits = self.limits
        rate_wait = self.rate.wait(key, now)
        if rate_wait > 0:
            refusals.append(
                (rate_wait, 429, "rate", f"launch rate limit reached: at most {limits.rate_launches} "
                 f"launch{'es' if limits.rate_launches != 1 else ''} per {format_duration(limits.rate_window)} from one address")
            )
        if running_for_notebook >= limits.max_per_notebook:
            refusals.append(
                (self._wait(notebook_free_in), 429, "max_per_notebook",
                 f"this notebook already has {running_for_notebook} running copies "
                 f"(max_per_notebook is {limits.max_per_notebook})")
            )
        if running_total >= limits.max_throwaway_servers:
            refusals.append(
                (self._wait(capacity_free_in), 503, "max_throwaway_servers",
                 f"all {limits.max_throwaway_servers} throwaway servers are in use "
                 f"(max_throwaway_servers is {limits.max_throwaway_servers})")
            )
        if refusals:
            wait, status, field, message = max(refusals, key=lambda r: r[0])
            retry_after = max(1, math.ceil(wait))
            raise LimitReached(
                f"{message}; try again in {format_duration(retry_after)}",
                field=field,
                status=status,
                retry_after=retry_after,
            )
        self.rate.acquire(key, now)
        return Admission(key, self.rate.remaining(key, now))

    def _wait(self, free_in: float | None) -> float:
        if isinstance(free_in, (int, float)) and not isinstance(free_in, bool) and math.isfinite(free_in):
            return max(1.0, float(free_in))
        return float(self.limits.capacity_retry_after)


def _check_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
