"""Test-side check that HTML is inert, written independently of the product's audit().

Uses BeautifulSoup (stdlib ``html.parser`` backend) plus raw-text checks, so a bug in
``jupyterhub_saturn.gallery.sanitize`` cannot hide itself.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "link",
    "svg", "portal", "audio", "video", "source", "noscript", "template", "button", "param",
}
URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "background", "xlink:href", "srcset",
             "codebase", "cite", "lowsrc", "dynsrc"}
#: MathML the server may emit (typeset LaTeX): layout only; anything else inside <math> is a problem
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mstyle", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mpadded", "mphantom",
    "menclose", "merror", "mfenced", "mlabeledtr", "mmultiscripts", "mprescripts", "none",
}
_NOISE = re.compile(r"[\x00-\x20\x7f-\xa0\u200b-\u200f\ufeff]+")


def _norm(value: str) -> str:
    return _NOISE.sub("", value).lower()


def inert_problems(html: str) -> list[str]:
    """Everything in ``html`` that could execute, navigate or load; empty list = inert."""
    problems = []
    low = html.lower()
    if "<script" in low:
        problems.append("'<script' in raw HTML")
    if re.search(r"<[a-z][^>]*\son[a-z]+\s*=", low):
        problems.append("on*= attribute in raw HTML")
    soup = BeautifulSoup(html, "html.parser")
    for el in soup.find_all(True):
        if el.name in FORBIDDEN_TAGS:
            problems.append(f"<{el.name}>")
        in_math = el.name == "math" or el.find_parent("math") is not None
        if in_math and el.name not in MATHML_TAGS:
            problems.append(f"<{el.name}> inside <math>")
        if in_math and any(a.lower() not in ("xmlns",) and (a.lower() in URL_ATTRS or ":" in a or a.lower() == "style")
                           for a in el.attrs):
            problems.append(f"<{el.name}> with {sorted(el.attrs)} inside <math>")
        if el.name == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            problems.append("<meta refresh>")
        for name, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                problems.append(f"<{el.name} {name}>")
            if name in ("srcdoc", "formaction", "ping"):
                problems.append(f"<{el.name} {name}>")
            v = _norm(value)
            if name in URL_ATTRS:
                if el.name == "img" and name == "src":
                    if not re.match(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,", v):
                        problems.append(f"<img src={value[:50]!r}>")
                elif not (v.startswith(("http://", "https://", "mailto:", "#"))):
                    problems.append(f"<{el.name} {name}={value[:50]!r}>")
            if "javascript:" in v or "vbscript:" in v or "data:text" in v:
                problems.append(f"<{el.name} {name}={value[:50]!r}> scheme")
            if name == "style" and ("expression" in v or "url(" in v or "\\" in v):
                problems.append(f"<{el.name} style={value[:50]!r}>")
            if "__pwned" in value and name not in ("alt", "title"):
                problems.append(f"payload in <{el.name} {name}>")
        if el.name == "style":
            css = _norm(el.get_text())
            css = re.sub(r"url\(['\"]?data:image/[^)]*\)", "", css)
            if "url(" in css or "expression(" in css or "@import" in css or "javascript:" in css:
                problems.append("dangerous <style>")
    return problems
