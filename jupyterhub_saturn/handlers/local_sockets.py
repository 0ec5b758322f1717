"""Read the kernel's socket tables for :mod:`jupyterhub_saturn.policy.local_peers` (adapter)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from ..policy.local_peers import parse_proc_net_tcp, port_needle, uid_of, uids_connected_to

TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def read_tables() -> str:
    """The text of this network namespace's TCP socket tables (read once per request: it can be long)."""
    parts = []
    for path in TABLES:
        try:
            with open(path) as f:
                parts.append(f.read())
        except OSError:
            continue
    return "\n".join(parts)


def _norm(address) -> tuple[str, int]:
    ip = ipaddress.ip_address(address[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(address[1])


def peer_uid(request, tables: str) -> int | None:
    """The uid owning the loopback socket on the other end of ``request``'s connection, if any."""
    try:
        sock = request.connection.stream.socket
        here, there = _norm(sock.getsockname()[:2]), _norm(sock.getpeername()[:2])
    except (AttributeError, OSError, ValueError):
        return None
    if not ipaddress.ip_address(there[0]).is_loopback:
        return None
    return uid_of(parse_proc_net_tcp(tables, (port_needle(there[1]),)), there, here)


def public_port(app) -> int | None:
    """The port the proxy serves the hub on (where browsers, and local servers, connect)."""
    try:
        return urlparse(app.bind_url).port
    except (AttributeError, ValueError):
        return None


def uids_connected_to_port(port: int | None, tables: str) -> set[int]:
    """Uids of loopback clients connected to ``port``."""
    return uids_connected_to(parse_proc_net_tcp(tables, (port_needle(port),)), port) if port else set()
