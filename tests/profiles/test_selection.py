import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.errors import InvalidChoice, NotEntitled, SaturnError
from jupyterhub_saturn.profiles import default_choice, entitled_choices, parse_catalog, select
from ..property_budget import examples

CAT = parse_catalog(
    sizes={"small": {"cpu": 1, "memory": "2G"}, "medium": {"cpu": 2, "memory": "8G"},
           "large": {"cpu": 8, "memory": "32G", "groups": ["staff"]}},
    gpus={"t4": {"count": 1, "groups": ["gpu-users"]}},
    disks={"10Gi": {}, "200Gi": {"groups": ["staff"]}},
    images={"base": {}, "secret": {"groups": ["staff"]}},
    defaults={"size": "large"},
)


def test_empty_and_none_take_entitled_defaults():
    assert select(CAT, {}, []).user_options() == {"size": "small", "gpu": "none", "disk": "10Gi", "image": "base"}
    assert select(CAT, None, ["staff"]).user_options()["size"] == "large"


def test_entitled_choices_and_default_fallback():
    assert list(entitled_choices(CAT, "size", [])) == ["small", "medium"]
    assert default_choice(CAT, "size", []) == "small"
    assert default_choice(CAT, "size", ["staff"]) == "large"


def test_valid_choice():
    sel = select(CAT, {"size": "medium", "gpu": "t4"}, ["gpu-users"])
    assert sel.size.cpu == 2 and sel.gpu.count == 1
    assert "1 × t4" in sel.summary()


@pytest.mark.parametrize("options, exc, field", [
    ({"size": "huge"}, InvalidChoice, "size"),
    ({"size": "large"}, NotEntitled, "size"),
    ({"gpu": "t4"}, NotEntitled, "gpu"),
    ({"gpu": "none", "disk": "200Gi"}, NotEntitled, "disk"),
    ({"image": "secret"}, NotEntitled, "image"),
    ({"size": 2}, InvalidChoice, "size"),
    ({"size": ["small"]}, InvalidChoice, "size"),
    ({"size": ""}, InvalidChoice, "size"),
    ({"extra": "x"}, InvalidChoice, "extra"),
])
def test_bad_choices(options, exc, field):
    with pytest.raises(exc) as e:
        select(CAT, options, [])
    assert e.value.field == field
    assert e.value.status == (403 if exc is NotEntitled else 400)
    if field in ("size", "gpu", "disk", "image"):
        assert e.value.allowed == list(entitled_choices(CAT, field, []))


def test_not_an_object():
    with pytest.raises(InvalidChoice) as e:
        select(CAT, ["size"], [])
    assert e.value.field == "user_options"


def test_extra_keys_are_accepted_when_declared():
    assert select(CAT, {"auto_shutoff": "1h"}, [], extra_keys=["auto_shutoff"]).size.key == "small"


def test_nothing_entitled_is_a_clear_403():
    cat = parse_catalog(sizes={"big": {"cpu": 1, "memory": "1G", "groups": ["staff"]}})
    with pytest.raises(NotEntitled) as e:
        select(cat, {}, [])
    assert "no size is available to you" in e.value.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
option_dicts = st.dictionaries(
    st.sampled_from(["size", "gpu", "disk", "image", "auto_shutoff"]) | st.text(max_size=10),
    json_values | st.sampled_from(["small", "medium", "large", "t4", "none", "10Gi", "200Gi", "base", "secret"]),
    max_size=5,
)
group_sets = st.sets(st.sampled_from(["staff", "gpu-users", "students", ""]), max_size=3)


@settings(max_examples=examples(500), deadline=None)
@given(options=option_dicts | json_values, groups=group_sets)
def test_fuzz_select_only_raises_clear_errors(options, groups):
    try:
        sel = select(CAT, options, groups)
    except SaturnError as e:
        assert e.status in (400, 403)
        assert e.field is not None
        assert e.text
        return
    # anything accepted is entitled and stored by key
    for kind in ("size", "gpu", "disk", "image"):
        entry = getattr(sel, kind)
        assert entry.entitled(groups)
        if isinstance(options, dict) and options.get(kind) is not None:
            assert options[kind] == entry.key
