"""Who is on the other end of a loopback connection: sockets read from ``/proc/net/tcp{,6}``.

Every local server reaches the hub from 127.0.0.1, so an address says nothing about which
server is asking. The kernel's socket tables do: each TCP socket lists its local and remote
address and the uid that owns it. Sandboxed servers run as uids of their own, so a request
can be attributed to the server that sent it (see :func:`.client_ip.client_ip`). This module
only parses the tables' text; the adapter reads the files.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

ESTABLISHED = 0x01


class Socket(NamedTuple):
    """One row of a socket table."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: int
    uid: int


def _address(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = ipaddress.IPv4Address(raw[::-1])
    elif len(raw) == 16:  # four 32-bit words, each in host (little-endian) order
        ip = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    else:
        raise ValueError(f"bad address {text!r}")
    return str(ip), int(port, 16)


def port_needle(port: int) -> str:
    """The text a row holds for ``port`` (to skip other rows cheaply: tables can be long)."""
    return f":{port:04X} "


def parse_proc_net_tcp(text: str, needles: tuple[str, ...] = ()) -> list[Socket]:
    """The rows of ``/proc/net/tcp`` or ``/proc/net/tcp6`` (malformed rows are skipped).

    ``needles``: parse only rows containing one of them (see :func:`port_needle`).
    """
    out = []
    for line in text.splitlines()[1:]:
        if needles and not any(n in line for n in needles):
            continue
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            out.append(Socket(_address(fields[1]), _address(fields[2]), int(fields[3], 16), int(fields[7])))
        except ValueError:
            continue
    return out


def uid_of(sockets: list[Socket], local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid owning the socket bound to ``local`` and connected to ``remote``, if listed."""
    for s in sockets:
        if s.local == local and s.remote == remote:
            return s.uid
    return None


def uids_connected_to(sockets: list[Socket], port: int) -> set[int]:
    """Uids of established loopback client sockets connected to ``port`` on a loopback address."""
    uids = set()
    for s in sockets:
        if s.state == ESTABLISHED and s.remote[1] == port and ipaddress.ip_address(s.remote[0]).is_loopback \
                and ipaddress.ip_address(s.local[0]).is_loopback:
            uids.add(s.uid)
    return uids


def local_client_key(uids: set[int], trusted_uids: frozenset[int] | set[int]) -> str | None:
    """The rate key of a client on this machine, from the uids connected to the proxy.

    None: only trusted uids (the hub's own, a local front proxy) are connected, so the
    forwarded chain may be believed. One untrusted uid: ``uid:<n>`` (that server). Several:
    ``local`` (one bucket for every process on this machine; their forged headers are ignored).
    """
    untrusted = set(uids) - set(trusted_uids)
    if not untrusted:
        return None
    if len(untrusted) == 1:
        return f"uid:{untrusted.pop()}"
    return "local"
