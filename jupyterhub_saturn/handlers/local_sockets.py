"""Read the kernel's socket tables for :mod:`jupyterhub_saturn.policy.local_peers` (adapter)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from ..policy.local_peers import parse_proc_net_tcp, uid_of, uids_connected_to

TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def sockets() -> list:
    """Every TCP socket of this network namespace."""
    out = []
    for path in TABLES:
        try:
            with open(path) as f:
                out += parse_proc_net_tcp(f.read())
        except OSError:
            continue
    return out


def peer_uid(request) -> int | None:
    """The uid owning the loopback socket on the other end of ``request``'s connection, if any."""
    try:
        sock = request.connection.stream.socket
        here, there = sock.getsockname()[:2], sock.getpeername()[:2]
    except (AttributeError, OSError):
        return None
    try:
        if not ipaddress.ip_address(there[0]).is_loopback:
            return None
    except ValueError:
        return None
    norm = (lambda a: (str(ipaddress.ip_address(a[0]).ipv4_mapped or a[0]) if ":" in a[0] else a[0], a[1]))
    return uid_of(sockets(), norm(there), norm(here))


def public_port(app) -> int | None:
    """The port the proxy serves the hub on (where browsers, and local servers, connect)."""
    try:
        return urlparse(app.bind_url).port
    except (AttributeError, ValueError):
        return None


def uids_connected_to_port(port: int | None) -> set[int]:
    """Uids of loopback clients connected to ``port`` right now."""
    return uids_connected_to(sockets(), port) if port else set()
