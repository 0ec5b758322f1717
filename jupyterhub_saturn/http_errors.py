"""Turn core errors (:class:`~jupyterhub_saturn.errors.SaturnError`) into tornado HTTP errors.

JupyterHub shows ``jupyterhub_message`` verbatim on its pages and in JSON API errors,
so the core's message reaches the person unchanged, with the right status code.

A refused spawn option (:func:`refusal_error`) is logged once, by the spawner, as one warning line.
JupyterHub itself logs an exception raised by ``apply_user_options`` up to four more times, two of them
with a traceback (``Spawner._run_apply_user_options``, ``User.spawn``, the ``opt-`` link handler, tornado's
HTTPError warning), so any user could flood the log. :class:`RefusalLogFilter` (installed by
:mod:`jupyterhub_saturn.upstream_guards`) drops exactly those records: they carry :data:`REFUSAL_MARK` in the
error's log text, which no page or API answer shows (those use ``jupyterhub_message``). It can go once
JupyterHub logs an ``HTTPError`` from ``apply_user_options`` without a traceback (upstream: spawner.py
``_run_apply_user_options``, pages.py ``SpawnHandler._get``).
"""

from __future__ import annotations

import logging
from http.client import responses

from tornado import web

from .errors import SaturnError

#: marks the log text of a refusal that was already logged once
REFUSAL_MARK = "[saturn: refused, logged above] "


def http_error(err: SaturnError) -> web.HTTPError:
    """An ``HTTPError`` carrying the core error's status, message and Retry-After."""
    status = err.status if 400 <= err.status < 600 else 500
    exc = web.HTTPError(status, "%s", err.text)
    exc.jupyterhub_message = err.text
    if err.retry_after is not None:
        exc.headers = {"Retry-After": str(int(err.retry_after))}
    return exc


def refusal_error(err: SaturnError) -> web.HTTPError:
    """:func:`http_error` for a refusal already logged: upstream's repeats of it are dropped from the log."""
    status = err.status if 400 <= err.status < 600 else 500
    exc = web.HTTPError(status, REFUSAL_MARK + "%s", err.text, reason=responses.get(status, "Refused"))
    exc.jupyterhub_message = err.text
    if err.retry_after is not None:
        exc.headers = {"Retry-After": str(int(err.retry_after))}
    exc.saturn_refused = True
    return exc


def one_line(text: str) -> str:
    """``text`` safe for one log line (no line breaks a user could inject)."""
    return text.replace("\n", "\\n").replace("\r", "\\r")


class RefusalLogFilter(logging.Filter):
    """Drops log records that repeat a refusal made by :func:`refusal_error`."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if getattr(exc, "saturn_refused", False):
            return False
        try:
            return REFUSAL_MARK not in record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is not ours to drop
            return True
