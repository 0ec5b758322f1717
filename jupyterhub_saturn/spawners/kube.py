"""``saturn-kube``: the same profiles as ``saturn-local``, as Kubernetes pods (a KubeSpawner subclass).

Size → CPU/memory limits and guarantees (``*_guarantee_ratio`` of the limit). GPU → the
device resource limit, the GPU's node selector and tolerations **added to** the configured
ones (never replacing the chart's defaults), and a memory-backed ``/dev/shm``. Disk → the
user's PVC with the chosen size mounted at ``home_mount_path``; a larger choice later grows
the claim (patch) when its storage class allows expansion, and is refused with the reason
otherwise. Image → the pod image. Everything else an admin configures on KubeSpawner still
applies. RBAC: the z2jh hub Role plus ``patch`` on persistentvolumeclaims
(``helm-values/hub-rbac-saturn.yaml``).
"""

from __future__ import annotations

import asyncio
import copy

from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from traitlets import Bool, Float, Unicode

from ..errors import ConfigError, SaturnError
from ..http_errors import http_error
from ..profiles import Selection
from ..profiles.quantities import format_size, kube_quantity, parse_size
from .mixin import SaturnSpawnerMixin

#: the KubeSpawner settings apply_selection derives from a selection; their configured values are the base
_DERIVED = ("cpu_limit", "cpu_guarantee", "mem_limit", "mem_guarantee", "extra_resource_limits",
            "extra_resource_guarantees", "node_selector", "tolerations", "volumes", "volume_mounts",
            "image", "environment", "storage_capacity", "storage_class", "storage_pvc_ensure")


def _merge_tolerations(base, extra) -> list:
    """Configured tolerations (list or KubeSpawner's dict form) plus the GPU's, without duplicates."""
    merged = list(base.values()) if isinstance(base, dict) else list(base or [])
    for tol in extra:
        if tol not in merged:
            merged.append(dict(tol))
    return merged


