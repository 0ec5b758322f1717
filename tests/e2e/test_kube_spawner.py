"""saturn-kube end to end: a real JupyterHub + proxy spawning pods on the real test kube-apiserver.

The hub uses the RBAC-limited ``hub`` ServiceAccount token (tests/kube/hub-rbac.yaml); the node
agent schedules and runs the pods as local processes. Nothing here is mocked.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from jupyterhub_saturn.profiles.quantities import parse_cpu
from jupyterhub_saturn.spawners.kube import THROWAWAY_POD_LABEL

from ..harness import resolved, wait_for
from ..kube.node_agent import NodeAgent
from .kube_helpers import (
    CHART_TOLERATIONS, GPU_TAINT, USER_TAINT, Cluster, make_kube_hub, notebook_container, pod_env, progress_events, reach_server, wait_spawn_settled,
)

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.kube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
GPU_TOL = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
CATALOG = f"""
c.JupyterHub.allow_named_servers = True
c.Saturn.sizes = {{
    "small": {{"cpu": 0.5, "memory": "1G"}},
    "medium": {{"cpu": 1, "memory": "2G"}},
    "large": {{"cpu": 2, "memory": "4G", "groups": ["staff"]}},
}}
c.Saturn.gpus = {{
    "t4": {{"display_name": "1 x T4", "count": 1, "groups": ["gpu-users"],
            "node_selector": {{"saturn.test/gpu": "t4"}}, "tolerations": [{GPU_TOL!r}]}},
    "a100x2": {{"display_name": "2 x A100", "count": 2, "groups": ["staff"],
                "node_selector": {{"saturn.test/gpu": "a100"}}, "tolerations": [{GPU_TOL!r}]}},
    "t4x4": {{"display_name": "4 x T4", "count": 4, "groups": ["staff"],
              "node_selector": {{"saturn.test/gpu": "t4"}}, "tolerations": [{GPU_TOL!r}]}},
}}
c.Saturn.disks = {{"1Gi": {{}}, "2Gi": {{}}, "5Gi": {{"groups": ["staff"]}}}}
c.Saturn.images = {{
    "python": {{"display_name": "Python", "image": "local/python"}},
    "datascience": {{"display_name": "Data science", "image": "local/datascience", "env": {{"SATURN_FLAVOR": "ds"}}}},
}}
c.Saturn.defaults = {{"size": "small", "disk": "1Gi", "image": "python"}}
c.SaturnKubeSpawner.cpu_guarantee_ratio = 0.5
c.SaturnKubeSpawner.mem_guarantee_ratio = 0.75
"""


@pytest.fixture(scope="module")
def env(kube_control_plane, tmp_path_factory):
    """One hub for the module, a node dedicated to user pods and a GPU node with 2 T4s (both tainted)."""
    access = kube_control_plane.setup_hub(f"e2e-{uuid.uuid4().hex[:8]}")
    suffix = uuid.uuid4().hex[:4]
    nodes = [
        NodeAgent(kube_control_plane, f"cpu-{suffix}", cpu="8", memory="16Gi", taints=[USER_TAINT]).start(),
        NodeAgent(kube_control_plane, f"gpu-{suffix}", cpu="8", memory="16Gi", gpus=2,
                  labels={"saturn.test/gpu": "t4"}, taints=[USER_TAINT, GPU_TAINT]).start(),
    ]
    hub = make_kube_hub(tmp_path_factory.mktemp("kube"), access, CATALOG)
    for name, groups in (("ann", []), ("bob", ["gpu-users"]), ("sam", ["staff", "gpu-users"]), ("stu", [])):
        hub.ensure_user(name, groups)
    yield hub, Cluster(access), nodes
    hub.stop()
    for node in nodes:
        node.stop()
    access.client.close()


def _resources(pod):
    return notebook_container(pod)["resources"]


def _check_pod(pod, *, cpu, mem, gpus=0, image="local/python"):
    res = _resources(pod)
    assert parse_cpu(res["limits"]["cpu"], "cpu") == cpu and parse_cpu(res["requests"]["cpu"], "cpu") == cpu * 0.5
    assert res["limits"]["memory"] == mem[0] and res["requests"]["memory"] == mem[1]
    assert notebook_container(pod)["image"] == image
    assert THROWAWAY_POD_LABEL not in pod["metadata"]["labels"]  # a logged-in user's pod: no anonymous policy
    tolerations = pod["spec"]["tolerations"]
    for tol in CHART_TOLERATIONS:  # the chart's user tolerations are kept, whatever the GPU adds
        assert tol in tolerations, tolerations
    if gpus:
        assert res["limits"]["nvidia.com/gpu"] == str(gpus) and res["requests"]["nvidia.com/gpu"] == str(gpus)
        assert GPU_TOL in tolerations
        assert pod["spec"]["nodeSelector"]["saturn.test/gpu"] == "t4"
        shm = [v for v in pod["spec"]["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"]
        assert shm and any(m["mountPath"] == "/dev/shm" for m in notebook_container(pod)["volumeMounts"])
    else:
        assert "nvidia.com/gpu" not in res["limits"] and GPU_TOL not in tolerations
        assert "saturn.test/gpu" not in (pod["spec"].get("nodeSelector") or {})


@pytest.mark.hub_versions
def test_api_spawn_each_profile_sets_the_pod_and_grows_the_disk(env):
    hub, cluster, (cpu_node, gpu_node) = env
    cases = [
        ({"size": "small"}, dict(cpu=0.5, mem=("1G", "750M"), disk="1Gi")),
        ({"size": "medium", "disk": "2Gi"}, dict(cpu=1, mem=("2G", "1500M"), disk="2Gi")),
        ({"size": "large", "gpu": "t4", "image": "datascience"},  # 1Gi chosen: the 2Gi disk never shrinks
         dict(cpu=2, mem=("4G", "3G"), gpus=1, image="local/datascience", disk="2Gi")),
    ]
    for options, want in cases:
        r = hub.spawn("sam", options)
        assert r.status_code in (201, 202), r.text
        model = hub.wait_ready("sam", timeout=180)
        pod = cluster.pod("jupyter-sam")
        _check_pod(pod, cpu=want["cpu"], mem=want["mem"], gpus=want.get("gpus", 0),
                   image=want.get("image", "local/python"))
        assert pod["spec"]["nodeName"] == (gpu_node.name if want.get("gpus") else cpu_node.name)
        env_vars = pod_env(pod)
        assert env_vars["SATURN_SIZE"] == options["size"] and env_vars["SATURN_GPU"] == options.get("gpu", "none")
        assert env_vars.get("SATURN_FLAVOR", "") == ("ds" if options.get("image") == "datascience" else "")
        mounts = {m["mountPath"]: m["name"] for m in notebook_container(pod)["volumeMounts"]}
        claim = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
                 if "persistentVolumeClaim" in v}
        assert claim[mounts["/home/jovyan"]] == "claim-sam"
        pvc = wait_for(lambda: (p := cluster.pvc("claim-sam")) and p.get("status", {}).get("capacity", {})
                       .get("storage") == want["disk"] and p, timeout=60, what=f"claim-sam at {want['disk']}")
        assert pvc["spec"]["resources"]["requests"]["storage"] == want["disk"]
        expected = {"size": "small", "gpu": "none", "disk": "1Gi", "image": "python", **options}
        assert {k: resolved(model)[k] for k in expected} == expected and model["user_options"] == options
        assert reach_server(hub, "sam", model).status_code == 200
        hub.stop_server("sam")
        cluster.wait_pod_gone("jupyter-sam")


@pytest.mark.parametrize("options, status, field, allowed", [
    ({"size": "huge"}, 400, "size", ["small", "medium"]),
    ({"size": "large"}, 403, "size", ["small", "medium"]),
    ({"gpu": "a100x2"}, 403, "gpu", ["none", "t4"]),
    ({"gpu": 1}, 400, "gpu", ["none", "t4"]),
    ({"disk": "5Gi"}, 403, "disk", ["1Gi", "2Gi"]),
    ({"image": ["python"]}, 400, "image", ["python", "datascience"]),
    ({"colour": "red"}, 400, "colour", ["size", "gpu", "disk", "image"]),
])
def test_bad_choices_answer_400_or_403_and_create_nothing(env, options, status, field, allowed):
    hub, cluster, _ = env
    r = hub.spawn("bob", options)
    assert r.status_code == status, r.text
    message = r.json()["message"]
    assert field in message and all(repr(v) in message for v in allowed), message
    assert "Traceback" not in r.text
    assert "" not in hub.user_model("bob")["servers"]
    assert "jupyter-bob" not in cluster.pod_names()


def test_form_spawn_puts_the_gpu_pod_on_the_gpu_node(env):
    hub, cluster, (_, gpu_node) = env
    s = hub.login("bob")
    page = s.get(hub.url + "/hub/spawn", timeout=30)
    assert page.status_code == 200 and 'value="t4"' in page.text and 'value="a100x2"' not in page.text
    bad = s.post(hub.url + "/hub/spawn", data={"size": "large", "_xsrf": s.cookies.get("_xsrf")}, timeout=60)
    assert bad.status_code == 403 and "large" in bad.text
    r = s.post(hub.url + "/hub/spawn", data={"size": "medium", "gpu": "t4", "disk": "1Gi", "image": "python",
                                             "_xsrf": s.cookies.get("_xsrf")}, timeout=60, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    model = hub.wait_ready("bob", timeout=180)
    pod = cluster.pod("jupyter-bob")
    _check_pod(pod, cpu=1, mem=("2G", "1500M"), gpus=1)
    assert pod["spec"]["nodeName"] == gpu_node.name
    assert reach_server(hub, "bob", model).status_code == 200
    # the user's own browser session gets JupyterLab too (OAuth through the proxy)
    lab = s.get(hub.url + model["url"] + "lab", timeout=60)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    hub.stop_server("bob")
    cluster.wait_pod_gone("jupyter-bob")


@pytest.mark.parametrize("gpu, plain", [
    ("a100x2", "No node can run 2 x A100 right now: no node with 2 x A100 is available"),
    ("t4x4", "No node can run 4 x T4 right now: every node that has 4 x T4 is busy"),
])
def test_gpu_that_no_node_can_take_shows_a_plain_message_and_does_not_start(
        kube_hub, kube_node_factory, hub_factory, gpu, plain):
    kube_node_factory(cpu="8", memory="16Gi", gpus=2, labels={"saturn.test/gpu": "t4"}, taints=[GPU_TAINT])
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory, start_timeout=25)
    hub.ensure_user("sam", ["staff"])
    r = hub.spawn("sam", {"gpu": gpu})
    assert r.status_code in (201, 202), r.text
    events = progress_events(hub, "sam", timeout=120)
    messages = [e.get("message", "") for e in events]
    assert any(m.startswith(plain) for m in messages), messages
    assert events[-1].get("failed"), events[-1]
    final = events[-1]["message"]
    assert "did not become ready" in final and "FailedScheduling" in final, final
    assert not hub.user_model("sam")["servers"]
    Cluster(kube_hub).wait_pod_gone("jupyter-sam")


def test_pod_that_never_becomes_ready_times_out_with_its_events(kube_hub, kube_node, hub_factory):
    extra = CATALOG + """
