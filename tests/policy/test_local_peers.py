"""Socket tables parsed; local clients attributed by uid, never by the headers they write."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.policy.client_ip import client_ip
from jupyterhub_saturn.policy.launch_limits import LaunchGate, LaunchLimits
from jupyterhub_saturn.policy.local_peers import (local_client_key, parse_proc_net_tcp, uid_of,
                                                  uids_connected_to)

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F40 01 00000000:00000000 00:00000000 00000000 200001        0 2 1 0 20 4 30 10 -1
   2: 0100007F:C351 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:1F40 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0100007F:C352 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 200002        0 5 1 0 20 4 30 10 -1
   bogus line
"""
TCP6 = """  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:C360 00000000000000000000000001000000:1F40 01 00000000:00000000 00:00000000 00000000 200003 0 6
   1: 0000000000000000FFFF00000100007F:C361 0000000000000000FFFF00000100007F:1F40 01 00000000:00000000 00:00000000 00000000 200004 0 7
"""


def test_parse_ipv4_and_ipv6_rows():
    rows = parse_proc_net_tcp(TCP)
    assert len(rows) == 5
    assert rows[1].local == ("127.0.0.1", 0xC350) and rows[1].remote == ("127.0.0.1", 8000) and rows[1].uid == 200001
    v6 = parse_proc_net_tcp(TCP6)
    assert v6[0].local == ("::1", 0xC360) and v6[1].local == ("127.0.0.1", 0xC361)


def test_uid_of_and_uids_connected_to():
    rows = parse_proc_net_tcp(TCP) + parse_proc_net_tcp(TCP6)
    assert uid_of(rows, ("127.0.0.1", 0xC350), ("127.0.0.1", 8000)) == 200001
    assert uid_of(rows, ("127.0.0.1", 1), ("127.0.0.1", 8000)) is None
    # the listening socket and the server side of the connection are not clients of port 8000
    assert uids_connected_to(rows, 8000) == {200001, 0, 200003, 200004}
    assert uids_connected_to(rows, 8080) == {200002}


def test_this_process_own_socket_is_found_in_the_real_table():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        with socket.create_connection(srv.getsockname()) as cli:
            rows = parse_proc_net_tcp(open("/proc/net/tcp").read())
            import os

            assert uid_of(rows, cli.getsockname(), srv.getsockname()) == os.geteuid()


@pytest.mark.parametrize("uids, key", [(set(), None), ({0}, None), ({0, 200001}, "uid:200001"),
                                       ({200001, 200002}, "local"), ({33}, None)])
def test_local_client_key(uids, key):
    assert local_client_key(uids, {0, 33}) == key


def test_forged_headers_from_a_local_uid_are_ignored():
    trusted = ["127.0.0.1/32"]
    forged = "6.6.6.6, 127.0.0.1"
    # straight to the hub: the socket's owner is the client
    assert client_ip("127.0.0.1", forged, trusted, peer_uid="uid:200001") == "uid:200001"
    # through the proxy: the loopback hop is a local process, its uid decides
    assert client_ip("127.0.0.1", forged, trusted, local_client=lambda: "uid:200001") == "uid:200001"
    # only trusted local uids (the hub's own tools, a front proxy) connected: the chain is believed
    assert client_ip("127.0.0.1", forged, trusted, local_client=lambda: None) == "6.6.6.6"
    # a remote client is never looked up locally: the rightmost untrusted hop wins
    called = []
    assert client_ip("127.0.0.1", "6.6.6.6, 203.0.113.9", trusted,
                     local_client=lambda: called.append(1) or "uid:1") == "203.0.113.9" and called == []


@given(st.lists(st.ip_addresses(v=4).map(str), max_size=40))
def test_no_header_a_sandboxed_uid_writes_changes_its_key(hops):
    forged = ", ".join(hops + ["127.0.0.1"])
    assert client_ip("127.0.0.1", forged, ["127.0.0.1/32"], local_client=lambda: "uid:7") in ("uid:7",)
    assert client_ip("127.0.0.1", forged, ["127.0.0.1/32"], peer_uid="uid:7") == "uid:7"


def test_gate_attributes_by_uid_and_trusts_configured_local_uids():
    gate = LaunchGate(LaunchLimits.from_config({"trusted_local_uids": [33]}))
    forged = "6.6.6.6, 127.0.0.1"
    assert gate.client_ip("127.0.0.1", forged, peer_uid=200001, own_uid=0) == "uid:200001"
    assert gate.client_ip("127.0.0.1", forged, peer_uid=0, own_uid=0, local_uids=lambda: {0, 200002}) == "uid:200002"
    assert gate.client_ip("127.0.0.1", forged, peer_uid=0, own_uid=0, local_uids=lambda: {0, 33}) == "6.6.6.6"
    assert gate.client_ip("10.0.0.5", forged, peer_uid=200001, own_uid=0) == "10.0.0.5"


@pytest.mark.parametrize("value", ["33", [-1], ["33"], [True], 33])
def test_trusted_local_uids_config_errors_name_the_key(value):
    from jupyterhub_saturn.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        LaunchLimits.from_config({"trusted_local_uids": value})
    assert e.value.field.startswith("Saturn.launch_limits.trusted_local_uids")


def test_needles_skip_rows_of_other_ports():
    from jupyterhub_saturn.policy.local_peers import port_needle

    assert port_needle(8000) == ":1F40 "
    rows = parse_proc_net_tcp(TCP, (port_needle(0xC350),))
    assert [r.uid for r in rows] == [200001, 0]  # the client socket and the hub side of that connection
    assert parse_proc_net_tcp(TCP, (port_needle(1),)) == []
