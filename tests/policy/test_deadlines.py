from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.policy.deadlines import deadlines
from jupyterhub_saturn.policy.shutoff_state import Shutoff

from ._strategies import SETTINGS

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def at(minutes):
    return T0 + minutes * MIN


ONE_HOUR = Shutoff("1h", 3600, None, 300)


def test_idle_deadline_counts_from_last_activity():
    d = deadlines(ONE_HOUR, started=at(0), last_activity=at(30), now=at(40))
    assert (d.idle_deadline, d.age_deadline, d.stop_at, d.reason) == (at(90), None, at(90), "idle")
    assert d.warn_at == at(85)


def test_no_activity_counts_from_start():
    d = deadlines(ONE_HOUR, started=at(0), last_activity=None, now=at(1))
    assert d.stop_at == at(60)


def test_activity_from_an_earlier_run_is_ignored():
    d = deadlines(ONE_HOUR, started=at(0), last_activity=at(-500), now=at(1))
    assert d.idle_deadline == at(60)


def test_future_timestamps_are_pulled_back_to_now():
    d = deadlines(Shutoff("1h", 3600, 7200, 0), started=at(10), last_activity=at(50), now=at(5))
    assert d.idle_deadline == at(65)
    assert d.age_deadline == at(125)


def test_max_age_wins_when_earlier():
    d = deadlines(Shutoff("1h", 3600, 7200, 300), started=at(0), last_activity=at(100), now=at(100))
    assert (d.stop_at, d.reason, d.warn_at) == (at(120), "max-age", at(115))


def test_tie_reports_max_age():
    d = deadlines(Shutoff("1h", 3600, 7200, 0), started=at(0), last_activity=at(60), now=at(60))
    assert d.idle_deadline == d.age_deadline == d.stop_at
    assert d.reason == "max-age"


def test_never_without_max_age_never_stops():
    d = deadlines(Shutoff("never", None, None, 300), started=at(0), last_activity=None, now=at(10**5))
    assert d == type(d)(None, None, None, None, None)
    assert not d.should_stop(at(10**6)) and not d.should_warn(at(10**6))
    assert d.seconds_left(at(0)) is None


def test_never_with_max_age_stops_at_max_age():
    d = deadlines(Shutoff("never", None, 3600, 0), started=at(0), last_activity=at(59), now=at(59))
    assert (d.stop_at, d.reason, d.warn_at) == (at(60), "max-age", None)


def test_should_warn_and_stop_boundaries():
    d = deadlines(ONE_HOUR, started=at(0), last_activity=None, now=at(0))
    assert not d.should_warn(at(54)) and d.should_warn(at(55)) and d.should_warn(at(59))
    assert not d.should_stop(at(59)) and d.should_stop(at(60)) and d.should_stop(at(61))
    assert not d.should_warn(at(60))  # stopping, not warning
    assert d.seconds_left(at(59)) == 60 and d.seconds_left(at(70)) == 0


def test_warning_never_before_start():
    d = deadlines(Shutoff("10m", 600, None, 3600), started=at(0), last_activity=None, now=at(0))
    assert d.warn_at == at(0)


def test_other_timezones_are_converted_to_utc():
    tz = timezone(timedelta(hours=5))
    d = deadlines(ONE_HOUR, started=at(0).astimezone(tz), last_activity=None, now=at(1).astimezone(tz))
    assert d.stop_at == at(60) and d.stop_at.tzinfo == timezone.utc
    assert d.should_stop(at(60).astimezone(tz))


@pytest.mark.parametrize("name", ["started", "last_activity", "now"])
def test_naive_datetimes_are_refused_by_name(name):
    args = dict(started=at(0), last_activity=at(1), now=at(2))
    args[name] = args[name].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"{name} must be timezone-aware"):
        deadlines(ONE_HOUR, **args)


def test_far_future_overflow_means_never():
    late = datetime(9999, 12, 1, tzinfo=timezone.utc)
    d = deadlines(Shutoff("1d", 86400 * 365, None, 0), started=late, last_activity=None, now=late)
    assert d.stop_at is None


moments = st.integers(0, 10**7).map(lambda s: T0 + timedelta(seconds=s))


@SETTINGS
@given(
    st.none() | st.integers(1, 10**6), st.none() | st.integers(1, 10**6), st.integers(0, 10**4),
    moments, st.none() | moments, moments,
)
def test_deadline_invariants(idle, max_age, warn, started, last_activity, now):
    d = deadlines(Shutoff("x", idle, max_age, warn), started=started, last_activity=last_activity, now=now)
    candidates = [t for t in (d.idle_deadline, d.age_deadline) if t is not None]
    assert d.stop_at == (min(candidates) if candidates else None)
    assert (d.reason is None) == (d.stop_at is None)
    if d.stop_at is not None:
        assert d.stop_at >= min(started, now)
        assert d.should_stop(d.stop_at) and not d.should_stop(d.stop_at - timedelta(microseconds=1))
    if d.warn_at is not None:
        assert d.warn_at <= d.stop_at
    if idle is not None:  # activity can only postpone the idle deadline
        base = min(started, now)
        assert d.idle_deadline >= base + timedelta(seconds=idle)
