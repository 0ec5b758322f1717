"""Loopback ports for the servers tests start: each handed out once, none shared with a suite running beside.

Binding port 0 and closing the socket names a port that is free *now*, nothing more. Two such calls can name the
same port (CI once gave a hub the same port for its proxy and the proxy's API: the hub met a 404 from its own
proxy and did not start), and until the server binds it, any other process may take it: another suite's pick, or
the source port of any outgoing connection, since bind(0), connect() and JupyterHub's ``random_port`` all draw from
the kernel's ephemeral range.

So the ports here come from *below* the ephemeral range, in blocks of ``BLOCK``. A process claims a block by an
exclusive ``flock`` on the block's file in ``LOCK_DIR`` and holds it until it exits (the kernel releases the lock
even after a crash); within its blocks it hands each port out once, skipping any that cannot be bound now.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

#: ports per claimed block
BLOCK = 100
#: where the blocks' lock files live (shared by every suite on the machine)
LOCK_DIR = Path(os.environ.get("SATURN_PORT_LOCK_DIR") or Path(tempfile.gettempdir()) / "jupyterhub-saturn-ports")
#: the lowest port handed out: above the well-known and common service ports
LOW = 20000
#: the range used when the ephemeral range leaves too little room below it
FALLBACK = (20000, 30000)


class PortsExhausted(RuntimeError):
    """Every block of the range is claimed by a running process, or none of its ports can be bound."""


def ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def default_range() -> tuple[int, int]:
    """``[low, high)`` below the ephemeral range, or ``FALLBACK`` when that leaves fewer than 20 blocks."""
    high = ephemeral_low()
    return (LOW, high) if high - LOW >= 20 * BLOCK else FALLBACK


def bindable(port: int, host: str = "127.0.0.1", *, reuse_address: bool = False) -> bool:
    """Whether ``host:port`` can be bound now. Without ``reuse_address`` (``SO_REUSEADDR``), a port still in
    TIME_WAIT counts as taken; with it, as for a server that sets the option, only a listener does."""
    with socket.socket() as s:
        if reuse_address:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class PortPool:
    """Hands out loopback ports from blocks this process holds a lock on; see the module docstring."""

    def __init__(self, span: tuple[int, int] | None = None, lock_dir: Path = LOCK_DIR, host: str = "127.0.0.1"):
        self.low, self.high = span or default_range()
        self.lock_dir = Path(lock_dir)
        self.host = host
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._held: list = []  # open lock files: closing one (or exiting) releases its block
        self._next: list[int] = []  # ports of the held blocks not yet handed out, next last

    def _claim_block(self) -> None:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        starts = list(range(self.low, self.high - BLOCK + 1, BLOCK))
        first = random.randrange(len(starts)) if starts else 0
        for start in starts[first:] + starts[:first]:
            try:
                f = open(self.lock_dir / f"{start}.lock", "a")  # noqa: SIM115 - held open until exit
            except OSError:  # another user's lock file: that block is not ours to use
                continue
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            self._held.append(f)
            self._next = list(range(start + BLOCK - 1, start - 1, -1))
            return
        raise PortsExhausted(
            f"no free block of {BLOCK} ports in [{self.low}, {self.high}): every one is locked in {self.lock_dir} "
            "by a running process (a stuck test run?)")

    def take(self) -> int:
        """A port on ``host`` that no other caller of any pool has been given, bindable at this moment."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's ports and locks are the parent's
                self._reset()
            for _blocks in range(1 + (self.high - self.low) // BLOCK):
                while self._next:
                    port = self._next.pop()
                    if bindable(port, self.host):
                        return port
                self._claim_block()
            raise PortsExhausted(f"no bindable port left in the blocks claimed in [{self.low}, {self.high})")

    def release_all(self) -> None:
        """Give back every block (tests of the pool itself; a test run simply exits)."""
        with self._lock:
            for f in self._held:
                f.close()
            self._reset()


_pool = PortPool()


def free_port() -> int:
    """A loopback TCP port for a test server: never handed out twice, and not in use by a suite running beside."""
    return _pool.take()
