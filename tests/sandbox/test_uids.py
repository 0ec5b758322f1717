"""Stable uids from a range, persisted, never 0 / the hub's / nobody; damaged maps stop the hub."""

from __future__ import annotations

import json
import os

import pytest

from jupyterhub_saturn.errors import ConfigError, SaturnError
from jupyterhub_saturn.sandbox import UidMap, parse_uid_range


def test_allocates_lowest_free_and_is_stable_across_restarts(tmp_path):
    f = tmp_path / "uids.json"
    m = UidMap(f, 5000, 5009)
    assert [m.uid_for(n) for n in ("ann", "bob", "ann")] == [5000, 5001, 5000]
    again = UidMap(f, 5000, 5009)  # a hub restart
    assert again.uid_for("bob") == 5001 and again.uid_for("cat") == 5002
    assert oct(os.stat(f).st_mode & 0o777) == "0o600"


def test_reserved_uids_are_skipped(tmp_path):
    m = UidMap(tmp_path / "u.json", 1, 3, reserved=(1, 2))
    assert m.uid_for("ann") == 3
    with pytest.raises(SaturnError) as e:
        m.uid_for("bob")
    assert e.value.status == 503 and "sandbox_uids" in e.value.text
    m2 = UidMap(tmp_path / "n.json", 65533, 65535)
    assert [m2.uid_for(n) for n in ("a", "b")] == [65533, 65535]


def test_release_gives_the_uid_back(tmp_path):
    m = UidMap(tmp_path / "u.json", 10, 11)
    m.uid_for("a"), m.uid_for("b")
    m.release("a")
    m.release("nobody-here")
    assert UidMap(tmp_path / "u.json", 10, 11).uid_for("c") == 10


def test_a_failed_write_allocates_nothing(tmp_path, monkeypatch):
    m = UidMap(tmp_path / "u.json", 10, 11)
    import jupyterhub_saturn.sandbox.uids as mod

    monkeypatch.setattr(mod, "atomic_write", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        m.uid_for("a")
    assert m.get("a") is None and len(m) == 0


@pytest.mark.parametrize("content", [b"{", b"[]", json.dumps({"version": 2, "uids": {}}).encode(),
                                     json.dumps({"version": 1, "uids": {"a": 10, "b": 10}}).encode(),
                                     json.dumps({"version": 1, "uids": {"a": 0}}).encode(),
                                     json.dumps({"version": 1, "uids": {"a": "10"}}).encode()])
def test_a_damaged_map_stops_the_hub(tmp_path, content):
    f = tmp_path / "u.json"
    f.write_bytes(content)
    with pytest.raises(ConfigError) as e:
        UidMap(f, 10, 20)
    assert e.value.field == "SaturnLocalSpawner.sandbox_uid_file"


@pytest.mark.parametrize("value", ["1-2", [1], [0, 5], [5, 4], [1, 2**32], [True, 5], [1.5, 3], None])
def test_bad_ranges_name_the_key(value):
    with pytest.raises(ConfigError) as e:
        parse_uid_range(value)
    assert e.value.field.startswith("SaturnLocalSpawner.sandbox_uids")


def test_a_range_of_only_reserved_uids_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        UidMap(tmp_path / "u.json", 65534, 65534)
