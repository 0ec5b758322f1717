"""``culler_service(...)``: the hub-managed service entry and the role it needs, for config files.

::

    from jupyterhub_saturn.culler import culler_service
    service, role = culler_service(every=60, concurrency=10)
    c.JupyterHub.services.append(service)
    c.JupyterHub.load_roles.append(role)

The role carries the narrowest scopes that work (checked against JupyterHub 5.5 and 6.1):

- ``list:users``, ``read:users:activity``, ``read:servers``: page through users with ready
  servers and read each server's ``user_options``, ``started`` and ``last_activity``.
- ``admin:server_state``: each server's ``state``, where the spawner keeps the resolved auto-shutoff
  beside the user's choices (``saturn_resolved``; no credentials are kept there).
- ``delete:servers``: stop servers.
- ``read:groups!group=G``, ``read:users!group=G``, ``delete:users!group=G`` (G = the throwaway
  group): find throwaway users, read when they were created, delete them -- and no one else.
- only with ``busy_kernels=True``: ``access:servers`` (read ``/api/kernels`` through the
  proxy) and ``users:activity`` (record busy kernels as activity).
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..policy import config_duration

BASE_SCOPES = ("list:users", "read:users:activity", "read:servers", "admin:server_state", "delete:servers")
BUSY_KERNEL_SCOPES = ("access:servers", "users:activity")


def throwaway_scopes(group: str) -> list[str]:
    """Scopes to find and delete the members of ``group``, filtered to that group."""
    return [f"read:groups!group={group}", f"read:users!group={group}", f"delete:users!group={group}"]


def culler_scopes(*, throwaway_group: str | None = "saturn-throwaway", busy_kernels: bool = False) -> list[str]:
    """The culler role's scopes for these settings."""
    scopes = list(BASE_SCOPES)
    if throwaway_group:
        scopes += throwaway_scopes(throwaway_group)
    if busy_kernels:
        scopes += BUSY_KERNEL_SCOPES
    return scopes


def local_hub_api_url(c) -> str:
    """The hub API on the hub's own loopback, from a config ``c`` (``hub_bind_url`` or ``hub_port``, and
    ``base_url``), as the z2jh chart's own culler reaches it: the hub's NetworkPolicy does not admit the
    hub pod through its Service. z2jh binds ``http://:8081``, so this is ``http://127.0.0.1:8081/hub/api``."""
    hub = c.JupyterHub
    bind = hub.get("hub_bind_url") or ""
    port = (urlsplit(bind).port if isinstance(bind, str) and bind else None) or hub.get("hub_port") or 8081
    base = hub.get("base_url") or "/"
    base = base if isinstance(base, str) else "/"
    return f"http://127.0.0.1:{int(port)}/{base.strip('/') + '/' if base.strip('/') else ''}hub/api"


def culler_service(
    *,
    name: str = "saturn-culler",
    every: float = 60,
    concurrency: int = 10,
    fallback_idle_timeout: str | int | None = None,
    fallback_max_age: str | int | None = None,
    throwaway_group: str | None = "saturn-throwaway",
    throwaway_grace: str | int = "60s",
    busy_kernels: bool = False,
    proxy_url: str | None = None,
    command: list[str] | None = None,
    api_url: str | None = None,
    extra_args: list[str] = (),
    environment: dict | None = None,
) -> tuple[dict, dict]:
    """The ``(service, role)`` dicts for ``c.JupyterHub.services`` / ``c.JupyterHub.load_roles``.

    ``busy_kernels`` must match ``c.Saturn.auto_shutoff["count_busy_kernels"]``; it needs
    ``proxy_url``, the public URL of the proxy. ``command`` replaces
    ``[sys.executable, "-m", "jupyterhub_saturn.culler"]`` (e.g. ``["jupyterhub-saturn-culler"]``
    in an image). Mistakes raise :class:`~jupyterhub_saturn.errors.ConfigError`.
    """
    where = "culler_service"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name", "must be a non-empty service name")
    if isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
        raise ConfigError(f"{where}.every", f"must be a number of seconds above 0, got {every!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"{where}.concurrency", f"must be an integer of at least 1, got {concurrency!r}")
    if busy_kernels and not proxy_url:
        raise ConfigError(f"{where}.proxy_url", "is required when busy_kernels is true (kernels are read through the proxy)")
    if proxy_url and not str(proxy_url).startswith(("http://", "https://")):
        raise ConfigError(f"{where}.proxy_url", f"{proxy_url!r} is not an http(s) URL")
    args = [f"--every={every:g}", f"--concurrency={concurrency}"]
    for key, value in (("fallback-idle-timeout", fallback_idle_timeout), ("fallback-max-age", fallback_max_age)):
        if value is not None:
            config_duration(value, path=f"{where}.{key.replace('-', '_')}")
            args.append(f"--{key}={value}s" if isinstance(value, int) else f"--{key}={value}")
    config_duration(throwaway_grace, path=f"{where}.throwaway_grace", allow_zero=True)
    grace = f"{throwaway_grace}s" if isinstance(throwaway_grace, int) else str(throwaway_grace)
    args += [f"--throwaway-group={throwaway_group or ''}", f"--throwaway-grace={grace}"]
    if proxy_url:
        args.append(f"--proxy-url={proxy_url}")
    if api_url:
        if not str(api_url).startswith(("http://", "https://")):
            raise ConfigError(f"{where}.api_url", f"{api_url!r} is not an http(s) URL")
        args.append(f"--api-url={api_url}")
    cmd = list(command) if command else [sys.executable, "-m", "jupyterhub_saturn.culler"]
    # a hub-managed culler ends with its hub (a hub killed with SIGKILL would otherwise leave it running)
    args.append("--exit-with-parent")
    service = {"name": name, "command": cmd + args + list(extra_args)}
    if environment:
        service["environment"] = dict(environment)
    role = {
        "name": f"{name}-role",
        "description": "jupyterhub-saturn culler: stop servers past their auto-shutoff, remove throwaway users",
        "scopes": culler_scopes(throwaway_group=throwaway_group, busy_kernels=busy_kernels),
        "services": [name],
    }
    return service, role
