"""claims -> groups: rule parsing (config errors name the key path) and mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.auth.claims import (
    GROUP_NAME, MissingClaim, claim_value, claims_referenced, groups_from_claims, missing_claim_message,
    missing_claims, not_allowed_message, parse_rules,
)
from jupyterhub_saturn.errors import ConfigError

COURSES = {
    "claim": "groups",
    "map": {"staff": "hub-admins", "cs101-staff": ["instructors", "cs101"]},
    "patterns": [{"match": "^(?P<course>cs[0-9]+)-students$", "groups": ["students", "{course}"]}],
}


def rules(value):
    return parse_rules(value, "X.claim_groups")


def test_exact_map_and_patterns_union():
    r = rules(COURSES)
    assert groups_from_claims({"groups": ["cs101-staff", "cs202-students", "chess"]}, r) == {
        "instructors", "cs101", "students", "cs202"}
    assert groups_from_claims({"groups": ["staff"]}, r) == {"hub-admins"}
    assert groups_from_claims({"groups": []}, r) == set()
    assert groups_from_claims({}, r) == set()


def test_several_rules_scalar_and_nested_claims():
    r = rules([
        {"claim": "hd", "map": {"college.edu": "members"}},
        {"claim": "realm_access.roles", "map": {"teacher": "instructors"}},
        {"claim": "email_verified", "map": {"true": "verified"}},
    ])
    claims = {"hd": "college.edu", "realm_access": {"roles": ["teacher", "offline"]}, "email_verified": True}
    assert groups_from_claims(claims, r) == {"members", "instructors", "verified"}
    assert claims_referenced(r) == {"hd", "realm_access", "email_verified"}


def test_url_shaped_claim_names_are_read_whole():
    claims = {"https://example.edu/groups": ["a"]}
    assert claim_value(claims, "https://example.edu/groups") == ["a"]
    r = rules({"claim": "https://example.edu/groups", "keep_unmapped": True})
    assert groups_from_claims(claims, r) == {"a"}


def test_keep_unmapped_with_prefix_drops_invalid_names():
    r = rules({"claim": "groups", "map": {"x": "mapped"}, "keep_unmapped": True, "prefix": "idp-"})
    assert groups_from_claims({"groups": ["x", "y", "has space", 7]}, r) == {"mapped", "idp-y", "idp-7"}


def test_required_claim_missing_raises_with_its_name():
    r = rules({"claim": "groups", "keep_unmapped": True, "required": True})
    with pytest.raises(MissingClaim) as e:
        groups_from_claims({"sub": "a"}, r)
    assert e.value.claim == "groups"
    # present but empty is not missing
    assert groups_from_claims({"groups": []}, r) == set()


@pytest.mark.parametrize("value, path, words", [
    ("groups", "X.claim_groups", "expected a rule"),
    ({"map": {"a": "b"}}, "X.claim_groups.claim", "required"),
    ({"claim": "g", "map": {"a": "b"}, "colour": 1}, "X.claim_groups.colour", "unknown key"),
    ([{"claim": "g"}], "X.claim_groups[0]", "yields no groups"),
    ([{"claim": "g", "map": {"a": "no spaces"}}], "X.claim_groups[0].map.a", "not a valid group name"),
    ([{"claim": "g", "map": {"a": ["ok", ""]}}], "X.claim_groups[0].map.a[1]", "not a valid group name"),
    ([{"claim": "g", "map": {"a": []}}], "X.claim_groups[0].map.a", "non-empty list"),
    ({"claim": "g", "patterns": [{"match": "("}]}, "X.claim_groups.patterns[0].match", "invalid regular expression"),
    ({"claim": "g", "patterns": [{"match": "(?P<c>x)", "groups": ["{d}"]}]}, "X.claim_groups.patterns[0].groups[0]",
     "not a named group"),
    ({"claim": "g", "patterns": [{"match": "x"}]}, "X.claim_groups.patterns[0].groups", "required"),
    ({"claim": "g", "keep_unmapped": "yes"}, "X.claim_groups.keep_unmapped", "true or false"),
])
def test_config_errors_name_the_key_path(value, path, words):
    with pytest.raises(ConfigError) as e:
        rules(value)
    assert e.value.field == path and words in e.value.text, e.value.text


def test_unknown_key_lists_the_allowed_keys():
    with pytest.raises(ConfigError) as e:
        rules({"claim": "g", "mapping": {}})
    assert "'map'" in e.value.text and "'keep_unmapped'" in e.value.text


def test_none_means_no_rules():
    assert rules(None) == ()


def test_missing_claims_treats_empty_as_missing():
    assert missing_claims({"email": "", "name": "A", "groups": []}, ["email", "name", "groups", "x.y"]) == [
        "email", "groups", "x.y"]


def test_messages_are_specific():
    text = not_allowed_message("ann", [], {"students", "instructors"})
    assert "You signed in as ann" in text and "Your groups: none" in text
    assert "Groups allowed here: instructors, students" in text
    assert "'email'" in missing_claim_message(["email"], "Campus SSO") and "Campus SSO" in missing_claim_message(["email"], "Campus SSO")


values = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none())


@given(st.lists(values, max_size=8), st.text(max_size=5))
def test_any_claim_values_give_only_valid_group_names(items, prefix):
    r = rules([COURSES, {"claim": "groups", "keep_unmapped": True, "prefix": "idp-"}])
    out = groups_from_claims({"groups": items}, r)
    assert all(GROUP_NAME.match(g) for g in out)
    kept = {f"idp-{v}" if not isinstance(v, bool) else f"idp-{str(v).lower()}" for v in items if v is not None}
    assert {g for g in out if g.startswith("idp-")} <= kept
