"""Turn core errors (:class:`~jupyterhub_saturn.errors.SaturnError`) into tornado HTTP errors.

JupyterHub shows ``jupyterhub_message`` verbatim on its pages and in JSON API errors,
so the core's message reaches the person unchanged, with the right status code.
"""

from __future__ import annotations

from tornado import web

from .errors import SaturnError


def http_error(err: SaturnError) -> web.HTTPError:
    """An ``HTTPError`` carrying the core error's status, message and Retry-After."""
    status = err.status if 400 <= err.status < 600 else 500
    exc = web.HTTPError(status, "%s", err.text)
    exc.jupyterhub_message = err.text
    if err.retry_after is not None:
        exc.headers = {"Retry-After": str(int(err.retry_after))}
    return exc
