"""Spawn-to-ready latency: saturn-local (sandboxed, the default) vs saturn-local unsandboxed vs
JupyterHub's stock `simple` spawner.

Three hubs with the same configuration and the same single-user command, differing only in
`spawner_class` and `SaturnLocalSpawner.sandbox`, run side by side; spawns rotate between them
(interleaved, so machine load affects all alike). Each sample is POST /users/<u>/server → the server
reported ready by the hub API, then the server is stopped. Prints medians and the ratio, and from each
hub's log where the time goes: spawn → the server's "is running at" line (the server's own start,
sandbox included) and from there → the hub's "took N seconds to start" (the hub noticing it).

    .venv/bin/python benchmarks/spawn_latency.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import Hub  # noqa: E402

COMMON = """
c.Spawner.cmd = [{cmd!r}]
c.Spawner.default_url = "/tree"
"""
SATURN = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}}
c.Saturn.images = {"python": {"prefix": sys.prefix}}
"""
UNSANDBOXED = SATURN + """
c.SaturnLocalSpawner.sandbox = False
c.SaturnGallery.anonymous = False
"""
SIMPLE = """
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
import os
if os.geteuid() == 0:
    c.Spawner.args = ["--allow-root"]  # saturn-local adds this itself in its no-system-accounts mode
"""


def spawn_once(hub: Hub, user: str) -> float:
    t0 = time.perf_counter()
    r = hub.spawn(user, {}) if hub.kind == "saturn" else hub.api("POST", f"/users/{user}/server")
    assert r.status_code in (201, 202), r.text
    while True:
        srv = hub.user_model(user).get("servers", {}).get("")
        if srv and srv.get("ready"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    hub.stop_server(user)
    return elapsed


def phases(log: Path) -> tuple[list[float], list[float]]:
    """From a hub log: seconds from each "Spawning" to the server's "is running at" line, and from
    there to the hub's "took N seconds to start" line."""
    import re
    from datetime import datetime

    def ts(line: str) -> datetime:
        return datetime.strptime(re.match(r"\[\w (\S+ \S+)", line).group(1), "%Y-%m-%d %H:%M:%S.%f")

    start, running, out = None, None, ([], [])
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("["):
            continue
        if "Spawning " in line and "JupyterHub spawner" in line:
            start, running = ts(line), None
        elif "is running at" in line and start:
            running = ts(line)
        elif "seconds to start" in line and start and running:
            done = ts(line)
            out[0].append((running - start).total_seconds())
            out[1].append((done - running).total_seconds())
            start = running = None
    return out


def exec_overhead(rounds: int = 30) -> None:
    """What the sandbox itself adds to starting a process: `python -c pass` sandboxed (bwrap + setpriv,
    the same argument list a server gets) vs run directly, interleaved. Free of single-user start-up noise."""
    import os
    import subprocess

    from jupyterhub_saturn.sandbox import SandboxSpec, bwrap_argv
    from jupyterhub_saturn.sandbox.bwrap import SYSTEM_PATHS

    home = Path(tempfile.mkdtemp(prefix="saturn-bench-home-"))
    os.chown(home, 299999, 299999)
    spec = SandboxSpec(uid=299999, gid=299999, home=str(home),
                       ro_paths=tuple(p for p in SYSTEM_PATHS if os.path.exists(p)) + (sys.prefix, sys.base_prefix),
                       symlinks=tuple((os.readlink(p), p) for p in ("/bin", "/lib", "/lib64", "/sbin") if os.path.islink(p)),
                       bwrap=shutil.which("bwrap") or "bwrap", drop_uid=os.geteuid() == 0)
    direct = [sys.executable, "-c", "pass"]
    samples: dict[str, list[float]] = {"sandboxed": [], "direct": []}
    for i in range(rounds + 2):
        for name, cmd in ((("sandboxed", bwrap_argv(spec, direct)), ("direct", direct))[:: 1 if i % 2 else -1]):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            if i >= 2:
                samples[name].append(time.perf_counter() - t0)
    shutil.rmtree(home, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"exec overhead of the sandbox: python -c pass median {med['sandboxed']*1000:.1f} ms sandboxed vs "
          f"{med['direct']*1000:.1f} ms direct (+{(med['sandboxed'] - med['direct'])*1000:.1f} ms, n={rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the hubs' directories and logs")
    parser.add_argument("--exec-only", action="store_true", help="only measure the sandbox's exec overhead")
    args = parser.parse_args()
    exec_overhead()
    if args.exec_only:
        return
    cmd = str(Path(sys.executable).parent / "jupyterhub-singleuser")
    tmp = tempfile.mkdtemp(prefix="saturn-bench-")
    if True:
        saturn = Hub(Path(tmp) / "saturn", COMMON.format(cmd=cmd) + SATURN)
        bare = Hub(Path(tmp) / "unsandboxed", COMMON.format(cmd=cmd) + UNSANDBOXED)
        simple = Hub(Path(tmp) / "simple", COMMON.format(cmd=cmd) + SIMPLE.format(home=str(Path(tmp) / "simple-homes" / "{username}")))
        saturn.kind, bare.kind, simple.kind = "saturn", "saturn", "simple"
        try:
            for hub in (saturn, bare, simple):
                hub.start()
                hub.ensure_user("bench")
            samples: dict[str, list[float]] = {"saturn-local": [], "unsandboxed": [], "simple": []}
            for i in range(args.warmup + args.rounds):
                order = [(saturn, "saturn-local"), (bare, "unsandboxed"), (simple, "simple")]
                order = order[i % 3:] + order[:i % 3]
                for hub, name in order:
                    t = spawn_once(hub, "bench")
                    if i >= args.warmup:
                        samples[name].append(t)
            med = {k: statistics.median(v) for k, v in samples.items()}
            for name, values in samples.items():
                q = statistics.quantiles(values, n=10)
                print(f"{name:13s} n={len(values)} median={med[name]*1000:7.1f} ms  p10={q[0]*1000:7.1f} ms  p90={q[-1]*1000:7.1f} ms")
            ratio = med["saturn-local"] / med["simple"]
            print(f"ratio saturn-local/simple (median) = {ratio:.3f}  (target <= 1.05)")
            ratio = med["saturn-local"] / med["unsandboxed"]
            print(f"ratio sandboxed/unsandboxed saturn-local (median) = {ratio:.3f}  (target <= 1.05)")
            for hub, name in ((saturn, "saturn-local"), (bare, "unsandboxed"), (simple, "simple")):
                up, seen = (x[args.warmup:] for x in phases(Path(hub.log_file)))
                if up:
                    print(f"{name:13s} spawn -> server running median {statistics.median(up)*1000:7.1f} ms, "
                          f"running -> hub sees it ready median {statistics.median(seen)*1000:7.1f} ms (n={len(up)})")
        finally:
            saturn.stop()
            bare.stop()
            simple.stop()
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                print(f"hub directories kept in {tmp}")


if __name__ == "__main__":
    main()
