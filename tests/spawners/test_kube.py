"""saturn-kube manifests: built in-process with ``_mock=True``, checked, and submitted to the real apiserver.

Every profile combination of ``config/jupyterhub_config.py`` and of ``helm-values/`` (rendered by helm
and turned into config by the chart's own ``jupyterhub_config.py``, see ``tests/chart/chart.py``) must give a pod and a PVC
the real kube-apiserver accepts (server-side dry run with the hub's RBAC-limited token), with
requests/limits, the GPU resource, node selector and tolerations as configured.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.config import kube_config
from tornado import web
from traitlets.config import Config

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.profiles import parse_catalog
from jupyterhub_saturn.profiles.quantities import parse_cpu, parse_size
from jupyterhub_saturn.settings import Saturn
from jupyterhub_saturn.spawners.kube import THROWAWAY_POD_LABEL, SaturnKubeSpawner
from tests.chart.chart import chart_hub_config, find, rendered, selects
from tests.e2e.kube_helpers import CHART_TOLERATIONS

pytest_plugins = ["tests.kube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
HELM_VALUES = REPO / "helm-values"
#: values-file sets an admin installs: the base alone, and with the GPU node pools
VALUES = ["saturn-values.yaml", "saturn-values.yaml+gpu-node-pools.yaml"]
GPU_TOL = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture(autouse=True)
def _kubeconfig(tmp_path, monkeypatch):
    """KubeSpawner loads a kubeconfig once per process when first constructed; nothing here talks to
    the cluster through it (manifests are submitted with the test client), so any valid file does."""
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
                    "users: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\n"
                    "current-context: x\n")
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


def demo_config(tmp_path, monkeypatch) -> Config:
    """config/jupyterhub_config.py executed with a stub get_config (its state dir under tmp_path)."""
    monkeypatch.setenv("SATURN_DEMO_DIR", str(tmp_path / "demo"))
    c = Config()
    path = REPO / "config" / "jupyterhub_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})
    kube = Config()
    kube.SaturnKubeSpawner.cpu_guarantee_ratio = 0.5
    kube.KubeSpawner.tolerations = list(CHART_TOLERATIONS)
    kube.Saturn = c.Saturn
    return kube


def values_config(name: str, workdir: Path) -> Config:
    """The config the chart's jupyterhub_config.py builds for the values files named ``a.yaml+b.yaml``."""
    return chart_hub_config([HELM_VALUES / f for f in name.split("+")], workdir)


def load_values(path: Path) -> dict:
    import yaml  # noqa: PLC0415

    return yaml.safe_load(path.read_text()) or {}


def catalog_of(config: Config):
    return Saturn(config=config).catalog


def all_groups(catalog) -> list[str]:
    return sorted(catalog.groups_named())


async def make_spawner(config: Config, options: dict, *, name: str = "sam", groups=(), server: str = ""):
    user = SimpleNamespace(name=name, id=7, url=f"/user/{name}/", groups=[SimpleNamespace(name=g) for g in groups],
                           escaped_name=name)
    orm_spawner = SimpleNamespace(name=server, server=None, user_options={}, state=None)
    spawner = SaturnKubeSpawner(_mock=True, user=user, orm_spawner=orm_spawner, config=config)
    spawner.namespace = "saturn-test"
    await spawner.apply_saturn_options(options)
    return spawner


async def manifests(spawner) -> tuple[dict, dict]:
    async with ApiClient() as api:
        pod = api.sanitize_for_serialization(await spawner.get_pod_manifest())
        pvc = api.sanitize_for_serialization(spawner.get_pvc_manifest())
    return pod, pvc


