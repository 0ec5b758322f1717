"""The product's Prometheus metrics, on JupyterHub's registry (served at ``/hub/metrics``).

JupyterHub serves ``prometheus_client``'s default registry, so metrics declared here appear
beside ``jupyterhub_*`` with no extra endpoint. Names start with ``saturn_``. Label values are
fixed sets (outcomes, limit names, profile kinds, formats) or configured keys, never user input.
docs/kube.md shows the scrape config and the alerts worth having.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Run this copy launches: outcome ∈ admitted, refused, ready, failed; limit names the refusing launch
#: limit (rate, max_per_notebook, max_throwaway_servers) for refusals, else ""
LAUNCHES = Counter("saturn_launches", "Run this copy launches, by outcome and refusing limit", ["outcome", "limit"])

#: ready warm-pool servers per environment, and launches served from the pool
WARM_POOL_READY = Gauge("saturn_warm_pool_ready", "Ready unclaimed warm-pool servers, per image", ["image"])
WARM_POOL_CLAIMS = Counter("saturn_warm_pool_claims", "Launches served by a warm-pool server, per image", ["image"])

#: user_options refused at spawn time, by the field the refusal names (size, gpu, disk, image, auto_shutoff, ...)
SPAWN_REFUSALS = Counter("saturn_spawn_refusals", "Spawn requests refused, by field and status", ["field", "status"])

#: servers and users the culler removed, by reason (idle, max-age, throwaway) — counted by the hub when the
#: culler reports its sweep (``POST /hub/api/saturn/culls``)
CULLS = Counter("saturn_culls", "Servers stopped or users removed by the culler, by reason", ["reason"])

#: publishing (publish, republish, unpublish) and rendering (cache misses, per format)
PUBLISHES = Counter("saturn_publishes", "Notebooks published, republished and unpublished", ["action"])
RENDERS = Counter("saturn_renders", "Notebook renders and exports actually computed (cache misses), per format",
                  ["format"])
RENDER_SECONDS = Histogram("saturn_render_seconds", "Time to render or export one notebook version",
                           ["format"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

LAUNCH_OUTCOMES = ("admitted", "refused", "ready", "failed")
CULL_REASONS = ("idle", "max-age", "throwaway")
SPAWN_FIELDS = ("size", "gpu", "disk", "image", "auto_shutoff", "user_options")


def launch(outcome: str, limit: str = "") -> None:
    """Count one launch outcome (``limit`` for refusals)."""
    LAUNCHES.labels(outcome=outcome, limit=limit or "").inc()


def spawn_refused(field: str | None, status: int) -> None:
    """Count one refused spawn; fields outside the known set are counted as ``user_options``."""
    name = (field or "").split(".")[0]
    SPAWN_REFUSALS.labels(field=name if name in SPAWN_FIELDS else "user_options", status=str(int(status))).inc()


def rendered(fmt: str, seconds: float) -> None:
    """Observer for :class:`~jupyterhub_saturn.gallery.GalleryExports`: one computed export."""
    RENDERS.labels(format=fmt).inc()
    RENDER_SECONDS.labels(format=fmt).observe(seconds)


def published(action: str) -> None:
    PUBLISHES.labels(action=action).inc()


def warm_pool(ready: dict[str, int]) -> None:
    for image, count in ready.items():
        WARM_POOL_READY.labels(image=image).set(count)


def warm_pool_claimed(image: str) -> None:
    WARM_POOL_CLAIMS.labels(image=image).inc()


def culled(reason: str, count: int = 1) -> None:
    if reason in CULL_REASONS and count > 0:
        CULLS.labels(reason=reason).inc(count)
