"""The public notebook page: the rendered report plus the hub's own header, links and preview tags.

The page *is* the report document, served under the report's sandboxing CSP (no script,
opaque origin), so it reads as one scrolling page with no inner frame. The trusted parts
differ per reader (signed in or not, author or not) and are put into slots the report
template leaves before any notebook content: preview tags before ``</head>``, the top bar
right after ``<body …>``, the actions in the header's empty ``saturn-actions`` box.
"""

from __future__ import annotations

import re

from .errors import RenderFailed

ACTIONS_SLOT = '<div class="saturn-actions"></div>'
CONTENT_START = '<div class="saturn-content">'
_BODY = re.compile(r"<body\b[^>]*>")


def compose(report: str, *, head: str, topbar: str, actions: str) -> str:
    """``report`` with the trusted fragments in their slots (each slot must precede the notebook content)."""
    content = report.find(CONTENT_START)
    head_end = report.find("</head>")
    body = _BODY.search(report)
    slot = report.find(ACTIONS_SLOT)
    if content < 0 or not (0 <= head_end < (body.start() if body else -1) < slot < content):
        raise RenderFailed("the report page could not be assembled", field="notebook")
    return (report[:head_end] + head + report[head_end:body.end()] + topbar + report[body.end():slot]
            + '<div class="saturn-actions">' + actions + "</div>" + report[slot + len(ACTIONS_SLOT):])
