"""The cgroup v2 limiter against a directory laid out like a delegated cgroupfs subtree."""

from pathlib import Path

from jupyterhub_saturn.spawners.cgroups import CgroupLimiter


def fake_cgroup(root: Path, controllers="cpu memory", subtree="cpu memory") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text(controllers)
    (root / "cgroup.subtree_control").write_text(subtree)
    (root / "cgroup.procs").write_text("")
    return root


def test_configured_parent_creates_limited_children(tmp_path):
    parent = fake_cgroup(tmp_path / "hub.service")
    limiter, why = CgroupLimiter.detect(str(parent))
    assert limiter is not None and "enforced" in why
    path = limiter.create("ann/gpu-box", memory=2 * 10**9, cpus=1.5)
    assert path.name == "saturn-ann_gpu-box"
    assert (path / "memory.max").read_text() == "2000000000"
    assert (path / "cpu.max").read_text() == "150000 100000"


def test_not_cgroup_v2_is_advisory(tmp_path):
    limiter, why = CgroupLimiter.detect(str(tmp_path / "nothing"))
    assert limiter is None and why.startswith("advisory")


def test_auto_detect_without_unified_hierarchy_is_advisory(tmp_path):
    limiter, why = CgroupLimiter.detect("", root=str(tmp_path), proc_self=str(tmp_path / "self"))
    assert limiter is None and "cgroup v2" in why


def test_auto_detect_uses_the_hubs_own_cgroup(tmp_path):
    root = fake_cgroup(tmp_path / "fs")
    own = fake_cgroup(root / "system.slice" / "jupyterhub.service")
    (tmp_path / "self").write_text("0::/system.slice/jupyterhub.service\n")
    limiter, why = CgroupLimiter.detect("", root=str(root), proc_self=str(tmp_path / "self"))
    assert limiter is not None and limiter.parent == own


def test_join_writes_the_calling_process(tmp_path):
    path = fake_cgroup(tmp_path / "child")
    CgroupLimiter.join(path)
    assert (path / "cgroup.procs").read_text() == "0"
