"""The embedded default config `make demo` runs: saturn-local with sample sizes, a GPU profile
backed by a configured device list, and two demo users.

Log in at http://127.0.0.1:8000 as `student` or `instructor`, password `saturn-demo`.
Everything the hub writes (database, cookie secret, homes) goes under $SATURN_DEMO_DIR
(default: ./.demo). Override any setting below in your own config, or copy this file.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub

here = Path(__file__).resolve().parent
repo = here.parent
state = Path(os.environ.get("SATURN_DEMO_DIR", repo / ".demo")).resolve()
state.mkdir(parents=True, exist_ok=True)
bin_dir = Path(sys.executable).parent

# ---------------------------------------------------------------- hub basics
c.JupyterHub.bind_url = os.environ.get("SATURN_DEMO_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
local_chp = repo / "node_modules" / ".bin" / "configurable-http-proxy"
if local_chp.exists():
    c.ConfigurableHTTPProxy.command = [str(local_chp)]

# ---------------------------------------------------------------- who can log in
# JupyterHub's shared-password authenticator (DummyAuthenticator.password is deprecated since 5.3). Its
# admins need an admin password of 32 characters or more: set SATURN_DEMO_ADMIN_PASSWORD to log in as `admin`.
c.JupyterHub.authenticator_class = "saturn-shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("SATURN_DEMO_PASSWORD", "saturn-demo")
c.Authenticator.allowed_users = {"student", "instructor"}
if os.environ.get("SATURN_DEMO_ADMIN_PASSWORD"):
    c.SharedPasswordAuthenticator.admin_password = os.environ["SATURN_DEMO_ADMIN_PASSWORD"]
    c.Authenticator.admin_users = {"admin"}
c.JupyterHub.load_groups = {
    "students": {"users": ["student"]},
    "instructors": {"users": ["instructor"]},
    "gpu-users": {"users": ["instructor"]},
}

# ---------------------------------------------------------------- servers
c.JupyterHub.spawner_class = "saturn-local"
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.SaturnLocalSpawner.home_root = str(state / "homes")
# every server runs in a bubblewrap sandbox as a uid of its own (kept here across restarts)
c.SaturnLocalSpawner.sandbox_uid_file = str(state / "saturn-uids.json")
# A GPU pool from a configured device list (fake ids on a machine without GPUs: the demo
# shows exclusive assignment through CUDA_VISIBLE_DEVICES; on a GPU machine, list real ids
# or leave it empty to detect them with nvidia-smi).
c.SaturnLocalSpawner.gpu_devices = {"t4": ["0", "1"]}

c.Saturn.sizes = {
    "small": {"display_name": "Small", "cpu": 1, "memory": "2G", "description": "Lectures and homework"},
    "medium": {"display_name": "Medium", "cpu": 2, "memory": "8G", "description": "Projects"},
    "large": {"display_name": "Large", "cpu": 8, "memory": "32G", "groups": ["instructors"]},
}
c.Saturn.gpus = {
    "t4": {"display_name": "1 × NVIDIA T4", "count": 1, "product": "T4", "groups": ["gpu-users"],
           "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
           "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
}
c.Saturn.disks = {"10Gi": {}, "50Gi": {}, "200Gi": {"groups": ["instructors"]}}
# "Data science" runs from its own prefix with numpy, pandas and matplotlib (`make demo-env` builds it;
# until then it falls back to the hub's own environment)
datascience = Path(os.environ.get("SATURN_DEMO_DATASCIENCE_PREFIX", repo / ".demo-envs" / "datascience"))
datascience_prefix = str(datascience) if (datascience / "bin" / "jupyterhub-singleuser").exists() else sys.prefix
c.Saturn.images = {
    "python": {"display_name": "Python 3 (JupyterLab)", "image": "quay.io/jupyter/minimal-notebook:2025-06-09",
               "prefix": sys.prefix},
    "datascience": {"display_name": "Data science", "image": "quay.io/jupyter/scipy-notebook:2025-06-09",
                    "prefix": datascience_prefix, "env": {"SATURN_ENV_FLAVOR": "datascience"}},
}
c.Saturn.defaults = {"size": "small", "disk": "10Gi", "image": "python"}

# ---------------------------------------------------------------- auto-shutoff
c.Saturn.auto_shutoff = {
    "choices": ["15m", "1h", "6h", "24h", "never"],
    "default": "1h",
    "warn_before": "5m",
    "caps": [
        {"match": {"gpu": ["t4"]}, "max_idle": "1h", "max_age": "12h"},
        {"match": {"groups": ["students"]}, "max_idle": "6h"},
        {"match": {}, "allow_never": False},
        {"match": {"groups": ["instructors"]}, "allow_never": True},
    ],
    "throwaway": {"max_idle": "10m", "max_age": "1h"},
}

# ---------------------------------------------------------------- gallery and Run this copy
# Instructors publish at /hub/gallery/publish (or `jupyterhub-saturn publish nb.ipynb` in their server);
# anyone reads /hub/gallery and presses "Run this copy".
c.SaturnGallery.store_dir = str(state / "gallery")
# visitors who are not signed in land on the gallery (signed-in users as usual)
from jupyterhub_saturn.handlers.gallery import land_visitors_on_gallery  # noqa: E402

c.JupyterHub.default_url = land_visitors_on_gallery
c.SaturnGallery.publisher_groups = ["instructors"]
c.SaturnGallery.anonymous_size = "small"
c.SaturnGallery.warm_pool = {}  # e.g. {"python": 2} keeps two throwaway servers started ahead of demand
c.Saturn.launch_limits = {"max_throwaway_servers": 10, "max_per_notebook": 5, "rate": {"launches": 10, "per": "1h"}}

# ---------------------------------------------------------------- sharing and editing together (docs/sharing.md)
# students and instructors may share their running servers (/hub/saturn/share, or "Share" in JupyterLab);
# guests get access only, and edit notebooks live with the owner (jupyter-collaboration)
c.Saturn.sharing = {"enabled": True, "groups": ["students", "instructors"],
                    "max_code_lifetime": "7d", "default_expiry": "1d",
                    "revoke_within": "30s"}  # a running server refuses a revoked guest within 30 s

# ---------------------------------------------------------------- the culler service (jupyterhub-saturn-culler)
from jupyterhub_saturn.culler import culler_service  # noqa: E402

c.JupyterHub.last_activity_interval = 60
_culler, _culler_role = culler_service(every=30)
c.JupyterHub.services.append(_culler)
c.JupyterHub.load_roles.append(_culler_role)
