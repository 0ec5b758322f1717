"""Scheduler predicates of the node agent: selectors, taints and resource fit.

Messages follow kube-scheduler's wording, e.g.
``0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: ...``.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
            "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QTY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def parse_quantity(q) -> Decimal:
    """Kubernetes resource quantity ('500m', '2Gi', '1e3', 4) -> Decimal."""
    m = _QTY.match(str(q).strip())
    if not m:
        raise ValueError(f"bad quantity {q!r}")
    num, suffix = Decimal(m.group(1)), m.group(2) or ""
    return num * Decimal(_BINARY.get(suffix) or _DECIMAL[suffix])


def pod_requests(pod: dict) -> Counter:
    """Effective requests: max(sum of containers, largest init container) + overhead.
    A resource with only a limit counts the limit (the apiserver defaults requests so)."""
    def one(container: dict) -> Counter:
        res = container.get("resources") or {}
        merged = dict(res.get("limits") or {})
        merged.update(res.get("requests") or {})
        return Counter({k: parse_quantity(v) for k, v in merged.items()})

    spec = pod.get("spec") or {}
    total: Counter = Counter()
    for c in spec.get("containers") or []:
        total.update(one(c))
    for c in spec.get("initContainers") or []:
        for k, v in one(c).items():
            total[k] = max(total[k], v)
    for k, v in (spec.get("overhead") or {}).items():
        total[k] += parse_quantity(v)
    return total


def _match_expression(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        try:
            have, want = int(labels[key]), int(values[0])
        except (KeyError, ValueError, IndexError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def matches_node_selector(pod: dict, node: dict) -> bool:
    """nodeSelector plus requiredDuringScheduling node affinity (labels only)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    spec = pod.get("spec") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms:  # terms are ORed, expressions inside a term ANDed
        return any(all(_match_expression(e, labels) for e in t.get("matchExpressions") or [])
                   for t in terms)
    return True


def tolerates(tolerations: list, taint: dict) -> bool:
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t["key"] != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taint(pod: dict, node: dict) -> dict | None:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


def node_ready(node: dict) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def filter_node(pod: dict, node: dict, bound_pods: list[dict]) -> list[str]:
    """Reasons why ``pod`` does not fit ``node`` (empty list: it fits)."""
    if (node.get("spec") or {}).get("unschedulable"):
        return ["node(s) were unschedulable"]
    if not matches_node_selector(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    taint = untolerated_taint(pod, node)
    if taint:
        return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
    alloc = {k: parse_quantity(v)
             for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}
    used: Counter = Counter()
    for other in bound_pods:
        used.update(pod_requests(other))
    reasons = []
    if len(bound_pods) + 1 > alloc.get("pods", Decimal(110)):
        reasons.append("Too many pods")
    for res, amount in sorted(pod_requests(pod).items()):
        if amount > 0 and used[res] + amount > alloc.get(res, Decimal(0)):
            reasons.append(f"Insufficient {res}")
    return reasons


def schedule(pod: dict, nodes: list[dict], pods_by_node: dict[str, list[dict]]
             ) -> tuple[str | None, str]:
    """Pick a node for ``pod``: (node name, "") or (None, FailedScheduling message)."""
    feasible, reasons = [], Counter()
    resource_only = True
    for node in nodes:
        name = node["metadata"]["name"]
        why = filter_node(pod, node, pods_by_node.get(name, []))
        if not why:
            free_cpu = (parse_quantity(node["status"]["allocatable"].get("cpu", 0))
                        - sum(pod_requests(p)["cpu"] for p in pods_by_node.get(name, [])))
            feasible.append((-free_cpu, name))
            continue
        for r in why:
            reasons[r] += 1
            resource_only &= r.startswith("Insufficient") or r == "Too many pods"
    if feasible:
        return sorted(feasible)[0][1], ""
    n = len(nodes)
    detail = ", ".join(f"{c} {r}" for r, c in sorted(reasons.items()))
    msg = f"0/{n} nodes are available: {detail}." if detail else f"0/{n} nodes are available."
    if n:
        hint = ("No preemption victims found for incoming pod" if resource_only
                else "Preemption is not helpful for scheduling")
        msg += f" preemption: 0/{n} nodes are available: {n} {hint}."
    return None, msg
