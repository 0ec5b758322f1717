"""Which open websockets lose their access: the pure rules, on a controlled clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.singleuser.connections import ALLOWED, REFUSED, UNKNOWN, Watch, check_every


def test_check_every_is_half_the_login_cache_at_least_a_second():
    assert check_every(30) == 15 and check_every(2) == 1 and check_every(1) == 1 and check_every(300) == 150
    for bad in (0, -1):
        with pytest.raises(ValueError, match="revoke_within"):
            check_every(bad)
    with pytest.raises(ValueError, match="every"):
        Watch(0)
    assert Watch(every=15).tick == 7.5


@given(st.floats(0.1, 100), st.floats(0, 100), st.floats(0, 1))
def test_looking_every_tick_asks_again_within_one_and_a_half_intervals(every, opened, phase):
    """Whenever the ticks fall, a credential is due at a tick between every and 1.5 * every after it was
    confirmed (the bound that makes a revoke reach open websockets within revoke_within)."""
    w = Watch(every)
    w.opened("c", "tok", now=opened)
    tick = opened + phase * w.tick
    while not w.due(tick):
        tick += w.tick
    assert every <= tick - opened <= 1.5 * every + 1e-9


def test_a_credential_is_due_every_interval_after_its_last_confirmation():
    w = Watch(every=10)
    w.opened("ws1", "tok-guest", now=100)
    w.opened("ws2", "tok-guest", now=105)  # a second tab of the same login: asked once
    w.opened("ws3", "tok-owner", now=104)
    assert w.due(109.9) == []
    assert w.due(110) == ["tok-guest"]
    assert sorted(w.due(114)) == ["tok-guest", "tok-owner"]
    assert w.answer("tok-guest", ALLOWED, now=114) == []
    assert w.due(114) == ["tok-owner"] and w.due(123.9) == ["tok-owner"]
    assert sorted(w.due(124)) == ["tok-guest", "tok-owner"]


def test_refused_closes_every_connection_of_that_login_and_only_those():
    w = Watch(every=5)
    for conn, tok in (("a1", "guest"), ("a2", "guest"), ("o1", "owner")):
        w.opened(conn, tok, now=0)
    assert w.answer("owner", ALLOWED, now=5) == []
    assert w.answer("guest", REFUSED, now=5) == ["a1", "a2"]
    assert len(w) == 1 and w.connections("guest") == [] and w.connections("owner") == ["o1"]
    assert w.due(100) == ["owner"]


def test_no_answer_keeps_connections_and_asks_again_next_time():
    w = Watch(every=5)
    w.opened("a", "guest", now=0)
    assert w.answer("guest", UNKNOWN, now=5) == []
    assert w.due(5.1) == ["guest"]  # still due: not confirmed
    assert w.answer("guest", REFUSED, now=10) == ["a"]


def test_closed_connections_are_forgotten_and_late_answers_are_harmless():
    w = Watch(every=5)
    w.opened("a", "guest", now=0)
    w.closed("a")
    w.closed("a")
    w.closed("never-opened")
    assert len(w) == 0 and w.due(100) == []
    assert w.answer("guest", REFUSED, now=100) == []  # the answer came after the tab closed
    with pytest.raises(ValueError, match="verdict"):
        w.answer("guest", "maybe", now=1)


def test_reopening_a_connection_id_with_another_login_moves_it():
    w = Watch(every=5)
    w.opened("a", "t1", now=0)
    w.opened("a", "t2", now=1)
    assert w.connections("t1") == [] and w.connections("t2") == ["a"] and len(w) == 1


@given(st.lists(st.tuples(st.sampled_from(["open", "close", "allow", "refuse", "unknown"]),
                          st.integers(0, 5), st.integers(0, 2)), max_size=60))
def test_every_open_connection_is_either_tracked_or_returned_for_closing(steps):
    """Whatever happens, a connection is closed at most once, and only when its own login was refused."""
    w, now, open_, login_of, closed = Watch(every=1), 0.0, set(), {}, []
    for action, conn, tok in steps:
        now += 0.5
        if action == "open":
            w.opened(conn, tok, now)
            open_.add(conn)
            login_of[conn] = tok
        elif action == "close":
            w.closed(conn)
            open_.discard(conn)
        else:
            verdict = {"allow": ALLOWED, "refuse": REFUSED, "unknown": UNKNOWN}[action]
            doomed = w.answer(tok, verdict, now)
            assert verdict == REFUSED or doomed == []
            assert all(login_of[c] == tok and c in open_ for c in doomed)
            open_ -= set(doomed)
            closed += doomed
        assert len(w) == len(open_)