c.KubeSpawner.cmd = [sys.executable, "-c", "import time; time.sleep(3600)"]
c.KubeSpawner.extra_container_config = {"readinessProbe": {"tcpSocket": {"port": 8888}, "periodSeconds": 1}}
"""
    hub = make_kube_hub(None, kube_hub, extra, factory=hub_factory, start_timeout=25)
    hub.ensure_user("ann")
    assert hub.spawn("ann", {}).status_code in (201, 202)
    events = progress_events(hub, "ann", timeout=120)
    final = events[-1]
    assert final.get("failed"), events
    assert re.search(r"server pod \S+/jupyter-ann did not become ready in \d+ s\. Pod events: .*Started",
                     final["message"]), final
    Cluster(kube_hub).wait_pod_gone("jupyter-ann")


def _refused_growth(hub, cluster, user="ann"):
    assert hub.spawn(user, {"disk": "1Gi"}).status_code in (201, 202)
    hub.wait_ready(user, timeout=180)
    hub.stop_server(user)
    r = hub.spawn(user, {"disk": "2Gi"})
    assert r.status_code == 409, r.text
    assert cluster.pvc(f"claim-{user}")["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert f"jupyter-{user}" not in cluster.pod_names()
    return r.json()["message"]


def test_fixed_storage_class_refuses_growth_with_the_reason(kube_hub, kube_node, hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG + '\nc.KubeSpawner.storage_class = "fixed"\n', factory=hub_factory)
    hub.ensure_user("ann")
    message = _refused_growth(hub, Cluster(kube_hub))
    assert message.startswith("your disk is 1Gi and cannot grow to 2Gi: its storage class 'fixed' does not "
                              "allow expansion"), message
    assert "Choose a disk of 1Gi or less" in message
    # the smaller disk still starts
    assert hub.spawn("ann", {"disk": "1Gi"}).status_code in (201, 202)
    hub.wait_ready("ann", timeout=180)


def _rbac_file(tmp_path, with_saturn_role: bool) -> Path:
    """The z2jh hub Role (tests/kube/hub-rbac.yaml without the patch rule), plus the Role we ship."""
    docs = [d for d in yaml.safe_load_all((REPO / "tests/kube/hub-rbac.yaml").read_text()) if d]
    for d in docs:
        if d["kind"] == "Role":
            d["rules"] = [r for r in d["rules"] if "patch" not in r["verbs"]]
    if with_saturn_role:
        docs += [d for d in yaml.safe_load_all((REPO / "helm-values/hub-rbac-saturn.yaml").read_text()) if d]
    path = tmp_path / "rbac.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_chart_role_alone_cannot_grow_disks_and_the_shipped_role_fixes_it(
        kube_control_plane, kube_node, hub_factory, tmp_path):
    plain = kube_control_plane.setup_hub(f"z2jh-{uuid.uuid4().hex[:6]}", rbac_file=_rbac_file(tmp_path, False))
    hub = make_kube_hub(None, plain, CATALOG, factory=hub_factory)
    hub.ensure_user("ann")
    message = _refused_growth(hub, Cluster(plain))
    assert "its Role lacks 'patch' on persistentvolumeclaims" in message, message
    hub.stop()

    shipped = kube_control_plane.setup_hub(f"saturn-{uuid.uuid4().hex[:6]}", rbac_file=_rbac_file(tmp_path, True))
    hub = make_kube_hub(None, shipped, CATALOG, factory=hub_factory)
    hub.ensure_user("ann")
    for disk in ("1Gi", "2Gi"):
        assert hub.spawn("ann", {"disk": disk}).status_code in (201, 202)
        hub.wait_ready("ann", timeout=180)
        hub.stop_server("ann")
    cluster = Cluster(shipped)
    wait_for(lambda: cluster.pvc("claim-ann")["status"]["capacity"]["storage"] == "2Gi", timeout=60,
             what="claim grown to 2Gi")


@pytest.mark.parametrize("delete_pvc", [True, False])
def test_deleting_the_user_deletes_the_claim_only_when_configured(kube_hub, kube_node, hub_factory, delete_pvc):
    hub = make_kube_hub(None, kube_hub, CATALOG + f"\nc.KubeSpawner.delete_pvc = {delete_pvc}\n", factory=hub_factory)
    hub.ensure_user("ann")
    cluster = Cluster(kube_hub)
    assert hub.spawn("ann", {}).status_code in (201, 202)
    hub.wait_ready("ann", timeout=180)
    hub.stop_server("ann")
    cluster.wait_pod_gone("jupyter-ann")
    assert cluster.pvc("claim-ann") is not None  # stopping never deletes the disk
    assert hub.api("DELETE", "/users/ann").status_code == 204
    if delete_pvc:
        cluster.wait_pvc_gone("claim-ann")
    else:
        time.sleep(3)
        assert cluster.pvc("claim-ann") is not None


def test_a_pod_the_apiserver_refuses_fails_with_its_reason(kube_control_plane, kube_hub, kube_node, hub_factory):
    """A quota refusing pods: the apiserver's own reason, not KubeSpawner's raw exception with HTTP headers."""
    quotas = f"/api/v1/namespaces/{kube_hub.namespace}/resourcequotas"
    kube_control_plane.admin.post(quotas, {"apiVersion": "v1", "kind": "ResourceQuota",
                                           "metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})
    # no kube-controller-manager here: publish the quota's usage as its controller would
    quota = kube_control_plane.admin.get(f"{quotas}/no-pods")
    quota["status"] = {"hard": {"pods": "0"}, "used": {"pods": "0"}}
    kube_control_plane.admin.put(f"{quotas}/no-pods/status", quota)
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("ann")
    message = _failure_message(hub, "ann", hub.spawn("ann", {}))
    assert message.startswith("Kubernetes refused to start your server (403 Forbidden: "), message
    assert "exceeded quota: no-pods" in message and "HTTP response headers" not in message, message
    assert "" not in hub.user_model("ann")["servers"]


def test_a_claim_deleted_behind_the_hubs_back_is_recreated(kube_control_plane, kube_hub, kube_node, hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("ann")
    cluster = Cluster(kube_hub)
    assert hub.spawn("ann", {}).status_code in (201, 202)
    hub.wait_ready("ann", timeout=180)
    hub.stop_server("ann")
    kube_control_plane.admin.delete(f"/api/v1/namespaces/{kube_hub.namespace}/persistentvolumeclaims/claim-ann")
    cluster.wait_pvc_gone("claim-ann")
    assert hub.spawn("ann", {"disk": "2Gi"}).status_code in (201, 202)
    hub.wait_ready("ann", timeout=180)
    assert cluster.pvc("claim-ann")["spec"]["resources"]["requests"]["storage"] == "2Gi"


def _pods_match_servers(hub, cluster):
    servers = set()
    for user in hub.api("GET", "/users").json():
        servers |= {f"jupyter-{user['name']}" + (f"--{n}" if n else "") for n in user.get("servers", {})}
    pods = cluster.pod_names()
    return pods == servers and (pods, servers)


@pytest.mark.parametrize("cleanup", [True, False])
def test_hub_restart_leaves_no_orphan_pods(kube_hub, kube_node, hub_factory, cleanup):
    hub = make_kube_hub(None, kube_hub, CATALOG + f"\nc.JupyterHub.cleanup_servers = {cleanup}\n",
                        factory=hub_factory)
    cluster = Cluster(kube_hub)
    hub.ensure_user("ann")
    assert hub.spawn("ann", {}).status_code in (201, 202)
    hub.wait_ready("ann", timeout=180)
    hub.stop()
    if cleanup:
        cluster.wait_pod_gone("jupyter-ann")
    else:
        assert cluster.pod("jupyter-ann")["status"]["phase"] == "Running"
    hub.start()
    wait_for(lambda: _pods_match_servers(hub, cluster), timeout=90, what="pods == servers after restart")
    if not cleanup:
        model = hub.user_model("ann")["servers"][""]
        assert model["ready"] and reach_server(hub, "ann", model).status_code == 200
        hub.stop_server("ann")
        cluster.wait_pod_gone("jupyter-ann")


@pytest.mark.hub_versions
def test_hub_crash_then_restart_reconciles_pods_and_servers(kube_control_plane, kube_hub, kube_node, hub_factory):
    """The hub is killed (no cleanup); while it is down one user's pod disappears. After the restart the
    surviving server is still reachable, the vanished one is gone, and no pod is left without a server."""
    hub = make_kube_hub(None, kube_hub, CATALOG + "\nc.JupyterHub.cleanup_servers = False\n", factory=hub_factory)
    cluster = Cluster(kube_hub)
    for user in ("ann", "bob"):
        hub.ensure_user(user)
        assert hub.spawn(user, {}).status_code in (201, 202)
    for user in ("ann", "bob"):
        hub.wait_ready(user, timeout=180)
    hub.stop(sig=signal.SIGKILL)
    kube_control_plane.admin.delete(f"/api/v1/namespaces/{kube_hub.namespace}/pods/jupyter-bob")
    cluster.wait_pod_gone("jupyter-bob")
    hub.start()
    wait_spawn_settled(hub, "bob", timeout=120)
    assert "" not in hub.user_model("bob")["servers"]
    model = hub.user_model("ann")["servers"][""]
    assert model["ready"] and reach_server(hub, "ann", model).status_code == 200
    assert _pods_match_servers(hub, cluster)


def test_hub_killed_mid_spawn_leaves_no_orphan_pod(kube_hub, kube_node, hub_factory):
    """Killed while a pod is starting (it never gets ready here): after the restart the hub finds the
    half-started server unresponsive, stops it and its pod is deleted."""
    extra = CATALOG + """
