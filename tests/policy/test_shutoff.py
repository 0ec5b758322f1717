import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import InvalidChoice, NotEntitled, SaturnError
from jupyterhub_saturn.policy.shutoff import Shutoff, ShutoffPolicy
from jupyterhub_saturn.policy.durations import parse_duration

from ._strategies import SETTINGS, duration_like, json_values
from .test_shutoff_config import EXAMPLE


@pytest.fixture
def policy():
    return ShutoffPolicy.from_config(EXAMPLE)


def resolve(policy, choice, selection=None, groups=(), throwaway=False):
    return policy.resolve(choice, selection=selection or {}, groups=groups, throwaway=throwaway)


@pytest.mark.parametrize(
    "selection, groups, throwaway, allowed, default",
    [
        ({}, [], False, ["15m", "1h", "6h", "24h"], "1h"),
        ({"gpu": "t4"}, [], False, ["15m", "1h"], "1h"),
        ({"gpu": "v100"}, [], False, ["15m", "1h", "6h", "24h"], "1h"),
        ({}, ["staff"], False, ["15m", "1h", "6h", "24h", "never"], "1h"),
        ({"gpu": "a100"}, ["staff"], False, ["15m", "1h"], "1h"),  # cap beats allow_never
        ({}, ["students"], False, ["15m", "1h", "6h"], "1h"),
        ({}, ["students", "staff"], False, ["15m", "1h", "6h"], "1h"),
        ({}, ["staff"], True, ["10m"], "10m"),  # no configured choice fits: the cap itself
    ],
)
def test_allowed_choices_and_default(policy, selection, groups, throwaway, allowed, default):
    assert policy.allowed_choices(selection, groups, throwaway) == allowed
    assert policy.default_choice(selection, groups, throwaway) == default


def test_resolve_default_carries_caps_and_settings(policy):
    assert resolve(policy, None, {"gpu": "t4"}) == Shutoff("1h", 3600, 43200, 300, False)
    assert resolve(policy, "", {}) == Shutoff("1h", 3600, None, 300, False)
    assert resolve(policy, "  ", {}, throwaway=True) == Shutoff("10m", 600, 3600, 300, False)


@pytest.mark.parametrize("choice", ["6h", "6H", " 6h ", "360m", 21600, 21600.0])
def test_choices_match_by_value_and_keep_configured_label(policy, choice):
    assert resolve(policy, choice).choice == "6h"
    assert resolve(policy, choice).idle_timeout == 21600


def test_never_for_staff_has_no_idle_timeout(policy):
    shutoff = resolve(policy, "never", groups=["staff"])
    assert (shutoff.choice, shutoff.idle_timeout, shutoff.max_age) == ("never", None, None)


def test_choice_above_cap_names_the_cap_and_lists_allowed(policy):
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, "6h", {"gpu": "t4"})
    error = caught.value
    assert error.status == 400 and error.field == "auto_shutoff"
    assert error.message == "auto_shutoff '6h' exceeds the 1h idle cap for gpu 't4'"
    assert error.allowed == ["15m", "1h"]


def test_tightest_of_several_caps_is_named(policy):
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, "6h", {"gpu": "a100"}, groups=["students"])
    assert caught.value.message == "auto_shutoff '6h' exceeds the 1h idle cap for gpu 'a100'"
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, "24h", {}, groups=["students"])
    assert caught.value.message == "auto_shutoff '24h' exceeds the 6h idle cap for group 'students'"


def test_throwaway_cap_named(policy):
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, "15m", throwaway=True)
    assert caught.value.message == "auto_shutoff '15m' exceeds the 10m idle cap for throwaway servers"
    assert caught.value.allowed == ["10m"]
    assert resolve(policy, "10m", throwaway=True).idle_timeout == 600


def test_never_over_a_cap_is_400_naming_the_cap(policy):
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, "never", {"gpu": "t4"}, groups=["staff"])
    assert caught.value.message == "auto_shutoff 'never' exceeds the 1h idle cap for gpu 't4'"


def test_never_not_granted_is_403(policy):
    with pytest.raises(NotEntitled) as caught:
        resolve(policy, "Never", groups=["others"])
    assert caught.value.status == 403
    assert caught.value.field == "auto_shutoff"
    assert caught.value.allowed == ["15m", "1h", "6h", "24h"]


def test_never_not_among_choices_is_400():
    policy = ShutoffPolicy.from_config({"caps": [{"match": {}, "allow_never": True}]})
    with pytest.raises(InvalidChoice, match="'never' is not one of the choices"):
        resolve(policy, "never")


@pytest.mark.parametrize(
    "choice, fragment",
    [
        ("2h", "auto_shutoff '2h' is not one of the choices"),
        (7200, "auto_shutoff '2h' is not one of the choices"),
        ("soon", "auto_shutoff 'soon' is not one of the choices"),
        ("0s", "auto_shutoff '0s' is not one of the choices"),
        (-5, "auto_shutoff -5 is not one of the choices"),
        (1.5, "auto_shutoff 1.5 is not one of the choices"),
        ("x" * 500, "auto_shutoff '" + "x" * 40 + "' is not"),
        (True, "as a string; got bool"),
        ([], "as a string; got list"),
        ({"a": 1}, "as a string; got dict"),
    ],
)
def test_bad_choices_are_400_with_allowed(policy, choice, fragment):
    with pytest.raises(InvalidChoice) as caught:
        resolve(policy, choice)
    assert fragment in caught.value.message
    assert caught.value.field == "auto_shutoff"
    assert caught.value.allowed == ["15m", "1h", "6h", "24h"]


