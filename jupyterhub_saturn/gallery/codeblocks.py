"""Syntax-highlighted code kept out of the (slow) HTML cleaner, once proven inert by shape.

Pygments emits one ``<span>`` per token; bleach needs ~40 s to re-clean a megabyte of that.
Such a block can only contain what :func:`is_inert_highlight` accepts: one
``<div class><pre>``, ``<span>`` elements whose only attribute is a class of
``[A-Za-z0-9 _-]``, and text without angle brackets. Nothing there can run, load or
navigate. Accepted blocks are swapped for placeholders before the final cleaning pass and
put back after it; anything else takes the normal cleaning path. Typeset math (MathML built
on the server by :mod:`.mathml`, which the cleaner would drop) is held the same way.
"""

from __future__ import annotations

import re

from .mathml import is_inert_mathml

_TOKENS = re.compile(
    r'<div class="[A-Za-z0-9 _+#.-]*"><pre>'
    r'|</pre></div>'
    r'|<span(?: class="[A-Za-z0-9 _-]*")?>'
    r'|</span>'
    r'|[^<>]+'
)


def is_inert_highlight(html: str) -> bool:
    """True if ``html`` is exactly one pygments-shaped block (see the module docstring)."""
    html = html.strip()
    if not html.startswith("<div class=") or not html.endswith("</pre></div>"):
        return False
    if _TOKENS.sub("", html):
        return False  # some '<' or '>' was not part of an allowed tag
    return (html.count("<div") == html.count("</div>") == 1 and html.count("<pre>") == 1
            and html.count("<span") == html.count("</span>"))


class CodeBlocks:
    """Per-render store of inert code blocks, addressed by unguessable placeholders."""

    def __init__(self, token: str):
        self._prefix = f"saturn-code-{token}-"
        self._blocks: list[str] = []
        self._placeholder = re.compile(r'<span class="%s(\d+)"></span>' % re.escape(self._prefix))

    def hold(self, html: str) -> str | None:
        """A placeholder for ``html`` if it is inert by shape, else ``None``."""
        if not is_inert_highlight(html):
            return None
        self._blocks.append(html)
        return f'<span class="{self._prefix}{len(self._blocks) - 1}"></span>'

    def hold_math(self, mathml: str) -> str | None:
        """A placeholder for server-built MathML (see :mod:`.mathml`) if it is inert by shape."""
        if not is_inert_mathml(mathml):
            return None
        self._blocks.append(mathml)
        return f'<span class="{self._prefix}{len(self._blocks) - 1}"></span>'

    def restore(self, cleaned: str) -> str:
        """Put every held block back into the cleaned body, each exactly once."""
        seen: list[int] = []

        def put(match: re.Match) -> str:
            index = int(match.group(1))
            seen.append(index)
            return self._blocks[index] if index < len(self._blocks) else ""

        out = self._placeholder.sub(put, cleaned)
        if sorted(seen) != list(range(len(self._blocks))):
            raise ValueError("code block placeholders were lost or duplicated")
        return out
