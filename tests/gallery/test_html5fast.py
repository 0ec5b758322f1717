"""The linear-time html5lib pieces: identical output to stock bleach, without the quadratic parts."""

from __future__ import annotations

import bleach
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.gallery import sanitize
from jupyterhub_saturn.gallery.html5fast import make_linear
from ..property_budget import examples


def _reference():
    return bleach.Cleaner(tags=sanitize.ALLOWED_TAGS, attributes=sanitize._allow_attr,
                          protocols={"http", "https", "mailto", "data"}, strip=True, strip_comments=True,
                          css_sanitizer=sanitize.StrictCSSSanitizer(), filters=[sanitize._Finishing])


_pieces = st.sampled_from([
    "<table>", "<tr>", "<td>", "x", "</td>", "</tr>", "</table>", "<p>", "</p>", "<b>", "</b>", "<ul><li>",
    "</li>", "text ", " ", "\n", "<div>", "</div>", "<br>", "<i>", "</i>", "&amp;", "&lt;", "&#60;", "&",
    "<span>", "</span>", "<script>", "</script>", "<textarea>", "</textarea>", "<style>", "</style>",
    "<title>", "<plaintext>", "<!--", "-->", "<a href='https://x'>", "</a>", "<svg>", "<math>", "\x00",
    "<img src=x onerror=y>", "<noscript>", "<xmp>", "<pre>", "</pre>",
])


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(_pieces, max_size=40).map("".join))
@example("<pre><script>\n")  # a stripped tag, then the newline the tree builder drops after <pre>
@example("<pre><script></script>\n\nx")
def test_same_output_as_stock_bleach(html):
    assert sanitize._cleaner.walker.__name__ == "LinearWalker"
    assert sanitize._cleaner.clean(html) == _reference().clean(html)


def test_character_tokens_are_joined_before_the_tree_builder(monkeypatch):
    calls = []
    element_cls = type(sanitize._cleaner.parser.tree.elementClass("div"))
    real = element_cls.insertText

    def counting(self, data, insertBefore=None):  # noqa: N803 - html5lib's name
        calls.append(len(data))
        return real(self, data, insertBefore)

    monkeypatch.setattr(element_cls, "insertText", counting)
    text = "&lt;tag&gt; &amp; more " * 2000
    linear = make_linear(_reference())
    linear.clean(f"<p>{text}</p>")
    joined = len(calls)
    calls.clear()
    _reference().clean(f"<p>{text}</p>")
    assert joined <= 2 < 1000 < len(calls)  # one insert instead of one per entity


def test_wide_tables_are_cleaned_identically():
    html = "<table>" + "<tr><td>1 &amp; 2</td><td><b>x</b></td></tr>" * 3000 + "</table>"
    assert sanitize._cleaner.clean(html) == _reference().clean(html)
