import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError, InvalidChoice
from jupyterhub_saturn.policy.durations import MAX_SECONDS, config_duration, format_duration, parse_duration

from ._strategies import SETTINGS, json_values


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1d2h3m4s", 93784),
        (" 1H 30M ", 5400),
        ("1h 30m", 5400),
        ("100m", 6000),
        (3600, 3600),
        (60.0, 60),
        (1, 1),
    ],
)
def test_parses_valid_durations(value, seconds):
    assert parse_duration(value, field="f") == seconds


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("never", "'never' is not a duration"),
        ("90", "no unit; write e.g. '90s' or '90m'"),
        ("", "is not a duration"),
        ("   ", "is not a duration"),
        ("h", "is not a duration"),
        ("1x", "is not a duration"),
        ("1s1h", "is not a duration"),  # units out of order
        ("1h1h", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("\u0661h", "is not a duration"),  # Arabic-Indic digit: ASCII digits only
        ("1" * 70 + "s", "is not a duration"),
        (True, "got the boolean True"),
        (None, "got NoneType"),
        ([], "got list"),
        ({}, "got dict"),
        (1.5, "not a whole number of seconds"),
        (math.nan, "not a whole number of seconds"),
        (math.inf, "not a whole number of seconds"),
        (-1, "too short; the least is 1s"),
        (0, "too short; the least is 1s"),
        ("0s", "too short; the least is 1s"),
        (MAX_SECONDS + 1, "too long; the most is 3660d"),
        ("99999d", "too long"),
    ],
)
def test_refuses_bad_durations_naming_the_field(value, fragment):
    with pytest.raises(InvalidChoice) as caught:
        parse_duration(value, field="auto_shutoff")
    error = caught.value
    assert error.status == 400
    assert error.field == "auto_shutoff"
    assert error.text.startswith("auto_shutoff: ")
    assert fragment in error.text


def test_format_errors_explain_the_format():
    with pytest.raises(InvalidChoice) as caught:
        parse_duration("soon", field="x")
    assert "a unit d, h, m or s" in caught.value.text


def test_zero_only_when_allowed():
    assert parse_duration(0, field="f", allow_zero=True) == 0
    assert parse_duration("0s", field="f", allow_zero=True) == 0
    with pytest.raises(InvalidChoice, match="the least is 0s"):
        parse_duration(-1, field="f", allow_zero=True)


def test_config_duration_raises_config_error_with_the_key_path():
    assert config_duration("5m", path="Saturn.x") == 300
    with pytest.raises(ConfigError) as caught:
        config_duration("5 minutes", path="Saturn.auto_shutoff.warn_before")
    assert caught.value.field == "Saturn.auto_shutoff.warn_before"
    assert caught.value.text.startswith("Saturn.auto_shutoff.warn_before: '5 minutes' is not a duration")


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (59, "59s"), (90, "1m30s"), (900, "15m"), (5400, "1h30m"), (86400, "1d"), (90061, "1d1h1m1s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1h", None])
def test_format_duration_refuses_non_counts(bad):
    with pytest.raises(ValueError):
        format_duration(bad)


@SETTINGS
@given(st.integers(1, MAX_SECONDS))
def test_format_then_parse_round_trips(seconds):
    assert parse_duration(format_duration(seconds), field="f") == seconds


@SETTINGS
@given(json_values | st.text(alphabet="0123456789dhms \t-.", max_size=12))
def test_anything_parses_or_raises_invalid_choice(value):
    try:
        seconds = parse_duration(value, field="f")
    except InvalidChoice as error:
        assert error.field == "f"
    else:
        assert isinstance(seconds, int) and 1 <= seconds <= MAX_SECONDS
