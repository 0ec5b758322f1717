"""An example for Kubernetes without helm: saturn-kube (KubeSpawner) in the namespace the hub runs in, with
sizes, a GPU profile and disks, and the auto-shutoff culler. With the Zero to JupyterHub chart use
``helm-values/`` instead (the chart writes the Kubernetes part of this for you).

The hub needs the RBAC of ``helm-values/hub-rbac-saturn.yaml`` plus KubeSpawner's usual pod/PVC/event rights.
"""

import os

import jupyterhub_saturn
from jupyterhub_saturn.culler import culler_service

c = get_config()  # noqa: F821 - provided by JupyterHub

c.JupyterHub.spawner_class = "saturn-kube"
c.KubeSpawner.namespace = os.environ.get("POD_NAMESPACE", "jupyterhub")
c.KubeSpawner.image = "quay.io/jupyter/minimal-notebook:2025-06-09"   # when an environment names no image
c.KubeSpawner.storage_pvc_ensure = True                                # each user's disk is a claim
c.SaturnKubeSpawner.cpu_guarantee_ratio = 0.5                          # requests = half the CPU limit

c.Saturn.sizes = {
    "small": {"display_name": "Small — 1 CPU, 2 GB", "cpu": 1, "memory": "2G"},
    "medium": {"display_name": "Medium — 2 CPU, 8 GB", "cpu": 2, "memory": "8G"},
}
c.Saturn.gpus = {"t4": {"display_name": "1 × NVIDIA T4", "count": 1, "groups": ["gpu-users"],
                        "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
                        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}
c.Saturn.disks = {"10Gi": {}, "50Gi": {}}
c.Saturn.auto_shutoff = {"choices": ["1h", "4h"], "default": "1h"}

# the culler, as a hub-managed service on the hub's own loopback
service, role = culler_service(every=60)
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)

jupyterhub_saturn.setup(c)   # keeps whatever authenticator you configure above this line
