"""Render published notebooks: a script-free HTML report, and Markdown/Python/ipynb downloads.

The HTML is built in three layers, each sufficient against the known nbconvert XSS paths
(CVE-2021-32862 and friends) on its own:

1. :func:`~.neutralize.neutralize` rebuilds the notebook from known-inert parts only;
2. nbconvert's ``lab`` template runs with ``sanitize_html=True``, our allow-list cleaner as
   its ``clean_html`` filter, and every JavaScript-emitting block (require.js, MathJax,
   Mermaid, widgets, ``application/javascript``) replaced by nothing;
3. the whole rendered body is cleaned once more, and :func:`~.sanitize.audit` (a second,
   independent parser) must find nothing executable, or rendering fails closed. Only
   syntax-highlighted code skips this pass, and only once :mod:`.codeblocks` has proven the
   block inert by its shape (div/pre/span with class names, and text).

Rendering cost is bounded by budgets in :mod:`.neutralize` (markup, text, cells/outputs),
:data:`HIGHLIGHT_BUDGET`, and for Markdown :data:`MAX_MARKDOWN_CHARS` per block and
:data:`MARKDOWN_SECONDS` per page (past either, Markdown is shown as plain text); it is CPU-bound
pure Python, so callers on an event loop run it in a worker (the hub's handlers do).

The page needs no JavaScript, so the recommended header :data:`RENDERED_CSP` forbids it
outright (``script-src 'none'`` and a ``sandbox`` without ``allow-scripts``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from html import escape

from jinja2 import pass_context
from nbconvert import HTMLExporter, MarkdownExporter, PythonExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets.config import Config

from .codeblocks import CodeBlocks
from .errors import RenderFailed
from .mathml import latex_output, to_mathml
from .neutralize import neutralize
from .notebook import DEFAULT_MAX_BYTES, derive_title, drop_title_heading, parse_notebook, plain_text
from .sanitize import audit, clean_html

log = logging.getLogger(__name__)

#: Response header for the rendered report. No script can run (``script-src 'none'`` and a
#: sandbox without ``allow-scripts``); the document gets an opaque origin (no
#: ``allow-same-origin``), so even a sanitizer bypass could not read hub cookies or call the
#: hub API. Images only from inline ``data:`` URLs (no tracking pixels, no requests to the
#: hub with the reader's cookies); styles inline only; no forms, plugins, frames, fetches.
#: ``allow-popups allow-popups-to-escape-sandbox`` lets a reader *click* an external link
#: (rendered with ``target=_blank rel="noopener noreferrer"``) and get a normal tab; without
#: script, nothing can open a window by itself. Only the hub itself may frame the report.
RENDERED_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'none'",
    "object-src 'none'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    "font-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "sandbox allow-popups allow-popups-to-escape-sandbox",
])
#: The subset of the policy a ``<meta>`` tag can carry; embedded in the page itself as a
#: second line of defence should it ever be served without the header.
META_CSP = ("default-src 'none'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; font-src data:; base-uri 'none'; form-action 'none'")
#: All headers the hub should send with the rendered report.
RENDERED_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": RENDERED_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}
#: Headers for downloads: never rendered on the hub's origin, even by a sniffing browser.
DOWNLOAD_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: Characters of code per page that get syntax colouring; the rest is shown plain.
HIGHLIGHT_BUDGET = 1024 * 1024

_REPORT_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.saturn_meta_csp }}">
<meta name="referrer" content="no-referrer">
<style type="text/css">
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
/* untrusted content stays inside its box: no overlay over the header, even with position: fixed */
.saturn-content { contain: paint; overflow-x: auto; }
.saturn-report-header { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
math { font-size: 1.15em; }
.saturn-report-header h1 { font-size: 2rem; margin: .5rem 0; line-height: 1.2; overflow-wrap: anywhere; }
.saturn-byline { color: #555; margin: 0 0 .5rem; }
.saturn-description { font-size: 1.1rem; margin: .5rem 0 1rem; }
@media (max-width: 600px) { main { padding: .5rem .75rem 2rem; } .saturn-report-header { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
math { font-size: 1.15em; }
.saturn-report-header h1 { font-size: 1.5rem; } }
.jp-RenderedLatex { white-space: pre-wrap; }
math[display="block"] { display: block; margin: .6em 0; overflow-x: auto; overflow-y: hidden; }
</style>
{%- endblock extra_css -%}
{%- block data_javascript scoped -%}{%- endblock data_javascript -%}
{%- block data_widget_view scoped -%}{%- endblock data_widget_view -%}
{%- block data_latex scoped -%}
<div class="jp-RenderedLatex jp-OutputArea-output" data-mime-type="text/latex">{{ output.data['text/latex'] | saturn_latex }}</div>
{%- endblock data_latex -%}
{%- block data_mermaid scoped -%}
<div class="jp-RenderedText jp-OutputArea-output"><pre>{{ output.data['text/vnd.mermaid'] | escape_html }}</pre></div>
{%- endblock data_mermaid -%}
{%- block body_header -%}
<body class="jp-Notebook saturn-report" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
<header class="saturn-report-header">
<h1 class="saturn-report-title">{{ resources.saturn_title | e }}</h1>
{%- if resources.saturn_byline %}
<p class="saturn-byline">{{ resources.saturn_byline | e }}</p>
{%- endif %}
{%- if resources.saturn_description %}
<p class="saturn-description">{{ resources.saturn_description | e }}</p>
{%- endif %}
<div class="saturn-actions"></div>
</header>
<div class="saturn-content">{{ resources.saturn_begin }}
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.saturn_end }}</div></main>
</body>
{%- endblock body_footer -%}
{%- block footer -%}
</html>
{%- endblock footer -%}
"""

