"""The test OIDC provider's start: a start that stalls is retried once, visibly; one that exits fails at once."""

from __future__ import annotations

import re
import time

import pytest
import requests

from .provider import OIDCProvider, ProviderStalled

pytestmark = pytest.mark.processes  # starts node (and stand-ins for a stuck one)


class StallsFirst(OIDCProvider):
    """A provider whose first process never answers (a stand-in that sleeps), as the one CI saw."""

    def __init__(self, *a, stand_ins: list[list[str]], **kw):
        super().__init__(*a, **kw)
        self.stand_ins = list(stand_ins)

    def command(self) -> list[str]:
        return self.stand_ins.pop(0) if self.stand_ins else super().command()


def test_a_stalled_start_is_described_killed_and_made_once_more(tmp_path):
    p = StallsFirst(tmp_path, stand_ins=[["sleep", "600"]])
    try:
        with pytest.warns(ProviderStalled) as caught:
            p.start(stall=1)
        r = requests.get(p.issuer + "/.well-known/openid-configuration", timeout=10)
        assert r.status_code == 200 and r.json()["issuer"] == p.issuer
    finally:
        p.stop()
    [warning] = [w for w in caught if w.category is ProviderStalled]
    text = str(warning.message)
    assert re.search(r"did not answer within \d+s", text), text
    assert "state S" in text and "started it once more" in text


def test_two_stalls_fail_naming_both(tmp_path):
    p = StallsFirst(tmp_path, stand_ins=[["sleep", "600"], ["sleep", "600"]])
    with pytest.warns(ProviderStalled), pytest.raises(RuntimeError, match="did not start, twice") as e:
        p.start(timeout=1, stall=1)
    assert "state S" in str(e.value)
    assert p.proc is None  # stopped, nothing left running


def test_a_provider_that_exits_fails_at_once_with_its_exit_code(tmp_path):
    p = StallsFirst(tmp_path, stand_ins=[["sh", "-c", "echo broken settings; exit 3"]])
    began = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited with 3:\nbroken settings"):
        p.start(timeout=120, stall=120)
    assert time.monotonic() - began < 60  # well before the 120 s a stall would take
    p.stop()
