import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.policy.shutoff_config import Choice, CapRule, ShutoffConfig

from ._strategies import SETTINGS, json_values

P = "Saturn.auto_shutoff"

EXAMPLE = {
    "choices": ["15m", "1h", "6h", "24h", "never"],
    "default": "1h",
    "warn_before": "5m",
    "count_busy_kernels": False,
    "caps": [
        {"match": {"gpu": ["t4", "a100"]}, "max_idle": "1h", "max_age": "12h"},
        {"match": {"groups": ["students"]}, "max_idle": "6h"},
        {"match": {"throwaway": True}, "max_idle": "10m", "max_age": "1h"},
        {"match": {}, "allow_never": False},
        {"match": {"groups": ["staff"]}, "allow_never": True},
    ],
}


@pytest.mark.parametrize("data", [None, {}])
def test_defaults_when_section_absent(data):
    config = ShutoffConfig.from_config(data)
    assert [c.label for c in config.choices] == ["15m", "1h", "6h", "24h"]
    assert [c.seconds for c in config.choices] == [900, 3600, 21600, 86400]
    assert config.default.label == "1h"
    assert config.warn_before == 300
    assert config.count_busy_kernels is False
    (throwaway,) = config.caps
    assert (throwaway.throwaway, throwaway.max_idle, throwaway.max_age) == (True, 600, 3600)
    assert throwaway.path == f"{P}.throwaway"


def test_example_parses_with_never_last_and_throwaway_rule_appended():
    config = ShutoffConfig.from_config(EXAMPLE)
    assert [c.label for c in config.choices] == ["15m", "1h", "6h", "24h", "never"]
    assert config.choices[-1].seconds is None
    assert len(config.caps) == 6
    assert [r.path for r in config.caps[:5]] == [f"{P}.caps[{i}]" for i in range(5)]
    gpu = config.caps[0]
    assert dict(gpu.names) == {"gpu": frozenset({"t4", "a100"})}
    assert (gpu.max_idle, gpu.max_age, gpu.allow_never) == (3600, 43200, None)
    assert config.caps[-1].label == "throwaway servers"


def test_choices_are_sorted_and_compared_by_value_keeping_admin_spelling():
    config = ShutoffConfig.from_config({"choices": ["never", "24h", "90m", "15m"], "default": "1h30m"})
    assert [c.label for c in config.choices] == ["15m", "90m", "24h", "never"]
    assert config.default.label == "90m"  # label as spelled in choices
    assert Choice.of(5400) == config.default


def test_null_keys_count_as_absent():
    config = ShutoffConfig.from_config(
        {"choices": None, "default": None, "warn_before": None, "caps": None, "throwaway": {"max_idle": None}}
    )
    assert config.default.label == "1h" and config.caps[-1].max_idle == 600


def test_throwaway_limits_configurable_and_string_match_is_one_element_list():
    config = ShutoffConfig.from_config(
        {"throwaway": {"max_idle": "20m", "max_age": "2h"}, "caps": [{"match": {"gpu": "t4"}, "max_age": "1d"}]}
    )
    assert (config.caps[-1].max_idle, config.caps[-1].max_age) == (1200, 7200)
    assert dict(config.caps[0].names) == {"gpu": frozenset({"t4"})}


def test_warn_before_zero_disables_the_warning_check():
    config = ShutoffConfig.from_config({"warn_before": 0, "choices": ["1m"], "default": "1m"})
    assert config.warn_before == 0


def test_custom_path_prefix_appears_in_errors():
    with pytest.raises(ConfigError) as caught:
        ShutoffConfig.from_config({"bogus": 1}, path="c.Saturn.shutoff")
    assert caught.value.field == "c.Saturn.shutoff.bogus"


def rule(**kw):
    return {"caps": [kw]}


