"""LaTeX to MathML on the server, so the report shows typeset math with no script at all.

:func:`to_mathml` converts one formula with ``latex2mathml`` and then *rebuilds* the result
from an allow-list: presentation MathML elements only (no ``maction``, ``mglyph``,
``annotation-xml`` or ``semantics`` with foreign content), a fixed set of attributes whose
values are short and made of harmless characters (no ``href``, ``src``, ``style``, event
handlers or URLs), and text with ``<``/``&`` escaped. The result is inert by construction;
:func:`is_inert_mathml` re-checks the shape independently before the renderer lets it skip
the HTML cleaner (which drops ``<math>``). A formula that does not convert, or is larger
than :data:`MAX_TEX`, stays as its escaped LaTeX source.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

#: Presentation MathML elements that can only lay out text.
TAGS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac",
    "msqrt", "mroot", "mstyle", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mpadded",
    "mphantom", "menclose", "merror", "mfenced", "mlabeledtr", "mmultiscripts", "mprescripts", "none",
})
#: Attributes kept (values must also match :data:`_VALUE`).
ATTRS = frozenset({
    "display", "mathvariant", "stretchy", "fence", "form", "separator", "separators", "lspace", "rspace",
    "columnalign", "columnspacing", "columnlines", "rowalign", "rowspacing", "rowlines", "linethickness",
    "minsize", "maxsize", "movablelimits", "accent", "accentunder", "width", "height", "depth", "frame",
    "displaystyle", "scriptlevel", "notation", "open", "close", "mathsize", "mathcolor", "mathbackground",
    "symmetric", "largeop", "columnspan", "rowspan", "voffset", "align", "equalrows", "equalcolumns",
})
MATH_NS = "http://www.w3.org/1998/Math/MathML"
#: Longest formula converted (characters of LaTeX); longer ones are shown as source.
MAX_TEX = 4000
_VALUE = re.compile(r"[A-Za-z0-9#.%+\- ]{0,64}\Z")
_VOID = frozenset({"mspace", "mprescripts", "none"})


class _Rebuild(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.bad = False

    def handle_starttag(self, tag, attrs):
        self._open(tag, attrs, close=False)

    def handle_startendtag(self, tag, attrs):
        self._open(tag, attrs, close=True)

    def _open(self, tag, attrs, *, close):
        if tag not in TAGS:
            self.bad = True
            return
        kept = [(k, v) for k, v in attrs if k in ATTRS and v is not None and _VALUE.match(v)]
        text = "".join(f' {k}="{escape(v)}"' for k, v in kept)
        if tag == "math":
            text = f' xmlns="{MATH_NS}"' + text
        self.out.append(f"<{tag}{text}>")
        if close or tag in _VOID:
            self.out.append(f"</{tag}>")
        else:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.bad = True
            return
        self.stack.pop()
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if self.stack:
            self.out.append(escape(data, quote=False))

    def handle_comment(self, data):
        pass

    def unknown_decl(self, data):
        self.bad = True


def rebuild(mathml: str) -> str | None:
    """``mathml`` rebuilt from the allow-list, or None if it holds anything else."""
    parser = _Rebuild()
    parser.feed(mathml)
    parser.close()
    if parser.bad or parser.stack or not parser.out or parser.out[0].split(" ", 1)[0] != "<math":
        return None
    return "".join(parser.out)


def to_mathml(tex: str, *, display: bool) -> str | None:
    """Inert MathML for one LaTeX formula (without its ``$`` delimiters), or None."""
    if not isinstance(tex, str) or not tex.strip() or len(tex) > MAX_TEX:
        return None
    try:
        from latex2mathml.converter import convert  # noqa: PLC0415 - optional at import time

        raw = convert(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any LaTeX it cannot read stays as source
        return None
    return rebuild(raw)


_TOKENS = re.compile(
    r"<(%s)(?: [a-z]+=\"[A-Za-z0-9#.%%+\-:/ ]{0,64}\")*>|</(%s)>|[^<>]+" % ("|".join(TAGS), "|".join(TAGS))
)


def is_inert_mathml(html: str) -> bool:
    """True if ``html`` is one ``<math>`` element made only of allowed elements, attributes and text."""
    if not html.startswith("<math") or not html.endswith("</math>"):
        return False
    depth = 0
    pos = 0
    for m in _TOKENS.finditer(html):
        if m.start() != pos:
            return False
        pos = m.end()
        if m.group(1):
            names = re.findall(r' ([a-z]+)="', m.group(0))
            if any(n not in ATTRS and not (n == "xmlns" and m.group(1) == "math") for n in names):
                return False
            if 'xmlns="' in m.group(0) and f'xmlns="{MATH_NS}"' not in m.group(0):
                return False
            depth += 1
        elif m.group(2):
            depth -= 1
            if depth < 0:
                return False
        if depth == 0 and pos != len(html):
            return False
    return pos == len(html) and depth == 0


_DISPLAY = re.compile(r"\A\s*(?:\$\$(.+)\$\$|\\\[(.+)\\\])\s*\Z", re.S)
_INLINE = re.compile(r"\A\s*\$(.+)\$\s*\Z", re.S)
_ENV = re.compile(r"\A\s*\\begin\{(equation|align|gather|eqnarray)\*?\}(.+)\\end\{\1\*?\}\s*\Z", re.S)


def latex_output(text: str) -> tuple[str, bool] | None:
    """The formula and whether it is display math, for a ``text/latex`` output, or None."""
    if not isinstance(text, str):
        return None
    for pattern, display in ((_DISPLAY, True), (_ENV, True), (_INLINE, False)):
        m = pattern.match(text)
        if m:
            if pattern is _ENV:
                return text.strip(), display
            return next(g for g in m.groups() if g), display
    return None
