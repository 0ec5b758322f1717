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
import json
import time

import aiohttp
from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from traitlets import Bool, Float, Unicode
from traitlets.config import Config

from ..compat import KubeSpawnerSteps
from ..errors import ConfigError, SaturnError
from ..http_errors import http_error
from ..profiles import Selection
from ..profiles.limits import size_limits
from ..profiles.quantities import format_size, kube_quantity, parse_size
from ..throwaway import is_throwaway
from .mixin import SaturnSpawnerMixin, refused_config

#: background tasks started at hub start-up (a reference keeps them from being collected)
_STARTUP_TASKS: set = set()

#: the KubeSpawner settings apply_selection derives from a selection; their configured values are the base
_DERIVED = ("cpu_limit", "cpu_guarantee", "mem_limit", "mem_guarantee", "extra_resource_limits",
            "extra_resource_guarantees", "node_selector", "tolerations", "volumes", "volume_mounts",
            "image", "environment", "storage_capacity", "storage_class", "storage_pvc_ensure")


#: errors meaning "the apiserver did not answer" (restarting, unreachable), as opposed to an API refusal
_UNREACHABLE = (aiohttp.ClientError, ConnectionError)

#: label on the pods of throwaway (anonymous Run this copy) users, which a NetworkPolicy can select
#: (helm-values/anonymous-network-policy.yaml); never on a logged-in user's pod
THROWAWAY_POD_LABEL = "jupyterhub-saturn/throwaway"


def _merge_tolerations(base, extra) -> list:
    """Configured tolerations (list or KubeSpawner's dict form) plus the GPU's, without duplicates."""
    merged = list(base.values()) if isinstance(base, dict) else list(base or [])
    for tol in extra:
        if tol not in merged:
            merged.append(dict(tol))
    return merged


