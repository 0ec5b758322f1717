import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.policy.client_ip import client_ip, parse_address, parse_trusted_proxies, rate_key

from ._strategies import SETTINGS

TRUSTED = parse_trusted_proxies(["10.0.0.0/8", "127.0.0.1", "fd00::/8"], "p")


@pytest.mark.parametrize(
    "remote, xff, expected",
    [
        ("8.8.8.8", "1.1.1.1", "8.8.8.8"),  # untrusted peer: header ignored
        ("8.8.8.8", None, "8.8.8.8"),
        ("10.1.1.1", None, "10.1.1.1"),  # trusted peer, no header
        ("10.1.1.1", "", "10.1.1.1"),
        ("10.1.1.1", "2.2.2.2", "2.2.2.2"),
        ("10.1.1.1", "1.1.1.1, 2.2.2.2, 10.0.0.5", "2.2.2.2"),  # skip trusted hops, stop at first untrusted
        ("10.1.1.1", "forged, 2.2.2.2, 10.0.0.5", "2.2.2.2"),  # left of the client is never read
        ("10.1.1.1", "2.2.2.2, not-an-ip, 10.0.0.5", "10.1.1.1"),  # malformed in the chain: peer
        ("10.1.1.1", "2.2.2.2, , 10.0.0.5", "10.1.1.1"),
        ("10.1.1.1", "unknown", "10.1.1.1"),
        ("10.1.1.1", "10.0.0.9, 10.0.0.5", "10.0.0.9"),  # all trusted: leftmost
        ("127.0.0.1", "2.2.2.2", "2.2.2.2"),
        ("127.0.0.2", "2.2.2.2", "127.0.0.2"),  # only 127.0.0.1/32 trusted
        ("::ffff:10.1.1.1", "2.2.2.2", "2.2.2.2"),  # IPv4-mapped peer
        ("10.1.1.1", "1.2.3.4:5678", "1.2.3.4"),
        ("10.1.1.1", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.1.1.1", "2001:DB8::1", "2001:db8::1"),
        ("fd00::1", "2.2.2.2", "2.2.2.2"),
        ("2001:db8::5", "2.2.2.2", "2001:db8::5"),
        ("unix-socket", "2.2.2.2", "unix-socket"),  # unparsable peer: never trusted
        ("", "2.2.2.2", "unknown"),
        (None, "2.2.2.2", "unknown"),
    ],
)
def test_client_ip(remote, xff, expected):
    assert client_ip(remote, xff, TRUSTED) == expected


def test_trusted_proxies_may_be_strings():
    assert client_ip("10.1.1.1", "2.2.2.2", ["10.0.0.0/8"]) == "2.2.2.2"
    assert client_ip("10.1.1.1", "2.2.2.2", []) == "10.1.1.1"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4 ", "1.2.3.4"),
        ("1.2.3.4:80", "1.2.3.4"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[::1]:8080", "::1"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:", None),
        ("1.2.3.4:http", None),
        ("1.2.3.4:1234567", None),
        ("[::1", None),
        ("[::1]x", None),
        ("999.1.1.1", None),
        ("", None),
        ("a" * 100, None),
        (None, None),
        (17, None),
    ],
)
def test_parse_address(text, expected):
    address = parse_address(text)
    assert (str(address) if address is not None else None) == expected


def test_rate_key_groups_ipv6_by_64():
    assert rate_key("1.2.3.4") == "1.2.3.4"
    assert rate_key("2001:db8:0:1::5") == rate_key("2001:db8:0:1:ffff::9") == "2001:db8:0:1::/64"
    assert rate_key("2001:db8:0:2::5") != rate_key("2001:db8:0:1::5")
    assert rate_key("unknown") == "unknown"


@pytest.mark.parametrize(
    "value, path, fragment",
    [
        ("10.0.0.0/8", "p", "expected a list of CIDRs"),
        (None, "p", "expected a list of CIDRs"),
        (["10.0.0.0/8", 5], "p[1]", "expected a CIDR string, got int"),
        (["10.0.0.1/8"], "p[0]", "is not a CIDR (10.0.0.1/8 has host bits set)"),
        (["localhost"], "p[0]", "is not a CIDR"),
    ],
)
def test_trusted_proxy_config_errors(value, path, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_trusted_proxies(value, "p")
    assert caught.value.field == path
    assert fragment in caught.value.text


ipv4 = st.ip_addresses(v=4).map(str)
hop_text = ipv4 | st.sampled_from(["10.0.0.1", "10.2.3.4", "garbage", "", "::1"]) | st.text(max_size=8)


@SETTINGS
@given(ipv4 | st.just("10.9.9.9"), st.lists(hop_text, max_size=6), st.lists(hop_text, max_size=3))
def test_result_is_peer_or_a_header_hop_and_forged_prefixes_do_not_matter(remote, hops, forged):
    header = ", ".join(hops)
    result = client_ip(remote, header, TRUSTED)
    normalised = {str(a) for a in map(parse_address, hops) if a is not None}
    assert result == remote or result in normalised
    peer_trusted = any(ipaddress.ip_address(remote) in n for n in TRUSTED if n.version == 4)
    if not peer_trusted:
        assert result == remote
    # when the chain already names an untrusted client, text a client prepends changes nothing
    parsed = [parse_address(h) for h in hops]
    if result != remote and result in {str(a) for a in parsed if a is not None and not any(
            a.version == n.version and a in n for n in TRUSTED)}:
        assert client_ip(remote, ", ".join(forged + hops), TRUSTED) == result


@SETTINGS
@given(st.text(max_size=200), st.text(max_size=200))
def test_never_raises_on_arbitrary_text(remote, header):
    assert isinstance(client_ip(remote, header, TRUSTED), str)
    assert isinstance(rate_key(remote), str)
