"""Pygments blocks: accepted only when inert by shape, restored exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert.filters.highlight import Highlight2HTML

from jupyterhub_saturn.gallery.codeblocks import CodeBlocks, is_inert_highlight

from .hostile import PAYLOAD_JS
from ..property_budget import examples

HOSTILE_SOURCE = f"</pre></div><script>{PAYLOAD_JS}</script><img src=x onerror=\"{PAYLOAD_JS}\"> & ' \" <!--"


@pytest.mark.parametrize("lexer", ["ipython3", "python", "r", "julia", "bash", "html", "javascript", "text", "c++"])
def test_real_pygments_output_is_accepted(lexer):
    html = Highlight2HTML(pygments_lexer=lexer)(f"x = 1\n{HOSTILE_SOURCE}\n")
    assert is_inert_highlight(html), html[:300]
    assert "<script" not in html


@settings(max_examples=examples(150), deadline=None)
@given(st.text(max_size=200), st.sampled_from(["ipython3", "html", "xml", "text"]))
def test_any_source_highlights_to_an_inert_block(source, lexer):
    assert is_inert_highlight(Highlight2HTML(pygments_lexer=lexer)(source))


@pytest.mark.parametrize("html", [
    '<div class="highlight"><pre><script>x</script></pre></div>',
    '<div class="highlight"><pre><span onclick="x">a</span></pre></div>',
    '<div class="highlight"><pre><span class="a" onclick="x">a</span></pre></div>',
    '<div class="highlight"><pre><span class="a"b">a</span></pre></div>',
    '<div class="highlight"><pre><a href="javascript:x">a</a></pre></div>',
    '<div class="highlight"><pre><img src=x></pre></div>',
    '<div class="x" onmouseover="y"><pre>a</pre></div>',
    '<div class="highlight"><pre><span>a</pre></div>',
    '<div class="highlight"><pre>a</pre></div></div><div class="x"><pre>b</pre></div>',
    '<div class="highlight"><pre>a > b</pre></div>',
    '<span>a</span>',
    '',
])
def test_anything_else_is_refused(html):
    assert not is_inert_highlight(html)


def test_blocks_round_trip_and_forgeries_are_harmless():
    blocks = CodeBlocks("abc123")
    good = Highlight2HTML(pygments_lexer="python")("print('hi')")
    first, second = blocks.hold(good), blocks.hold(good)
    assert first != second and blocks.hold("<div><script></script></div>") is None
    forged = '<span class="saturn-code-OTHER-0"></span>'
    out = blocks.restore(f"<p>{first}</p>{forged}<p>{second}</p>")
    assert out.count(good) == 2 and forged in out


@pytest.mark.parametrize("mangle", [
    lambda body, a, b: body.replace(a, ""),           # lost
    lambda body, a, b: body + a,                      # duplicated
    lambda body, a, b: body.replace(b, a),            # one lost, one duplicated
])
def test_lost_or_duplicated_placeholders_fail(mangle):
    blocks = CodeBlocks("t0k3n")
    good = Highlight2HTML(pygments_lexer="python")("1")
    a, b = blocks.hold(good), blocks.hold(good)
    with pytest.raises(ValueError):
        blocks.restore(mangle(f"{a}{b}", a, b))
