"""HTML sanitizing for rendered notebooks: an allow-list cleaner and an independent audit.

:func:`clean_html` is the one cleaner used everywhere untrusted HTML appears (Markdown
cells, ``text/html``/``text/markdown`` outputs, highlighted code, and a final pass over the
whole rendered body). It keeps document structure (headings, tables, lists, images from
``data:image/*`` URLs, links to http/https/mailto/fragments) and drops everything that can
run code, load a document, navigate, or fetch from the network.

:func:`audit` re-reads finished HTML with a different parser (the stdlib's) and lists any
executable or navigating construct left; the renderer refuses to return HTML it flags.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import bleach
import tinycss2
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer
from bleach.html5lib_shim import Filter

from .html5fast import make_linear

ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strike", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u",
    "ul", "var", "wbr",
})
GLOBAL_ATTRS = frozenset({"class", "id", "title", "lang", "dir", "style", "data-mime-type", "data-type",
                          "tabindex", "align"})
TAG_ATTRS = {
    "a": {"href", "name", "target", "rel"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "input": {"type", "checked", "disabled"},
    "details": {"open"},
    "time": {"datetime"},
    "abbr": {"title"},
}
NUMERIC_ATTRS = frozenset({"width", "height", "colspan", "rowspan", "span", "start", "value", "tabindex"})
#: Elements whose whole content is dropped (not shown as text) before cleaning.
DROP_WITH_CONTENT = ("script", "style", "template", "noscript", "textarea", "title", "xmp", "iframe",
                     "noembed", "noframes", "object", "svg", "math")
_DROP_RE = re.compile(r"<(%s)\b[^>]*>.*?</\1\s*>" % "|".join(DROP_WITH_CONTENT), re.I | re.S)
_IMAGE_DATA_RE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[a-z0-9+/=]*\Z", re.I)
_FRAGMENT_RE = re.compile(r"#[^\s\"'<>`]*\Z")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\xa0`\s]+")
_SAFE_CSS_FUNCS = frozenset({"rgb", "rgba", "hsl", "hsla"})
_BAD_CSS_WORDS = ("expression", "javascript", "behavior", "binding", "import", "url")
_NUMBER_RE = re.compile(r"[0-9]{1,5}%?\Z")


def normalized_url(value: str) -> str:
    """A URL as a browser would see its scheme: no whitespace/control chars, lower-case ASCII."""
    value = _URL_NOISE.sub("", bleach.html5lib_shim.convert_entities(value))
    return re.sub(r"[^\x00-\x7f]", "", value).lower()


def safe_href(value: str) -> bool:
    """Links may go to http(s), mailto, or a fragment of this page; nothing else."""
    url = normalized_url(value)
    if url.startswith("#"):
        return bool(_FRAGMENT_RE.match(url))
    return url.startswith(("http://", "https://", "mailto:")) and len(url) <= 4096


def safe_img_src(value: str) -> bool:
    """Images must be inline ``data:image/*;base64`` (no network, no HTML documents)."""
    return bool(_IMAGE_DATA_RE.match(normalized_url(value)))


def _allow_attr(tag: str, name: str, value: str) -> bool:
    if name.startswith("on") or name in ("srcdoc", "formaction", "action", "ping", "xmlns", "background"):
        return False
    if name not in GLOBAL_ATTRS and name not in TAG_ATTRS.get(tag, ()):
        return False
    if name in NUMERIC_ATTRS:
        return bool(_NUMBER_RE.match(value.strip()))
    if name == "href":
        return safe_href(value)
    if name == "src":
        return safe_img_src(value)
    if tag == "input" and name == "type":
        return value.strip().lower() == "checkbox"
    if name == "target":
        return value == "_blank"
    if name == "id":
        return len(value) <= 200
    return True


class StrictCSSSanitizer(CSSSanitizer):
    """bleach's property allow-list, plus: no ``url()``, no ``expression()``, no escapes, no at-rules."""

    def __init__(self):
        super().__init__(allowed_css_properties=ALLOWED_CSS_PROPERTIES, allowed_svg_properties=frozenset())

    def sanitize_css(self, style: str) -> str:
        kept = []
        for decl in tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True):
            if decl.type != "declaration" or decl.lower_name not in self.allowed_css_properties:
                continue
            if _css_value_ok(decl.value):
                kept.append(f"{decl.lower_name}: {tinycss2.serialize(decl.value).strip()}"
                            + (" !important" if decl.important else ""))
        return "; ".join(kept)


def _css_value_ok(tokens) -> bool:
    for tok in tokens:
        if tok.type in ("url", "at-keyword", "error"):
            return False
        if tok.type == "function":
            if tok.lower_name not in _SAFE_CSS_FUNCS or not _css_value_ok(tok.arguments):
                return False
        elif tok.type in ("() block", "[] block", "{} block"):
            if not _css_value_ok(tok.content):
                return False
        elif tok.type in ("ident", "string") and any(w in tok.value.lower() for w in _BAD_CSS_WORDS):
            return False
    text = tinycss2.serialize(tokens)
    return "\\" not in text and "<" not in text and len(text) <= 500


class _Finishing(Filter):
    """Absolute links open in a new browsing context without referrer or opener; images get alt text."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                token["data"].setdefault((None, "alt"), "")
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "a":
                attrs = token["data"]
                href = attrs.get((None, "href"))
                if href is not None and not normalized_url(href).startswith("#"):
                    attrs[(None, "target")] = "_blank"
                    attrs[(None, "rel")] = "noopener noreferrer nofollow"
                else:
                    attrs.pop((None, "target"), None)
                    attrs.pop((None, "rel"), None)
            yield token


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allow_attr,
    protocols={"http", "https", "mailto", "data"},
    strip=True,
    strip_comments=True,
    css_sanitizer=StrictCSSSanitizer(),
    filters=[_Finishing],
)
make_linear(_cleaner)


def clean_html(html) -> str:
    """Untrusted HTML reduced to inert, allow-listed markup (text of removed tags is kept)."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else str(html)
    text = text.replace("\x00", "\ufffd")
    text = _DROP_RE.sub("", text)
    return _cleaner.clean(text)


# --------------------------------------------------------------------------- audit
_FORBIDDEN_ELEMENTS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "link",
    "svg", "math", "portal", "audio", "video", "source", "track", "button", "textarea", "select",
    "template", "noscript", "param", "dialog",
})
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data", "poster", "background", "cite",
                        "xlink:href", "codebase", "srcset", "lowsrc", "dynsrc", "longdesc", "manifest"})


class _Auditor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in _FORBIDDEN_ELEMENTS:
            self.problems.append(f"<{tag}> element")
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            elif name in ("srcdoc", "formaction", "ping"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name in _URL_ATTRS:
                ok = safe_img_src(value) if tag == "img" and name == "src" else (
                    tag == "a" and name == "href" and safe_href(value))
                if not ok:
                    self.problems.append(f"<{tag} {name}={value[:60]!r}> URL")
            elif name == "style" and _bad_css_text(value):
                self.problems.append(f"<{tag} style={value[:60]!r}>")
        if tag == "meta":
            equiv = dict(attrs).get("http-equiv", "") or ""
            if equiv.lower() not in ("content-security-policy", "content-type", ""):
                self.problems.append(f"<meta http-equiv={equiv!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style and _bad_css_text(data, allow_data_urls=True):
            self.problems.append("dangerous CSS in <style>")


def _bad_css_text(css: str, allow_data_urls: bool = False) -> bool:
    low = css.lower()
    if allow_data_urls:
        low = re.sub(r"url\(\s*['\"]?data:image/[^)]*\)", "", low)
    return any(w in low for w in ("url(", "expression(", "javascript:", "@import", "behavior:", "-moz-binding"))


def audit(html: str) -> list[str]:
    """Every executable, navigating or network-loading construct found in ``html`` (empty = inert)."""
    parser = _Auditor()
    parser.feed(html)
    parser.close()
    return parser.problems
