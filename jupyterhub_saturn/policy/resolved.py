"""What a server was started with, kept beside its ``user_options``: the ``saturn_resolved`` state entry.

``user_options`` hold exactly what the user chose (validated, no defaults added). The values the
spawner derives from them live in the spawner's state under :data:`RESOLVED_KEY`::

    {"saturn_resolved": {"size": "small", "gpu": "none", "disk": "10Gi", "image": "python",
                         "auto_shutoff": "1h",
                         "saturn_shutoff": {"idle_timeout": 3600, "max_age": 43200, ...},
                         "saturn_notebook": "<published notebook id>"}}

the same shape user_options had before: every kind with its default, the resolved auto-shutoff label
and numbers (:mod:`.shutoff_state`) and, for "Run this copy" servers, the notebook. Servers started
before this split carry those values in their user_options: :func:`resolved_options` reads either.
"""

from __future__ import annotations

from collections.abc import Mapping

RESOLVED_KEY = "saturn_resolved"
NOTEBOOK_KEY = "saturn_notebook"


def resolved_options(user_options: object, state: object) -> Mapping:
    """The derived values of a server: ``state["saturn_resolved"]`` when present, else ``user_options``
    (servers started before the split); ``{}`` when neither is a mapping. Never raises."""
    resolved = state.get(RESOLVED_KEY) if isinstance(state, Mapping) else None
    if isinstance(resolved, Mapping):
        return resolved
    return user_options if isinstance(user_options, Mapping) else {}


def notebook_of(user_options: object, state: object) -> str | None:
    """The published notebook a "Run this copy" server runs, or None."""
    notebook = resolved_options(user_options, state).get(NOTEBOOK_KEY)
    return notebook if isinstance(notebook, str) and 0 < len(notebook) <= 128 else None
