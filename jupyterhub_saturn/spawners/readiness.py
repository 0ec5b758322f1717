"""Return from a local spawner's ``start`` once the server's port listens.

After ``start`` JupyterHub polls the new server over HTTP with an exponential backoff (0.2 s doubling
up to 5 s, with jitter): a server that comes up just after a poll waits for the next one, on a
loaded machine 0.2-3 s after it was ready (measured: ``benchmarks/spawn_latency.py``). Checking the
port every 50 ms instead lets the hub's first HTTP check go out as soon as the socket is bound; a
connection made before the server's event loop runs waits in the listen backlog and is answered as
soon as it does. Bounded, and never an error: past the bound the hub's own check decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

#: how often the port is tried
EVERY = 0.05


async def wait_listening(ip: str, port: int, alive: Callable[[], bool], timeout: float,
                         every: float = EVERY) -> bool:
    """True once ``ip:port`` accepts a TCP connection; False if ``alive()`` turns False (the process
    exited) or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + max(0.0, timeout)
    while alive():
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=max(every, 1.0))
        except (OSError, asyncio.TimeoutError):
            if time.monotonic() + every > deadline:
                return False
            await asyncio.sleep(every)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False
