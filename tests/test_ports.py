"""The test servers' port pool: distinct ports, disjoint between processes, below the ephemeral range."""

from __future__ import annotations

import socket

import pytest

from .ports import BLOCK, PortPool, PortsExhausted, bindable, default_range, ephemeral_low, free_port


@pytest.fixture
def span():
    """Two blocks of the real default range, so the pools below bind real loopback ports."""
    low, high = default_range()
    start = low + (high - low) // 2 // BLOCK * BLOCK
    return start, start + 2 * BLOCK


def test_three_ports_for_one_hub_are_never_the_same():
    # the CI failure: bind(0)-and-close named one port twice, for the proxy and for the proxy's API
    ports = [free_port() for _ in range(BLOCK + 10)]  # across a block boundary
    assert len(set(ports)) == len(ports)


def test_ports_are_below_the_ephemeral_range_that_bind_zero_and_connect_use():
    low, high = default_range()
    assert high <= ephemeral_low() or (low, high) == (20000, 30000)
    assert all(low <= free_port() < high for _ in range(20))


def test_two_processes_get_disjoint_blocks(tmp_path, span):
    # flock treats two opens of one file as two owners, as it does two processes
    a, b = PortPool(span, tmp_path), PortPool(span, tmp_path)
    try:
        pa = {a.take() for _ in range(10)}
        pb = {b.take() for _ in range(10)}
        assert not pa & pb
        assert {p // BLOCK for p in pa} != {p // BLOCK for p in pb}
    finally:
        a.release_all()
        b.release_all()


def test_a_port_someone_listens_on_is_skipped(tmp_path, span):
    pool = PortPool((span[0], span[0] + BLOCK), tmp_path)
    probe = PortPool((span[0], span[0] + BLOCK), tmp_path / "other")
    first = probe.take()  # the port the pool would hand out first
    probe.release_all()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first))
        taken.listen()
        assert not bindable(first) and not bindable(first, reuse_address=True)  # a listener blocks both
        try:
            assert pool.take() == first + 1
        finally:
            pool.release_all()


def test_when_every_block_is_held_the_error_names_the_lock_dir(tmp_path, span):
    holder, late = PortPool(span, tmp_path), PortPool(span, tmp_path)
    try:
        holder.take()
        for _ in range(BLOCK):  # exhaust the holder's first block, so it claims the second too
            holder.take()
        with pytest.raises(PortsExhausted, match=str(tmp_path)):
            late.take()
    finally:
        holder.release_all()
        late.release_all()


def test_a_released_block_can_be_claimed_again(tmp_path, span):
    a, b = PortPool((span[0], span[0] + BLOCK), tmp_path), PortPool((span[0], span[0] + BLOCK), tmp_path)
    a.take()
    with pytest.raises(PortsExhausted):
        b.take()
    a.release_all()  # what a process's exit does
    assert span[0] <= b.take() < span[0] + BLOCK
    b.release_all()


def test_an_unreadable_port_range_falls_back_to_the_kernel_default(tmp_path):
    assert ephemeral_low(str(tmp_path / "missing")) == 32768
    (tmp_path / "range").write_text("not numbers\n")
    assert ephemeral_low(str(tmp_path / "range")) == 32768
