"""One culling sweep at scale: jupyterhub-saturn-culler vs jupyterhub-idle-culler 2.0.

A real JupyterHub (+ configurable-http-proxy) with --users users (default 10 000), of which
--servers (default 1 000) have a running server. Servers cost nothing: the benchmark-only
``FreeSpawner`` below answers ``start()`` with the URL of one shared tiny HTTP server and
``poll()`` with "running". Every server carries saturn auto-shutoff state with the same idle
timeout the idle-culler gets (``--timeout``), and half of them are idle past it, so both
cullers make the same decisions: stop exactly the idle half.

Runs are interleaved (saturn, idle-culler, idle-culler, saturn, ...): before each run the
culled servers are started again, the benchmark waits until they are idle past the timeout,
and the active half reports activity. Each run is one sweep, awaited in this process:
``Sweeper.sweep()`` for saturn (the service's own sweep, from its own option parsing) and
``cull_idle(...)`` for the idle-culler with its CLI defaults (concurrency 10, the hub's page
size) -- plus, with ``--fair-page-size``, idle-culler with 200 users per page as well.
Hub API requests are counted from the hub's access log (each culler has its own service
name) and cross-checked with the culler's own counter.

    .venv/bin/python benchmarks/culler_sweep.py [--users 10000] [--servers 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

try:  # the hub imports this module for FreeSpawner; the benchmark needs the rest
    from jupyterhub.spawner import Spawner
except ImportError:  # pragma: no cover
    Spawner = object


class FreeSpawner(Spawner):
    """Benchmark-only: every server is the same tiny HTTP server; start/stop cost nothing.

    ``$SATURN_BENCH_STOP_SECONDS`` makes ``stop()`` take that long (an idle wait, no CPU),
    like a real process or pod that takes a moment to go away.
    """

    async def start(self):
        return os.environ["SATURN_BENCH_BACKEND"]

    async def poll(self):
        return None

    async def stop(self, now=False):
        delay = float(os.environ.get("SATURN_BENCH_STOP_SECONDS") or 0)
        if delay > 0:
            await asyncio.sleep(delay)


HUB_CONFIG = """
import sys
sys.path.insert(0, {here!r})
from culler_sweep import FreeSpawner
c.JupyterHub.spawner_class = FreeSpawner
c.JupyterHub.log_level = "INFO"
c.JupyterHub.last_activity_interval = 24 * 3600
c.JupyterHub.concurrent_spawn_limit = 1000
c.Spawner.poll_interval = 24 * 3600
c.Spawner.http_timeout = 60
c.JupyterHub.services.append({{"name": "saturn-culler", "api_token": {saturn_token!r}}})
c.JupyterHub.services.append({{"name": "idle-culler", "api_token": {idle_token!r}}})
from jupyterhub_saturn.culler import culler_scopes
c.JupyterHub.load_roles.append({{"name": "saturn-culler", "scopes": culler_scopes(), "services": ["saturn-culler"]}})
c.JupyterHub.load_roles.append({{"name": "idle-culler", "services": ["idle-culler"],
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}})
"""


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def tiny_server() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


# ------------------------------------------------------------ hub set-up


def parallel(fn, items, workers=16):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def create_users(hub, names: list[str], batch: int = 500) -> None:
    def go(chunk):
        r = hub.api("POST", "/users", json={"usernames": chunk}, timeout=600)
        assert r.status_code in (201, 409), r.text[:300]

    parallel(go, [names[i:i + batch] for i in range(0, len(names), batch)], workers=2)


def spawn_all(hub, names: list[str], timeout: int) -> None:
    options = {"auto_shutoff": f"{timeout}s", "saturn_shutoff": {
        "idle_timeout": timeout, "max_age": None, "warn_before": 0, "count_busy_kernels": False}}
    body = {"user_options": options} if hub.version() >= (6, 0) else options

    def go(name):
        r = hub.api("POST", f"/users/{name}/server", json=body, timeout=600)
        assert r.status_code in (201, 202), f"{name}: {r.status_code} {r.text[:200]}"

    parallel(go, names, workers=16)


def running(hub) -> set[str]:
    names, offset = set(), 0
    while True:
        r = hub.api("GET", "/users", params={"state": "ready", "limit": 200, "offset": offset},
                    headers={"Accept": "application/jupyterhub-pagination+json"}, timeout=600)
        page = r.json()
        names |= {u["name"] for u in page["items"]}
        nxt = page["_pagination"]["next"]
        if not nxt:
            return names
        offset = nxt["offset"]


def touch(hub, names: list[str]) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"

    def go(name):
        r = hub.api("POST", f"/users/{name}/activity", json={"servers": {"": {"last_activity": stamp}}}, timeout=600)
        assert r.status_code == 200, r.text[:200]

    parallel(go, names, workers=16)


def count_requests(hub, start: int, service: str) -> int:
    with open(hub.log_file, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf8", "replace")
    return len(re.findall(rf"\({re.escape(service)}@", text))


# ------------------------------------------------------------ the two cullers


async def saturn_sweep(hub, token: str):
    from jupyterhub_saturn.culler.app import SaturnCuller

    app = SaturnCuller()
    app.initialize([f"--api-url={hub.url}/hub/api", f"--SaturnCuller.api_token={token}", "--concurrency=10",
                    "--log-level=WARN"])
    sweeper = app.make_sweeper()
    try:
        report = await sweeper.sweep()
    finally:
        sweeper.hub.close()
    return report.actions.get("stopped", 0) + report.actions.get("stopping", 0), report.requests


async def idle_culler_sweep(hub, token: str, timeout: int, page_size: int):
    from jupyterhub_idle_culler import cull_idle

    logger = logging.getLogger("idle-culler-bench")
    logger.setLevel(logging.WARNING)
    await cull_idle(url=f"{hub.url}/hub/api", api_token=token, inactive_limit=timeout, logger=logger,
                    concurrency=10, api_page_size=page_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=1_000)
    parser.add_argument("--timeout", type=int, default=60, help="idle timeout (s) both cullers apply")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each culler")
    parser.add_argument("--stop-seconds", type=float, default=0.0,
                        help="how long each server takes to stop (idle wait in the spawner; default 0)")
    parser.add_argument("--fair-page-size", action="store_true", help="also run idle-culler with 200 users per page")
    parser.add_argument("--db-dir", help="put the hub's sqlite file here (e.g. /dev/shm: commits without fsync)")
    parser.add_argument("--keep", action="store_true", help="keep the hub directory and log")
    args = parser.parse_args()

    from tests.harness import Hub

    tmp = Path(tempfile.mkdtemp(prefix="saturn-culler-bench-"))
    saturn_token, idle_token = secrets.token_hex(16), secrets.token_hex(16)
    config = HUB_CONFIG.format(here=str(HERE), saturn_token=saturn_token, idle_token=idle_token)
    db_file = None
    if args.db_dir:
        db_file = Path(tempfile.mkdtemp(prefix="saturn-culler-bench-db-", dir=args.db_dir)) / "jupyterhub.sqlite"
        config += f"\nc.JupyterHub.db_url = {'sqlite:///' + str(db_file)!r}\n"
    hub = Hub(tmp / "hub", config, env={"SATURN_BENCH_BACKEND": tiny_server(),
                                        "SATURN_BENCH_STOP_SECONDS": str(args.stop_seconds)})
    names = [f"u{i:05d}" for i in range(args.users)]
    with_servers = names[:: max(1, args.users // args.servers)][: args.servers]
    active, idle = with_servers[0::2], with_servers[1::2]
    contenders = [("saturn", None), ("idle-culler", 0)] + ([("idle-culler/200", 200)] if args.fair_page_size else [])
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name, _ in contenders}
    try:
        t0 = time.perf_counter()
        hub.start(timeout=180)
        print(f"JupyterHub {'.'.join(map(str, hub.version()))}, hub dir {tmp}", flush=True)
        create_users(hub, names)
        print(f"created {len(names)} users in {time.perf_counter() - t0:.0f}s", flush=True)
        t1 = time.perf_counter()
        spawn_all(hub, with_servers, args.timeout)
        print(f"started {len(with_servers)} servers in {time.perf_counter() - t1:.0f}s", flush=True)
        for rnd in range(args.rounds):
            order = contenders if rnd % 2 == 0 else contenders[::-1]
            for name, page_size in order:
                missing = sorted(set(idle) - running(hub))
                if missing:
                    spawn_all(hub, missing, args.timeout)
                time.sleep(args.timeout + 2)  # everyone idle past the timeout ...
                touch(hub, active)  # ... except the active half
                assert len(running(hub)) == len(with_servers)
                mark = hub.log_file.stat().st_size
                start = time.perf_counter()
                if name == "saturn":
                    culled, counted = asyncio.run(saturn_sweep(hub, saturn_token))
                else:
                    asyncio.run(idle_culler_sweep(hub, idle_token, args.timeout, page_size))
                    culled, counted = None, None
                wall = time.perf_counter() - start
                time.sleep(1)  # let the access log flush
                service = "saturn-culler" if name == "saturn" else "idle-culler"
                requests_seen = count_requests(hub, mark, service)
                left = running(hub)
                stopped = set(with_servers) - left
                assert stopped == set(idle), f"{name} stopped {len(stopped)} servers, expected the {len(idle)} idle ones"
                if counted is not None:
                    assert counted == requests_seen, (counted, requests_seen)
                results[name].append((wall, requests_seen, len(stopped)))
                print(f"round {rnd + 1} {name:16s} {wall:7.2f}s  {requests_seen:5d} requests  stopped {len(stopped)}",
                      flush=True)
    finally:
        hub.stop(timeout=300)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if db_file is not None:
                shutil.rmtree(db_file.parent, ignore_errors=True)
    print()
    print(f"{args.users} users, {len(with_servers)} running servers, {len(idle)} idle past {args.timeout}s, "
          f"each stop taking {args.stop_seconds:g}s in the spawner, hub database in {db_file or hub.dir}")
    base = statistics.median(w for w, _, _ in results["saturn"])
    for name, runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        reqs = statistics.median(r for _, r, _ in runs)
        print(f"{name:16s} median {wall:7.2f}s  requests {reqs:6.0f}  runs: " + ", ".join(f"{w:.2f}s" for w, _, _ in runs))
    idle_wall = statistics.median(w for w, _, _ in results["idle-culler"])
    print(f"saturn / idle-culler wall time: {base / idle_wall:.2f}x")
    print(json.dumps({name: runs for name, runs in results.items()}))


if __name__ == "__main__":
    main()