class SaturnKubeSpawner(SaturnSpawnerMixin, KubeSpawner):
    """KubeSpawner with sizes, GPUs, disks and images from ``c.Saturn``."""

    cpu_guarantee_ratio = Float(
        1.0, config=True, help="CPU guarantee (request) as a fraction of the size's CPU limit (0 < r <= 1)."
    )
    mem_guarantee_ratio = Float(
        1.0, config=True, help="Memory guarantee (request) as a fraction of the size's memory limit (0 < r <= 1)."
    )
    home_mount_path = Unicode(
        "/home/jovyan", config=True, help="Where the user's disk (PVC) is mounted in the pod."
    )
    manage_home_volume = Bool(
        True,
        config=True,
        help="""Create the user's PVC with the chosen size and mount it at `home_mount_path`. Set False when
        the z2jh chart's `singleuser.storage` already mounts the claim (the size still applies to the claim).""",
    )

    @classmethod
    def validate_config(cls, config, log=None) -> None:
        """Start-up checks: the catalog, guarantee ratios, and no KubeSpawner `profile_list`.

        Reads the config sections directly: constructing a KubeSpawner would connect to the cluster.
        """
        from ..settings import Saturn  # noqa: PLC0415

        Saturn(config=config).validate()

        def value(name, default):
            for section in ("SaturnKubeSpawner", "KubeSpawner", "Spawner"):
                if section in config and name in config[section]:
                    return config[section][name]
            return default

        for name in ("cpu_guarantee_ratio", "mem_guarantee_ratio"):
            ratio = value(name, 1.0)
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
                raise ConfigError(f"SaturnKubeSpawner.{name}", f"must be a number in (0, 1], got {ratio!r}")
        if value("profile_list", None):
            raise ConfigError(
                "KubeSpawner.profile_list",
                "saturn-kube takes its choices from c.Saturn instead of a profile_list. Convert each profile: "
                "kubespawner_override cpu_limit/mem_limit -> Saturn.sizes.<key>.cpu/memory; image -> "
                "Saturn.images.<key>.image; extra_resource_limits {'nvidia.com/gpu': N} with node_selector/"
                "tolerations -> Saturn.gpus.<key> (count, resource, node_selector, tolerations); then remove "
                "profile_list",
            )

    # ------------------------------------------------------------ selection → pod settings

    def _base(self) -> dict:
        base = getattr(self, "_saturn_base", None)
        if base is None:
            base = self._saturn_base = {name: copy.deepcopy(getattr(self, name)) for name in _DERIVED}
        return base

    def apply_selection(self, selection: Selection) -> None:
        base = self._base()
        size, gpu, disk, image = selection.size, selection.gpu, selection.disk, selection.image
        self.cpu_limit = size.cpu
        self.cpu_guarantee = round(size.cpu * self.cpu_guarantee_ratio, 3)
        self.mem_limit = size.memory
        self.mem_guarantee = int(size.memory * self.mem_guarantee_ratio)

        limits = dict(base["extra_resource_limits"])
        guarantees = dict(base["extra_resource_guarantees"])
        node_selector = dict(base["node_selector"])
        tolerations = _merge_tolerations(base["tolerations"], [])
        volumes = list(base["volumes"]) if isinstance(base["volumes"], list) else list(base["volumes"].values())
        mounts = (list(base["volume_mounts"]) if isinstance(base["volume_mounts"], list)
                  else list(base["volume_mounts"].values()))
        if gpu.count:
            limits[gpu.resource] = str(gpu.count)
            guarantees[gpu.resource] = str(gpu.count)
            node_selector.update(gpu.node_selector)
            tolerations = _merge_tolerations(base["tolerations"], gpu.tolerations)
            shm = gpu.shm or size.memory // 2
            volumes.append({"name": "saturn-shm", "emptyDir": {"medium": "Memory", "sizeLimit": kube_quantity(shm)}})
            mounts.append({"name": "saturn-shm", "mountPath": "/dev/shm"})
        self.extra_resource_limits = limits
        self.extra_resource_guarantees = guarantees
        self.node_selector = node_selector
        self.tolerations = tolerations

        self.storage_capacity = kube_quantity(disk.bytes)
        self.storage_class = disk.storage_class or base["storage_class"]
        if self.manage_home_volume:
            self.storage_pvc_ensure = True
            if not any(v.get("persistentVolumeClaim", {}).get("claimName") == self.pvc_name for v in volumes):
                volumes.append({"name": "saturn-home", "persistentVolumeClaim": {"claimName": self.pvc_name}})
                mounts.append({"name": "saturn-home", "mountPath": self.home_mount_path})
        self.volumes = volumes
        self.volume_mounts = mounts

        self.image = image.image or base["image"]
        env = dict(base["environment"])
        env.update(image.env)
        env.update({"SATURN_SIZE": size.key, "SATURN_GPU": gpu.key, "SATURN_DISK": disk.key,
                    "SATURN_IMAGE": image.key, "SATURN_DISK_LIMIT": str(disk.bytes)})
        self.environment = env

    async def load_user_options(self):
        """user_options were validated and applied by the profile mixin; nothing left for KubeSpawner to do."""
        return None

    # ------------------------------------------------------------ disk growth

    async def ensure_disk_size(self) -> None:
        """Grow an existing claim to the chosen size, or refuse with the reason (never shrinks)."""
        sel = self.saturn_selection
        if sel is None or not self.manage_home_volume:
            return
        try:
            pvc = await self.api.read_namespaced_persistent_volume_claim(self.pvc_name, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return  # KubeSpawner creates it with the chosen size
            raise
        current = parse_size(pvc.spec.resources.requests["storage"], "pvc.spec.resources.requests.storage")
        wanted = sel.disk.bytes
        if wanted <= current:
            if wanted < current:
                self.log.info("Keeping %s at %s (disks never shrink; %s chosen)", self.pvc_name,
                              format_size(current), sel.disk.key)
            return
        patch = {"spec": {"resources": {"requests": {"storage": kube_quantity(wanted)}}}}
        try:
            await self.api.patch_namespaced_persistent_volume_claim(self.pvc_name, self.namespace, patch)
        except ApiException as e:
            reason = (e.body or e.reason or "").strip()
            if isinstance(reason, bytes):
                reason = reason.decode(errors="replace")
            cls_name = pvc.spec.storage_class_name or "default"
            raise SaturnError(
                f"your disk is {format_size(current)} and cannot grow to {sel.disk.key}: the storage class "
                f"{cls_name!r} does not allow expansion or the cluster refused it ({e.status}: {_short(reason)}). "
                f"Choose a disk of {format_size(current)} or less, or ask an administrator",
                field="disk", status=409,
            ) from None
        self.log.info("Growing %s from %s to %s", self.pvc_name, format_size(current), sel.disk.key)

    # ------------------------------------------------------------ lifecycle

    async def start(self):
        try:
            await self.ensure_disk_size()
        except SaturnError as err:
            raise http_error(err) from None
        future = super().start()
        limit = max(5.0, self.start_timeout - 3)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=limit)
        except asyncio.TimeoutError:
            future.cancel()
            events = "; ".join(
                f"{e.get('reason', '')}: {e.get('message', '')}" for e in (self.events or [])[-8:]
            ) or "none"
            raise TimeoutError(
                f"server pod {self.namespace}/{self.pod_name} did not become ready in {int(limit)} s. "
                f"Pod events: {events}"
            ) from None

    async def progress(self):
        """KubeSpawner's pod-event progress, with a plain-language message when no node fits a GPU."""
        sel = self.saturn_selection
        async for event in super().progress():
            message = event.get("message", "")
            if sel is not None and sel.gpu.count and f"Insufficient {sel.gpu.resource}" in message:
                event = dict(event)
                event["message"] = (
                    f"No node can fit {sel.gpu.display_name} right now (all such GPUs are busy or no node has "
                    f"them); the server will start when one frees up, or pick another GPU. [{message}]"
                )
            yield event


def _short(text: str, n: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
