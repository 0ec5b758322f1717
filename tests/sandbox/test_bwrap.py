"""The bwrap argument list: namespaces, binds, uid drop, and the hub's state kept out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.sandbox import SandboxSpec, bwrap_argv

CMD = ["/venv/bin/jupyterhub-singleuser", "--port=1234"]


def spec(**kw):
    base = dict(uid=200001, gid=200001, home="/srv/homes/ann", ro_paths=("/usr", "/venv"),
                symlinks=(("usr/bin", "/bin"),), forbidden=("/srv/hub", "/srv/homes"))
    base.update(kw)
    return SandboxSpec(**base)


def pairs(args, flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_namespaces_caps_and_uid_drop():
    args = bwrap_argv(spec(), CMD)
    sep = args.index("--")
    outer, inner = args[:sep], args[sep + 1:]
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session"):
        assert flag in outer
    assert "--die-with-parent" not in outer  # servers survive a hub restart
    assert pairs(outer, "--cap-drop") == ["ALL"]
    assert sorted(pairs(outer, "--cap-add")) == ["CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID"]
    # setpriv drops everything before the server command runs, then the server's uid enters its home
    assert inner[0].endswith("setpriv")
    rest = inner[inner.index("--") + 1:]
    for flag in ("--reuid=200001", "--regid=200001", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all"):
        assert flag in inner[:inner.index("--")]
    assert rest[:4] == ["/bin/sh", "-c", 'cd -- "$0" && exec "$@"', "/srv/homes/ann"]
    assert rest[4:] == CMD


def test_without_uid_drop_no_capability_is_kept():
    args = bwrap_argv(spec(drop_uid=False), CMD)
    assert "--cap-add" not in args and "setpriv" not in " ".join(args)
    assert pairs(args, "--chdir") == ["/srv/homes/ann"]
    assert args[args.index("--") + 1:] == CMD


def test_binds_system_read_only_home_read_write_and_private_tmp():
    args = bwrap_argv(spec(devices=("/dev/nvidia1",)), CMD)
    assert [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"] == ["/usr", "/venv"]
    assert pairs(args, "--bind") == ["/srv/homes/ann"]
    assert pairs(args, "--dev-bind") == ["/dev/nvidia1"]
    assert "/tmp" in pairs(args, "--tmpfs")
    assert pairs(args, "--proc") == ["/proc"] and pairs(args, "--dev") == ["/dev"]
    # the home's parents are created world-traversable (bwrap's own default is 0700)
    i = args.index("/srv/homes")
    assert args[i - 1] == "--dir" and args[i - 3:i - 1] == ["--perms", "0755"]


def test_tmp_is_mounted_before_a_home_inside_it():
    args = bwrap_argv(spec(home="/tmp/t/homes/ann", forbidden=()), CMD)
    assert args.index("/tmp") < args.index("--bind")


@pytest.mark.parametrize("ro", ["/srv", "/srv/hub", "/", "/srv/homes"])
def test_a_bind_exposing_the_hubs_state_is_refused(ro):
    with pytest.raises(ConfigError) as e:
        bwrap_argv(spec(ro_paths=("/usr", ro)), CMD)
    assert "hub's state" in e.value.text


def test_a_home_that_holds_the_hubs_state_is_refused():
    with pytest.raises(ConfigError):
        bwrap_argv(spec(home="/srv"), CMD)


@pytest.mark.parametrize("uid", [0, -1, True, "1000", None])
def test_root_or_bogus_uid_is_refused(uid):
    with pytest.raises(ConfigError):
        bwrap_argv(spec(uid=uid), CMD)


@pytest.mark.parametrize("path", ["usr", "/usr/../srv/hub", "/usr\0x", ""])
def test_relative_dotdot_and_nul_paths_are_refused(path):
    with pytest.raises(ConfigError):
        bwrap_argv(spec(ro_paths=(path,)), CMD)


@given(st.lists(st.sampled_from(["/usr", "/opt/a", "/opt/a/b", "/srv/homes/ann/x", "/venv", "/etc/ssl"]), max_size=6))
def test_every_bind_is_outside_the_forbidden_paths_and_home_is_last_writable(ros):
    args = bwrap_argv(spec(ro_paths=tuple(ros)), CMD)
    outer = args[:args.index("--")]
    mounted = pairs(outer, "--ro-bind") + pairs(outer, "--bind") + pairs(outer, "--dev-bind")
    for m in mounted:
        assert not any(f == m or f.startswith(m.rstrip("/") + "/") for f in ("/srv/hub", "/srv/homes"))
    assert pairs(outer, "--bind") == ["/srv/homes/ann"]
    # a read-only path inside the home is never bound over it
    assert "/srv/homes/ann/x" not in mounted


@pytest.mark.parametrize("value", ["/data", ["data"], ["/a/../b"], [1]])
def test_configured_paths_are_checked_naming_the_index(value):
    from jupyterhub_saturn.sandbox.bwrap import check_paths

    with pytest.raises(ConfigError) as e:
        check_paths(value, "SaturnLocalSpawner.sandbox_ro_paths")
    assert e.value.field.startswith("SaturnLocalSpawner.sandbox_ro_paths")
    assert check_paths(["/data/x/", "/opt"], "p") == ["/data/x", "/opt"]
