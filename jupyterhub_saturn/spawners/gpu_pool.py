"""Exclusive assignment of local GPUs to servers.

A pool knows the device ids of each GPU type (configured, or detected with
``nvidia-smi``) and which owner holds which device. Claims are synchronous, so on the
hub's single event loop two concurrent spawns can never receive the same device.
Owners re-claim their devices from saved spawner state after a hub restart.
No JupyterHub import: unit-testable on its own.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable, Mapping

from ..errors import ConfigError, LimitReached

log = logging.getLogger(__name__)


class GpuPool:
    """Device ids per GPU type, and who holds each one."""

    def __init__(self, devices: Mapping[str, Iterable[str]]):
        self.devices: dict[str, list[str]] = {k: [str(d) for d in v] for k, v in devices.items()}
        seen: dict[str, str] = {}
        for kind, ids in self.devices.items():
            for dev in ids:
                if dev in seen:
                    raise ConfigError(
                        f"SaturnLocalSpawner.gpu_devices.{kind}",
                        f"device {dev!r} is also listed for {seen[dev]!r}; a device belongs to one GPU type",
                    )
                seen[dev] = kind
        self._holder: dict[str, str] = {}  # device -> owner

    def free(self, kind: str) -> list[str]:
        """Unassigned devices of ``kind``, in configured order."""
        return [d for d in self.devices.get(kind, []) if d not in self._holder]

    def held_by(self, owner: str) -> list[str]:
        """Devices ``owner`` holds."""
        return [d for d, o in self._holder.items() if o == owner]

    def claim(self, owner: str, kind: str, count: int) -> list[str]:
        """Give ``owner`` ``count`` free devices of ``kind`` (idempotent), or refuse with HTTP 503."""
        held = [d for d in self.held_by(owner) if d in self.devices.get(kind, [])]
        if len(held) == count and len(self.held_by(owner)) == count:
            return held
        self.release(owner)
        total = len(self.devices.get(kind, []))
        free = self.free(kind)
        if total == 0:
            raise LimitReached(
                f"this hub has no {kind} GPUs configured or detected, so none can be assigned; pick another GPU",
                field="gpu",
                status=503,
            )
        if len(free) < count:
            in_use = total - len(free)
            raise LimitReached(
                f"no free {kind} GPU right now: {count} needed, {in_use} of {total} in use by other servers; "
                "try again later or pick another GPU",
                field="gpu",
                status=503,
                retry_after=60,
            )
        chosen = free[:count]
        for dev in chosen:
            self._holder[dev] = owner
        return chosen

    def restore(self, owner: str, devices: Iterable[str]) -> list[str]:
        """Re-claim devices recorded in ``owner``'s saved state; returns those that could not be restored."""
        conflicts = []
        known = {d for ids in self.devices.values() for d in ids}
        for dev in devices:
            dev = str(dev)
            holder = self._holder.get(dev)
            if dev not in known or (holder is not None and holder != owner):
                conflicts.append(dev)
                continue
            self._holder[dev] = owner
        if conflicts:
            log.error("GPU devices %s recorded for %s are unknown or held by another server", conflicts, owner)
        return conflicts

    def release(self, owner: str) -> list[str]:
        """Free every device ``owner`` holds."""
        released = self.held_by(owner)
        for dev in released:
            del self._holder[dev]
        return released


_DETECTED: dict[tuple, dict[str, list[str]]] = {}


def detected_devices(products: Mapping[str, str]) -> dict[str, list[str]]:
    """:func:`detect_devices`, run once per process for a given set of products (spawns call it often)."""
    key = tuple(sorted(products.items()))
    if key not in _DETECTED:
        _DETECTED[key] = detect_devices(products)
    return _DETECTED[key]


def detect_devices(products: Mapping[str, str], nvidia_smi: str = "nvidia-smi") -> dict[str, list[str]]:
    """Map GPU types to device indices with ``nvidia-smi``, matching each type's ``product`` in the GPU name.

    Returns ``{}`` when nvidia-smi is absent or fails (no GPUs on this machine).
    """
    exe = shutil.which(nvidia_smi)
    if not exe or not products:
        return {}
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("nvidia-smi failed, no GPUs detected: %s", e)
        return {}
    found: dict[str, list[str]] = {k: [] for k in products}
    for line in out.splitlines():
        if "," not in line:
            continue
        index, name = (p.strip() for p in line.split(",", 1))
        for kind, product in products.items():
            if product and product.lower() in name.lower():
                found[kind].append(index)
                break
    return {k: v for k, v in found.items() if v}


_POOLS: dict[tuple, GpuPool] = {}


def shared_pool(devices: Mapping[str, Iterable[str]]) -> GpuPool:
    """The hub-wide pool for this device layout (one per layout per process)."""
    key = tuple(sorted((k, tuple(str(d) for d in v)) for k, v in devices.items()))
    if key not in _POOLS:
        _POOLS[key] = GpuPool(devices)
    return _POOLS[key]
