"""Compute a kubelet-style ``PodStatus`` from the node agent's view of a pod."""

from __future__ import annotations

from .events import now_rfc3339


def _ts(t: float | None) -> str | None:
    return now_rfc3339(t) if t is not None else None


def _cond(type_: str, ok: bool, since: float | None, reason: str | None = None) -> dict:
    c = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None,
         "lastTransitionTime": _ts(since)}
    if reason and not ok:
        c["reason"] = reason
    return c


def pod_status(pod: dict, st) -> dict:
    """``st`` is the agent's ``_PodState`` (runtime, ip, started_at, exit_code, ready...)."""
    containers = pod["spec"]["containers"]
    created = pod["metadata"].get("creationTimestamp")
    started, finished = st.started_at, st.finished_at
    running = st.runtime is not None and st.exit_code is None and started is not None
    if st.exit_code is not None:
        phase = "Succeeded" if st.exit_code == 0 else "Failed"
    elif running:
        phase = "Running"
    else:
        phase = "Pending"
    pid = st.runtime.proc.pid if st.runtime and st.runtime.proc else None
    statuses = []
    for c in containers:
        cs = {"name": c["name"], "image": c.get("image", ""),
              "imageID": f"saturn-local://{c.get('image', '')}", "restartCount": 0,
              "ready": bool(running and st.ready), "started": running}
        if pid:
            cs["containerID"] = f"saturn://{pid}"
        if st.exit_code is not None:
            cs["state"] = {"terminated": {
                "exitCode": st.exit_code, "reason": st.reason or "Error",
                **({"message": st.message} if st.message else {}),
                "startedAt": _ts(started), "finishedAt": _ts(finished),
                **({"containerID": cs["containerID"]} if pid else {})}}
        elif running:
            cs["state"] = {"running": {"startedAt": _ts(started)}}
        else:
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        statuses.append(cs)
    ready = running and st.ready
    if st.exit_code is not None:
        not_ready = "PodCompleted"
    else:
        not_ready = "ContainersNotReady"
    ready_since = st.ready_since or finished or started
    status = {
        "phase": phase,
        "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": _ts(started) or created,
        "conditions": [
            _cond("PodReadyToStartContainers", started is not None, started),
            {**_cond("Initialized", True, started), "lastTransitionTime": created},
            _cond("Ready", ready, ready_since, not_ready),
            _cond("ContainersReady", ready, ready_since, not_ready),
            {**_cond("PodScheduled", True, None), "lastTransitionTime": created},
        ],
        "containerStatuses": statuses,
    }
    if st.ip:
        status["podIP"] = st.ip
        status["podIPs"] = [{"ip": st.ip}]
    return status