def test_default_lowered_to_largest_choice_within_cap():
    policy = ShutoffPolicy.from_config(
        {"default": "24h", "caps": [{"match": {"size": "xl"}, "max_idle": "7h"}]}
    )
    assert resolve(policy, None, {"size": "xl"}).choice == "6h"
    assert resolve(policy, None, {"size": "s"}).choice == "24h"


def test_default_never_lowered_to_largest_duration_when_not_granted():
    policy = ShutoffPolicy.from_config(
        {"choices": ["1h", "6h", "never"], "default": "never", "caps": [{"match": {"groups": "ops"}, "allow_never": True}]}
    )
    assert resolve(policy, None, groups=["ops"]).idle_timeout is None
    assert resolve(policy, None, groups=["dev"]).choice == "6h"


def test_max_age_is_the_minimum_over_matching_rules():
    policy = ShutoffPolicy.from_config(
        {"caps": [{"match": {}, "max_age": "1d"}, {"match": {"gpu": "t4"}, "max_age": "12h"},
                  {"match": {"throwaway": True}, "max_age": "2h"}]}
    )
    assert resolve(policy, None).max_age == 86400
    assert resolve(policy, None, {"gpu": "t4"}).max_age == 43200
    assert resolve(policy, None, {"gpu": "t4"}, throwaway=True).max_age == 3600  # built-in 1h is tighter


def test_caps_can_tighten_but_not_loosen_throwaway_limits():
    loose = ShutoffPolicy.from_config({"caps": [{"match": {"throwaway": True}, "max_idle": "1d", "max_age": "2d"}]})
    assert resolve(loose, None, throwaway=True) == Shutoff("10m", 600, 3600, 300, False)
    tight = ShutoffPolicy.from_config(
        {"warn_before": "1m", "caps": [{"match": {"throwaway": True}, "max_idle": "5m"}]}
    )
    assert resolve(tight, None, throwaway=True).idle_timeout == 300


def test_match_keys_combine_with_and():
    policy = ShutoffPolicy.from_config({"caps": [{"match": {"gpu": "t4", "groups": ["students"]}, "max_idle": "1h"}]})
    assert policy.allowed_choices({"gpu": "t4"}, ["students"], False) == ["15m", "1h"]
    assert policy.allowed_choices({"gpu": "t4"}, ["staff"], False) == ["15m", "1h", "6h", "24h"]
    assert policy.allowed_choices({}, ["students"], False) == ["15m", "1h", "6h", "24h"]


def test_all_selection_keys_can_match():
    for key in ("size", "gpu", "disk", "image"):
        policy = ShutoffPolicy.from_config({"caps": [{"match": {key: ["x"]}, "max_idle": "15m"}]})
        assert policy.allowed_choices({key: "x"}, [], False) == ["15m"]
        assert policy.allowed_choices({key: "y"}, [], False) == ["15m", "1h", "6h", "24h"]


NEVER_CHOICES = {"choices": ["1h", "never"], "default": "1h"}


@pytest.mark.parametrize(
    "caps, groups, selection, granted",
    [
        ([], [], {}, False),  # nobody decides: not offered
        ([{"match": {}, "allow_never": True}], [], {}, True),
        # a group rule outranks a more detailed non-group rule
        ([{"match": {"gpu": "t4", "size": "xl"}, "allow_never": False}, {"match": {"groups": "staff"}, "allow_never": True}],
         ["staff"], {"gpu": "t4", "size": "xl"}, True),
        # among non-group rules, more match keys win
        ([{"match": {}, "allow_never": True}, {"match": {"gpu": "t4"}, "allow_never": False}], [], {"gpu": "t4"}, False),
        ([{"match": {}, "allow_never": True}, {"match": {"gpu": "t4"}, "allow_never": False}], [], {"gpu": "v"}, True),
        # equally specific deciders: any true grants (one permitted group is enough)
        ([{"match": {"groups": "a"}, "allow_never": False}, {"match": {"groups": "b"}, "allow_never": True}], ["a", "b"], {}, True),
        ([{"match": {"groups": "a"}, "allow_never": False}, {"match": {"groups": "b"}, "allow_never": True}], ["a"], {}, False),
        # a more specific group rule can take it away again
        ([{"match": {"groups": "a"}, "allow_never": True}, {"match": {"groups": "a", "gpu": "t4"}, "allow_never": False}],
         ["a"], {"gpu": "t4"}, False),
        # allow_never never lifts an idle cap, even from a less specific rule
        ([{"match": {"groups": "a"}, "allow_never": True}, {"match": {}, "max_idle": "1h"}], ["a"], {}, False),
    ],
)
def test_allow_never_precedence(caps, groups, selection, granted):
    policy = ShutoffPolicy.from_config({**NEVER_CHOICES, "caps": caps})
    assert ("never" in policy.allowed_choices(selection, groups, False)) is granted


