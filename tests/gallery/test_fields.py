"""Publish-field rules: text a reader's page can show, JSON a parser can read (400 naming the field)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.errors import InvalidField
from jupyterhub_saturn.gallery.fields import MAX_JSON_DEPTH, check_json_depth, check_text, json_depth, text_problem


@pytest.mark.parametrize("value, expected", [
    ("\udfff", "lone surrogate (U+DFFF"),
    ("ok \ud800", "lone surrogate (U+D800 at character 3"),
    ("a\x00b", "control character U+0000"),
    ("a\x1bb", "control character U+001B"),
    ("a\x85b", "control character U+0085"),
    ("a\x7f", "control character U+007F"),
    ("evil\u202egnp.exe", "bidirectional override U+202E"),
    ("x\u2066y", "bidirectional override U+2066"),
])
def test_unpublishable_text_is_named(value, expected):
    assert expected in text_problem(value)
    with pytest.raises(InvalidField) as err:
        check_text(value, "title")
    assert err.value.status == 400 and err.value.field == "title" and expected in err.value.text


@pytest.mark.parametrize("value", ["Plain title", "línea\tcon\ttabs\r\nand lines", "日本語 😀", "עברית العربية", ""])
def test_ordinary_text_passes(value):
    assert text_problem(value) is None and check_text(value, "description") == value


def test_non_text_and_too_long_are_refused():
    assert check_text(None, "title") is None
    with pytest.raises(InvalidField, match="title must be text"):
        check_text(5, "title")
    with pytest.raises(InvalidField, match="at most 3"):
        check_text("abcd", "filename", max_chars=3)


def test_depth_counts_nesting_outside_strings():
    assert json_depth(b"{}") == 1 and json_depth("3") == 0
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(r'["\"[[[", [[]]]') == 3
    assert json_depth(r'["\\", [[]]]') == 3
    assert json_depth("[" * 100_000) == 100_000          # unbalanced: still counted, no recursion
    assert json_depth('"' + '\\"' * 200_000) == 0        # unterminated string: linear, not quadratic


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=20))
def test_depth_matches_the_structure(value):
    def depth(v):
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    assert json_depth(json.dumps(value)) == depth(value)
    assert json_depth(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")) == depth(value)


def test_too_deep_is_a_400_naming_the_field():
    check_json_depth("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "notebook")
    with pytest.raises(InvalidField) as err:
        check_json_depth("[" * 100_000 + "]" * 100_000, "notebook")
    assert err.value.field == "notebook" and "100000 levels deep; at most 100" in err.value.text