_MARKDOWN_TEMPLATE = """\
{%- extends 'index.md.j2' -%}
{%- block data_svg -%}
![svg](data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 }})
{%- endblock data_svg -%}
"""


class _ReportMarkdown(IPythonRenderer):
    """Markdown renderer: attachments only from the cell itself, a missing one shows its alt text;
    math typeset as MathML (held out of the cleaner by ``blocks``) when a render supplies them."""

    blocks: CodeBlocks | None = None

    def _math(self, tex: str, display: bool, source: str) -> str:
        mathml = to_mathml(tex, display=display) if self.blocks is not None else None
        held = self.blocks.hold_math(mathml) if mathml else None
        return held or source

    def block_math(self, body: str) -> str:
        return self._math(body, True, super().block_math(body))

    def inline_math(self, body: str) -> str:
        return self._math(body, False, super().inline_math(body))

    def latex_environment(self, name: str, body: str) -> str:
        tex = "\\begin{%s}%s\\end{%s}" % (name, body, name)
        return self._math(tex, True, super().latex_environment(name, body))

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if url.startswith("attachment:") and url[len("attachment:"):] not in self.attachments:
            return self.escape_html(text)
        return super().image(text, url, title)


#: Markdown formatting budget of one page, in seconds: once spent, the page's remaining Markdown is shown
#: as plain text (nothing is dropped). Together with :data:`MAX_MARKDOWN_CHARS` this bounds a render.
MARKDOWN_SECONDS = 2.0
#: A Markdown source (cell or output) longer than this is shown as plain text rather than formatted.
MAX_MARKDOWN_CHARS = 64 * 1024
#: Monotonic clock of the budget (a test may replace it).
clock = time.monotonic


def _plain_markdown(source: str, why: str) -> str:
    return (f'<p class="saturn-plain-note"><em>Shown as plain text: {why}.</em></p>'
            f'<pre class="saturn-plain">{escape(source, quote=False)}</pre>')


def _markdown_filter(blocks: CodeBlocks | None):
    """The ``markdown2html`` filter of one render (math held in ``blocks``), within the page's budget."""

    @pass_context
    def markdown2html(context, source: str) -> str:
        if len(source) > MAX_MARKDOWN_CHARS:
            return _plain_markdown(source, f"longer than {MAX_MARKDOWN_CHARS} characters")
        deadline = getattr(_local, "markdown_deadline", None)
        if deadline is not None and clock() > deadline:
            _local.markdown_fallbacks = getattr(_local, "markdown_fallbacks", 0) + 1
            return _plain_markdown(source, "this page's formatting time budget was used up")
        cell = context.get("cell") or {}
        renderer = _ReportMarkdown(escape=False, allow_harmful_protocols=False, embed_images=False,
                                   attachments=dict(cell.get("attachments") or {}), path="")
        renderer.blocks = blocks
        return MarkdownWithMath(renderer=renderer).render(source)

    return markdown2html


_markdown2html = _markdown_filter(None)


def _latex_filter(blocks: CodeBlocks):
    def latex2html(text) -> str:
        found = latex_output(str(text))
        mathml = to_mathml(found[0], display=found[1]) if found else None
        held = blocks.hold_math(mathml) if mathml else None
        return _Placeholder(held) if held else escape(str(text), quote=False)

    return latex2html


def _no_files_prefix(html: str) -> str:
    """Replaces nbconvert's ``strip_files_prefix`` (a ``files/`` URL means nothing in a published report),
    whose ``\\[(.*?)\\]\\(/?files/`` pattern is quadratic in the brackets of a cell: 20 s for 20 000."""
    return html


class _Placeholder(str):
    """Stands in for a code block held by :class:`~.codeblocks.CodeBlocks`."""


def _template_clean(html) -> str:
    """The template's ``clean_html`` filter: every fragment is cleaned, except placeholders."""
    return str(html) if type(html) is _Placeholder else clean_html(html)


