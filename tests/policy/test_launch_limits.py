import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError, InvalidChoice, LimitReached
from jupyterhub_saturn.policy.launch_limits import Admission, LaunchGate, LaunchLimits

from ._strategies import SETTINGS, json_values

P = "Saturn.launch_limits"


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


def gate(clock=None, **config):
    return LaunchGate(LaunchLimits.from_config(config), clock=clock or FakeClock())


def admit(g, ip="1.2.3.4", notebook="nb", total=0, per_notebook=0, **kw):
    return g.admit(ip, notebook, running_total=total, running_for_notebook=per_notebook, **kw)


def test_defaults():
    limits = LaunchLimits.from_config(None)
    assert limits == LaunchLimits.from_config({})
    assert (limits.max_throwaway_servers, limits.max_per_notebook) == (20, 10)
    assert (limits.rate_launches, limits.rate_window) == (10, 3600)
    assert limits.trusted_proxies == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
    assert (limits.max_tracked_clients, limits.capacity_retry_after) == (10_000, 60)


def test_full_config():
    limits = LaunchLimits.from_config(
        {"max_throwaway_servers": 100, "max_per_notebook": 0, "rate": {"launches": 3, "per": "10m"},
         "trusted_proxies": ["10.0.0.0/8"], "max_tracked_clients": 5, "capacity_retry_after": "2m"}
    )
    assert limits == LaunchLimits(100, 0, 3, 600, (ipaddress.ip_network("10.0.0.0/8"),), 5, 120)


def test_partial_rate_keeps_defaults():
    assert LaunchLimits.from_config({"rate": {"per": "1d"}}).rate_launches == 10
    assert LaunchLimits.from_config({"rate": {"launches": 2, "per": None}}).rate_window == 3600


@pytest.mark.parametrize(
    "data, path, fragment",
    [
        ("x", P, "expected a mapping"),
        ({"max_servers": 3}, f"{P}.max_servers", "unknown key"),
        ({"max_throwaway_servers": -1}, f"{P}.max_throwaway_servers", "whole number >= 0"),
        ({"max_throwaway_servers": "10"}, f"{P}.max_throwaway_servers", "got '10'"),
        ({"max_per_notebook": True}, f"{P}.max_per_notebook", "whole number"),
        ({"max_per_notebook": 2.0}, f"{P}.max_per_notebook", "whole number"),
        ({"rate": "10/h"}, f"{P}.rate", "expected a mapping"),
        ({"rate": {"launches": 10, "window": "1h"}}, f"{P}.rate.window", "unknown key"),
        ({"rate": {"launches": 0}}, f"{P}.rate.launches", "whole number >= 1"),
        ({"rate": {"per": "hourly"}}, f"{P}.rate.per", "not a duration"),
        ({"trusted_proxies": "10.0.0.0/8"}, f"{P}.trusted_proxies", "list of CIDRs"),
        ({"trusted_proxies": ["10.0.0.0/33"]}, f"{P}.trusted_proxies[0]", "not a CIDR"),
        ({"max_tracked_clients": 0}, f"{P}.max_tracked_clients", ">= 1"),
        ({"capacity_retry_after": 0}, f"{P}.capacity_retry_after", "too short"),
    ],
)
def test_config_errors_name_the_key_path(data, path, fragment):
    with pytest.raises(ConfigError) as caught:
        LaunchLimits.from_config(data)
    assert caught.value.field == path
    assert fragment in caught.value.text


def test_admits_until_the_rate_is_used_then_429_with_exact_retry_after():
    clock = FakeClock(1000.0)
    g = gate(clock, rate={"launches": 2, "per": "1h"})
    assert admit(g) == Admission("1.2.3.4", 1)
    clock.t = 1100.0
    assert admit(g) == Admission("1.2.3.4", 0)
    clock.t = 1300.0
    with pytest.raises(LimitReached) as caught:
        admit(g)
    error = caught.value
    assert (error.status, error.field, error.retry_after) == (429, "rate", 3300)
    assert error.message == "launch rate limit reached: at most 2 launches per 1h from one address; try again in 55m"
    clock.t = 1000.0 + 3600
    assert admit(g).remaining == 0  # the first launch has left the window


