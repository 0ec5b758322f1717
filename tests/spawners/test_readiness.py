"""spawners/readiness.py: a real socket that starts listening late, a process that dies, a bound."""

from __future__ import annotations

import asyncio
import socket
import time

from jupyterhub_saturn.spawners.readiness import wait_listening


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_returns_once_the_port_listens():
    port = _free_port()
    listening = asyncio.Event()
    server = None

    async def listen_after_some_failed_tries():
        nonlocal server
        await asyncio.sleep(0.2)  # a few refused connections first
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        listening.set()

    task = asyncio.ensure_future(listen_after_some_failed_tries())
    try:
        assert await wait_listening("127.0.0.1", port, lambda: True, timeout=60) is True
        assert listening.is_set()
    finally:
        await task
        server.close()


async def test_stops_when_the_process_is_gone_or_the_bound_passes():
    port = _free_port()  # nothing listens there
    assert await wait_listening("127.0.0.1", port, lambda: False, timeout=60) is False
    t0 = time.monotonic()
    assert await wait_listening("127.0.0.1", port, lambda: True, timeout=0.3) is False
    assert time.monotonic() - t0 < 30  # bounded (generously: a loaded machine)
    assert await wait_listening("127.0.0.1", port, lambda: True, timeout=-5) is False
