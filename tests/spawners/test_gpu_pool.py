import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError, LimitReached
from jupyterhub_saturn.spawners.gpu_pool import GpuPool, detect_devices
from ..property_budget import examples


def test_claims_are_exclusive_and_released():
    pool = GpuPool({"t4": ["0", "1"], "a100": ["2", "3"]})
    assert pool.claim("ann", "t4", 1) == ["0"]
    assert pool.claim("bob", "t4", 1) == ["1"]
    with pytest.raises(LimitReached) as e:
        pool.claim("cat", "t4", 1)
    assert e.value.status == 503 and e.value.field == "gpu" and "2 of 2 in use" in e.value.text
    assert pool.release("ann") == ["0"]
    assert pool.claim("cat", "t4", 1) == ["0"]
    assert pool.claim("dan", "a100", 2) == ["2", "3"]


def test_claim_is_idempotent_and_switching_type_releases_old():
    pool = GpuPool({"t4": ["0", "1"], "a100": ["2"]})
    assert pool.claim("ann", "t4", 1) == ["0"]
    assert pool.claim("ann", "t4", 1) == ["0"]
    assert pool.claim("ann", "a100", 1) == ["2"]
    assert pool.free("t4") == ["0", "1"]


def test_type_without_devices_says_so():
    pool = GpuPool({"t4": ["0"]})
    with pytest.raises(LimitReached) as e:
        pool.claim("ann", "a100", 1)
    assert "no a100 GPUs configured or detected" in e.value.text


def test_restore_after_restart_and_conflicts():
    pool = GpuPool({"t4": ["0", "1"]})
    assert pool.restore("ann", ["1"]) == []
    assert pool.claim("bob", "t4", 1) == ["0"]
    assert pool.restore("cat", ["1", "9"]) == ["1", "9"]  # held by ann / unknown
    with pytest.raises(LimitReached):
        pool.claim("dan", "t4", 1)


def test_a_device_belongs_to_one_type():
    with pytest.raises(ConfigError) as e:
        GpuPool({"t4": ["0"], "a100": ["0"]})
    assert e.value.field == "SaturnLocalSpawner.gpu_devices.a100"


@settings(max_examples=examples(200), deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["claim", "release"]), st.sampled_from("abcdef"),
                              st.sampled_from(["t4", "a100"]), st.integers(1, 2)), max_size=40))
def test_never_two_holders(ops):
    pool = GpuPool({"t4": ["0", "1", "2"], "a100": ["3", "4"]})
    held: dict[str, list] = {}
    for op, owner, kind, count in ops:
        if op == "claim":
            try:
                held[owner] = pool.claim(owner, kind, count)
            except LimitReached:
                held.pop(owner, None)
        else:
            pool.release(owner)
            held.pop(owner, None)
        all_devices = [d for devs in held.values() for d in devs]
        assert len(all_devices) == len(set(all_devices))
        for owner_, devs in held.items():
            assert sorted(pool.held_by(owner_)) == sorted(devs)


@pytest.mark.processes  # runs the program
def test_detect_devices_with_a_real_nvidia_smi_program(tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\necho '0, Tesla T4'\necho '1, NVIDIA A100-SXM4-40GB'\necho '2, Tesla T4'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert detect_devices({"t4": "T4", "a100": "A100"}) == {"t4": ["0", "2"], "a100": ["1"]}


def test_detect_devices_without_nvidia_smi(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_devices({"t4": "T4"}) == {}