def test_retry_after_rounds_up_and_is_at_least_one():
    g = gate(rate={"launches": 1, "per": "1m"})
    admit(g, now=0)
    with pytest.raises(LimitReached) as caught:
        admit(g, now=10.5)
    assert caught.value.retry_after == 50
    assert caught.value.message.startswith("launch rate limit reached: at most 1 launch per 1m")
    with pytest.raises(LimitReached) as caught:
        admit(g, now=59.7)
    assert caught.value.retry_after == 1


def test_per_notebook_limit_is_429():
    g = gate(max_per_notebook=3)
    with pytest.raises(LimitReached) as caught:
        admit(g, per_notebook=3, notebook_free_in=125.2)
    error = caught.value
    assert (error.status, error.field, error.retry_after) == (429, "max_per_notebook", 126)
    assert "this notebook already has 3 running copies (max_per_notebook is 3)" in error.message


def test_global_capacity_is_503_with_fallback_retry_after():
    g = gate(max_throwaway_servers=5, capacity_retry_after="90s")
    with pytest.raises(LimitReached) as caught:
        admit(g, total=5)
    error = caught.value
    assert (error.status, error.field, error.retry_after) == (503, "max_throwaway_servers", 90)
    assert error.message == "all 5 throwaway servers are in use (max_throwaway_servers is 5); try again in 1m30s"
    assert error.to_json()["retry_after"] == 90


@pytest.mark.parametrize("free_in", [None, float("nan"), float("inf"), True, "soon"])
def test_unusable_free_in_hints_fall_back_to_config(free_in):
    g = gate(max_throwaway_servers=0)
    with pytest.raises(LimitReached) as caught:
        admit(g, capacity_free_in=free_in)
    assert caught.value.retry_after == 60


def test_zero_capacity_turns_launches_off():
    g = gate(max_throwaway_servers=0)
    for _ in range(3):
        with pytest.raises(LimitReached):
            admit(g)


def test_the_longest_wait_is_reported():
    g = gate(max_throwaway_servers=1, rate={"launches": 1, "per": "1h"})
    admit(g, now=0)
    with pytest.raises(LimitReached) as caught:
        admit(g, total=1, now=10, capacity_free_in=30)
    assert (caught.value.field, caught.value.retry_after) == ("rate", 3590)
    with pytest.raises(LimitReached) as caught:
        admit(g, total=1, now=10, capacity_free_in=7200)
    assert (caught.value.status, caught.value.retry_after) == (503, 7200)


def test_refused_launches_do_not_use_up_the_rate():
    g = gate(max_throwaway_servers=1, rate={"launches": 1, "per": "1h"})
    for t in range(5):
        with pytest.raises(LimitReached) as caught:
            admit(g, total=1, now=t)
        assert caught.value.status == 503
    assert admit(g, total=0, now=6).remaining == 0


def test_clients_are_counted_separately_and_ipv6_by_64():
    g = gate(rate={"launches": 1, "per": "1h"})
    admit(g, ip="1.1.1.1", now=0)
    admit(g, ip="2.2.2.2", now=0)
    assert admit(g, ip="2001:db8:1::1", now=0).key == "2001:db8:1::/64"
    with pytest.raises(LimitReached):
        admit(g, ip="2001:db8:1::2", now=1)
    with pytest.raises(LimitReached):
        admit(g, ip="1.1.1.1", now=1)


def test_missing_client_ip_shares_one_bucket():
    g = gate(rate={"launches": 1, "per": "1h"})
    assert admit(g, ip="", now=0).key == "unknown"
    with pytest.raises(LimitReached):
        admit(g, ip=None, now=1)


def test_client_ip_uses_configured_trusted_proxies():
    g = gate(trusted_proxies=["10.0.0.0/8"])
    assert g.client_ip("10.0.0.3", "5.6.7.8, 10.0.0.2") == "5.6.7.8"
    assert g.client_ip("9.9.9.9", "5.6.7.8") == "9.9.9.9"


@pytest.mark.parametrize("notebook", ["", None, 5, "x" * 257])
def test_bad_notebook_id_is_400(notebook):
    with pytest.raises(InvalidChoice) as caught:
        admit(gate(), notebook=notebook)
    assert (caught.value.status, caught.value.field) == (400, "notebook")


