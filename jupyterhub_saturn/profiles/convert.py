"""KubeSpawner ``profile_list`` → the equivalent ``c.Saturn`` catalog. Pure Python.

saturn-kube refuses ``profile_list`` at start-up; this converter gives the admin the ``c.Saturn`` to use
instead. Each profile becomes a size (``cpu_limit``/``mem_limit``), its ``image`` an environment and its
GPU (``extra_resource_limits`` of a ``*/gpu`` resource, with ``node_selector``/``tolerations``) a GPU
profile; ``allowed_groups`` become ``groups``; ``default: True`` sets the defaults. Overrides saturn has no
place for are listed in ``notes`` (nothing is dropped silently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import ConfigError

#: kubespawner_override keys the converter turns into catalog fields
_HANDLED = {"cpu_limit", "mem_limit", "cpu_guarantee", "mem_guarantee", "image", "extra_resource_limits",
            "extra_resource_guarantees", "node_selector", "tolerations", "environment"}


def _key(text: str, taken) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "profile"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def convert_profile_list(profile_list) -> tuple[dict, list[str]]:
    """``({"sizes": ..., "gpus": ..., "images": ..., "defaults": ...}, notes)`` for a static profile_list."""
    if callable(profile_list):
        raise ConfigError("KubeSpawner.profile_list", "is a callable; convert the list it returns")
    if not isinstance(profile_list, list):
        raise ConfigError("KubeSpawner.profile_list", f"expected a list of profiles, got {type(profile_list).__name__}")
    sizes: dict = {}
    gpus: dict = {}
    images: dict = {}
    defaults: dict = {}
    notes: list[str] = []
    for i, profile in enumerate(profile_list):
        where = f"profile_list[{i}]"
        if not isinstance(profile, Mapping):
            raise ConfigError(f"KubeSpawner.{where}", f"expected a dict, got {profile!r}")
        name = profile.get("display_name") or profile.get("slug") or f"profile {i}"
        key = _key(profile.get("slug") or name, sizes)
        override = dict(profile.get("kubespawner_override") or {})
        groups = list(profile.get("allowed_groups") or []) or None
        size = {"display_name": name, "cpu": override.get("cpu_limit", 1), "memory": override.get("mem_limit", "2G")}
        if "cpu_limit" not in override or "mem_limit" not in override:
            notes.append(f"{where} ({name}): no cpu_limit/mem_limit, size {key!r} gets {size['cpu']} CPU / "
                         f"{size['memory']}; adjust")
        if profile.get("description"):
            size["description"] = profile["description"]
        if groups:
            size["groups"] = groups
        sizes[key] = size
        if override.get("image"):
            ikey = _key(override["image"].rsplit("/", 1)[-1].split(":")[0], images)
            existing = next((k for k, v in images.items() if v["image"] == override["image"]), None)
            if existing is None:
                images[ikey] = {"display_name": override["image"], "image": override["image"]}
                if override.get("environment"):
                    images[ikey]["env"] = dict(override["environment"])
            elif override.get("environment"):
                notes.append(f"{where} ({name}): environment of a repeated image kept from its first profile")
        gpu_res = {r: n for r, n in (override.get("extra_resource_limits") or {}).items() if r.endswith("/gpu")}
        if gpu_res:
            resource, count = next(iter(gpu_res.items()))
            gkey = _key(f"{key}-gpu", gpus)
            gpu = {"display_name": f"{count} x GPU ({name})", "count": int(count), "resource": resource}
            if override.get("node_selector"):
                gpu["node_selector"] = dict(override["node_selector"])
            if override.get("tolerations"):
                gpu["tolerations"] = list(override["tolerations"])
            if groups:
                gpu["groups"] = groups
            gpus[gkey] = gpu
        elif override.get("node_selector") or override.get("tolerations"):
            notes.append(f"{where} ({name}): node_selector/tolerations without a GPU have no place in c.Saturn; "
                         "set them on KubeSpawner (all servers) or in group_overrides")
        for extra in sorted(set(override) - _HANDLED):
            notes.append(f"{where} ({name}): kubespawner_override.{extra} has no c.Saturn equivalent; set it on "
                         "KubeSpawner, in group_overrides, or in apply_user_options")
        if profile.get("profile_options"):
            notes.append(f"{where} ({name}): profile_options become c.Saturn.extra_options keys handled by your "
                         "apply_user_options hook (declare their choices there)")
        if profile.get("default"):
            defaults["size"] = key
    catalog = {"sizes": sizes}
    if gpus:
        catalog["gpus"] = gpus
    if images:
        catalog["images"] = images
    if defaults:
        catalog["defaults"] = defaults
    return catalog, notes


def render_saturn_config(catalog: Mapping, notes: list[str]) -> str:
    """The ``c.Saturn`` lines for a converted catalog, notes as comments."""
    import pprint  # noqa: PLC0415

    lines = ["# c.Saturn equivalent of the KubeSpawner profile_list (jupyterhub-saturn profiles convert)"]
    lines += [f"# NOTE: {n}" for n in notes]
    for name, value in catalog.items():
        lines.append(f"c.Saturn.{name} = " + pprint.pformat(value, sort_dicts=False, width=110))
    lines.append("# then remove c.KubeSpawner.profile_list")
    return "\n".join(lines) + "\n"
