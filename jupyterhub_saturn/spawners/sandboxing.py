"""The bubblewrap sandbox of ``saturn-local`` servers: traits, start-up check, command wrapping.

A thin adapter over :mod:`jupyterhub_saturn.sandbox`: it gathers what the pure builder needs
(the server's uid from the persisted :class:`~jupyterhub_saturn.sandbox.UidMap` or the user's
account, its home, the Python prefixes it runs from, its GPU device nodes, the hub's state that
must stay out) and prefixes the server command with the ``bwrap`` argument list.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

from traitlets import Bool, List, Unicode, default
from traitlets.config import Configurable

from ..errors import ConfigError
from ..sandbox import SandboxSpec, UidMap, bwrap_argv, parse_uid_range, probe_argv
from ..sandbox.bwrap import SYSTEM_PATHS, check_paths

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
_MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


class SandboxMixin(Configurable):
    """Run each local server in a bubblewrap sandbox as an unprivileged uid of its own."""

    sandbox = Bool(
        True,
        config=True,
        help="""Run every server in a bubblewrap sandbox (Debian package `bubblewrap`): its own uid, pid/ipc/uts
        namespaces, read-only system, only its home and a private /tmp writable, no hub state mounted, no
        privilege gain, only its own GPU devices. False gives all of that up (see docs/sandbox.md); anonymous
        launches (SaturnGallery.anonymous) then refuse to start.""",
    )
    sandbox_uids = List(
        default_value=[200000, 299999],
        config=True,
        help="""[first, last] uids handed out, one per hub user, when `system_users` is False. Never 0, the hub's
        uid or nobody; kept across hub restarts in `sandbox_uid_file`.""",
    )
    sandbox_uid_file = Unicode(config=True, help="Where the user → uid map is kept. Default: ./saturn-uids.json.")

    @default("sandbox_uid_file")
    def _default_uid_file(self):
        return os.path.abspath("saturn-uids.json")

    sandbox_ro_paths = List(
        Unicode(),
        config=True,
        help="""Extra paths bound read-only into every sandbox (at the same path), e.g. a shared datasets
        directory. The system directories and the Python prefixes servers run from are always bound.""",
    )
    sandbox_bwrap = Unicode("bwrap", config=True, help="The bubblewrap command (a name on PATH or a path).")
    gpu_device_paths = List(
        Unicode(),
        default_value=["/dev/nvidia{id}"],
        config=True,
        help="Device nodes of one assigned GPU, with {id} expanded; bound into its server's sandbox when they exist.",
    )
    gpu_shared_device_paths = List(
        Unicode(),
        default_value=["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"],
        config=True,
        help="Device nodes every GPU server needs besides its GPUs; bound (when they exist) only into servers with a GPU.",
    )

    _uid_maps: dict = {}

    # ------------------------------------------------------------ identity

    def uid_map(self) -> UidMap:
        """The hub-wide uid map for the configured range and file (loaded once)."""
        first, last = parse_uid_range(self.sandbox_uids)
        key = (self.sandbox_uid_file, first, last)
        if key not in self._uid_maps:
            self._uid_maps[key] = UidMap(self.sandbox_uid_file, first, last, reserved=(os.geteuid(),))
        return self._uid_maps[key]

    def sandbox_identity(self) -> tuple[int, int]:
        """``(uid, gid)`` the server runs as: the user's account, or its uid from the map."""
        if self.system_users:
            import pwd

            pw = pwd.getpwnam(self.user.name)
            return pw.pw_uid, pw.pw_gid
        uid = self.uid_map().uid_for(self.user.name)
        return uid, uid

    # ------------------------------------------------------------ what the sandbox holds

    def sandbox_forbidden(self) -> list[str]:
        """The hub's state: never mounted into a sandbox (nor any directory holding it)."""
        paths = [os.getcwd(), self.sandbox_uid_file]
        if not self.system_users:
            paths.append(self.home_root)
        with contextlib.suppress(Exception):
            from jupyterhub.app import JupyterHub

            if JupyterHub.initialized():
                app = JupyterHub.instance()
                paths.append(app.cookie_secret_file)
                if app.db_url.startswith("sqlite:///"):
                    paths.append(app.db_url[len("sqlite:///"):])
        with contextlib.suppress(Exception):
            from ..settings import SaturnGallery

            paths.append(SaturnGallery(config=self.config).store_dir)
        return [os.path.abspath(p) for p in paths if p]

    def sandbox_ro_list(self) -> list[str]:
        """Everything bound read-only: system directories, Python prefixes, the package, extras."""
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        exe = shutil.which(self.cmd[0]) if self.cmd else None
        if exe:  # <prefix>/bin/jupyterhub-singleuser (not resolved: a venv's bin links into the base Python)
            prefixes.add(str(Path(os.path.abspath(exe)).parent.parent))
        sel = getattr(self, "saturn_selection", None)
        if sel is not None and sel.image.prefix:
            prefixes.add(os.path.abspath(sel.image.prefix))
        paths = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
        paths += sorted(os.path.realpath(p) for p in prefixes)
        paths += [PACKAGE_DIR] + list(self.sandbox_ro_paths)
        return [p for p in paths if os.path.exists(p)]

    def sandbox_devices(self) -> list[str]:
        """Device nodes of this server's assigned GPUs (those that exist on this machine)."""
        assigned = list(getattr(self, "_gpu_assigned", []) or [])
        paths = [t.format(id=d) for d in assigned for t in self.gpu_device_paths]
        if assigned:
            paths += list(self.gpu_shared_device_paths)
        return [p for p in paths if os.path.exists(p)]

    def sandbox_spec(self, uid: int, gid: int, home: str) -> SandboxSpec:
        """The pure description of this server's sandbox."""
        symlinks = tuple((os.readlink(p), p) for p in _MERGED_USR if os.path.islink(p))
        return SandboxSpec(
            uid=uid, gid=gid, home=home, ro_paths=tuple(self.sandbox_ro_list()),
            devices=tuple(self.sandbox_devices()), symlinks=symlinks,
            forbidden=tuple(self.sandbox_forbidden()), drop_uid=os.geteuid() == 0,
            bwrap=shutil.which(self.sandbox_bwrap) or self.sandbox_bwrap,
            setpriv=shutil.which("setpriv") or "/usr/bin/setpriv",
        )

    @contextlib.contextmanager
    def sandboxed_cmd(self, uid: int, gid: int, home: str):
        """While active, ``self.cmd`` is the server command prefixed with the bwrap argument list."""
        original = list(self.cmd)
        self.cmd = bwrap_argv(self.sandbox_spec(uid, gid, home), original)
        try:
            yield
        finally:
            self.cmd = original

    # ------------------------------------------------------------ stopping

    def sandbox_init_pid(self) -> int | None:
        """The sandbox's pid 1 (bubblewrap's init, child of the recorded bwrap pid), if running.

        Only while the recorded pid is still this server's bubblewrap: once the server has exited, the
        kernel may give its pid to any other process, whose children must never be signalled."""
        if not self.pid or not is_sandbox_of(self.pid, self.home):
            return None
        kids = _children(self.pid)
        return kids[0] if kids and _is_bwrap(kids[0]) else None

    async def stop_sandboxed(self, stop, now: bool = False) -> None:
        """Stop a sandboxed server: SIGTERM to the server inside (graceful), then ``stop`` (which
        signals bubblewrap), then SIGKILL to the sandbox's pid 1, which ends everything inside it."""
        init = self.sandbox_init_pid()
        if init is not None and not now:
            for pid in _children(init):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.interrupt_timeout + self.term_timeout
            while os.path.exists(f"/proc/{init}") and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        try:
            await stop(now=now)
        finally:
            if init is not None and _is_bwrap(init):
                with contextlib.suppress(OSError):
                    os.kill(init, signal.SIGKILL)

    # ------------------------------------------------------------ start-up

    @classmethod
    def check_sandbox(cls, probe, config) -> None:
        """Start-up: refuse a sandbox that cannot work, and anonymous launches without one."""
        if not probe.sandbox:
            from ..settings import SaturnGallery

            if SaturnGallery(config=config).anonymous:
                raise ConfigError(
                    "SaturnLocalSpawner.sandbox",
                    "is False, but SaturnGallery.anonymous is True: strangers' code would run unconfined as "
                    f"uid {os.geteuid()}; turn the sandbox on (Debian package bubblewrap) or set "
                    "SaturnGallery.anonymous = False",
                )
            return
        first, last = parse_uid_range(probe.sandbox_uids)
        check_paths(probe.sandbox_ro_paths, "SaturnLocalSpawner.sandbox_ro_paths")
        compile_package()
        if not probe.system_users and os.geteuid() != 0:
            raise ConfigError(
                "SaturnLocalSpawner.sandbox",
                "needs a hub running as root to give each server its own uid (or system_users = True)",
            )
        if shutil.which(probe.sandbox_bwrap) is None:
            raise ConfigError(
                "SaturnLocalSpawner.sandbox",
                f"is on, but {probe.sandbox_bwrap!r} is not installed: install the Debian package bubblewrap "
                "(apt-get install bubblewrap), or turn the sandbox off (see docs/sandbox.md)",
            )
        probe.uid_map()  # a damaged map stops the hub here
        tmp = Path(probe.sandbox_uid_file).parent / ".saturn-sandbox-probe"
        tmp.mkdir(parents=True, exist_ok=True)
        spec = SandboxSpec(
            uid=last, gid=last, home=str(tmp), ro_paths=tuple(p for p in SYSTEM_PATHS if os.path.exists(p)),
            symlinks=tuple((os.readlink(p), p) for p in _MERGED_USR if os.path.islink(p)),
            drop_uid=os.geteuid() == 0, bwrap=shutil.which(probe.sandbox_bwrap),
            setpriv=shutil.which("setpriv") or "/usr/bin/setpriv",
        )
        try:
            result = subprocess.run(probe_argv(spec), capture_output=True, text=True, timeout=30)
        except OSError as e:
            result = subprocess.CompletedProcess([], 1, "", str(e))
        finally:
            with contextlib.suppress(OSError):
                tmp.rmdir()
        if result.returncode != 0:
            raise ConfigError(
                "SaturnLocalSpawner.sandbox",
                f"is on, but bubblewrap cannot create the sandbox's namespaces here: {result.stderr.strip()[:300]} "
                "(install the Debian package bubblewrap; in a container allow namespaces, or turn the sandbox off)",
            )