c.JupyterHub.cleanup_servers = False
c.KubeSpawner.http_timeout = 15
c.KubeSpawner.cmd = [sys.executable, "-c", "import time; time.sleep(3600)"]
c.KubeSpawner.extra_container_config = {"readinessProbe": {"tcpSocket": {"port": 8888}, "periodSeconds": 1}}
"""
    hub = make_kube_hub(None, kube_hub, extra, factory=hub_factory, start_timeout=120)
    cluster = Cluster(kube_hub)
    hub.ensure_user("ann")
    assert hub.spawn("ann", {}).status_code in (201, 202)
    wait_for(lambda: (p := cluster.pod("jupyter-ann")) and p["status"].get("phase") == "Running", timeout=90,
             what="pending pod running (never ready)")
    hub.stop(sig=signal.SIGKILL)
    hub.start()
    model = wait_spawn_settled(hub, "ann", timeout=180)
    assert "" not in model["servers"]
    cluster.wait_pod_gone("jupyter-ann")
    assert _pods_match_servers(hub, cluster)


def test_apiserver_restart_during_a_spawn_completes_or_fails_clearly(kube_control_plane, kube_hub, kube_node,
                                                                    hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    cluster = Cluster(kube_hub)
    hub.ensure_user("ann")
    answer = {}
    # a spawn that fails answers once the hub has stopped what it started, which retries while
    # the apiserver is still coming back: wait for the answer as long as the hub may take
    t = threading.Thread(target=lambda: answer.setdefault("r", hub.spawn("ann", {}, timeout=240)))
    t.start()
    time.sleep(0.3)
    kube_control_plane.restart_apiserver()
    t.join(260)
    assert "r" in answer, "the spawn request never answered"
    _completed_or_failed_clearly(hub, cluster, answer["r"])


def _failure_message(hub, user, response) -> str:
    """Why the spawn failed: the POST's own answer, or (a slow failure) the progress stream's last event."""
    if response.status_code >= 400:
        return response.json()["message"]
    wait_spawn_settled(hub, user, timeout=240)
    event = progress_events(hub, user, timeout=30)[-1]
    assert event.get("failed"), event
    return event["message"]


def _completed_or_failed_clearly(hub, cluster, response):
    assert response.status_code in (201, 202, 502, 503), response.text
    model = wait_spawn_settled(hub, "ann", timeout=240)
    srv = model["servers"].get("")
    if srv:  # completed
        assert reach_server(hub, "ann", srv).status_code == 200
    else:  # failed, with a message a person can act on
        message = _failure_message(hub, "ann", response)
        assert "Kubernetes" in message and "Traceback" not in message, message
    wait_for(lambda: _pods_match_servers(hub, cluster), timeout=90, what="pods == servers")


def test_apiserver_down_when_a_spawn_starts(kube_control_plane, kube_hub, kube_node, hub_factory):
    """Down for longer than k8s_api_request_retry_timeout: the spawn fails saying so; back within it: it waits."""
    hub = make_kube_hub(None, kube_hub, CATALOG + "\nc.KubeSpawner.k8s_api_request_retry_timeout = 20\n",
                        factory=hub_factory)
    cluster = Cluster(kube_hub)
    hub.ensure_user("ann")
    assert hub.spawn("ann", {}).status_code in (201, 202)  # the watchers run, the claim exists
    hub.wait_ready("ann", timeout=180)
    hub.stop_server("ann")
    kube_control_plane.apiserver.stop()
    try:
        message = _failure_message(hub, "ann", hub.spawn("ann", {}))
        assert "the Kubernetes API server did not answer for 20 s when trying to read your disk" in message, message
        assert "" not in hub.user_model("ann")["servers"]
        answer = {}
        t = threading.Thread(target=lambda: answer.setdefault("r", hub.spawn("ann", {}, timeout=240)))
        t.start()
        time.sleep(3)
    finally:
        kube_control_plane.restart_apiserver()
    t.join(260)
    assert "r" in answer, "the spawn request never answered"
    _completed_or_failed_clearly(hub, cluster, answer["r"])


@pytest.mark.parametrize("bad, path", [
    ('c.KubeSpawner.profile_list = [{"display_name": "GPU", "kubespawner_override": {"image": "x"}}]',
     "KubeSpawner.profile_list: saturn-kube takes its choices from c.Saturn"),
    ("c.SaturnKubeSpawner.cpu_guarantee_ratio = 1.5", "SaturnKubeSpawner.cpu_guarantee_ratio"),
    ('c.Saturn.gpus = {"t4": {"count": 1, "nodeSelector": {"a": "b"}}}', "Saturn.gpus.t4.nodeSelector"),
])
def test_config_mistakes_stop_the_hub_naming_the_key(kube_hub, hub_factory, bad, path):
    hub = make_kube_hub(None, kube_hub, CATALOG + "\n" + bad + "\n", factory=hub_factory, start=False)
    code, output = hub.run_expecting_exit()
    assert code != 0
    assert f"jupyterhub-saturn configuration error: {path}" in output, output[-3000:]


def test_watchers_that_gave_up_after_a_long_outage_are_replaced(kube_control_plane, kube_hub, kube_node,
                                                                hub_factory):
    """KubeSpawner's watchers stop for good after ~50 s of errors; the next spawn starts new ones."""
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("ann")
    assert hub.spawn("ann", {}).status_code in (201, 202)  # starts the watchers
    hub.wait_ready("ann", timeout=180)
    hub.stop_server("ann")
    kube_control_plane.apiserver.stop()
    try:
        wait_for(lambda: hub.log_text().count("Watching resources never recovered, giving up") >= 2,
                 timeout=150, interval=1, what="KubeSpawner's watchers to give up")
    finally:
        kube_control_plane.restart_apiserver()
    assert hub.spawn("ann", {}).status_code in (201, 202)
    model = hub.wait_ready("ann", timeout=180)
    assert "watcher had stopped (API errors); starting a new one" in hub.log_text()
    assert reach_server(hub, "ann", model).status_code == 200