def notebook(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")


def check_pod(pod: dict, pvc: dict, config: Config, catalog, options: dict) -> None:
    """The pod/PVC (as the apiserver returned them) match the catalog entries chosen by ``options``."""
    size, gpu = catalog.sizes[options["size"]], catalog.gpus[options["gpu"]]
    disk, image = catalog.disks[options["disk"]], catalog.images[options["image"]]
    cpu_ratio = config.SaturnKubeSpawner.get("cpu_guarantee_ratio", 1.0)
    mem_ratio = config.SaturnKubeSpawner.get("mem_guarantee_ratio", 1.0)
    res = notebook(pod)["resources"]
    assert parse_cpu(res["limits"]["cpu"], "cpu") == pytest.approx(size.cpu)
    assert parse_cpu(res["requests"]["cpu"], "cpu") == pytest.approx(size.cpu * cpu_ratio, abs=0.001)
    assert parse_size(res["limits"]["memory"], "mem") == size.memory
    assert parse_size(res["requests"]["memory"], "mem") == int(size.memory * mem_ratio)
    tolerations = pod["spec"].get("tolerations") or []
    for tol in CHART_TOLERATIONS:
        assert tol in tolerations, tolerations
    selector = pod["spec"].get("nodeSelector") or {}
    if gpu.count:
        assert res["limits"][gpu.resource] == str(gpu.count) == res["requests"][gpu.resource]
        assert all(t in tolerations for t in gpu.tolerations)
        assert all(selector.get(k) == v for k, v in gpu.node_selector.items())
        shm = [v for v in pod["spec"]["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"]
        assert parse_size(shm[0]["emptyDir"]["sizeLimit"], "shm") == (gpu.shm or size.memory // 2)
    else:
        assert not any(k.endswith("/gpu") for k in res["limits"])
        assert not any(t.get("key") == "nvidia.com/gpu" for t in tolerations)
    assert notebook(pod)["image"] == (image.image or config.KubeSpawner.get("image") or notebook(pod)["image"])
    env = {e["name"]: e.get("value") for e in notebook(pod)["env"]}
    assert env["SATURN_DISK_LIMIT"] == str(disk.bytes) and all(env[k] == v for k, v in image.env.items())
    home = [m for m in notebook(pod)["volumeMounts"] if m["mountPath"] == "/home/jovyan"]
    assert len(home) == 1, notebook(pod)["volumeMounts"]
    claim = next(v for v in pod["spec"]["volumes"] if v["name"] == home[0]["name"])
    assert claim["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert parse_size(pvc["spec"]["resources"]["requests"]["storage"], "pvc") == disk.bytes


def combinations(catalog):
    kinds = [list(catalog.sizes), list(catalog.gpus), list(catalog.disks), list(catalog.images)]
    for size, gpu, disk, image in itertools.product(*kinds):
        yield {"size": size, "gpu": gpu, "disk": disk, "image": image}


SOURCES = ["config/jupyterhub_config.py"] + VALUES


@pytest.mark.parametrize("source", SOURCES)
async def test_every_profile_is_accepted_by_the_apiserver(source, kube_hub, tmp_path, monkeypatch):
    config = demo_config(tmp_path, monkeypatch) if source.endswith(".py") else values_config(source, tmp_path)
    catalog = catalog_of(config)
    groups = all_groups(catalog)
    base = f"/api/v1/namespaces/{kube_hub.namespace}"
    checked = 0
    for options in combinations(catalog):
        spawner = await make_spawner(config, options, groups=groups)
        spawner.namespace = kube_hub.namespace
        pod, pvc = await manifests(spawner)
        for kind, doc in (("pods", pod), ("persistentvolumeclaims", pvc)):
            doc["metadata"]["namespace"] = kube_hub.namespace
        # server-side dry run with the hub's own token: admission, validation and RBAC all apply
        got_pod = kube_hub.client.request("POST", f"{base}/pods", pod, params={"dryRun": "All"})
        got_pvc = kube_hub.client.request("POST", f"{base}/persistentvolumeclaims", pvc, params={"dryRun": "All"})
        check_pod(got_pod, got_pvc, config, catalog, options)
        checked += 1
    assert checked == len(catalog.sizes) * len(catalog.gpus) * len(catalog.disks) * len(catalog.images) > 1
    assert not kube_hub.client.get(f"{base}/pods")["items"]  # dry run created nothing


def test_values_files_exist_and_keep_the_chart_tolerations():
    paths = sorted(p for p in HELM_VALUES.glob("*.yaml") if p.name != "hub-rbac-saturn.yaml")
    assert paths, "helm-values/ must hold a values file for the z2jh chart"
    assert load_values(HELM_VALUES / "saturn-values.yaml")["hub"]["config"]["JupyterHub"]["spawner_class"] == "saturn-kube"
    for path in paths:
        values = load_values(path)
        assert "tolerations" not in (values.get("scheduling", {}).get("userPods") or {}), path
        assert not values.get("singleuser", {}).get("profileList")


@pytest.mark.processes  # helm template and the chart's config in bubblewrap
async def test_chart_storage_is_reused_and_sized_by_the_disk_choice(tmp_path):
    config = values_config(VALUES[0], tmp_path)
    spawner = await make_spawner(config, {"disk": "50Gi"}, name="ann")
    pod, pvc = await manifests(spawner)
    homes = [m for m in notebook(pod)["volumeMounts"] if m["mountPath"] == "/home/jovyan"]
    assert [m["name"] for m in homes] == ["volume-ann"]  # the chart's volume, not a second one
    assert [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
            if "persistentVolumeClaim" in v] == ["claim-ann"]
    assert pvc["metadata"]["name"] == "claim-ann" and pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"


@pytest.mark.processes  # helm template and the chart's config in bubblewrap
async def test_named_servers_get_their_own_claim(tmp_path):
    config = values_config(VALUES[0], tmp_path)
    spawner = await make_spawner(config, {}, name="ann", server="big")
    pod, pvc = await manifests(spawner)
    claim = pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert pvc["metadata"]["name"] == "claim-ann--big" == claim


@pytest.mark.parametrize("name, labelled", [("anon~0a1b2c3d", True), ("ann", False), ("anonymous", False)])
async def test_only_throwaway_pods_carry_the_network_policy_label(name, labelled):
    c = Config()
    c.KubeSpawner.extra_labels = {"team": "blue"}
    pod, _ = await manifests(await make_spawner(c, {}, name=name))
    labels = pod["metadata"]["labels"]
    assert labels["team"] == "blue" and labels["component"] == "singleuser-server"  # the configured ones stay
    assert labels.get(THROWAWAY_POD_LABEL) == ("true" if labelled else None)


@pytest.mark.processes  # helm template and the chart's config in bubblewrap
async def test_the_shipped_network_policies_tell_throwaway_pods_apart(tmp_path):
    files = [HELM_VALUES / "saturn-values.yaml", HELM_VALUES / "anonymous-run.yaml"]
    config = chart_hub_config(files, tmp_path / "hub")
    chart_policy = find(rendered(files, workdir=tmp_path), "NetworkPolicy", "singleuser")["spec"]["podSelector"]
    companion = load_values(HELM_VALUES / "anonymous-network-policy.yaml")["spec"]["podSelector"]
    anon, ann = [(await manifests(await make_spawner(config, {}, name=n)))[0]["metadata"]["labels"]
                 for n in ("anon~0a1b2c3d", "ann")]
    assert selects(chart_policy, anon) and selects(chart_policy, ann)  # the chart limits both
    assert selects(companion, ann) and not selects(companion, anon)  # the internet comes back for ann only


def _gpu_config(tolerations) -> Config:
    c = Config()
    c.Saturn.gpus = {"t4": {"count": 2, "node_selector": {"gpu": "t4"}, "tolerations": [GPU_TOL], "shm": "1G"}}
    c.KubeSpawner.tolerations = tolerations
    c.KubeSpawner.node_selector = {"pool": "users"}
    c.KubeSpawner.extra_resource_limits = {"example.com/dongle": "1"}
    return c


@pytest.mark.parametrize("form", ["list", "dict"])
async def test_gpu_placement_is_added_to_the_configured_one_and_removed_again(form):
    configured = CHART_TOLERATIONS if form == "list" else {f"t{i}": t for i, t in enumerate(CHART_TOLERATIONS)}
    spawner = await make_spawner(_gpu_config(configured), {"gpu": "t4"})
    pod, _ = await manifests(spawner)
    assert pod["spec"]["tolerations"] == CHART_TOLERATIONS + [GPU_TOL]
    assert pod["spec"]["nodeSelector"] == {"pool": "users", "gpu": "t4"}
    assert notebook(pod)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert notebook(pod)["resources"]["limits"]["example.com/dongle"] == "1"
    # the same server restarted without a GPU: back to exactly the configured placement
    await spawner.apply_saturn_options({"gpu": "none"})
    pod, _ = await manifests(spawner)
    assert pod["spec"]["tolerations"] == CHART_TOLERATIONS
    assert pod["spec"]["nodeSelector"] == {"pool": "users"}
    assert "nvidia.com/gpu" not in notebook(pod)["resources"]["limits"]
    assert not any(m["mountPath"] == "/dev/shm" for m in notebook(pod)["volumeMounts"])


async def test_hook_and_group_override_values_are_read_at_every_start_not_frozen_at_the_first():
    """JupyterHub calls clear_state, then auth_state_hook and group_overrides, before each start of the
    same spawner object: a refreshed token and a volume given later must reach the next pod."""
    spawner = await make_spawner(_gpu_config(CHART_TOLERATIONS), {"gpu": "t4"})
    for start, token in enumerate(["first", "refreshed", "again"]):
        spawner.clear_state()
        spawner.environment["ACCESS_TOKEN"] = token  # what an auth_state_hook does
        if start == 1:  # a group override, applied from this start on
            spawner.volumes = [*spawner.volumes, {"name": "course", "emptyDir": {}}]
        await spawner.apply_saturn_options({"gpu": "t4" if start != 1 else "none"})
        pod, _ = await manifests(spawner)
        env = {e["name"]: e.get("value") for e in notebook(pod)["env"]}
        assert env["ACCESS_TOKEN"] == token and env["SATURN_GPU"] == ("none" if start == 1 else "t4")
        names = [v["name"] for v in pod["spec"]["volumes"]]
        assert names.count("saturn-shm") == (start != 1) and len(names) == len(set(names)), names
        assert ("course" in names) == (start >= 1), names  # kept on the object afterwards, as upstream does


async def test_scheduling_messages_become_plain_only_for_gpu_causes():
    spawner = await make_spawner(_gpu_config(CHART_TOLERATIONS), {"gpu": "t4"})
    busy = spawner.gpu_scheduling_message("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    assert busy.startswith("No node can run 2 × t4 right now: every node that has 2 × t4 is busy")
    absent = spawner.gpu_scheduling_message(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
    assert absent.startswith("No node can run 2 × t4 right now: no node with 2 × t4 is available")
    assert spawner.gpu_scheduling_message("0/1 nodes are available: persistentvolumeclaim \"x\" not found.") is None
    cpu_only = await make_spawner(_gpu_config(CHART_TOLERATIONS), {"gpu": "none"})
    assert cpu_only.gpu_scheduling_message("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.") is None


@pytest.mark.parametrize("section, key, value, path", [
    ("KubeSpawner", "profile_list", [{"display_name": "x"}], "KubeSpawner.profile_list"),
    ("SaturnKubeSpawner", "cpu_guarantee_ratio", 0, "SaturnKubeSpawner.cpu_guarantee_ratio"),
    ("KubeSpawner", "mem_guarantee_ratio", True, "SaturnKubeSpawner.mem_guarantee_ratio"),
    ("Saturn", "sizes", {"s": {"cpu": 1}}, "Saturn.sizes.s.memory"),
])
def test_validate_config_names_the_key(section, key, value, path):
    c = Config()
    c[section][key] = value
    with pytest.raises(ConfigError) as err:
        SaturnKubeSpawner.validate_config(c)
    assert err.value.field == path


@pytest.mark.parametrize("section", ["KubeSpawner", "SaturnKubeSpawner", "Spawner"])
async def test_a_profile_list_refuses_every_saturn_kube_spawner_whatever_mounted_it(section, caplog):
    """Without setup(c) or a saturn-* authenticator nothing validates at start-up: the spawner itself refuses
    the config (503 naming the setting, logged as a configuration error) instead of ignoring it."""
    c = Config()
    c[section].profile_list = [{"display_name": "GPU", "kubespawner_override": {"image": "x"}}]
    with pytest.raises(web.HTTPError) as err:
        SaturnKubeSpawner(_mock=True, config=c, log=logging.getLogger("saturn-test"))
    assert err.value.status_code == 503
    assert err.value.jupyterhub_message.startswith("jupyterhub-saturn configuration error: KubeSpawner.profile_list: ")
    assert "jupyterhub-saturn configuration error: KubeSpawner.profile_list" in caplog.text
    SaturnKubeSpawner(_mock=True, config=Config({"KubeSpawner": {"profile_list": []}}))  # empty: nothing ignored


async def test_a_profile_list_a_hook_sets_is_refused_at_start_not_ignored():
    spawner = await make_spawner(Config(), {})
    spawner.profile_list = [{"display_name": "from a pre_spawn_hook"}]
    with pytest.raises(web.HTTPError) as err:
        await spawner.load_user_options()
    assert err.value.status_code == 503 and "KubeSpawner.profile_list" in err.value.jupyterhub_message


@pytest.mark.processes  # helm template and the chart's config in bubblewrap
def test_validate_config_accepts_the_shipped_configs(tmp_path, monkeypatch):
    SaturnKubeSpawner.validate_config(demo_config(tmp_path, monkeypatch))
    for i, name in enumerate(VALUES):
        SaturnKubeSpawner.validate_config(values_config(name, tmp_path / str(i)))
    parse_catalog()  # the defaults alone are valid too
