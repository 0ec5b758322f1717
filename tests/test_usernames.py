"""Usernames: one normal form, which can sign in, and a safe bounded home directory for every accepted name."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.usernames import MAX_HOME_NAME_BYTES, home_dir_name, normalize_username, username_problem


@pytest.mark.parametrize("variant", ["root1", "ROOT1", "Root1", "ｒｏｏｔ１", "ＲＯＯＴ１"])
def test_case_and_unicode_variants_normalize_to_one_name(variant):
    assert normalize_username(variant) == "root1"


@pytest.mark.parametrize("name, expected", [
    ("", "empty"), ("   ", "empty"), (None, "empty"),
    ("a" * 256, "256 characters"),
    ("nul\x00byte", "U+0000"), ("esc\x1b", "U+001B"), ("c1\x85", "U+0085"),
    ("rtl\u202eevil", "U+202E"), ("lone\udfff", "U+DFFF"),
    ("a/b", "'/'"),
])
def test_names_no_server_could_start_for_are_refused(name, expected):
    assert expected in username_problem(name)


@pytest.mark.parametrize("name", ["alice", "a" * 255, "josé", "名前", "a.b@c+d_e-f", "~tilde", "..", "."])
def test_ordinary_names_are_accepted(name):
    assert username_problem(name) is None


@pytest.mark.parametrize("name, home", [
    ("alice", "alice"), ("a.b@c+d_e-f", "a.b@c+d_e-f"), ("josé", "jos%C3%A9"), ("a b", "a%20b"),
])
def test_names_that_fit_keep_their_existing_home(name, home):
    assert home_dir_name(name) == home


@pytest.mark.parametrize("name", [".", "..", ""])
def test_dot_names_never_mean_the_home_root_or_its_parent(name):
    assert home_dir_name(name) not in (".", "..", "") and "/" not in home_dir_name(name)


def test_long_names_are_cut_with_a_hash_and_stay_distinct():
    a, b = "x" * 300, "x" * 299 + "y"
    assert len(home_dir_name(a).encode()) <= MAX_HOME_NAME_BYTES
    assert home_dir_name(a) != home_dir_name(b)
    cut = home_dir_name("é" * 100).split("=")[0]
    assert re.fullmatch(r"(%[0-9A-F]{2})+", cut)  # whole %XX escapes only


def test_a_plain_name_cannot_take_a_hashed_home():
    hashed = home_dir_name("v" * 300)
    assert home_dir_name(hashed) != hashed  # '=' is always encoded in a plain name


@given(st.text(st.characters(categories=["Cs", "Cc", "Cf", "Ll", "Po"]), max_size=400) | st.text(max_size=400))
def test_every_name_gets_one_safe_bounded_component(name):
    home = home_dir_name(name)
    assert home not in ("", ".", "..") and "/" not in home and "\x00" not in home
    assert len(home.encode("utf-8")) <= MAX_HOME_NAME_BYTES
    assert home.isascii() and home.isprintable()


@given(st.text(max_size=300), st.text(max_size=300))
def test_distinct_names_get_distinct_homes(a, b):
    if a != b:
        assert home_dir_name(a) != home_dir_name(b)


def test_the_home_can_be_created(tmp_path):
    for name in ["x" * 300, "é" * 200, "..", "a\u202eb", "%", "lone\udfff", "nul\x00"]:
        path = tmp_path / home_dir_name(name)
        path.mkdir()
        assert path.parent == tmp_path and os.path.isdir(path)
