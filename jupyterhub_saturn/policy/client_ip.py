"""Who is launching: the client address behind trusted proxies, and the key to rate-limit it by.

``X-Forwarded-For`` is honoured only when the peer that connected to us is a trusted
proxy. Then the header is walked right to left (each proxy appends the address it saw),
skipping trusted hops; the first untrusted address is the client. Anything to its left was
written by the client and is ignored. If the walk meets a malformed entry before finding
the client, the peer address is used (a broken chain is not evidence of anything). When
every hop is trusted, the leftmost is the client (a launch from inside the network).

Adapter note: inside JupyterHub, tornado's ``request.remote_ip`` has *already* been rewritten
from ``X-Forwarded-For``/``X-Real-Ip`` without any trust check (the hub runs with
``xheaders=True``); pass the socket peer address (``request.connection.context.address[0]``)
as ``remote_addr`` instead.

Clients on this machine (every local server connects from loopback) cannot choose their
address by forging headers: a request whose TCP peer is a loopback socket owned by an
untrusted uid (``peer_uid``) is that uid's, whatever it sends; and when the walk reaches a
loopback hop written by the proxy (its client is on this machine), ``local_client`` names
who that is (see :mod:`.local_peers`) and anything further left is ignored.

IPv6 clients are limited per /64 (:func:`rate_key`): one home or cloud host usually
controls a whole /64, so per-address limits would be trivial to dodge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from ..errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Trusted by default: a proxy on the same host (configurable-http-proxy on localhost).
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1/32", "::1/128")
IPV6_RATE_PREFIX = 64
#: Hops of X-Forwarded-For looked at, from the right (a longer header is attacker padding).
MAX_HOPS = 32


def parse_trusted_proxies(value: object, path: str) -> tuple[IPNetwork, ...]:
    """Validate a list of CIDRs (or single addresses); raise ``ConfigError`` naming ``path[i]``."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(path, "expected a list of CIDRs such as ['10.0.0.0/8', '127.0.0.1']")
    networks = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{path}[{i}]", f"expected a CIDR string, got {type(item).__name__}")
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=True))
        except ValueError as error:
            raise ConfigError(f"{path}[{i}]", f"{item!r} is not a CIDR ({error})") from None
    return tuple(networks)


def parse_address(text: object) -> IPAddress | None:
    """An IP from ``"1.2.3.4"``, ``"1.2.3.4:80"``, ``"[::1]:80"`` or ``"::1"``; ``None`` if malformed.

    IPv4-mapped IPv6 addresses (``::ffff:1.2.3.4``) come back as IPv4.
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1 :] and not _is_port(text[end + 1 :])):
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 has several colons
        text, port = text.split(":")
        if not _is_port(":" + port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isascii() and text[1:].isdigit() and len(text) <= 6


def client_ip(
    remote_addr: str | None,
    forwarded_for: str | None,
    trusted_proxies: Iterable[IPNetwork | str],
    *,
    peer_uid: str | None = None,
    local_client: Callable[[], str | None] | None = None,
) -> str:
    """The client's address (or local identity) as a string; see the module docstring for the rules.

    ``peer_uid``: the key (``uid:<n>``) of an untrusted local process that is the TCP peer itself.
    ``local_client``: called when a loopback hop from ``X-Forwarded-For`` is reached; returns the
    key of the local client behind the proxy, or None to keep walking (a trusted local proxy).
    """
    peer = parse_address(remote_addr)
    if peer is None:
        return remote_addr.strip() if isinstance(remote_addr, str) and remote_addr.strip() else "unknown"
    if peer_uid is not None and peer.is_loopback:
        return peer_uid
    networks = _networks(trusted_proxies)
    if not forwarded_for or not isinstance(forwarded_for, str) or not _trusted(peer, networks):
        return str(peer)
    hop = peer
    for entry in reversed(forwarded_for.split(",")[-MAX_HOPS:]):
        hop = parse_address(entry)
        if hop is None:
            return str(peer)
        if hop.is_loopback and local_client is not None:
            who = local_client()
            if who is not None:
                return who
        if not _trusted(hop, networks):
            return str(hop)
    return str(hop)


def rate_key(ip: str) -> str:
    """The bucket a client counts against: the IPv4 address, or the IPv6 /64."""
    address = parse_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/{IPV6_RATE_PREFIX}", strict=False))
    return str(address) if address is not None else str(ip)


def _networks(trusted: Iterable[IPNetwork | str]) -> tuple[IPNetwork, ...]:
    out = []
    for item in trusted:
        out.append(ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item)
    return tuple(out)


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)
