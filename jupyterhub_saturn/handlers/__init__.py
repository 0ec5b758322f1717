"""Hub pages and API routes jupyterhub-saturn mounts under ``/hub/``."""


def saturn_handlers(app) -> list:
    """The (pattern, handler[, kwargs]) routes to mount, relative to the hub prefix."""
    routes: list = []
    return routes
