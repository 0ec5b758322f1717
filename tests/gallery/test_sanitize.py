"""The allow-list HTML cleaner and the independent audit."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.sanitize import audit, clean_html, safe_href, safe_img_src

from .hostile import PNG_B64
from .inert import inert_problems
from ..property_budget import examples


@pytest.mark.parametrize("dirty", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src='javascript:alert(1)'></iframe>",
    "<object data='data:text/html,<script>alert(1)</script>'></object>",
    "<embed src=x>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href='javascript:alert(1)//'>",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href='java&#x09;script:alert(1)'>x</a>",
    "<a href=' &#14;javascript:alert(1)'>x</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD4='>x</a>",
    "<img src='data:text/html;base64,PHNjcmlwdD4='>",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<div style='width: expression(alert(1))'>x</div>",
    "<div style='color: \\65 xpression(alert(1))'>x</div>",
    "<form action='javascript:alert(1)'><button>go</button></form>",
    "<details open ontoggle=alert(1)>x</details>",
    "<a href='#' ping='https://evil.test'>x</a>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<input type=image src=x onerror=alert(1)>",
    "<link rel=stylesheet href=//evil.test/x.css>",
])
def test_dirty_html_comes_out_inert(dirty):
    clean = clean_html(dirty)
    assert inert_problems(clean) == [], clean
    assert audit(clean) == [], clean


def test_script_and_style_contents_are_dropped_not_shown():
    clean = clean_html("<p>keep</p><script>secret()</script><style>.x{color:red}</style>")
    assert "keep" in clean and "secret" not in clean and "color" not in clean


def test_structure_is_kept():
    html = ("<h2 id='a'>T</h2><p><b>b</b> <em>e</em> <code>c</code></p><table><thead><tr><th colspan='2'>h</th>"
            "</tr></thead><tbody><tr><td style='text-align: right; color: red'>1</td></tr></tbody></table>"
            f"<ul><li>x</li></ul><img src='data:image/png;base64,{PNG_B64}' width='20' height='10' alt='pic'>"
            "<a href='https://example.org/x?y=1'>ext</a> <a href='#a'>frag</a> <a href='mailto:a@b.c'>mail</a>"
            "<input type='checkbox' checked disabled> <details><summary>s</summary>d</details>")
    soup = BeautifulSoup(clean_html(html), "html.parser")
    for tag in ("h2", "b", "em", "code", "table", "thead", "th", "td", "ul", "li", "img", "input", "details"):
        assert soup.find(tag) is not None, tag
    assert soup.find("th")["colspan"] == "2"
    assert soup.find("td")["style"] == "text-align: right; color: red"
    img = soup.find("img")
    assert img["src"].startswith("data:image/png;base64,") and img["width"] == "20" and img["alt"] == "pic"
    ext = soup.find("a", href="https://example.org/x?y=1")
    assert ext["target"] == "_blank" and ext["rel"] == ["noopener", "noreferrer", "nofollow"]
    frag = soup.find("a", href="#a")
    assert "target" not in frag.attrs
    assert soup.find("a", href="mailto:a@b.c") is not None


@pytest.mark.parametrize("value, ok", [
    ("https://x.org", True), ("http://x.org", True), ("mailto:a@b", True), ("#frag", True),
    ("javascript:alert(1)", False), (" JaVaScRiPt:alert(1)", False), ("java\tscript:x", False),
    ("data:text/html,x", False), ("//evil.test/x", False), ("relative/path", False), ("vbscript:x", False),
    ("&#106;avascript:x", False), ("\u200bjavascript:x", False), ("#\"onmouseover=x", False),
])
def test_safe_href(value, ok):
    assert safe_href(value) is ok


@pytest.mark.parametrize("value, ok", [
    (f"data:image/png;base64,{PNG_B64}", True), ("data:image/svg+xml;base64,PHN2Zz4=", True),
    ("data:image/png;base64,ab cd", True), ("data:text/html;base64,PHN2Zz4=", False),
    ("data:image/svg+xml,<svg onload=alert(1)>", False), ("https://evil.test/pixel.png", False),
    ("x", False), ("javascript:alert(1)", False),
])
def test_safe_img_src(value, ok):
    assert safe_img_src(value) is ok


@pytest.mark.parametrize("html, needle", [
    ("<script>x</script>", "<script>"),
    ("<p onclick='x'>", "event handler"),
    ("<a href='javascript:x'>", "URL"),
    ("<img src='https://evil.test/x.png'>", "URL"),
    ("<iframe srcdoc='x'>", "<iframe>"),
    ("<meta http-equiv='refresh' content='0'>", "refresh"),
    ("<style>body{background:url(https://evil.test)}</style>", "CSS"),
    ("<div style='background:url(x)'>", "style"),
])
def test_audit_flags(html, needle):
    problems = audit(html)
    assert problems and any(needle in p for p in problems), problems


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.sampled_from([
    "<", ">", "/", "script", "img", "svg", "a", " ", "=", '"', "'", "on", "error", "load", "href", "src",
    "javascript", ":", "alert(1)", "&#", "x", "!--", "-->", "style", "url(", "iframe", "math", "\x00", "\t",
]), max_size=30).map("".join))
def test_fuzz_cleaner_output_is_inert(html):
    clean = clean_html(html)
    assert inert_problems(clean) == [], (html, clean)
    assert audit(clean) == [], (html, clean)