@pytest.mark.parametrize("total, per_notebook", [(-1, 0), (0, -1), (1.0, 0), (True, 0), (0, None)])
def test_bad_counts_are_programming_errors(total, per_notebook):
    with pytest.raises(ValueError):
        admit(gate(), total=total, per_notebook=per_notebook)


@SETTINGS
@given(json_values)
def test_arbitrary_config_parses_or_raises_config_error(data):
    try:
        LaunchLimits.from_config(data)
    except ConfigError as error:
        assert error.field.startswith(P)


@SETTINGS
@given(
    st.integers(1, 5),
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["1.1.1.1", "2.2.2.2"]), st.integers(0, 6)), max_size=60),
)
def test_gate_never_exceeds_any_limit(launches, steps):
    g = gate(max_throwaway_servers=5, max_per_notebook=3, rate={"launches": launches, "per": "10m"})
    now, admitted = 0, {}
    for gap, ip, running in steps:
        now += gap
        try:
            admit(g, ip=ip, total=running, per_notebook=running // 2, now=now)
        except LimitReached as error:
            assert error.status in (429, 503) and error.retry_after >= 1
        else:
            assert running < 5 and running // 2 < 3
            admitted.setdefault(ip, []).append(now)
    for times in admitted.values():
        for i, start in enumerate(times):
            assert len([t for t in times[: i + 1] if t > start - 600]) <= launches


# ------------------------------------------------------------------ reservations (atomic check-and-reserve)


def test_reservations_count_against_both_caps_until_released():
    g = LaunchGate(LaunchLimits.from_config({"max_per_notebook": 2, "max_throwaway_servers": 3,
                                             "rate": {"launches": 100, "per": "1h"}}))
    a = g.reserve("1.1.1.1", "nb", running_total=0, running_for_notebook=0)
    b = g.reserve("1.1.1.2", "nb", running_total=0, running_for_notebook=0)
    with pytest.raises(LimitReached) as e:
        g.reserve("1.1.1.3", "nb", running_total=0, running_for_notebook=0)
    assert e.value.field == "max_per_notebook" and e.value.status == 429 and e.value.retry_after >= 1
    c = g.reserve("1.1.1.3", "other", running_total=0, running_for_notebook=0)
    with pytest.raises(LimitReached) as e:
        g.reserve("1.1.1.4", "third", running_total=0, running_for_notebook=0)
    assert e.value.field == "max_throwaway_servers" and e.value.status == 503
    g.hold(a.ticket, "anon~1")
    assert g.holders() == {"anon~1"} and g.reserved() == 3
    g.release(a.ticket)
    g.release(a.ticket)  # twice is harmless
    g.release("no-such-ticket")
    assert g.reserved() == 2
    assert g.reserve("1.1.1.5", "nb", running_total=0, running_for_notebook=0).ticket not in {a.ticket, b.ticket, c.ticket}


def test_n_interleaved_reservations_never_exceed_the_cap():
    """30 launches of one notebook, each reserving before any server exists: exactly the cap is admitted."""
    g = LaunchGate(LaunchLimits.from_config({"max_per_notebook": 5, "max_throwaway_servers": 100,
                                             "rate": {"launches": 1000, "per": "1h"}}))
    admitted = refused = 0
    for i in range(30):
        try:
            g.reserve(f"10.0.0.{i}", "nb", running_total=0, running_for_notebook=0)
            admitted += 1
        except LimitReached:
            refused += 1
    assert (admitted, refused) == (5, 25)


def test_a_refused_reservation_reserves_nothing_and_bad_counts_are_errors():
    g = LaunchGate(LaunchLimits.from_config({"max_per_notebook": 1}))
    with pytest.raises(LimitReached):
        g.reserve("1.1.1.1", "nb", running_total=0, running_for_notebook=1)
    assert g.reserved() == 0
    for bad in (-1, True, 1.5, None):
        with pytest.raises(ValueError):
            g.reserve("1.1.1.1", "nb", running_total=bad, running_for_notebook=0)
    assert g.reserved() == 0
