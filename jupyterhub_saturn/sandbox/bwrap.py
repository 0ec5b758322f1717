"""Build the ``bwrap`` command line of a sandboxed server from a plain description.

The sandbox a server gets: its own mount, pid, ipc and uts namespaces; a root made of
read-only binds of the system and Python directories it needs; its home read-write; a
private ``/tmp``; a minimal ``/dev`` plus only the device nodes it was given; a fresh
``/proc`` showing only its own processes. Everything else -- the hub's database and cookie
secret, the gallery store, other users' homes -- is simply not there.

When the hub is root, bubblewrap runs privileged (it may bind paths only root can reach) and
the server drops to its own uid inside, through ``setpriv``: real/effective/saved uid and gid
set, supplementary groups cleared, no_new_privs set, inheritable and bounding capability sets
emptied. bubblewrap keeps only the three capabilities ``setpriv`` needs for that step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..errors import ConfigError

#: Directories that make up the read-only system inside the sandbox (those that exist).
SYSTEM_PATHS = ("/usr", "/opt", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",
                "/etc/mime.types", "/etc/fonts", "/etc/passwd", "/etc/group", "/etc/matplotlibrc",
                "/etc/jupyter", "/etc/ipython", "/etc/pki")
#: Capabilities bubblewrap keeps so that ``setpriv`` can drop to the server's uid (then none are left).
DROP_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
#: The shell that changes into the home once the uid is dropped.
CD_SHELL = "/bin/sh"


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandboxed server may see and who it runs as.

    ``uid``/``gid``: the server's identity (never 0). ``home``: bound read-write at the same
    path, the working directory. ``ro_paths``: bound read-only at the same path. ``devices``:
    device nodes bound at the same path. ``symlinks``: ``(target, link)`` pairs such as
    ``("usr/bin", "/bin")`` for merged-/usr systems. ``forbidden``: paths that must never be
    visible; a bind of one of them, or of a directory holding one, is refused.
    ``drop_uid``: drop to ``uid`` inside with ``setpriv`` (the hub is root); False when the
    caller already runs as ``uid`` (bubblewrap then uses an unprivileged user namespace).
    """

    uid: int
    gid: int
    home: str
    ro_paths: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    forbidden: tuple[str, ...] = ()
    drop_uid: bool = True
    bwrap: str = "bwrap"
    setpriv: str = "/usr/bin/setpriv"
    extra_args: tuple[str, ...] = field(default=())


def _clean(path: str, what: str) -> PurePosixPath:
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise ConfigError(what, f"{path!r} is not an absolute path")
    parts = PurePosixPath(path).parts
    if ".." in parts:
        raise ConfigError(what, f"{path!r} must not contain '..'")
    return PurePosixPath(*parts)


def check_paths(paths: object, what: str) -> list[str]:
    """Validate a config list of absolute paths (no ``..``); ``ConfigError`` naming ``what[i]``."""
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)):
        raise ConfigError(what, "expected a list of absolute paths")
    return [str(_clean(p, f"{what}[{i}]")) for i, p in enumerate(paths)]


def _contains(outer: PurePosixPath, inner: PurePosixPath) -> bool:
    return inner == outer or outer in inner.parents


def _parents(path: PurePosixPath) -> list[str]:
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


def bwrap_argv(spec: SandboxSpec, command: list[str]) -> list[str]:
    """The full argument list: ``bwrap … -- [setpriv …] command``.

    Raises :class:`ConfigError` for a uid of 0, a relative path, or a bind that would expose a
    ``forbidden`` path (the hub's state) inside the sandbox.
    """
    if isinstance(spec.uid, bool) or not isinstance(spec.uid, int) or spec.uid <= 0:
        raise ConfigError("SaturnLocalSpawner.sandbox_uids", f"a sandboxed server never runs as uid {spec.uid!r}")
    if isinstance(spec.gid, bool) or not isinstance(spec.gid, int) or spec.gid <= 0:
        raise ConfigError("SaturnLocalSpawner.sandbox_uids", f"a sandboxed server never runs as gid {spec.gid!r}")
    if not command:
        raise ValueError("no command to run in the sandbox")
    home = _clean(spec.home, "SaturnLocalSpawner.home_root")
    forbidden = [_clean(p, "forbidden") for p in spec.forbidden]
    binds: list[tuple[str, PurePosixPath]] = []
    seen: set[PurePosixPath] = set()
    for kind, paths in (("--ro-bind", spec.ro_paths), ("--dev-bind", spec.devices)):
        for raw in paths:
            path = _clean(raw, "SaturnLocalSpawner.sandbox_ro_paths")
            if path in seen or _contains(home, path):  # already bound, or inside the home (the user's own)
                continue
            seen.add(path)
            binds.append((kind, path))
    binds.append(("--bind", home))
    for kind, path in binds:
        for bad in forbidden:
            if _contains(path, bad):
                raise ConfigError(
                    "SaturnLocalSpawner.sandbox_ro_paths",
                    f"{path} would expose {bad} (the hub's state) inside the sandbox",
                )

    # no --die-with-parent: servers outlive a hub restart (the spawner stops a sandbox itself)
    args = [spec.bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--new-session", "--cap-drop", "ALL"]
    if spec.drop_uid:
        for cap in DROP_CAPS:
            args += ["--cap-add", cap]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
             "--tmpfs", "/run", "--dir", "/run/user"]
    for target, link in spec.symlinks:
        args += ["--symlink", target, str(_clean(link, "symlinks"))]
    made: set[str] = {"/proc", "/dev", "/tmp", "/var", "/var/tmp", "/run"}
    # shallow binds first, so a deeper one (a prefix inside /usr, a home inside /tmp) lands on top
    for kind, path in sorted(binds, key=lambda b: (len(b[1].parts), str(b[1]))):
        for parent in _parents(path):
            if parent not in made and not any(_contains(p, PurePosixPath(parent)) for _, p in binds if p != path):
                args += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        args += [kind, str(path), str(path)]
    if not spec.drop_uid:
        return args + ["--chdir", str(home), *spec.extra_args, "--", *command]
    # bubblewrap keeps no DAC capability, so it cannot enter the 0700 home: the server's uid does
    args += ["--chdir", "/", *spec.extra_args, "--"]
    args += [spec.setpriv, f"--reuid={spec.uid}", f"--regid={spec.gid}", "--clear-groups",
             "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    return args + [CD_SHELL, "-c", 'cd -- "$0" && exec "$@"', str(home), *command]


def probe_argv(spec: SandboxSpec) -> list[str]:
    """A command that succeeds only if this sandbox can be created and entered (start-up check)."""
    return bwrap_argv(spec, ["/bin/sh", "-c", "exit 0"])
