import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.policy.rate_limiter import RateLimiter

from ._strategies import SETTINGS


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_admits_limit_then_reports_exact_wait():
    limiter = RateLimiter(3, 60, clock=FakeClock())
    assert [limiter.acquire("a", now=t) for t in (0, 10, 20)] == [0.0, 0.0, 0.0]
    assert limiter.remaining("a", now=20) == 0
    assert limiter.acquire("a", now=30) == 30.0  # the event at 0 leaves the window at 60
    assert limiter.wait("a", now=59) == 1.0
    assert limiter.acquire("a", now=60) == 0.0  # window is (now - 60, now]
    assert limiter.acquire("a", now=61) == 9.0


def test_refusals_are_not_recorded():
    limiter = RateLimiter(1, 10, clock=FakeClock())
    assert limiter.acquire("a", now=0) == 0.0
    for t in range(1, 10):
        assert limiter.acquire("a", now=t) > 0
    assert limiter.acquire("a", now=10) == 0.0


def test_keys_are_independent():
    limiter = RateLimiter(1, 10, clock=FakeClock())
    assert limiter.acquire("a", now=0) == 0.0
    assert limiter.acquire("b", now=0) == 0.0
    assert limiter.acquire("a", now=1) == 9.0
    assert limiter.remaining("c", now=1) == 1 and limiter.wait("c", now=1) == 0.0


def test_uses_the_injected_clock_when_no_time_is_given():
    clock = FakeClock(100.0)
    limiter = RateLimiter(1, 10, clock=clock)
    assert limiter.acquire("a") == 0.0
    clock.t = 105.0
    assert limiter.acquire("a") == 5.0
    clock.t = 110.0
    assert limiter.acquire("a") == 0.0


def test_a_clock_stepping_back_is_treated_as_standing_still():
    limiter = RateLimiter(1, 10, clock=FakeClock())
    limiter.acquire("a", now=100)
    assert limiter.wait("a", now=50) == 10.0
    assert limiter.acquire("b", now=50) == 0.0  # recorded at 100, keeping the log ordered
    assert limiter.wait("b", now=105) == 5.0


def test_stale_keys_are_evicted():
    limiter = RateLimiter(2, 10, clock=FakeClock())
    for i in range(100):
        limiter.acquire(f"k{i}", now=i * 0.01)
    assert len(limiter) == 100
    limiter.wait("anything", now=20)
    assert len(limiter) == 0


def test_live_keys_bounded_by_max_keys_forgetting_the_oldest():
    limiter = RateLimiter(1, 1000, max_keys=3, clock=FakeClock())
    for i, key in enumerate("abcd"):
        assert limiter.acquire(key, now=i) == 0.0
    assert len(limiter) == 3
    assert limiter.acquire("a", now=5) == 0.0  # "a" was forgotten: a fresh allowance
    assert limiter.acquire("d", now=5) > 0


@pytest.mark.parametrize(
    "args, kwargs",
    [((0, 10), {}), ((True, 10), {}), ((1.5, 10), {}), ((1, 0), {}), ((1, -1), {}), ((1, float("inf")), {}),
     ((1, "1h"), {}), ((1, 10), {"max_keys": 0})],
)
def test_constructor_validation(args, kwargs):
    with pytest.raises(ValueError):
        RateLimiter(*args, **kwargs)


steps = st.lists(st.tuples(st.integers(0, 30), st.sampled_from("abc")), max_size=80)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 50), steps)
def test_never_more_than_limit_in_any_window(limit, window, steps):
    limiter = RateLimiter(limit, window, clock=FakeClock())
    now = 0
    admitted = {}
    for gap, key in steps:
        now += gap
        wait = limiter.acquire(key, now=now)
        if wait == 0.0:
            admitted.setdefault(key, []).append(now)
        else:
            assert 0 < wait <= window
    for times in admitted.values():
        for i, start in enumerate(times):
            # admitted events in the half-open window (start - window, start]
            assert len([t for t in times[: i + 1] if t > start - window]) <= limit


float_steps = st.lists(st.tuples(st.floats(0, 30, allow_nan=False), st.sampled_from("ab")), max_size=60)


@SETTINGS
@given(st.integers(1, 4), st.floats(0.001, 50, allow_nan=False), float_steps, st.floats(0, 1e9, allow_nan=False))
def test_refusal_waits_are_exact_with_float_clocks(limit, window, steps, origin):
    """Refused -> a positive wait, exact to the microsecond the limiter counts in."""
    limiter = RateLimiter(limit, window, clock=FakeClock())
    now = origin
    for gap, key in steps:
        now += gap
        wait = limiter.acquire(key, now=now)
        if wait > 0:
            assert wait <= window + 1e-6
            if wait > 3e-6:
                assert limiter.acquire(key, now=now + wait - 2e-6) > 0
            now += wait + 2e-6
            assert limiter.acquire(key, now=now) == 0.0


def test_float_rounding_regression():
    limiter = RateLimiter(1, 1.0, clock=FakeClock())
    a = 0.3533943235850724
    assert limiter.acquire("a", now=a) == 0.0
    assert limiter.acquire("a", now=a + 1.0) == 0.0  # exactly one window later: admitted
    assert limiter.acquire("a", now=a + 1.5) == 0.5


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 5), st.lists(st.tuples(st.floats(0, 5, allow_nan=False), st.integers(0, 50)), max_size=100))
def test_memory_stays_bounded(limit, max_keys, steps):
    limiter = RateLimiter(limit, 10, max_keys=max_keys, clock=FakeClock())
    now = 0.0
    for gap, key in steps:
        now += gap
        limiter.acquire(key, now=now)
        assert len(limiter) <= max_keys
        assert all(len(events) <= limit for events in limiter._events.values())