def test_never_is_never_offered_to_throwaway_servers():
    policy = ShutoffPolicy.from_config({**NEVER_CHOICES, "caps": [{"match": {}, "allow_never": True}]})
    assert policy.allowed_choices({}, [], True) == ["10m"]


def test_settings_pass_through():
    policy = ShutoffPolicy.from_config({"warn_before": "2m", "count_busy_kernels": True})
    assert resolve(policy, "15m") == Shutoff("15m", 900, None, 120, True)


def test_groups_may_be_any_iterable_or_a_single_name(policy):
    assert "never" in policy.allowed_choices({}, "staff", False)
    assert "never" in policy.allowed_choices({}, iter(["staff"]), False)
    assert "never" in policy.allowed_choices({}, {"staff", 3}, False)
    assert "never" not in policy.allowed_choices({}, None, False)


@pytest.mark.parametrize("selection, groups, field", [("gpu", [], "selection"), ([1], [], "selection"), ({}, 5, "groups")])
def test_malformed_context_is_400(policy, selection, groups, field):
    with pytest.raises(InvalidChoice) as caught:
        policy.resolve("1h", selection=selection, groups=groups, throwaway=False)
    assert caught.value.field == field


# --- properties -------------------------------------------------------------------------

NAMES = ["a", "b", "c"]
match_strategy = st.fixed_dictionaries(
    {},
    optional={
        "gpu": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2),
        "size": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2),
        "groups": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2),
        "throwaway": st.booleans(),
    },
)
caps_strategy = st.lists(
    st.tuples(
        match_strategy,
        st.none() | st.sampled_from(["11m", "30m", "1h", "3h", "1d"]),
        st.none() | st.sampled_from(["2h", "12h", "2d"]),
        st.none() | st.booleans(),
    ),
    max_size=5,
)


def build_config(caps):
    rules = []
    for match, max_idle, max_age, allow_never in caps:
        if max_idle is None and max_age is None and allow_never is None:
            allow_never = False
        if max_idle is not None and allow_never:
            allow_never = None
        rules.append({"match": match, "max_idle": max_idle, "max_age": max_age, "allow_never": allow_never})
    return {"choices": ["15m", "1h", "6h", "24h", "never"], "default": "6h", "caps": rules}


def oracle_matches(match, selection, groups, throwaway):
    """An independent reading of the documented matching rule."""
    for key, names in match.items():
        if key == "throwaway":
            if names != throwaway:
                return False
        elif key == "groups":
            if not set(names) & set(groups):
                return False
        elif selection.get(key) not in names:
            return False
    return True


context_strategy = st.tuples(
    st.fixed_dictionaries({}, optional={"gpu": st.sampled_from(NAMES), "size": st.sampled_from(NAMES)}),
    st.lists(st.sampled_from(NAMES), max_size=3),
    st.booleans(),
)


@SETTINGS
@given(caps_strategy, context_strategy, duration_like)
def test_resolve_never_exceeds_any_matching_cap(caps, context, choice):
    config = build_config(caps)
    selection, groups, throwaway = context
    policy = ShutoffPolicy.from_config(config)
    try:
        shutoff = policy.resolve(choice, selection=selection, groups=groups, throwaway=throwaway)
    except SaturnError as error:
        assert error.status in (400, 403) and error.field == "auto_shutoff"
        return
    matching = [r for r in config["caps"] if oracle_matches(r["match"], selection, groups, throwaway)]
    if throwaway:
        matching.append({"max_idle": "10m", "max_age": "1h"})
    idle_caps = [parse_duration(r["max_idle"], field="t") for r in matching if r.get("max_idle")]
    age_caps = [parse_duration(r["max_age"], field="t") for r in matching if r.get("max_age")]
    if idle_caps:
        assert shutoff.idle_timeout is not None and shutoff.idle_timeout <= min(idle_caps)
    assert shutoff.max_age == (min(age_caps) if age_caps else None)
    assert shutoff.choice in policy.allowed_choices(selection, groups, throwaway)


@SETTINGS
@given(caps_strategy, context_strategy)
def test_default_is_always_allowed_and_resolves(caps, context):
    selection, groups, throwaway = context
    policy = ShutoffPolicy.from_config(build_config(caps))
    allowed = policy.allowed_choices(selection, groups, throwaway)
    assert allowed and policy.default_choice(selection, groups, throwaway) in allowed
    for label in allowed:  # every offered choice is accepted as is
        assert policy.resolve(label, selection=selection, groups=groups, throwaway=throwaway).choice == label


@SETTINGS
@given(json_values, json_values, json_values, json_values)
def test_arbitrary_inputs_raise_only_saturn_errors(choice, selection, groups, throwaway):
    policy = ShutoffPolicy.from_config(EXAMPLE)
    try:
        shutoff = policy.resolve(choice, selection=selection, groups=groups, throwaway=throwaway)
    except SaturnError as error:
        assert error.status in (400, 403)
    else:
        assert isinstance(shutoff, Shutoff)