class _ReportExporter(HTMLExporter):
    """``HTMLExporter`` minus its BeautifulSoup post-pass (adding alt text and tabindex),
    which costs ~4 s per MB of markup; our final cleaning pass adds ``alt`` itself."""

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer") or info.get("name")  # validated by neutralize()
        highlight = Highlight2HTML(pygments_lexer=lexer, parent=self)
        blocks: CodeBlocks = (resources or {})["saturn_code_blocks"]
        budget = [HIGHLIGHT_BUDGET]

        def highlight_code(source, *args, **kwargs):
            if len(source) <= budget[0]:
                budget[0] -= len(source)
                html = highlight(source, *args, **kwargs)
            else:  # past the budget: same shape, no colours (pygments costs ~10 s/MB)
                html = f'<div class="highlight hl-text"><pre>{escape(source, quote=False)}</pre></div>'
            placeholder = blocks.hold(html)
            return html if placeholder is None else _Placeholder(placeholder)

        self.register_filter("highlight_code", highlight_code)
        self.register_filter("markdown2html", _markdown_filter(blocks))
        self.register_filter("saturn_latex", _latex_filter(blocks))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


_local = threading.local()


def _exporter(kind: str):
    """One exporter of each kind per thread (exporters keep per-call state)."""
    cache = _local.__dict__.setdefault("exporters", {})
    if kind not in cache:
        if kind == "html":
            cache[kind] = _ReportExporter(
                template_name="lab", raw_template=_REPORT_TEMPLATE, theme="light",
                sanitize_html=True, embed_images=False, skip_svg_encoding=False,
                exclude_input_prompt=True, exclude_output_prompt=True,
                filters={"clean_html": _template_clean, "markdown2html": _markdown2html,
                         "strip_files_prefix": _no_files_prefix},
            )
        elif kind == "markdown":
            cache[kind] = MarkdownExporter(
                raw_template=_MARKDOWN_TEMPLATE,
                config=Config({"ExtractOutputPreprocessor": {"enabled": False},
                               "ExtractAttachmentsPreprocessor": {"enabled": False}}),
            )
        else:
            cache[kind] = PythonExporter()
    return cache[kind]


def _load(notebook, max_bytes: int):
    return parse_notebook(notebook, max_bytes)


def _split(html: str, begin: str, end: str) -> tuple[str, str, str]:
    head, found_begin, rest = html.partition(begin)
    body, found_end, tail = rest.partition(end)
    if not found_begin or not found_end or begin in rest or end in tail or end in head:
        raise RenderFailed("the notebook could not be rendered safely (page structure was altered)",
                           field="notebook")
    return head, body, tail


def to_html(notebook, *, title: str | None = None, byline: str = "", description: str = "",
            max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """A self-contained, script-free HTML report of ``notebook`` (bytes, text or dict).

    The page opens with ``title`` (the notebook's own first heading is dropped when it repeats
    it), ``byline`` and ``description``; math is typeset as MathML.
    """
    nb, _ = _load(notebook, max_bytes)
    page_title = derive_title(nb, title=title)
    drop_title_heading(nb, page_title)
    safe = neutralize(nb, title=page_title, clean_outputs=False)  # the template's clean_html does it
    token = secrets.token_hex(16)
    begin, end = f"<!--saturn-body-{token}-->", f"<!--/saturn-body-{token}-->"
    blocks = CodeBlocks(token)
    resources = {"metadata": {"name": page_title}, "saturn_begin": begin, "saturn_end": end,
                 "saturn_title": page_title, "saturn_byline": plain_text(byline),
                 "saturn_description": description.strip() if isinstance(description, str) else "",
                 "saturn_meta_csp": META_CSP, "saturn_code_blocks": blocks}
    _local.markdown_deadline, _local.markdown_fallbacks = clock() + MARKDOWN_SECONDS, 0
    try:
        html, _ = _exporter("html").from_notebook_node(safe, resources=resources)
    except RecursionError:
        raise RenderFailed("the notebook is nested too deeply to render", field="notebook") from None
    finally:
        _local.markdown_deadline = None
    if _local.markdown_fallbacks:
        log.warning("notebook %r: Markdown budget (%ss) spent, %d Markdown block(s) shown as plain text",
                    page_title, MARKDOWN_SECONDS, _local.markdown_fallbacks)
    head, body, tail = _split(html, begin, end)
    body = clean_html(body)
    problems = audit(head + body + tail)  # code blocks are still placeholders: inert by shape
    if problems:
        log.error("refusing to serve rendered notebook %r: %s", page_title, problems[:5])
        raise RenderFailed("the notebook could not be rendered safely", field="notebook")
    try:
        body = blocks.restore(body)
    except ValueError:
        raise RenderFailed("the notebook could not be rendered safely (code blocks were altered)",
                           field="notebook") from None
    return head + body + tail


def to_markdown(notebook, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Markdown with outputs inline (images as data URLs; scripts and widgets dropped)."""
    nb, _ = _load(notebook, max_bytes)
    text, _ = _exporter("markdown").from_notebook_node(neutralize(nb, title=derive_title(nb)))
    return text


def to_python(notebook, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The code cells as a script, Markdown cells as comments."""
    nb, _ = _load(notebook, max_bytes)
    text, _ = _exporter("python").from_notebook_node(neutralize(nb, title=derive_title(nb)))
    return text


def to_ipynb(notebook, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The notebook itself, validated, as canonical nbformat JSON bytes."""
    return _load(notebook, max_bytes)[1]