BAD = [
    ([1], P, "expected a mapping"),
    ({"choice": []}, f"{P}.choice", "unknown key"),
    ({"choices": "1h"}, f"{P}.choices", "non-empty list"),
    ({"choices": []}, f"{P}.choices", "non-empty list"),
    ({"choices": ["1h", "soon"]}, f"{P}.choices[1]", "not a duration"),
    ({"choices": ["1h", "60m"]}, f"{P}.choices[1]", "repeats Saturn.auto_shutoff.choices[0]"),
    ({"choices": ["never", "NEVER"]}, f"{P}.choices[1]", "repeats"),
    ({"choices": ["never"], "default": "never"}, f"{P}.choices", "at least one duration"),
    ({"default": "2h"}, f"{P}.default", "'2h' is not one of the choices"),
    ({"default": "never"}, f"{P}.default", "'never' is not one of the choices"),
    ({"default": 5}, f"{P}.default", "not one of the choices"),
    ({"default": []}, f"{P}.default", "got list"),
    ({"warn_before": "5"}, f"{P}.warn_before", "no unit"),
    ({"warn_before": -1}, f"{P}.warn_before", "too short"),
    ({"warn_before": "15m"}, f"{P}.warn_before", "shorter than every shutoff time, but Saturn.auto_shutoff.choices has 15m"),
    ({"warn_before": "10m"}, f"{P}.warn_before", "but Saturn.auto_shutoff.throwaway.max_idle has 10m"),
    (
        {"warn_before": "5m", **rule(match={}, max_age="4m")},
        f"{P}.warn_before",
        "but Saturn.auto_shutoff.caps[0].max_age has 4m",
    ),
    ({"count_busy_kernels": "yes"}, f"{P}.count_busy_kernels", "true or false"),
    ({"caps": {"match": {}}}, f"{P}.caps", "expected a list of rules"),
    ({"caps": ["1h"]}, f"{P}.caps[0]", "expected a mapping"),
    (rule(match={}, max_idle="1h", maxage="1h"), f"{P}.caps[0].maxage", "unknown key"),
    (rule(max_idle="1h"), f"{P}.caps[0].match", "is missing (write 'match: {}'"),
    (rule(match=None, max_idle="1h"), f"{P}.caps[0].match", "expected a mapping"),
    (rule(match=["gpu"], max_idle="1h"), f"{P}.caps[0].match", "expected a mapping"),
    (rule(match={"gpus": ["t4"]}, max_idle="1h"), f"{P}.caps[0].match.gpus", "unknown key"),
    (rule(match={"gpu": []}, max_idle="1h"), f"{P}.caps[0].match.gpu", "non-empty list"),
    (rule(match={"groups": {}}, max_idle="1h"), f"{P}.caps[0].match.groups", "non-empty list"),
    (rule(match={"size": ["a", 3]}, max_idle="1h"), f"{P}.caps[0].match.size[1]", "non-empty string"),
    (rule(match={"image": [""]}, max_idle="1h"), f"{P}.caps[0].match.image[0]", "non-empty string"),
    (rule(match={"throwaway": "yes"}, max_idle="1h"), f"{P}.caps[0].match.throwaway", "true or false"),
    (rule(match={}), f"{P}.caps[0]", "sets nothing"),
    (rule(match={}, max_idle=None), f"{P}.caps[0]", "sets nothing"),
    (rule(match={}, max_idle="1 hour"), f"{P}.caps[0].max_idle", "not a duration"),
    (rule(match={}, max_age=0), f"{P}.caps[0].max_age", "too short"),
    (rule(match={}, allow_never="true"), f"{P}.caps[0].allow_never", "true or false"),
    (rule(match={}, allow_never=True, max_idle="1h"), f"{P}.caps[0].allow_never", "cannot be true"),
    ({"throwaway": "10m"}, f"{P}.throwaway", "expected a mapping"),
    ({"throwaway": {"idle": "10m"}}, f"{P}.throwaway.idle", "unknown key"),
    ({"throwaway": {"max_idle": "soon"}}, f"{P}.throwaway.max_idle", "not a duration"),
    ({"throwaway": {"max_age": 0}}, f"{P}.throwaway.max_age", "too short"),
]


