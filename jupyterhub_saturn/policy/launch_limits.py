"""Limits on anonymous "Run this copy" launches: global capacity, per notebook, per client.

Configuration (``Saturn.launch_limits``; every key optional)::

    max_throwaway_servers: 20      # running throwaway servers in total (0 = launches off)
    max_per_notebook: 10           # running throwaway copies of one notebook
    rate: {launches: 10, per: 1h}  # launches per client address (IPv6: per /64)
    trusted_proxies: [127.0.0.1/32, "::1/128"]   # whose X-Forwarded-For to believe
    trusted_local_uids: []         # uids of local front proxies (besides the hub's own)
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
another launch. A launch is not visible in the caller's running counts until its server
exists, which takes awaits; :meth:`LaunchGate.reserve` therefore admits *and* reserves a
place (counted against both caps) until the caller releases it (:meth:`~LaunchGate.release`) once the
server is counted as running (or failed). The caller's counts leave out servers whose users
hold a reservation (:meth:`~LaunchGate.holders`), so nothing is counted twice: N simultaneous
launches never admit more than a cap.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ConfigError, InvalidChoice, LimitReached
from .client_ip import DEFAULT_TRUSTED_PROXIES, IPNetwork, client_ip, parse_trusted_proxies, rate_key
from .durations import config_duration, format_duration
from .local_peers import local_client_key
from .rate_limiter import RateLimiter

KEYS = (
    "max_throwaway_servers",
    "max_per_notebook",
    "rate",
    "trusted_proxies",
    "trusted_local_uids",
    "max_tracked_clients",
    "capacity_retry_after",
)
RATE_KEYS = ("launches", "per")
DEFAULTS = {
    "max_throwaway_servers": 20,
    "max_per_notebook": 10,
    "rate": {"launches": 10, "per": "1h"},
    "trusted_proxies": list(DEFAULT_TRUSTED_PROXIES),
    "trusted_local_uids": [],
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
    trusted_local_uids: tuple[int, ...] = ()

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
            trusted_local_uids=_uids(merged["trusted_local_uids"], f"{path}.trusted_local_uids"),
        )


def _uids(value: object, path: str) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(path, f"expected a list of uids such as [33], got {value!r}")
    return tuple(_count(v, f"{path}[{i}]", 0) for i, v in enumerate(value))


def _count(value: object, path: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(path, f"expected a whole number >= {least}, got {value!r}")
    return value


class Admission(NamedTuple):
    """An admitted launch: the rate ``key`` it counted against and ``remaining`` launches."""

    key: str
    remaining: int


class Reservation(NamedTuple):
    """An admitted launch holding its place until released: ``ticket`` and the ``admission``."""

    ticket: str
    admission: Admission


class LaunchGate:
    """Admits or refuses anonymous launches under :class:`LaunchLimits` (one event loop)."""

    def __init__(self, limits: LaunchLimits, *, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.rate = RateLimiter(
            limits.rate_launches, limits.rate_window, max_keys=limits.max_tracked_clients, clock=clock
        )
        self._reserved: dict[str, list] = {}  # ticket -> [notebook_id, holder or None]
        self._tickets = itertools.count(1)

    # ------------------------------------------------------------ reservations

    def reserve(self, client_ip: str, notebook_id: str, *, running_total: int, running_for_notebook: int,
                **kw) -> Reservation:
        """:meth:`admit` counting places already reserved, and reserve one more (same refusals).

        ``running_*`` must leave out servers of :meth:`holders`.
        """
        if not isinstance(notebook_id, str):
            raise InvalidChoice("notebook id must be a non-empty string of at most 256 characters", field="notebook")
        _check_count(running_total, "running_total")
        _check_count(running_for_notebook, "running_for_notebook")
        mine = sum(1 for nb, _ in self._reserved.values() if nb == notebook_id)
        admission = self.admit(client_ip, notebook_id, running_total=running_total + len(self._reserved),
                               running_for_notebook=running_for_notebook + mine, **kw)
        ticket = f"t{next(self._tickets)}"
        self._reserved[ticket] = [notebook_id, None]
        return Reservation(ticket, admission)

    def hold(self, ticket: str, holder: str) -> None:
        """Name the user whose server the reservation is for (its server then counts only once)."""
        if ticket in self._reserved:
            self._reserved[ticket][1] = holder

    def release(self, ticket: str) -> None:
        """Drop a reservation (the server is now counted as running, or the launch failed)."""
        self._reserved.pop(ticket, None)

    def holders(self) -> set[str]:
        """Users whose servers are counted through a reservation."""
        return {holder for _, holder in self._reserved.values() if holder is not None}

    def reserved(self) -> int:
        """Places currently reserved."""
        return len(self._reserved)

    def client_ip(self, remote_addr: str | None, forwarded_for: str | None, *,
                  peer_uid: int | None = None, local_uids: Callable[[], set[int]] | None = None,
                  own_uid: int | None = None) -> str:
        """The client address, believing ``X-Forwarded-For`` only from trusted proxies.

        ``peer_uid``: owner of the loopback socket that connected (None: unknown or not local).
        ``local_uids``: uids of loopback clients connected to the proxy right now. ``own_uid``:
        the hub's uid, trusted with ``trusted_local_uids``. Local requests are attributed to
        their uid (:mod:`.local_peers`), never to an address they wrote themselves.
        """
        trusted = frozenset(self.limits.trusted_local_uids) | ({own_uid} if own_uid is not None else set())
        peer_key = f"uid:{peer_uid}" if peer_uid is not None and peer_uid not in trusted else None
        local = (lambda: local_client_key(local_uids(), trusted)) if local_uids is not None else None
        return client_ip(remote_addr, forwarded_for, self.limits.trusted_proxies, peer_uid=peer_key,
                         local_client=local)

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