class SaturnKubeSpawner(SaturnSpawnerMixin, KubeSpawnerSteps, KubeSpawner):
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
        cls.check_upstream_settings(config)

    @classmethod
    def check_upstream_settings(cls, config) -> None:
        """KubeSpawner's ``profile_list`` (and its ``kubespawner_override``) would be ignored: refused."""
        chosen = next((config[s]["profile_list"] for s in ("SaturnKubeSpawner", "KubeSpawner", "Spawner")
                       if s in config and "profile_list" in config[s]), None)
        if chosen:
            raise ConfigError(
                "KubeSpawner.profile_list",
                "saturn-kube takes its choices from c.Saturn instead of a profile_list (and its "
                "kubespawner_override). `jupyterhub-saturn profiles convert jupyterhub_config.py` prints the "
                "equivalent c.Saturn. By hand: "
                "kubespawner_override cpu_limit/mem_limit -> Saturn.sizes.<key>.cpu/memory; image -> "
                "Saturn.images.<key>.image; extra_resource_limits {'nvidia.com/gpu': N} with node_selector/"
                "tolerations -> Saturn.gpus.<key> (count, resource, node_selector, tolerations); then remove "
                "profile_list",
            )

    # ------------------------------------------------------------ hub start-up

    @classmethod
    def on_hub_start(cls, app) -> None:
        """At hub start-up, remove in the background the pods and disks of throwaway users the hub no
        longer has (removed while the hub was down, or lost with its database)."""
        from jupyterhub import orm  # noqa: PLC0415

        probe = cls(_mock=True, config=app.config, log=app.log)  # a real API client, no user

        def user_exists(name: str) -> bool:
            return orm.User.find(app.db, name) is not None

        task = asyncio.ensure_future(probe.remove_orphaned_throwaways(user_exists))
        _STARTUP_TASKS.add(task)

        def done(t):
            _STARTUP_TASKS.discard(t)
            if not t.cancelled() and t.exception() is not None:
                app.log.error("Removing orphaned throwaway pods and disks failed: %s", t.exception())

        task.add_done_callback(done)

    async def remove_orphaned_throwaways(self, user_exists) -> list[str]:
        """Delete user pods and claims (KubeSpawner's labels) of throwaway users for whom
        ``user_exists(name)`` is false; returns ``kind/name`` of each removed object. Claims of
        other users hold their work and are never touched."""
        selector = f"app.kubernetes.io/component={self.component_label}"
        kinds = (
            ("pod", self.api.list_namespaced_pod, self.api.delete_namespaced_pod),
            ("pvc", self.api.list_namespaced_persistent_volume_claim,
             self.api.delete_namespaced_persistent_volume_claim),
        )
        removed = []
        for kind, list_them, delete in kinds:
            found = await self._kube_call(f"list user {kind}s", list_them, self.namespace, label_selector=selector)
            for obj in found.items:
                owner = (obj.metadata.annotations or {}).get("hub.jupyter.org/username")
                if not is_throwaway(owner) or user_exists(owner):
                    continue
                try:
                    await self._kube_call(f"delete {kind} {obj.metadata.name}", delete, obj.metadata.name,
                                          self.namespace)
                except ApiException as e:
                    if e.status != 404:
                        raise
                removed.append(f"{kind}/{obj.metadata.name}")
        if removed:
            self.log.warning("Removed %i object(s) of throwaway users the hub no longer has: %s",
                             len(removed), ", ".join(removed))
        return removed

    # ------------------------------------------------------------ selection → pod settings

    _saturn_base: dict | None = None

    async def get_pod_manifest(self):
        """KubeSpawner's pod, plus :data:`THROWAWAY_POD_LABEL` on a throwaway user's pod."""
        pod = await super().get_pod_manifest()
        if is_throwaway(self.user.name):
            pod.metadata.labels = {**(pod.metadata.labels or {}), THROWAWAY_POD_LABEL: "true"}
        return pod

    def _base(self) -> dict:
        """The derived settings as this start found them: config plus what ``auth_state_hook``,
        ``group_overrides`` and ``pre_spawn_start`` set this time. Taken once per start and put back at the
        next :meth:`clear_state` (which JupyterHub calls before every start), so nothing is frozen at the
        first start of this spawner object and saturn's own additions never become the next start's base."""
        if self._saturn_base is None:
            self._saturn_base = {name: copy.deepcopy(getattr(self, name)) for name in _DERIVED}
        return self._saturn_base

    def clear_state(self):
        super().clear_state()
        base, self._saturn_base = self._saturn_base, None
        for name, value in (base or {}).items():
            setattr(self, name, copy.deepcopy(value))

    def apply_selection(self, selection: Selection) -> None:
        base = self._base()
        size, gpu, disk, image = selection.size, selection.gpu, selection.disk, selection.image
        limits = size_limits(size, self.saturn_group_limits)
        self.cpu_limit = limits["cpu_limit"]
        self.cpu_guarantee = round(size.cpu * self.cpu_guarantee_ratio, 3)
        self.mem_limit = limits["mem_limit"]
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
            if not self._home_volume_configured(volumes, mounts):
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

    def _home_volume_configured(self, volumes, mounts) -> bool:
        """True if the configured volumes already mount the user's claim, e.g. z2jh's ``singleuser.storage``
        (``claimName: "{pvc_name}"``, a template KubeSpawner expands later), or something else is mounted at
        ``home_mount_path`` (a second mount there would make the apiserver reject the pod)."""
        for v in volumes:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if isinstance(claim, str) and self.saturn_expand(claim) == self.pvc_name:
                return True
        return any(m.get("mountPath", "").rstrip("/") == self.home_mount_path.rstrip("/") for m in mounts)

    async def load_user_options(self):
        """user_options were validated and applied by the profile mixin; nothing left for KubeSpawner to do,
        unless a hook set a ``profile_list`` on this spawner: refused like one in config, never ignored."""
        if self.profile_list:
            config = Config({"KubeSpawner": {"profile_list": self.profile_list}})
            try:
                self.check_upstream_settings(config)
            except ConfigError as e:
                raise refused_config(e, self.log) from None

    # ------------------------------------------------------------ disk growth

    async def ensure_disk_size(self) -> None:
        """Grow an existing claim to the chosen size, or refuse with the reason (never shrinks)."""
        sel = self.saturn_selection
        if sel is None or not self.manage_home_volume:
            return
        try:
            pvc = await self._kube_call("read your disk", self.api.read_namespaced_persistent_volume_claim,
                                        self.pvc_name, self.namespace)
        except ApiException as e:
            if e.status == 404:
                # KubeSpawner creates it with the chosen size, unless its state says it exists already
                # (e.g. an administrator deleted the claim): then it would wait forever for the claim
                self._pvc_exists = False
                return
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
            await self._kube_call("grow your disk", self.api.patch_namespaced_persistent_volume_claim,
                                  self.pvc_name, self.namespace, patch)
        except ApiException as e:
            detail = _api_message(e)
            if "cannot patch" in detail:
                why = ("the hub may not resize claims: its Role lacks 'patch' on persistentvolumeclaims "
                       "(see helm-values/hub-rbac-saturn.yaml)")
            elif "resize" in detail or "expansion" in detail:
                why = f"its storage class {pvc.spec.storage_class_name or '(default)'!r} does not allow expansion"
            else:
                why = "the cluster refused the resize"
            raise SaturnError(
                f"your disk is {format_size(current)} and cannot grow to {sel.disk.key}: {why} "
                f"({e.status}: {_short(detail)}). Choose a disk of {format_size(current)} or less, "
                "or ask an administrator",
                field="disk", status=409,
            ) from None
        self.log.info("Growing %s from %s to %s", self.pvc_name, format_size(current), sel.disk.key)

    # ------------------------------------------------------------ talking to the apiserver

    async def _kube_call(self, what: str, method, *args, **kwargs):
        """One API call, retried while the apiserver does not answer or answers 429/5xx (a restart takes
        seconds); after ``k8s_api_request_retry_timeout`` a 503 with a plain reason. Other answers are raised."""
        deadline = time.monotonic() + self.k8s_api_request_retry_timeout
        delay = 0.2
        while True:
            try:
                return await asyncio.wait_for(method(*args, **kwargs), self.k8s_api_request_timeout)
            except (*_UNREACHABLE, asyncio.TimeoutError, ApiException) as e:
                if isinstance(e, ApiException) and not (e.status == 429 or (e.status or 0) >= 500):
                    raise  # an answer: not found, forbidden, invalid ...
                if time.monotonic() + delay > deadline:
                    raise SaturnError(
                        f"the Kubernetes API server did not answer for {int(self.k8s_api_request_retry_timeout)} s "
                        f"when trying to {what} ({_describe(e)}). Please try again in a minute",
                        status=503,
                    ) from None
                self.log.warning("Kubernetes API unreachable trying to %s (%s); retrying in %.1f s",
                                 what, _describe(e), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    saturn_unreachable_errors = _UNREACHABLE

    async def saturn_create_unreachable(self, kind: str, name: str, error) -> bool:
        # KubeSpawner retries timeouts only; a refused connection (apiserver restarting) is retried too
        self.log.warning("Kubernetes API unreachable creating %s %s (%s); retrying", kind, name, _describe(error))
        return False

    async def _revive_reflectors(self) -> None:
        """KubeSpawner's shared watchers give up silently after ~50 s of API errors and are never replaced,
        so every later spawn would time out: replace a watcher that has ended."""
        for kind, _reflector, stopped, restart in self.saturn_watchers():
            if stopped:
                self.log.warning("The %s watcher had stopped (API errors); starting a new one", kind)
                await restart(replace=True)

    # ------------------------------------------------------------ lifecycle

    def _pod_events_text(self, n: int = 8) -> str:
        return "; ".join(
            f"{e.get('reason', '')}: {e.get('message', '')}" for e in (self.events or [])[-n:]
        ) or "none"

    async def start(self):
        try:
            await self.ensure_disk_size()
            await self._revive_reflectors()
        except Exception as e:
            err = self._start_error(e)
            if err is e:
                raise
            raise err from None
        future = super().start()
        limit = max(5.0, self.start_timeout - 3)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=limit)
        except Exception as e:
            if not future.done():  # our limit: the pod did not become ready in time
                future.cancel()
                raise TimeoutError(
                    f"server pod {self.namespace}/{self.pod_name} did not become ready in {int(limit)} s. "
                    f"Pod events: {self._pod_events_text()}"
                ) from None
            err = self._start_error(e)
            if err is e:
                raise
            raise err from None

    def _start_error(self, e: Exception) -> Exception:
        """A failed start as something a person can act on (KubeSpawner's raw errors carry HTTP headers)."""
        if isinstance(e, SaturnError):
            return http_error(e)
        if isinstance(e, _UNREACHABLE):
            return http_error(self._unreachable(e))
        if isinstance(e, ApiException):
            return http_error(SaturnError(
                f"Kubernetes refused to start your server ({e.status} {e.reason}: {_short(_api_message(e))}). "
                "Please try again in a minute, or tell an administrator if this persists", status=502,
            ))
        if isinstance(e, TimeoutError):  # KubeSpawner gave up creating the pod or PVC
            return TimeoutError(
                f"{e} The Kubernetes API server did not accept the request in time; please try again in a "
                f"minute. Pod events: {self._pod_events_text()}"
            )
        return e

    def _unreachable(self, e: Exception) -> SaturnError:
        return SaturnError(
            f"the Kubernetes API server could not be reached while starting your server ({_describe(e)}). "
            "Please try again in a minute", status=503,
        )

    async def progress(self):
        """KubeSpawner's pod-event progress, with a plain-language message when no node can take the GPU."""
        async for event in super().progress():
            plain = self.gpu_scheduling_message(event.get("message", ""))
            if plain:
                event = dict(event, message=plain)
            yield event

    def gpu_scheduling_message(self, message: str) -> str | None:
        """A plain message for a scheduling failure caused by the chosen GPU, else None."""
        sel = self.saturn_selection
        if sel is None or not sel.gpu.count:
            return None
        if f"Insufficient {sel.gpu.resource}" in message:
            why = f"every node that has {sel.gpu.display_name} is busy, or no node has that many GPUs free"
        elif "didn't match Pod's node affinity/selector" in message and sel.gpu.node_selector:
            why = f"no node with {sel.gpu.display_name} is available"
        else:
            return None
        return (f"No node can run {sel.gpu.display_name} right now: {why}. Your server starts when one frees "
                f"up or a node is added; or stop and choose another GPU. [{message}]")


def _api_message(e: ApiException) -> str:
    """The apiserver's own message from an ApiException (its body is a JSON Status)."""
    body = e.body.decode(errors="replace") if isinstance(e.body, bytes) else (e.body or "")
    try:
        return str(json.loads(body).get("message") or body)
    except (ValueError, AttributeError):
        return body or str(e.reason or "")


def _describe(e: BaseException) -> str:
    """``ClientConnectorError: Cannot connect to host ...`` (reprs of aiohttp errors run to a screenful)."""
    text = str(e)
    if isinstance(e, ApiException):
        text = f"{e.status} {e.reason}: {_api_message(e)}"
    return _short(f"{type(e).__name__}: {text}" if text else type(e).__name__, 200)


def _short(text: str, n: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
