"""Post core/v1 Events the way kubelet, kube-scheduler and controllers do."""

from __future__ import annotations

import datetime
import time

from .client import ApiError, KubeClient


def now_rfc3339(ts: float | None = None) -> str:
    dt = datetime.datetime.fromtimestamp(ts if ts is not None else time.time(),
                                         datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_ref(obj: dict, kind: str, api_version: str = "v1") -> dict:
    meta = obj["metadata"]
    ref = {"kind": kind, "apiVersion": api_version, "name": meta["name"],
           "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def post_event(client: KubeClient, obj: dict, kind: str, reason: str, message: str, *,
               type_: str = "Normal", component: str = "kubelet", host: str | None = None,
               field_path: str | None = None, api_version: str = "v1") -> None:
    """Create one Event about ``obj`` (errors are swallowed: events are best effort)."""
    ref = object_ref(obj, kind, api_version)
    if field_path:
        ref["fieldPath"] = field_path
    ns = ref.get("namespace") or "default"
    stamp = now_rfc3339()
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{ref['name']}.{time.time_ns():x}", "namespace": ns},
        "involvedObject": ref, "reason": reason, "message": message, "type": type_,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "reportingComponent": component, "reportingInstance": host or "",
    }
    try:
        client.post(f"/api/v1/namespaces/{ns}/events", event)
    except ApiError:
        pass
