"""Turn core errors (:class:`~jupyterhub_saturn.errors.SaturnError`) into tornado HTTP errors.

JupyterHub shows ``jupyterhub_message`` verbatim on its pages and in JSON API errors,
so the core's message reaches the person unchanged, with the right status code.

A refused spawn option (:func:`refusal_error`) is logged once, by the spawner, as one warning line.
JupyterHub itself logs an exception raised by ``apply_user_options`` up to four more times, two of them
with a traceback (``Spawner._run_apply_user_options``, ``User.spawn``, the ``opt-`` link handler, tornado's
HTTPError warning), so any user could flood the log. :class:`RefusalLogFilter` (installed by
:mod:`jupyterhub_saturn.upstream_guards`) drops exactly those records: a traceback of the refusal's own
exception, or a warning/error repeating the text of a refusal made in the last minute. It can go once
JupyterHub logs an ``HTTPError`` from ``apply_user_options`` without a traceback (upstream: spawner.py
``_run_apply_user_options``, pages.py ``SpawnHandler._get``).
"""

from __future__ import annotations

import logging
import time
from collections import deque

from tornado import web

from .errors import SaturnError

#: texts of refusals logged in the last minute (JupyterHub repeats them within the same request)
_RECENT: deque[tuple[float, str]] = deque(maxlen=64)
_RECENT_SECONDS = 60.0
#: the product's own line for a refusal, which the filter keeps
OWN_LINE = "Refused spawn option"


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
    exc = http_error(err)
    exc.saturn_refused = True
    if len(err.text) >= 12:  # a short text could match unrelated lines
        _RECENT.append((time.monotonic(), err.text))
    return exc


def one_line(text: str) -> str:
    """``text`` safe for one log line (no line breaks a user could inject)."""
    return text.replace("\n", "\\n").replace("\r", "\\r")


class RefusalLogFilter(logging.Filter):
    """Drops log records that repeat a refusal made by :func:`refusal_error` (not the product's own line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if getattr(exc, "saturn_refused", False):
            return False
        if not _RECENT or record.levelno < logging.WARNING:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is not ours to drop
            return True
        if message.startswith(OWN_LINE):
            return True
        now = time.monotonic()
        while _RECENT and now - _RECENT[0][0] > _RECENT_SECONDS:
            _RECENT.popleft()
        return not any(text in message for _, text in _RECENT)