@pytest.mark.parametrize("data, path, fragment", BAD)
def test_config_mistakes_name_the_key_path(data, path, fragment):
    with pytest.raises(ConfigError) as caught:
        ShutoffConfig.from_config(data)
    assert caught.value.field == path
    assert caught.value.text.startswith(path + ": ")
    assert fragment in caught.value.text


def test_unknown_keys_list_the_allowed_ones():
    with pytest.raises(ConfigError) as caught:
        ShutoffConfig.from_config(rule(match={"gpus": "t4"}, max_idle="1h"))
    assert caught.value.allowed == ["size", "gpu", "disk", "image", "groups", "throwaway"]
    with pytest.raises(ConfigError) as caught:
        ShutoffConfig.from_config({"defaults": "1h"})
    assert "choices" in caught.value.allowed and "caps" in caught.value.allowed


def make_rule(**kw):
    base = dict(path="p", names=(), throwaway=None, max_idle=None, max_age=None, allow_never=None)
    return CapRule(**{**base, **kw})


def test_rule_matches_all_keys_and_any_name_within_a_key():
    r = make_rule(names=(("gpu", frozenset({"t4", "a100"})), ("groups", frozenset({"a", "b"}))))
    assert r.matches({"gpu": "t4"}, frozenset({"b", "z"}), False)
    assert not r.matches({"gpu": "t4"}, frozenset({"z"}), False)
    assert not r.matches({"gpu": "v100"}, frozenset({"a"}), False)
    assert not r.matches({}, frozenset({"a"}), False)  # no gpu selected
    assert not r.matches({"gpu": ["t4"]}, frozenset({"a"}), False)  # non-string value never matches


def test_rule_throwaway_flag_and_empty_match():
    assert make_rule().matches({}, frozenset(), True)
    assert make_rule().matches({}, frozenset(), False)
    assert make_rule(throwaway=True).matches({}, frozenset(), True)
    assert not make_rule(throwaway=True).matches({}, frozenset(), False)
    assert make_rule(throwaway=False).matches({}, frozenset(), False)


def test_rule_describe_names_what_matched():
    r = make_rule(names=(("gpu", frozenset({"t4", "a100"})), ("groups", frozenset({"a", "b"}))))
    assert r.describe({"gpu": "t4"}, frozenset({"b", "z"})) == "gpu 't4' and group 'b'"
    assert r.describe({"gpu": "t4"}, frozenset({"a", "b"})) == "gpu 't4' and groups 'a', 'b'"
    assert make_rule().describe({}, frozenset()) == "all servers"
    assert make_rule(throwaway=False).describe({}, frozenset()) == "non-throwaway servers"


def test_rule_specificity_ranks_group_rules_first():
    group = make_rule(names=(("groups", frozenset({"a"})),))
    two_keys = make_rule(names=(("gpu", frozenset({"t4"})), ("size", frozenset({"xl"}))))
    assert group.specificity > two_keys.specificity > make_rule().specificity


@SETTINGS
@given(json_values)
def test_arbitrary_data_parses_or_raises_config_error(data):
    try:
        ShutoffConfig.from_config(data)
    except ConfigError as error:
        assert error.field.startswith(P)


caps_items = st.fixed_dictionaries(
    {"match": st.dictionaries(st.sampled_from(["gpu", "groups", "throwaway", "size", "nope"]), json_values, max_size=3)},
    optional={"max_idle": json_values, "max_age": json_values, "allow_never": json_values},
)


@SETTINGS
@given(st.fixed_dictionaries({}, optional={"caps": st.lists(caps_items, max_size=3), "choices": st.lists(
    st.sampled_from(["15m", "1h", "never", "0s", 5, "x"]), max_size=4), "default": json_values}))
def test_near_valid_data_parses_or_raises_config_error(data):
    try:
        config = ShutoffConfig.from_config(data)
    except ConfigError as error:
        assert error.field.startswith(P)
    else:
        assert config.default in config.choices