def compile_package() -> None:
    """Write the bytecode of this package's modules (the watchdog's among them) where it is missing.

    The package is bound read-only into every sandbox, and a sandboxed uid could not write there
    anyway: without this, a package installed without bytecode (an editable install, or
    ``PYTHONDONTWRITEBYTECODE`` at install) would be compiled again at every server start. The hub
    writes it once at start-up, where it may (a no-op when pip already did); failures are ignored.
    """
    import compileall

    with contextlib.suppress(Exception):
        compileall.compile_dir(PACKAGE_DIR, quiet=2, workers=1)


def _children(pid: int) -> list[int]:
    """Child pids of ``pid`` (from /proc; empty if it is gone)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []
    return out


def _bwrap_argv(pid: int) -> list[bytes]:
    """The argument list of ``pid`` if it is bubblewrap, else ``[]``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return []
    return argv if os.path.basename(argv[0]) == b"bwrap" else []


def is_sandbox_of(pid: int, home: str) -> bool:
    """Whether ``pid`` is a bubblewrap sandbox whose argument list binds ``home`` (a pid reused by another
    process, or another user's sandbox, is not)."""
    return os.fsencode(str(PurePosixPath(home))) in _bwrap_argv(pid)


def _is_bwrap(pid: int) -> bool:
    return bool(_bwrap_argv(pid))
