"""Hub pages and API routes jupyterhub-saturn mounts under ``/hub/``."""


def saturn_handlers(app) -> list:
    """The (pattern, handler[, kwargs]) routes to mount, relative to the hub prefix."""
    from .culls import culls_routes  # noqa: PLC0415 - imports JupyterHub
    from .gallery_routes import gallery_routes  # noqa: PLC0415 - imports JupyterHub
    from .shutoff import install_template_globals, shutoff_routes  # noqa: PLC0415 - imports JupyterHub

    routes: list = []
    routes += gallery_routes(app)
    # auto-shutoff: GET /hub/api/saturn/shutoff, and the home page's time-left helpers
    install_template_globals(app)
    routes += shutoff_routes()
    # the culler's per-sweep report, for the saturn_culls metric
    routes += culls_routes()
    # the same numbers for the JupyterLab extension (cookie auth, own servers only)
    from .timeleft import routes as timeleft_routes  # noqa: PLC0415 - imports JupyterHub

    routes += timeleft_routes
    # sharing one's server: the page, and JupyterHub's accept-share page with the product's rules first
    from .sharing import routes as sharing_routes  # noqa: PLC0415 - imports JupyterHub

    routes += sharing_routes(app)
    return routes
