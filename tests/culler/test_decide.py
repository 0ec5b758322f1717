"""The culler's decisions over JupyterHub REST models (pure)."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.culler.decide import (
    CHECK_KERNELS, KEEP, SKIP, STOP, TOUCH, Fallback, after_kernel_check, decide_server, decide_user,
    isoformat, kernels_busy, parse_time, server_status, throwaway_removable,
)
from jupyterhub_saturn.policy import Shutoff

from ..policy._strategies import SETTINGS, json_values

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def z(seconds: float) -> str:
    """A timestamp as the hub API writes it."""
    return isoformat(at(seconds))


def server(idle=60, max_age=None, warn=10, busy=False, start=0, active=None, **extra):
    model = {
        "name": "", "ready": True, "pending": None, "url": "/user/ann/",
        "started": z(start), "last_activity": None if active is None else z(active),
        "user_options": {"size": "small", "auto_shutoff": "1m", "saturn_shutoff": {
            "idle_timeout": idle, "max_age": max_age, "warn_before": warn, "count_busy_kernels": busy}},
    }
    model.update(extra)
    return model


NO_FALLBACK = Fallback()


def decide(model, now, fallback=NO_FALLBACK, name=""):
    return decide_server("ann", name, model, now=at(now), fallback=fallback)


# ------------------------------------------------------------ timestamps


@pytest.mark.parametrize("text", ["2026-03-01T12:00:00Z", "2026-03-01T12:00:00.000000Z", "2026-03-01T12:00:00+00:00",
                                  "2026-03-01T13:00:00+01:00", "2026-03-01T12:00:00"])
def test_hub_timestamps_parse_to_aware_utc(text):
    assert parse_time(text) == T0


def test_missing_timestamps_are_none_and_garbage_raises():
    assert parse_time(None) is None and parse_time("") is None
    with pytest.raises(ValueError):
        parse_time("yesterday")
    with pytest.raises(ValueError):
        parse_time(12)


def test_isoformat_round_trips():
    assert isoformat(T0) == "2026-03-01T12:00:00Z"
    assert parse_time(isoformat(at(1.5))) == at(1.5)


# ------------------------------------------------------------ servers


def test_kept_before_the_idle_deadline_and_stopped_at_it():
    model = server(idle=60, active=30)
    assert decide(model, 89.999).action == KEEP
    d = decide(model, 90)
    assert d.action == STOP and d.deadlines.reason == "idle" and "idle deadline 2026-03-01T12:01:30Z" in d.why


def test_no_activity_counts_from_start():
    assert decide(server(idle=60), 59).action == KEEP
    assert decide(server(idle=60), 60).action == STOP


def test_max_age_stops_an_active_server():
    model = server(idle=60, max_age=120, active=119)
    assert decide(model, 119).action == KEEP
    d = decide(model, 120)
    assert d.action == STOP and d.deadlines.reason == "max-age"


def test_never_is_kept_forever():
    model = server(idle=None)
    model["user_options"]["auto_shutoff"] = "never"
    d = decide(model, 10**8)
    assert d.action == KEEP and d.why == "never stops"


@pytest.mark.parametrize("change, why", [
    ({"pending": "spawn"}, "pending spawn"),
    ({"pending": "stop"}, "pending stop"),
    ({"ready": False}, "not ready"),
    ({"started": None}, "no 'started' time"),
    ({"started": "soon"}, "unreadable timestamp"),
])
def test_servers_that_cannot_be_judged_are_skipped(change, why):
    d = decide(server(idle=1, **change), 10**6)
    assert d.action == SKIP and why in d.why


def test_servers_without_saturn_state_are_left_alone_without_a_fallback():
    d = decide(server(user_options={"profile": "x"}), 10**6)
    assert d.action == KEEP and "no saturn_shutoff" in d.why


def test_the_fallback_applies_to_servers_without_saturn_state():
    fb = Fallback(idle_timeout=100, max_age=1000)
    model = server(user_options=None, active=50)
    assert decide(model, 149, fb).action == KEEP
    assert decide(model, 150, fb).action == STOP
    assert decide(server(user_options={}, active=999), 1000, fb).deadlines.reason == "max-age"


def test_the_fallback_never_overrides_saturn_state():
    assert decide(server(idle=None), 10**6, Fallback(idle_timeout=1)).action == KEEP


def test_busy_kernel_servers_are_checked_only_past_the_idle_deadline():
    model = server(idle=60, max_age=1000, busy=True)
    assert decide(model, 59).action == KEEP
    assert decide(model, 60).action == CHECK_KERNELS
    assert decide(server(idle=60, max_age=100, busy=True, active=99), 100).action == STOP  # max age: no check


def test_after_kernel_check():
    d = decide(server(idle=60, busy=True), 60)
    assert after_kernel_check(d, True, at(60)).action == TOUCH
    assert after_kernel_check(d, False, at(60)).action == STOP
    assert after_kernel_check(d, None, at(60)).action == KEEP
    assert after_kernel_check(d, None, at(119)).action == KEEP
    assert after_kernel_check(d, None, at(120)).action == STOP  # a further idle timeout: give up waiting


def test_kernels_busy():
    assert kernels_busy([{"execution_state": "idle"}, {"execution_state": "busy"}])
    assert not kernels_busy([{"execution_state": "idle"}, {"execution_state": "starting"}, "junk"])
    assert not kernels_busy([])
    with pytest.raises(ValueError):
        kernels_busy({"message": "Forbidden"})


def test_decide_user_covers_default_and_named_servers():
    user = {"name": "ann", "servers": {"": server(idle=60), "big": server(idle=600, name="big")}}
    decisions = {d.server: d for d in decide_user(user, now=at(100), fallback=NO_FALLBACK)}
    assert decisions[""].action == STOP and decisions["big"].action == KEEP
    assert decisions["big"].log_name == "ann/big" and decisions[""].log_name == "ann"


@pytest.mark.parametrize("user", [{}, {"name": "ann"}, {"name": 3, "servers": {}}, {"name": "ann", "servers": []}])
def test_decide_user_ignores_malformed_models(user):
    assert decide_user(user, now=T0, fallback=NO_FALLBACK) == []


@SETTINGS
@given(json_values, json_values, json_values)
def test_decide_never_raises_on_garbage(options, started, active):
    model = {"ready": True, "user_options": options, "started": started if isinstance(started, str) else z(0),
             "last_activity": active if isinstance(active, str) else None}
    assert decide(model, 100).action in (KEEP, SKIP, STOP, CHECK_KERNELS)
    (only,) = decide_user({"name": "ann", "servers": {"": options}}, now=T0, fallback=NO_FALLBACK)
    assert only.action in (KEEP, SKIP, STOP, CHECK_KERNELS)
    if not isinstance(options, dict) or not options.get("ready"):
        assert only.action == SKIP


@SETTINGS
@given(st.integers(1, 10**5), st.integers(0, 10**5), st.integers(0, 2 * 10**5))
def test_never_stopped_before_the_later_of_start_and_activity_plus_idle(idle, active, now):
    d = decide(server(idle=idle, warn=0, active=active), now)
    if now < max(0, min(active, now)) + idle:
        assert d.action == KEEP
    else:
        assert d.action == STOP


# ------------------------------------------------------------ throwaway users


def user(created=0, active=None, servers=None, pending=None):
    return {"name": "anon~abc123def456", "created": z(created), "last_activity": None if active is None else z(active),
            "servers": {} if servers is None else servers, "pending": pending}


def test_throwaway_user_without_servers_is_removed_after_the_grace():
    assert throwaway_removable(user(created=0), now=at(59), grace=60) == (False, "younger than the 60s grace")
    ok, why = throwaway_removable(user(created=0), now=at(60), grace=60)
    assert ok and "no server since 2026-03-01T12:00:00Z" in why
    assert not throwaway_removable(user(created=0, active=30), now=at(60), grace=60)[0]


@pytest.mark.parametrize("model, why", [
    (user(servers={"": {"pending": "spawn"}}), "has servers ''"),
    (user(pending="spawn"), "pending spawn"),
    ({"name": "x", "created": z(0)}, "servers not visible"),
    ({"name": "x", "servers": {}}, "needs read:users"),
    ({"name": "x", "servers": {}, "created": "?"}, "unreadable"),
])
def test_throwaway_users_that_may_still_be_starting_are_kept(model, why):
    ok, reason = throwaway_removable(model, now=at(10**6), grace=0)
    assert not ok and why in reason


# ------------------------------------------------------------ the status route's numbers


def test_server_status_agrees_with_the_decision():
    model = server(idle=60, max_age=600, warn=10, active=30)
    s = server_status(model, now=at(85))
    assert s["stop_at"] == z(90) and s["reason"] == "idle" and s["warn"] and s["seconds_left"] == 5
    assert s["idle_deadline"] == z(90) and s["age_deadline"] == z(600) and s["warn_at"] == z(80)
    assert (s["auto_shutoff"], s["managed"], s["idle_timeout"], s["max_age"]) == ("1m", True, 60, 600)
    assert not server_status(model, now=at(79))["warn"]
    assert decide(model, 85).action == KEEP and decide(model, 90).action == STOP


def test_server_status_accepts_naive_orm_datetimes():
    model = server(idle=60)
    model["started"] = T0.replace(tzinfo=None)
    assert server_status(model, now=at(1))["stop_at"] == z(60)


def test_server_status_for_unmanaged_and_never():
    s = server_status(server(user_options={}), now=at(5))
    assert not s["managed"] and s["stop_at"] is None and "no saturn_shutoff" in s["problem"]
    s = server_status(server(idle=None), now=at(5))
    assert s["managed"] and s["stop_at"] is None and s["seconds_left"] is None and not s["warn"]


def test_shutoff_round_trip_matches_what_spawners_store():
    stored = Shutoff("20s", 20, None, 10).to_user_options()
    d = decide(server(user_options=stored), 20)
    assert d.action == STOP and d.shutoff.choice == "20s"


# ------------------------------------------------------------ state beside user_options


def test_the_shutoff_is_read_from_the_state_beside_the_users_choice():
    legacy = server(idle=60)
    model = server(user_options={"size": "small"}, state={"pid": 7, "saturn_resolved": legacy["user_options"]})
    assert decide(model, 61).action == STOP and decide(model, 59).action == KEEP
    assert server_status(model, now=at(5))["stop_at"] == z(60)
    # the state wins over a legacy copy in user_options (a server started before the split, then restarted)
    both = server(idle=600, state={"saturn_resolved": legacy["user_options"]})
    assert decide(both, 61).action == STOP


def test_a_server_without_state_access_or_saturn_state_is_left_alone():
    model = server(user_options={"size": "small"})  # no "state": the culler's token lacks admin:server_state
    assert decide(model, 10**6).action == KEEP
    model = server(user_options={"size": "small"}, state={"pid": 7})
    assert decide(model, 10**6).action == KEEP
