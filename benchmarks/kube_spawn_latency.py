"""Spawn-to-ready latency and apiserver requests: saturn-kube vs stock KubeSpawner.

One real kube-apiserver + etcd (tests/kube), one node agent, two hubs side by side, each with its own
namespace and RBAC-limited `hub` ServiceAccount token (tests/kube/hub-rbac.yaml). Both run the same
single-user command with the same CPU/memory, the same tolerations and a 1Gi home PVC; they differ only
in `spawner_class` (saturn-kube with a one-size catalog vs `kubespawner.KubeSpawner` configured by hand).
Spawns alternate between the hubs (interleaved, so machine load hits both alike); each sample is
POST /users/<u>/server -> the hub API reports the server ready; then the server is stopped.

Requests are counted by the apiserver itself: a FlowSchema per hub ServiceAccount, read from
`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}` on /metrics (admin client), as the
difference across each spawn and each stop. Both hubs' pod/event watchers re-list every ~10 s, so a
window also holds ~1-2 such background requests per hub; they affect both alike.

    .venv/bin/python benchmarks/kube_spawn_latency.py [--rounds 10] [--warmup 1]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.kube_helpers import kube_hub_config  # noqa: E402
from tests.harness import Hub  # noqa: E402
from tests.kube.control_plane import ControlPlane  # noqa: E402
from tests.kube.node_agent import NodeAgent  # noqa: E402

SATURN = """
c.Saturn.sizes = {"small": {"cpu": 0.5, "memory": "1G"}}
c.Saturn.disks = ["1Gi"]
c.Saturn.images = {"python": {"image": "local/python"}}
"""
STOCK = """
c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
c.KubeSpawner.cpu_limit = 0.5
c.KubeSpawner.cpu_guarantee = 0.5
c.KubeSpawner.mem_limit = "1G"
c.KubeSpawner.mem_guarantee = "1G"
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = "1Gi"
c.KubeSpawner.volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
c.KubeSpawner.volume_mounts = [{"name": "home", "mountPath": "/home/jovyan"}]
"""
FLOW = "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas"


def flow_schema(name: str, namespace: str) -> dict:
    """Route every request of ``namespace``'s hub ServiceAccount through its own FlowSchema (for counting)."""
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": name},
        "spec": {
            "priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 500,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [{
                "subjects": [{"kind": "ServiceAccount", "serviceAccount": {"name": "hub", "namespace": namespace}}],
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": ["*"],
                                   "clusterScope": True}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            }],
        },
    }


def request_count(cp: ControlPlane, schema: str) -> int:
    text = cp.admin.request("GET", "/metrics")
    pattern = rf'^apiserver_flowcontrol_dispatched_requests_total{{flow_schema="{schema}",[^}}]*}} (\S+)$'
    return sum(int(float(m.group(1))) for m in re.finditer(pattern, text, re.M))


def spawn_once(cp: ControlPlane, hub: Hub, schema: str, user: str) -> tuple[float, int, int]:
    before = request_count(cp, schema)
    t0 = time.perf_counter()
    r = hub.spawn(user, {})
    assert r.status_code in (201, 202), r.text
    while True:
        srv = hub.user_model(user).get("servers", {}).get("")
        if srv and srv.get("ready"):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    spawned = request_count(cp, schema)
    hub.stop_server(user)
    stopped = request_count(cp, schema)
    return elapsed, spawned - before, stopped - spawned


PHASES = (  # hub log lines (DEBUG) marking each spawn's phases, in order
    ("init", "Initiating spawn for bench"), ("start", "Calling Spawner.start"),
    ("create", "Attempting to create pod"), ("launched", "events before launch"), ("done", "seconds to start"),
)


def phase_medians(log: Path, skip: int) -> dict[str, float]:
    """Median seconds between the phases of the hub's spawns (from its log), skipping warm-up spawns."""
    rows, cur = [], {}
    for line in log.read_text(errors="replace").splitlines():
        stamp = re.search(r"\d{4}-\d\d-\d\d \d\d:(\d\d):(\d\d\.\d+)", line)
        for key, marker in PHASES:
            if stamp and marker in line:
                if key == "init":
                    cur = {}
                cur[key] = int(stamp.group(1)) * 60 + float(stamp.group(2))
                if key == "done":
                    rows.append(cur)
    out = {}
    for (a, _), (b, _) in zip(PHASES, PHASES[1:]):
        diffs = [(r[b] - r[a]) % 3600 for r in rows[skip:] if a in r and b in r]
        out[f"{a}->{b}"] = statistics.median(diffs) if diffs else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1, help="rounds not counted (the first creates the PVCs)")
    parser.add_argument("--keep", action="store_true", help="keep the hubs' and the cluster's directories and logs")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="saturn-kube-bench-"))
    cp = ControlPlane(tmp / "cluster").start()
    node = hubs = None
    try:
        node = NodeAgent(cp, "bench-node", cpu="16", memory="64Gi").start()
        hubs = {}
        for name, extra in (("saturn-kube", SATURN), ("KubeSpawner", STOCK)):
            ns = "bench-" + name.lower()
            access = cp.setup_hub(ns)
            cp.admin.post(FLOW, flow_schema(ns, ns))
            hub = Hub(tmp / name, "", env={"KUBECONFIG": str(access.kubeconfig)})
            hub.write_config(kube_hub_config(hub, access, extra, start_timeout=120))
            hub.start()
            hub.ensure_user("bench")
            hubs[name] = (hub, ns)
        samples = {name: [] for name in hubs}
        for i in range(args.warmup + args.rounds):
            order = list(hubs.items()) if i % 2 == 0 else list(hubs.items())[::-1]
            for name, (hub, schema) in order:
                sample = spawn_once(cp, hub, schema, "bench")
                if i >= args.warmup:
                    samples[name].append(sample)
                print(f"round {i:2d} {name:12s} {sample[0]:6.2f} s  {sample[1]:3d} requests spawn, "
                      f"{sample[2]:3d} stop{'  (warm-up)' if i < args.warmup else ''}", flush=True)
        medians = {}
        print(f"\n{args.rounds} interleaved rounds (after {args.warmup} warm-up), one node agent, "
              f"kube-apiserver {cp.admin.get('/version')['gitVersion']}")
        for name, rows in samples.items():
            times = [r[0] for r in rows]
            medians[name] = statistics.median(times)
            print(f"  {name:12s} median {medians[name]:.2f} s  (min {min(times):.2f}, max {max(times):.2f}); "
                  f"apiserver requests per spawn: median {statistics.median(r[1] for r in rows):g} "
                  f"(min {min(r[1] for r in rows)}, max {max(r[1] for r in rows)}), per stop: median "
                  f"{statistics.median(r[2] for r in rows):g}")
        print("  phases from the hub logs (median s): hub + apply_user_options (init->start), spawner work "
              "before the pod create (start->create), create -> pod ready (create->launched), single-user "
              "server up (launched->done)")
        for name, (hub, _) in hubs.items():
            phases = phase_medians(hub.log_file, args.warmup)
            print(f"    {name:12s} " + "  ".join(f"{k} {v:.3f}" for k, v in phases.items()))
        ratio = medians["saturn-kube"] / medians["KubeSpawner"]
        paired = statistics.median(a[0] / b[0] for a, b in zip(samples["saturn-kube"], samples["KubeSpawner"]))
        print(f"  ratio of medians saturn-kube / KubeSpawner = {ratio:.3f} (target <= 1.05); "
              f"median of per-round ratios = {paired:.3f}")
    finally:
        for hub, _ in (hubs or {}).values():
            hub.stop()
        if node:
            node.stop()
        cp.stop()
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
