"""Copies carry no trust: strip what makes Jupyter run a notebook's JavaScript and HTML scripts.

jupyter_server signs a notebook saved through its contents API when every code cell carries
``metadata.trusted: true``, and JupyterLab then runs its JavaScript and HTML-script outputs on
the server's origin. A publisher's notebook is a stranger's code for whoever runs a copy, so
every stored published notebook and every copy written into a server goes through
:func:`strip_trust`: no ``trusted`` flag on any cell, no ``signature`` in the metadata. Its
scripts run only when the user runs the cells themselves.
"""

from __future__ import annotations

from typing import Any

TRUST_KEYS = ("trusted",)
SIGNATURE_KEYS = ("signature",)


def strip_trust(notebook: Any) -> Any:
    """Remove trust marks from a notebook dict in place and return it (non-dicts are left alone)."""
    if not isinstance(notebook, dict):
        return notebook
    meta = notebook.get("metadata")
    if isinstance(meta, dict):
        for key in SIGNATURE_KEYS + TRUST_KEYS:
            meta.pop(key, None)
    for cell in notebook.get("cells") or []:
        if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict):
            for key in TRUST_KEYS:
                cell["metadata"].pop(key, None)
    for ws in notebook.get("worksheets") or []:  # nbformat 3, should one slip through
        for cell in (ws.get("cells") or []) if isinstance(ws, dict) else []:
            if isinstance(cell, dict):
                cell.pop("trusted", None)
                if isinstance(cell.get("metadata"), dict):
                    cell["metadata"].pop("trusted", None)
    return notebook


def is_trusted(notebook: Any) -> bool:
    """True if any trust mark is left (for tests and checks)."""
    if not isinstance(notebook, dict):
        return False
    meta = notebook.get("metadata") or {}
    if isinstance(meta, dict) and any(k in meta for k in SIGNATURE_KEYS + TRUST_KEYS):
        return True
    return any(isinstance(c, dict) and isinstance(c.get("metadata"), dict) and "trusted" in c["metadata"]
               for c in notebook.get("cells") or [])
