"""Tags: parsing, normalising and every refusal naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.errors import InvalidField
from jupyterhub_saturn.gallery.tags import MAX_TAG_CHARS, MAX_TAGS, TAG_RE, parse_tags


@pytest.mark.parametrize("value, tags", [
    (None, ()),
    ("", ()),
    ([], ()),
    ("physics", ("physics",)),
    (" Linear-Algebra , week-3,,", ("linear-algebra", "week-3")),
    (["ml", "ML", " ml "], ("ml",)),
    (["a" * MAX_TAG_CHARS], ("a" * MAX_TAG_CHARS,)),
    (",".join(f"t{i}" for i in range(MAX_TAGS)), tuple(f"t{i}" for i in range(MAX_TAGS))),
])
def test_tags_are_trimmed_lowered_and_deduplicated(value, tags):
    assert parse_tags(value) == tags


@pytest.mark.parametrize("value, words", [
    (["a" * (MAX_TAG_CHARS + 1)], "is not a tag"),
    (["two words"], "is not a tag"),
    (["-lead"], "is not a tag"),
    (["trail-"], "is not a tag"),
    (["dou--ble"], "is not a tag"),
    (["<script>"], "is not a tag"),
    (["über"], "is not a tag"),
    (["\u202eevil"], "is not a tag"),
    (["x\x00"], "is not a tag"),
    ([1], "must be a string"),
    ([None], "must be a string"),
    ({"a": 1}, "must be a list"),
    (7, "must be a list"),
    ([f"t{i}" for i in range(MAX_TAGS + 1)], f"at most {MAX_TAGS}"),
    (",".join(f"t{i}" for i in range(MAX_TAGS + 1)), f"at most {MAX_TAGS}"),
    ("a," * 10_000, "characters"),
])
def test_bad_tags_are_refused_naming_the_field(value, words):
    with pytest.raises(InvalidField) as e:
        parse_tags(value)
    assert e.value.field == "tags" and words in e.value.text
    assert "linear-algebra" in e.value.text or "at most" in e.value.text or "must be" in e.value.text


@given(st.lists(st.text(max_size=40), max_size=12))
def test_any_input_gives_valid_tags_or_a_400(values):
    try:
        tags = parse_tags(values)
    except InvalidField as e:
        assert e.field == "tags"
        return
    assert len(tags) <= MAX_TAGS and len(set(tags)) == len(tags)
    assert all(TAG_RE.fullmatch(t) and len(t) <= MAX_TAG_CHARS for t in tags)
