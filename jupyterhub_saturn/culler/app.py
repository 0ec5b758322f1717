"""``jupyterhub-saturn-culler``: the per-user auto-shutoff service, as a traitlets Application.

Run it as a hub-managed service (see :func:`jupyterhub_saturn.culler.service.culler_service`);
it reads ``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN`` from the environment the hub gives
it, sweeps at once, then every ``--every`` seconds (``--once``: one sweep, then exit)::

    jupyterhub-saturn-culler --every=60 --concurrency=10 [--fallback-idle-timeout=1h]
        [--throwaway-group=saturn-throwaway] [--proxy-url=http://127.0.0.1:8000]

Mistakes in options stop it at start-up with the option's name (exit code 2).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time

from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Application

from .. import __version__
from ..errors import ConfigError
from ..policy import config_duration
from .decide import Fallback
from .hub_client import HubClient
from .sweep import Sweeper

NAME = "SaturnCuller"


class SaturnCuller(Application):
    """Stops servers past their own auto-shutoff deadlines and removes finished throwaway users."""

    name = "jupyterhub-saturn-culler"
    version = __version__
    description = "Per-user auto-shutoff for JupyterHub servers started by jupyterhub-saturn spawners."

    api_url = Unicode(help="The hub API URL. Default: $JUPYTERHUB_API_URL.").tag(config=True)
    api_token = Unicode(help="The service's API token. Default: $JUPYTERHUB_API_TOKEN.").tag(config=True)
    every = Float(60.0, help="Seconds between the starts of two sweeps.").tag(config=True)
    concurrency = Int(10, help="Most hub (and proxy) requests outstanding at once.").tag(config=True)
    page_size = Int(200, help="Users per page when listing users with ready servers (the hub caps it).").tag(config=True)
    request_timeout = Float(60.0, help="Seconds before one request counts as failed.").tag(config=True)
    fallback_idle_timeout = Unicode(
        "", help="Idle timeout (e.g. '1h') for servers without saturn auto-shutoff state. Empty: leave them alone."
    ).tag(config=True)
    fallback_max_age = Unicode(
        "", help="Max age for servers without saturn auto-shutoff state. Empty: none."
    ).tag(config=True)
    throwaway_group = Unicode(
        "saturn-throwaway", help="Members of this group are deleted once their servers are stopped. Empty: never."
    ).tag(config=True)
    throwaway_grace = Unicode(
        "60s", help="A throwaway user with no server at all is deleted only after being this long without activity."
    ).tag(config=True)
    proxy_url = Unicode(
        "", help="Public URL of the proxy (e.g. http://127.0.0.1:8000): where busy kernels are checked."
    ).tag(config=True)
    once = Bool(False, help="Run one sweep and exit.").tag(config=True)
    exit_with_parent = Bool(
        False, help="""Stop when the process that started this one (the hub, for a hub-managed service) dies,
        so a hub killed without clean-up leaves no culler behind; the restarted hub starts a new one."""
    ).tag(config=True)

    aliases = {
        "every": f"{NAME}.every",
        "concurrency": f"{NAME}.concurrency",
        "page-size": f"{NAME}.page_size",
        "request-timeout": f"{NAME}.request_timeout",
        "fallback-idle-timeout": f"{NAME}.fallback_idle_timeout",
        "fallback-max-age": f"{NAME}.fallback_max_age",
        "throwaway-group": f"{NAME}.throwaway_group",
        "throwaway-grace": f"{NAME}.throwaway_grace",
        "proxy-url": f"{NAME}.proxy_url",
        "api-url": f"{NAME}.api_url",
        "log-level": "Application.log_level",
    }
    flags = {
        "once": ({NAME: {"once": True}}, "Run one sweep and exit."),
        "exit-with-parent": ({NAME: {"exit_with_parent": True}}, "Stop when the hub that started it dies."),
    }

    @default("api_url")
    def _default_api_url(self):
        return os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")

    @default("api_token")
    def _default_api_token(self):
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("log_level")
    def _default_log_level(self):
        return logging.INFO

    @default("log_format")
    def _default_log_format(self):
        return "[%(levelname)1.1s %(asctime)s.%(msecs).03d saturn-culler %(process)d] %(message)s"

    @default("log_datefmt")
    def _default_log_datefmt(self):
        return "%Y-%m-%d %H:%M:%S"

    def checked(self) -> dict:
        """Validated settings; raises ConfigError naming the option."""
        if not self.api_token:
            raise ConfigError(f"{NAME}.api_token", "is empty; run as a hub service or set JUPYTERHUB_API_TOKEN")
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigError(f"{NAME}.api_url", f"{self.api_url!r} is not an http(s) URL")
        if not self.every > 0:
            raise ConfigError(f"{NAME}.every", f"must be more than 0 seconds, got {self.every}")
        if self.concurrency < 1:
            raise ConfigError(f"{NAME}.concurrency", f"must be at least 1, got {self.concurrency}")
        if not 1 <= self.page_size <= 10_000:
            raise ConfigError(f"{NAME}.page_size", f"must be between 1 and 10000, got {self.page_size}")
        if self.proxy_url and not self.proxy_url.startswith(("http://", "https://")):
            raise ConfigError(f"{NAME}.proxy_url", f"{self.proxy_url!r} is not an http(s) URL")

        def duration(trait: str, allow_empty: bool = True) -> int | None:
            value = getattr(self, trait).strip()
            if not value and allow_empty:
                return None
            return config_duration(value, path=f"{NAME}.{trait}", allow_zero=trait == "throwaway_grace")

        return {
            "fallback": Fallback(duration("fallback_idle_timeout"), duration("fallback_max_age")),
            "throwaway_grace": duration("throwaway_grace", allow_empty=False),
        }

    def make_sweeper(self) -> Sweeper:
        settings = self.checked()
        hub = HubClient(self.api_url, self.api_token, concurrency=self.concurrency, timeout=self.request_timeout)
        return Sweeper(
            hub, fallback=settings["fallback"], throwaway_group=self.throwaway_group.strip(),
            throwaway_grace=settings["throwaway_grace"], proxy_url=self.proxy_url, page_size=self.page_size,
            log=self.log,
        )

    async def run(self) -> None:
        """Sweep now, then every ``every`` seconds (a sweep longer than that delays the next)."""
        sweeper = self.make_sweeper()
        fb = sweeper.fallback
        self.log.info(
            "Started (pid %d): every %gs, concurrency %d, hub %s, fallback idle %s, throwaway group %r",
            os.getpid(), self.every, self.concurrency, self.api_url, fb.idle_timeout or "none",
            sweeper.throwaway_group or None,
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        if self.exit_with_parent and not _exit_with_parent():
            self.log.warning("The process that started the culler is gone; stopping")
            stopping.set()
        number = 0
        try:
            while not stopping.is_set():
                number += 1
                started = time.monotonic()
                try:
                    report = await sweeper.sweep()
                    self.log.info("Sweep %d: %s", number, report.summary())
                except Exception:  # noqa: BLE001 - one bad sweep must not end the service
                    self.log.exception("Sweep %d failed; trying again next time", number)
                if self.once:
                    return
                pause = max(0.0, self.every - (time.monotonic() - started))
                try:
                    await asyncio.wait_for(stopping.wait(), timeout=pause)
                except asyncio.TimeoutError:
                    pass
            self.log.info("Stopped by signal")
        finally:
            sweeper.hub.close()

    def start(self) -> None:
        try:
            self.checked()
        except ConfigError as e:
            print(f"jupyterhub-saturn-culler: configuration error: {e.text}", file=sys.stderr, flush=True)
            self.exit(2)
        asyncio.run(self.run())


def _exit_with_parent() -> bool:
    """Ask Linux for SIGTERM when our parent dies (``PR_SET_PDEATHSIG``); False if it already has."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    return parent != 1 and os.getppid() == parent


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app = SaturnCuller.instance()
    app.initialize(argv)
    app.start()


if __name__ == "__main__":
    main()
