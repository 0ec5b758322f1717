"""Guards around JupyterHub's own handling of hostile requests (one compatibility module; remove each guard
when upstream fixes what it names). Installed once per process by :func:`install`.

1. **Tracebacks for client errors.** JupyterHub logs a full traceback at error level for a request body that
   is not JSON (``APIHandler.get_json_body``: "Couldn't parse JSON") and for a username the authenticator
   refuses in ``POST /hub/api/users`` ("Failed to create user"), though both answer 400. Anyone can fill the
   log with them. :class:`ClientErrorLogFilter` turns each into one warning line naming the error.
   Refused spawn options, already logged once by the spawner, are dropped (see :mod:`.http_errors`).
2. **500 for invalid UTF-8 in the spawn form or an ``opt-`` link.** ``SpawnHandler`` decodes query and form
   bytes with a bare ``bytes.decode("utf8")`` (handlers/pages.py ``_get``/``_post``). :func:`_checked_prepare`
   answers 400 naming the field first. (Tornado itself answers 400 for invalid UTF-8 in path arguments.)
3. **A traceback for invalid UTF-8 in the login form.** Tornado refuses the argument with a 400, then
   ``LoginHandler.render_template`` reads it again while rendering that error page and fails. The login
   form's undecodable bytes are replaced (U+FFFD) before the handler runs, so the sign-in simply fails.
4. **500 for a request body that is not UTF-8** (JupyterHub 5.5.0's ``APIHandler.get_json_body`` decodes it
   outside its ``try``; later releases answer 400). :func:`_utf8_json_body` answers 400 instead.
"""

from __future__ import annotations

import functools
import logging

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.handlers.login import LoginHandler
from jupyterhub.handlers.pages import SpawnHandler
from tornado import web

from .http_errors import RefusalLogFilter

#: upstream log messages (their start) that carry a traceback for what is only a refused request
CLIENT_ERRORS = ("Couldn't parse JSON", "Failed to create user")


class ClientErrorLogFilter(RefusalLogFilter):
    """Refusals logged already are dropped; upstream's tracebacks for client errors become one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not super().filter(record):
            return False
        if record.exc_info and isinstance(record.msg, str) and record.msg.startswith(CLIENT_ERRORS):
            exc = record.exc_info[1]
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            record.msg = f"{record.getMessage()} ({detail})".replace("%", "%%")
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_FILTER = ClientErrorLogFilter()


def _undecodable(arguments: dict) -> str | None:
    for key, values in arguments.items():
        for value in values:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return key
    return None


def _checked_prepare(prepare):
    @functools.wraps(prepare)
    async def checked(self, *args, **kwargs):
        # JupyterHub's own prepare first: it resolves the user, which the error page needs (5.5.0)
        result = await prepare(self, *args, **kwargs)
        if getattr(self, "_finished", False):  # prepare answered already (e.g. a redirect to login)
            return result
        bad = _undecodable(self.request.query_arguments) or (
            _undecodable(self.request.body_arguments) if self.request.method == "POST" else None)
        if bad is not None:
            name = bad.encode("ascii", "backslashreplace").decode()[:100] if isinstance(bad, str) else "?"
            message = f"{name}: the value is not valid UTF-8 text"
            exc = web.HTTPError(400, "%s", message)
            exc.jupyterhub_message = message
            raise exc
        return result

    checked._saturn_guard = True
    return checked


def _replace_undecodable(request) -> None:
    for source in (request.query_arguments, request.body_arguments, request.arguments):
        for key, values in source.items():
            source[key] = [v.decode("utf-8", "replace").encode("utf-8") for v in values]


def _repairing_prepare(prepare):
    @functools.wraps(prepare)
    async def repaired(self, *args, **kwargs):
        if _undecodable(self.request.arguments):
            _replace_undecodable(self.request)
        return await prepare(self, *args, **kwargs)

    repaired._saturn_guard = True
    return repaired


def _utf8_json_body(get_json_body):
    @functools.wraps(get_json_body)
    def checked(self):
        try:
            self.request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise web.HTTPError(400, "Invalid JSON in body of request: it is not UTF-8") from None
        return get_json_body(self)

    checked._saturn_guard = True
    return checked


def install(*loggers: logging.Logger) -> None:
    """Install both guards (idempotent): the log filter on ``loggers`` and tornado's, the spawn-page check."""
    for logger in (*loggers, logging.getLogger("JupyterHub"), logging.getLogger("tornado.general"),
                   logging.getLogger("tornado.application")):
        if not any(isinstance(f, ClientErrorLogFilter) for f in logger.filters):
            logger.addFilter(_FILTER)
    if not getattr(SpawnHandler.prepare, "_saturn_guard", False):
        SpawnHandler.prepare = _checked_prepare(SpawnHandler.prepare)
    if not getattr(LoginHandler.prepare, "_saturn_guard", False):
        LoginHandler.prepare = _repairing_prepare(LoginHandler.prepare)
    if not getattr(APIHandler.get_json_body, "_saturn_guard", False):
        APIHandler.get_json_body = _utf8_json_body(APIHandler.get_json_body)
