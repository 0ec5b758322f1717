"""Build the gallery / publish / Run-this-copy routes and their shared state, once per hub."""

from __future__ import annotations

import os

from .. import metrics
from ..gallery import GalleryExports, NotebookStore
from ..policy import LaunchGate
from ..settings import Saturn, SaturnGallery
from . import gallery, gallery_edit, keep, publish, run
from .base import SaturnContext
from .launcher import Launcher, ensure_throwaway_role


def gallery_routes(app) -> list:
    """Routes (relative to the hub prefix) with a :class:`SaturnContext` as their kwargs."""
    saturn = Saturn(config=app.config, log=app.log)
    settings = SaturnGallery(config=app.config, log=app.log)
    settings.validate(saturn.catalog)
    store = NotebookStore(os.path.abspath(settings.store_dir), max_bytes=settings.max_bytes())
    gate = LaunchGate(saturn.parsed_launch_limits)
    launcher = Launcher(app, saturn, settings, store, gate, app.log)
    ensure_throwaway_role(app.db)
    ctx = SaturnContext(saturn=saturn, gallery=settings, store=store, exports=GalleryExports(store, observer=metrics.rendered),
                        gate=gate, launcher=launcher)
    app.saturn_launcher = launcher
    env = (getattr(app, "tornado_settings", None) or {}).get("jinja2_env")
    if env is not None:  # display names for the home page's server table
        env.globals.setdefault("saturn_display_name", saturn.catalog.display_name)
    if settings.warm_pool:
        from tornado.ioloop import IOLoop, PeriodicCallback  # noqa: PLC0415

        IOLoop.current().add_callback(launcher.kick_refill)
        PeriodicCallback(launcher.kick_refill, 5000).start()
    return [(pattern, handler, {"ctx": ctx}) for pattern, handler in publish.routes + run.routes + gallery_edit.routes + gallery.routes
            + keep.routes]
