"""One log line per refused spawn option: upstream's repeats of the refusal are filtered, nothing else is."""

from __future__ import annotations

import logging

from tornado import web

from jupyterhub_saturn.errors import InvalidChoice
from jupyterhub_saturn.http_errors import OWN_LINE, RefusalLogFilter, one_line, refusal_error


def _record(level, msg, *args, exc=None):
    return logging.LogRecord("JupyterHub", level, __file__, 1, msg, args, (type(exc), exc, None) if exc else None)


def test_repeats_of_a_refusal_are_dropped_and_other_lines_kept():
    err = InvalidChoice("unknown size 'huge-refusal-xyz' (allowed: 'small')", field="size")
    exc = refusal_error(err)
    assert isinstance(exc, web.HTTPError) and exc.status_code == 400 and exc.jupyterhub_message == err.text
    assert exc.log_message % exc.args == err.text  # what JupyterHub 5.5's API shows
    f = RefusalLogFilter()
    assert not f.filter(_record(logging.ERROR, "Exception applying user_options for %s", "alice", exc=exc))
    assert not f.filter(_record(logging.ERROR, f"Error starting alice's server: {exc}"))
    assert not f.filter(_record(logging.WARNING, "%d %s: " + err.text, 400, "POST /hub/api/users/alice/server"))
    assert f.filter(_record(logging.WARNING, OWN_LINE + " for alice: field size: " + err.text))
    assert f.filter(_record(logging.ERROR, "Error starting bob's server: disk full"))
    assert f.filter(_record(logging.INFO, "something mentioning " + err.text))
    other = web.HTTPError(400, "nope")
    assert f.filter(_record(logging.ERROR, "Exception applying user_options", exc=other))


def test_one_line_escapes_line_breaks():
    assert one_line("a\nb\r\nc") == "a\\nb\\r\\nc"
