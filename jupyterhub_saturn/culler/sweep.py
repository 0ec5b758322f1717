"""One culling sweep: list users with ready servers, stop what is past its deadline, remove
throwaway users whose servers are gone.

Requests per sweep grow with *running* servers, not with all users: ``ceil(R / page_size)``
listing pages, one group read, one DELETE per server to stop, one kernel probe per
busy-kernel server past its idle deadline, and one GET + DELETE per throwaway user left
without a server. All requests share the client's concurrency bound; one slow stop (the hub
answers 202 after ``slow_stop_timeout``) holds one slot, not the sweep. Any failed request
is logged and the affected server or user is simply looked at again next sweep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urlsplit

from .decide import (
    CHECK_KERNELS, KEEP, SKIP, STOP, TOUCH, Fallback, ServerDecision, after_kernel_check,
    decide_user, isoformat, kernels_busy, throwaway_removable, utcnow,
)
from .hub_client import HubClient, HubError, server_path, user_path

STOPPED = "stopped"  # DELETE answered 204 (or the server was already gone)
STOPPING = "stopping"  # DELETE answered 202: the hub is still stopping it


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    users: int = 0
    servers: int = 0
    actions: Counter = field(default_factory=Counter)  # stopped, stopping, touched, kept, skipped
    removed_users: list[str] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    seconds: float = 0.0
    stopped: list[str] = field(default_factory=list)
    culls: Counter = field(default_factory=Counter)  # by reason: idle, max-age, throwaway

    def summary(self) -> str:
        acts = ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items())) or "nothing"
        return (
            f"{self.servers} servers of {self.users} users: {acts}; removed {len(self.removed_users)} "
            f"throwaway users; {self.errors} errors; {self.requests} requests in {self.seconds:.2f}s"
        )


class Sweeper:
    """Runs sweeps against one hub. ``proxy_url`` (the public URL single-user servers are
    reached through) is needed only for servers whose busy kernels count as activity."""

    def __init__(
        self,
        hub: HubClient,
        *,
        fallback: Fallback = Fallback(),
        throwaway_group: str = "saturn-throwaway",
        throwaway_grace: float = 60,
        proxy_url: str = "",
        page_size: int = 200,
        log: logging.Logger | None = None,
    ):
        self.hub = hub
        self.fallback = fallback
        self.throwaway_group = throwaway_group
        self.throwaway_grace = throwaway_grace
        self.proxy_url = proxy_url.rstrip("/")
        self.page_size = page_size
        self.log = log or logging.getLogger("jupyterhub_saturn.culler")

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """One pass over the hub; never raises for request failures (they are counted)."""
        t0, before = time.monotonic(), self.hub.requests
        now = now or utcnow()
        report = SweepReport()
        members_task = asyncio.ensure_future(self._throwaway_members(report))
        try:
            users = await self.hub.list_users(state="ready", page_size=self.page_size)
        except HubError as e:
            self.log.error("Listing users with ready servers failed (retrying next sweep): %s", e)
            report.errors += 1
            users = None
        members = await members_task
        if users is not None:
            report.users = len(users)
            await asyncio.gather(*(self._handle_user(u, members, now, report) for u in users))
            if members:
                ready = {u.get("name") for u in users}
                await asyncio.gather(*(
                    self._handle_idle_throwaway(name, now, report) for name in sorted(members - ready)
                ))
        report.requests = self.hub.requests - before
        report.seconds = time.monotonic() - t0
        return report

    async def report_culls(self, report: SweepReport) -> None:
        """Tell the hub what this sweep culled, by reason, for its metrics (``saturn_culls``); best effort."""
        culls = {reason: n for reason, n in report.culls.items() if n}
        if not culls:
            return
        try:
            await self.hub.api("POST", "/saturn/culls", body={"culls": culls}, ok=(204,))
        except HubError as e:
            self.log.warning("Could not report culls to the hub's metrics: %s", e)

    # ------------------------------------------------------------ servers

    async def _handle_user(self, user: dict, members: set[str], now: datetime, report: SweepReport) -> None:
        decisions = decide_user(user, now=now, fallback=self.fallback)
        report.servers += len(decisions)
        outcomes = await asyncio.gather(*(self._act(d, now, report) for d in decisions))
        name = user.get("name")
        if name in members and decisions and all(o == STOPPED for o in outcomes):
            await self._remove_user(name, "its servers are stopped", report)

    async def _act(self, decision: ServerDecision, now: datetime, report: SweepReport) -> str:
        if decision.action == CHECK_KERNELS:
            busy = await self._kernels_busy(decision, report)
            decision = after_kernel_check(decision, busy, now)
        if decision.action == STOP:
            return await self._stop(decision, report)
        if decision.action == TOUCH:
            await self._touch(decision, now, report)
            return KEEP
        report.actions["kept" if decision.action == KEEP else "skipped"] += 1
        self.log.debug("Not stopping %s: %s", decision.log_name, decision.why)
        return decision.action

    async def _stop(self, decision: ServerDecision, report: SweepReport) -> str:
        self.log.info("Stopping %s: %s", decision.log_name, decision.why)
        try:
            status, _ = await self.hub.api("DELETE", server_path(decision.user, decision.server), ok=(202, 204))
        except HubError as e:
            if e.status == 404:  # the user or server is gone already
                report.actions["stopped"] += 1
                return STOPPED
            self.log.error("Stopping %s failed (retrying next sweep): %s", decision.log_name, e)
            report.errors += 1
            return SKIP
        report.culls[_reason(decision)] += 1
        if status == 202:
            self.log.info("%s is slow to stop; the hub keeps stopping it", decision.log_name)
            report.actions["stopping"] += 1
            return STOPPING
        report.actions["stopped"] += 1
        report.stopped.append(decision.log_name)
        return STOPPED

    async def _kernels_busy(self, decision: ServerDecision, report: SweepReport) -> bool | None:
        if not self.proxy_url or not decision.url:
            self.log.error("Cannot check kernels of %s: no proxy URL configured (--proxy-url)", decision.log_name)
            return None
        # the hub's server URL is already escaped, e.g. "/user/anon~1f2e/lab2/"; with subdomain_host it
        # is absolute ("https://anon--7e1f2e.hub.example.org/user/anon~1f2e/"): the proxy routes by Host
        url, headers = proxied_url(self.proxy_url, decision.url.rstrip("/") + "/api/kernels")
        try:
            _, kernels = await self.hub.fetch("GET", url, headers=headers)
            return kernels_busy(kernels)
        except (HubError, ValueError) as e:
            self.log.warning("Checking kernels of %s failed: %s", decision.log_name, e)
            report.errors += 1
            return None

    async def _touch(self, decision: ServerDecision, now: datetime, report: SweepReport) -> None:
        stamp = isoformat(now)
        body = {"last_activity": stamp, "servers": {decision.server: {"last_activity": stamp}}}
        try:
            await self.hub.api("POST", user_path(decision.user) + "/activity", body=body, ok=(200, 204))
        except HubError as e:
            self.log.error("Recording kernel activity of %s failed: %s", decision.log_name, e)
            report.errors += 1
            return
        self.log.info("Keeping %s: %s", decision.log_name, decision.why)
        report.actions["touched"] += 1

    # ------------------------------------------------------------ throwaway users

    async def _throwaway_members(self, report: SweepReport) -> set[str]:
        if not self.throwaway_group:
            return set()
        try:
            _, group = await self.hub.api("GET", "/groups/" + quote(self.throwaway_group, safe=""))
        except HubError as e:
            if e.status == 404:  # no such group yet: no throwaway users
                return set()
            self.log.error("Reading group %r failed (retrying next sweep): %s", self.throwaway_group, e)
            report.errors += 1
            return set()
        users = group.get("users") if isinstance(group, dict) else None
        return {u for u in users if isinstance(u, str)} if isinstance(users, list) else set()

    async def _handle_idle_throwaway(self, name: str, now: datetime, report: SweepReport) -> None:
        try:
            _, user = await self.hub.api("GET", user_path(name))
        except HubError as e:
            if e.status != 404:
                self.log.error("Reading throwaway user %s failed: %s", name, e)
                report.errors += 1
            return
        removable, why = throwaway_removable(user, now=now, grace=self.throwaway_grace)
        if removable:
            await self._remove_user(name, why, report)
        else:
            self.log.debug("Keeping throwaway user %s: %s", name, why)

    async def _remove_user(self, name: str, why: str, report: SweepReport) -> None:
        try:
            await self.hub.api("DELETE", user_path(name), ok=(204,))
        except HubError as e:
            if e.status != 404:
                self.log.error("Removing throwaway user %s failed (retrying next sweep): %s", name, e)
                report.errors += 1
            return
        self.log.info("Removed throwaway user %s: %s", name, why)
        report.culls["throwaway"] += 1
        report.removed_users.append(name)


def _reason(decision: ServerDecision) -> str:
    """Why a stopped server was stopped, as the metrics count it: ``idle`` or ``max-age``."""
    reason = decision.deadlines.reason if decision.deadlines is not None else None
    return reason if reason in ("idle", "max-age") else "idle"


def proxied_url(proxy_url: str, server_url: str) -> tuple[str, dict | None]:
    """``(URL on the proxy, headers)`` for a server URL the hub reported: a path as is; an absolute
    URL (``subdomain_host``) as its path on the proxy with its host in the ``Host`` header."""
    parts = urlsplit(server_url)
    if not parts.netloc:
        return proxy_url + server_url, None
    path = parts.path + ("?" + parts.query if parts.query else "")
    return proxy_url + path, {"Host": parts.netloc}
