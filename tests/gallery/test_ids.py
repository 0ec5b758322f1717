"""Notebook ids: slugs, suffixes, and a strict check that keeps traversal off the filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.errors import InvalidField
from jupyterhub_saturn.gallery.ids import ID_MAX, check_id, new_id, slugify
from ..property_budget import examples


@pytest.mark.parametrize("title, slug", [
    ("Hello, World!", "hello-world"),
    ("  Ünïcödé façade — résumé ", "unicode-facade-resume"),
    ("../../etc/passwd", "etc-passwd"),
    ("日本語", "notebook"),
    ("", "notebook"),
    ("a" * 100, "a" * 40),
    ("word " * 30, ("word-" * 8).rstrip("-")),
])
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_new_id_is_valid_and_random():
    ids = {new_id("My Analysis") for _ in range(200)}
    assert len(ids) == 200
    for nb_id in ids:
        assert nb_id.startswith("my-analysis-")
        assert check_id(nb_id) == nb_id


@pytest.mark.parametrize("bad", [
    "../x", "..", ".", "%2e%2e", "%2e%2e%2fetc", "/etc/passwd", "a/b-12345678", "a\\b-12345678",
    "abc-12345678\x00", "\x00", "abc-12345678\n", "ABC-12345678", "abc_12345678", "abc--12345678",
    "-abc-12345678", "abc-1234567", "abc-123456789x" + "/", "abc", "", "a" * 41 + "-12345678",
    "abc-1234567８", "abc-12345678 ", " abc-12345678", "abc.-12345678", "..-12345678",
])
def test_check_id_rejects(bad):
    with pytest.raises(InvalidField) as err:
        check_id(bad)
    assert err.value.status == 400 and err.value.field == "id"
    assert "pattern" in err.value.text


@pytest.mark.parametrize("bad", [None, 5, b"abc-12345678", ["abc-12345678"], Path("abc-12345678")])
def test_check_id_rejects_non_text(bad):
    with pytest.raises(InvalidField):
        check_id(bad)


def test_check_id_accepts():
    assert check_id("a-12345678") == "a-12345678"
    assert check_id("my-notebook-v2-abcdefgh") == "my-notebook-v2-abcdefgh"


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_either_a_safe_id_or_a_clear_error(value):
    try:
        ok = check_id(value)
    except InvalidField as err:
        assert err.status == 400 and err.field == "id"
        return
    assert ok == value and len(ok) <= ID_MAX
    assert set(ok) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    root = Path("/srv/gallery/notebooks")
    assert (root / ok).resolve().parent == root


@settings(deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "/", "\\", "%2e", "%2f", "\x00", "a", "-", "12345678"]),
                max_size=8).map("".join))
def test_traversal_pieces_never_pass_unless_harmless(value):
    try:
        check_id(value)
    except InvalidField:
        return
    assert "." not in value and "/" not in value and "%" not in value and "\x00" not in value


@settings(deadline=None)
@given(st.text(max_size=200))
def test_new_id_always_checks(title):
    assert check_id(new_id(title))
