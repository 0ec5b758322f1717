"""A tiny PersistentVolume provisioner/binder/resizer (the node agent's PVC "controller").

StorageClasses ``expandable`` (default class, allowVolumeExpansion: true) and ``fixed``
(false) use provisioner ``saturn.test/local-dir``. A Pending claim of one of them gets a
PersistentVolume ``pvc-<claim uid>`` whose ``hostPath`` is a directory under the control
plane's ``volumes_dir``; the claim is then Bound with the requested capacity. A larger
request on a bound claim (the apiserver itself refuses it unless the class allows
expansion) is reflected into the PV and ``status.capacity``. Deleted claims release their
``pvc-protection`` finalizer once no running pod uses them; their PV and directory go too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .client import ApiError, KubeClient
from .events import post_event
from .scheduling import parse_quantity

PROVISIONER = "saturn.test/local-dir"
PVC_FINALIZER = "kubernetes.io/pvc-protection"
PV_FINALIZER = "kubernetes.io/pv-protection"
COMPONENT = "persistentvolume-controller"

STORAGE_CLASSES = [
    {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
     "metadata": {"name": "expandable",
                  "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
     "provisioner": PROVISIONER, "allowVolumeExpansion": True,
     "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
    {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
     "metadata": {"name": "fixed"},
     "provisioner": PROVISIONER, "allowVolumeExpansion": False,
     "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
]


def ensure_storage_classes(client: KubeClient) -> None:
    for sc in STORAGE_CLASSES:
        client.create_or_get("/apis/storage.k8s.io/v1/storageclasses", sc)


def claims_in_use(pods: list[dict]) -> set[tuple[str, str]]:
    used = set()
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for vol in pod["spec"].get("volumes") or []:
            if "persistentVolumeClaim" in vol:
                used.add((pod["metadata"]["namespace"], vol["persistentVolumeClaim"]["claimName"]))
    return used


class PvcController:
    """Provision, bind, expand and clean up claims of our StorageClasses."""

    def __init__(self, client: KubeClient, volumes_root: Path):
        self.client = client
        self.root = Path(volumes_root)
        self._warned: set[str] = set()

    def sync(self, pods: list[dict]) -> None:
        classes = {sc["metadata"]["name"]: sc for sc in
                   self.client.get("/apis/storage.k8s.io/v1/storageclasses")["items"]}
        pvcs = self.client.get("/api/v1/persistentvolumeclaims")["items"]
        pvs = self.client.get("/api/v1/persistentvolumes")["items"]
        in_use = claims_in_use(pods)
        for pvc in pvcs:
            try:
                self._sync_claim(pvc, classes, in_use)
            except ApiError as exc:
                if exc.status not in (404, 409):
                    raise
        claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c["metadata"]["uid"]
                  for c in pvcs}
        for pv in pvs:
            self._sync_volume(pv, claims)

    def _claim_path(self, pvc: dict) -> str:
        m = pvc["metadata"]
        return f"/api/v1/namespaces/{m['namespace']}/persistentvolumeclaims/{m['name']}"

    def _sync_claim(self, pvc: dict, classes: dict, in_use: set) -> None:
        meta, spec = pvc["metadata"], pvc["spec"]
        status = pvc.get("status") or {}
        if meta.get("deletionTimestamp"):
            if PVC_FINALIZER in (meta.get("finalizers") or []) and \
                    (meta["namespace"], meta["name"]) not in in_use:
                rest = [f for f in meta["finalizers"] if f != PVC_FINALIZER]
                self.client.patch(self._claim_path(pvc), {"metadata": {
                    "finalizers": rest, "resourceVersion": meta["resourceVersion"]}})
            return
        sc = classes.get(spec.get("storageClassName") or "")
        if sc is None or sc.get("provisioner") != PROVISIONER:
            if spec.get("storageClassName") and meta["uid"] not in self._warned and sc is None:
                self._warned.add(meta["uid"])
                post_event(self.client, pvc, "PersistentVolumeClaim", "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{spec["storageClassName"]}" not found',
                           type_="Warning", component=COMPONENT)
            return
        want = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        if status.get("phase") != "Bound":
            self._provision(pvc, sc, want)
            return
        have = (status.get("capacity") or {}).get("storage", "0")
        if parse_quantity(want) > parse_quantity(have) and sc.get("allowVolumeExpansion"):
            pv_path = f"/api/v1/persistentvolumes/{spec['volumeName']}"
            self.client.patch(pv_path, {"spec": {"capacity": {"storage": want}}})
            self.client.patch(self._claim_path(pvc) + "/status",
                              {"status": {"capacity": {"storage": want},
                                          "allocatedResources": {"storage": want}}})
            post_event(self.client, pvc, "PersistentVolumeClaim", "VolumeResizeSuccessful",
                       f"ExpandVolume succeeded for volume {meta['namespace']}/{meta['name']}",
                       component="external-resizer " + PROVISIONER)

    def _provision(self, pvc: dict, sc: dict, size: str) -> None:
        meta, spec = pvc["metadata"], pvc["spec"]
        pv_name = spec.get("volumeName") or f"pvc-{meta['uid']}"
        local = self.root / pv_name
        local.mkdir(parents=True, exist_ok=True)
        pv = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {
                "pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {"capacity": {"storage": size},
                     "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "hostPath": {"path": str(local), "type": "DirectoryOrCreate"},
                     "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                     "storageClassName": sc["metadata"]["name"],
                     "volumeMode": spec.get("volumeMode", "Filesystem"),
                     "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                  "namespace": meta["namespace"], "name": meta["name"],
                                  "uid": meta["uid"]}},
        }
        created = self.client.create_or_get("/api/v1/persistentvolumes", pv)
        self.client.patch(f"/api/v1/persistentvolumes/{pv_name}/status",
                          {"status": {"phase": "Bound"}})
        if not spec.get("volumeName"):
            self.client.patch(self._claim_path(pvc), {"spec": {"volumeName": pv_name}})
        capacity = created["spec"]["capacity"]["storage"]
        self.client.patch(self._claim_path(pvc) + "/status", {"status": {
            "phase": "Bound", "accessModes": pv["spec"]["accessModes"],
            "capacity": {"storage": capacity}}})
        post_event(self.client, pvc, "PersistentVolumeClaim", "ProvisioningSucceeded",
                   f"Successfully provisioned volume {pv_name}", component=COMPONENT)

    def _sync_volume(self, pv: dict, claims: dict) -> None:
        meta, spec = pv["metadata"], pv["spec"]
        if (meta.get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
            return
        ref = spec.get("claimRef") or {}
        if claims.get((ref.get("namespace"), ref.get("name"))) == ref.get("uid"):
            return  # claim still there
        if spec.get("persistentVolumeReclaimPolicy") != "Delete":
            return
        path = f"/api/v1/persistentvolumes/{meta['name']}"
        try:
            if PV_FINALIZER in (meta.get("finalizers") or []):
                rest = [f for f in meta["finalizers"] if f != PV_FINALIZER]
                self.client.patch(path, {"metadata": {"finalizers": rest}})
            if not meta.get("deletionTimestamp"):
                self.client.delete(path)
        except ApiError as exc:
            if exc.status != 404:
                raise
        local = Path((spec.get("hostPath") or {}).get("path") or "")
        if local.is_relative_to(self.root) and local != self.root:
            shutil.rmtree(local, ignore_errors=True)
