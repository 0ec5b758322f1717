"""``saturn-local``: profiles for single-user servers run as local processes.

Size → ``MEM_LIMIT``/``CPU_LIMIT`` (as jupyter-resource-usage reads them), enforced with
cgroup v2 where the hub has a delegated cgroup, advisory otherwise. GPU → exclusive
devices from a :class:`~jupyterhub_saturn.spawners.gpu_pool.GpuPool` via
``CUDA_VISIBLE_DEVICES``/``NVIDIA_VISIBLE_DEVICES``. Disk → recorded (``SATURN_DISK_LIMIT``)
and enforced by ``disk_quota_command`` where the filesystem supports quotas. Image → the
Python prefix the server runs from.

With ``system_users = False`` (the default) no system accounts are needed: every user
gets a home under ``home_root``. With ``sandbox = True`` (the default) every server runs in a
bubblewrap sandbox as an unprivileged uid of its own (:mod:`.sandboxing`); without it, servers
run as the hub's own user.

Every server runs under the watchdog (inside its sandbox, when there is one) and is adopted after a
hub restart only when proven to be the process this spawner started
(:mod:`~jupyterhub_saturn.spawners.lifetime`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Bool, Dict, List, Unicode, default

from ..errors import ConfigError, SaturnError
from ..http_errors import http_error
from ..profiles import NO_GPU, Selection
from ..profiles.limits import size_limits
from ..profiles.quantities import format_size
from ..usernames import home_dir_name
from .cgroups import CgroupLimiter
from .form import FormContext
from .gpu_pool import GpuPool, detected_devices, shared_pool
from .lifetime import ServerLifetimeMixin
from .mixin import SaturnSpawnerMixin
from .sandboxing import SandboxMixin


class SaturnLocalSpawner(ServerLifetimeMixin, SaturnSpawnerMixin, SandboxMixin, LocalProcessSpawner):
    """Local-process spawner with sizes, exclusive GPUs, disks and environments."""

    system_users = Bool(
        False,
        config=True,
        help="""Run each server as the system account of the same name (like LocalProcessSpawner).
        False: no system accounts; homes under `home_root`, servers run as the hub's user.""",
    )
    home_root = Unicode(
        config=True,
        help="Directory holding one home per user when `system_users` is False. Default: ./saturn-homes.",
    )

    @default("home_root")
    def _default_home_root(self):
        return os.environ.get("SATURN_HOME_ROOT") or os.path.abspath("saturn-homes")

    gpu_devices = Dict(
        config=True,
        help="""Device ids per GPU key, e.g. {"t4": ["0", "1"], "a100": ["2", "3"]}. Empty: detect with
        nvidia-smi, matching each GPU's `product` in the device name.""",
    )
    cgroup_parent = Unicode(
        "",
        config=True,
        help="""A cgroup v2 directory the hub may create children in. Empty: use the hub's own cgroup if it
        is delegated; otherwise memory and CPU limits are advisory.""",
    )
    disk_quota_command = List(
        Unicode(),
        config=True,
        help="""Command run before start to set the home quota, with {home}, {bytes}, {username} expanded,
        e.g. ["xfs_quota", "-x", "-c", "limit -p bhard={bytes} {username}", "/home"]. Empty: disks are advisory.""",
    )

    # ------------------------------------------------------------ class-wide resources

    _limiter_cache: dict = {}

    def gpu_pool(self) -> GpuPool:
        """The hub-wide pool of local GPUs for the configured (or detected) devices."""
        devices = self.gpu_devices
        if not devices:
            products = {k: g.product or k for k, g in self.saturn.catalog.gpus.items() if g.count}
            devices = detected_devices(products)
        unknown = sorted(set(devices) - set(self.saturn.catalog.gpus))
        if unknown:
            raise ConfigError(
                f"SaturnLocalSpawner.gpu_devices.{unknown[0]}",
                "is not a GPU key of Saturn.gpus",
                allowed=[k for k in self.saturn.catalog.gpus if k != NO_GPU],
            )
        return shared_pool(devices)

    @classmethod
    def validate_config(cls, config, log=None) -> None:
        """Start-up check: the catalog parses and GPU devices name real GPU keys, enough for each count."""
        probe = cls(config=config)
        probe.saturn.validate()
        cls.check_migration(config, log)
        cls.check_sandbox(probe, config)
        if not probe.gpu_devices:
            return
        pool = probe.gpu_pool()
        for key, gpu in probe.saturn.catalog.gpus.items():
            have = len(pool.devices.get(key, []))
            if gpu.count and have < gpu.count:
                raise ConfigError(
                    f"SaturnLocalSpawner.gpu_devices.{key}",
                    f"lists {have} device(s) but Saturn.gpus.{key}.count is {gpu.count}; no server could start",
                )

    @classmethod
    def check_upstream_settings(cls, config) -> None:
        cls.check_migration(config)

    @staticmethod
    def check_migration(config, log=None) -> None:
        """A hub moving from LocalProcessSpawner must choose who servers run as: saturn-local's default
        (``system_users = False``) runs them as sandbox uids with homes under ``home_root``, not as the users'
        own accounts. Config that sets ``LocalProcessSpawner`` options without choosing stops the hub; a
        PAM login without a choice is told at start-up (docs/compat.md)."""
        chosen = any("system_users" in config[s] for s in ("SaturnLocalSpawner", "LocalProcessSpawner", "Spawner"))
        if chosen:
            return
        legacy = sorted(k for k in config["LocalProcessSpawner"] if k != "system_users")
        if legacy:
            raise ConfigError(
                "SaturnLocalSpawner.system_users",
                f"this config sets LocalProcessSpawner.{legacy[0]}, so it looks like a LocalProcessSpawner hub, where "
                "each server runs as the user's own system account. saturn-local's default runs servers as a "
                "uid of their own with homes under SaturnLocalSpawner.home_root instead. Choose: system_users = "
                "True (keep the users' accounts and homes) or False (confirm the change)",
            )
        auth = str(config["JupyterHub"].get("authenticator_class", ""))
        if "pam" in auth.lower() and log is not None:
            log.warning("saturn-local: PAM logins, but SaturnLocalSpawner.system_users is not set: servers run as "
                        "sandbox uids with homes under home_root, not as the users' system accounts (set "
                        "system_users = True for LocalProcessSpawner's behaviour, or False to silence this)")

    def limiter(self):
        """``(CgroupLimiter or None, explanation)`` for this hub, detected once."""
        key = self.cgroup_parent
        if key not in self._limiter_cache:
            self._limiter_cache[key] = CgroupLimiter.detect(self.cgroup_parent)
        return self._limiter_cache[key]

    # ------------------------------------------------------------ identity and home

    @property
    def owner_key(self) -> str:
        """Who holds devices and cgroups: ``user`` or ``user/server``."""
        return f"{self.user.name}/{self.name}" if self.name else self.user.name

    @property
    def home(self) -> str:
        """This user's home directory."""
        if self.system_users:
            import pwd

            return pwd.getpwnam(self.user.name).pw_dir
        return os.path.join(self.home_root, home_dir_name(self.user.name))

    def make_preexec_fn(self, name):
        cgroup = self._cgroup_path
        if self.sandbox:  # bwrap changes directory and drops to the server's uid itself
            return (lambda: CgroupLimiter.join(cgroup)) if cgroup is not None else None
        if self.system_users:
            setuid = super().make_preexec_fn(name)
        else:
            setuid = None
        home = self.home

        def preexec():
            if cgroup is not None:
                CgroupLimiter.join(cgroup)
            if setuid is not None:
                setuid()
            else:
                os.chdir(home)

        return preexec

    def user_env(self, env):
        if self.system_users:
            return super().user_env(env)
        env["USER"] = self.user.name
        env["HOME"] = self.home
        env["SHELL"] = "/bin/bash"
        return env

    async def move_certs(self, paths):
        if self.system_users:
            return await super().move_certs(paths)
        return paths

    # ------------------------------------------------------------ profiles

    _cgroup_path = None
    _gpu_assigned: list = []

    def form_context(self) -> FormContext:
        ctx = super().form_context()
        limiter, why = self.limiter()
        notes = dict(ctx.notes)
        if limiter is None:
            notes["size"] = "Memory and CPU limits are advisory on this hub (not enforced by the OS)."
        if not self.disk_quota_command:
            notes["disk"] = "Disk sizes are advisory on this hub: recorded and shown, not enforced."
        ctx.notes = notes
        try:
            pool = self.gpu_pool()
            ctx.gpu_free = {k: len(pool.free(k)) for k in pool.devices}
        except SaturnError:
            ctx.gpu_free = None
        return ctx

    def apply_selection(self, selection: Selection) -> None:
        limits = size_limits(selection.size, self.saturn_group_limits)
        self.mem_limit = limits["mem_limit"]
        self.cpu_limit = limits["cpu_limit"]
        self.mem_guarantee = None
        image = selection.image
        if image.prefix:
            self.cmd = [os.path.join(image.prefix, "bin", "jupyterhub-singleuser")]
        pool = self.gpu_pool()
        if selection.gpu.count:
            self._gpu_assigned = pool.claim(self.owner_key, selection.gpu.key, selection.gpu.count)
        else:
            pool.release(self.owner_key)
            self._gpu_assigned = []

    def get_env(self):
        env = super().get_env()
        sel = self.saturn_selection
        if sel is None:
            return env
        limiter, why = self.limiter()
        env["SATURN_SIZE"] = sel.size.key
        env["SATURN_GPU"] = sel.gpu.key
        env["SATURN_DISK"] = sel.disk.key
        env["SATURN_IMAGE"] = sel.image.key
        env["SATURN_DISK_LIMIT"] = str(sel.disk.bytes)
        env["SATURN_LIMITS_ENFORCED"] = "true" if limiter is not None else "false"
        env["SATURN_DISK_ENFORCED"] = "true" if self.disk_quota_command else "false"
        devices = ",".join(self._gpu_assigned)
        env["CUDA_VISIBLE_DEVICES"] = devices
        env["NVIDIA_VISIBLE_DEVICES"] = devices or "void"
        env.update(sel.image.env)
        if sel.image.prefix:
            env["PATH"] = os.path.join(sel.image.prefix, "bin") + os.pathsep + env.get("PATH", os.defpath)
        return env

    def get_args(self):
        args = super().get_args()
        if not self.system_users and not self.sandbox and os.geteuid() == 0 and "--allow-root" not in args:
            args.append("--allow-root")
        return args

    # ------------------------------------------------------------ lifecycle

    def _apply_disk_quota(self, sel: Selection) -> None:
        if not self.disk_quota_command:
            return
        values = {"home": self.home, "bytes": str(sel.disk.bytes), "username": self.user.name}
        cmd = [part.format(**values) for part in self.disk_quota_command]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SaturnError(
                f"could not set the {format_size(sel.disk.bytes)} disk quota: {result.stderr.strip()[:300]}",
                field="disk",
                status=503,
            )

    async def start(self):
        sel = self.saturn_selection
        try:
            Path(self.home).mkdir(parents=True, exist_ok=True)
            limiter, why = self.limiter()
            if limiter is not None and sel is not None:
                self._cgroup_path = limiter.create(self.owner_key, memory=int(self.mem_limit or sel.size.memory),
                                                  cpus=self.cpu_limit or sel.size.cpu)
            if sel is not None:
                self._apply_disk_quota(sel)
            if not self.sandbox:
                return await super().start()
            uid, gid = self.sandbox_identity()
            own_home(self.home, uid, gid)
            # the watchdog runs inside the sandbox, beside the server it bounds
            with self.watchdog_in_cmd(), self.sandboxed_cmd(uid, gid, self.home):
                return await super().start()
        except SaturnError as err:
            self._release()
            raise http_error(err) from None
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        try:
            self.gpu_pool().release(self.owner_key)
        except SaturnError:
            pass
        self._gpu_assigned = []
        limiter, _ = self.limiter()
        if limiter is not None and self._cgroup_path is not None:
            limiter.remove(self.owner_key)
        self._cgroup_path = None

    async def stop(self, now=False):
        try:
            if self.sandbox:
                await self.stop_sandboxed(super().stop, now=now)
            else:
                await super().stop(now=now)
        finally:
            self._release()

    def get_state(self):
        state = super().get_state()
        if self._gpu_assigned:
            state["saturn_gpus"] = list(self._gpu_assigned)
        return state

    def load_state(self, state):
        super().load_state(state)
        devices = state.get("saturn_gpus") or []
        if devices:
            self.gpu_pool().restore(self.owner_key, devices)
            self._gpu_assigned = [str(d) for d in devices]

    def delete_forever(self):
        """The user is gone: give its sandbox uid back."""
        if self.sandbox and not self.system_users and not self.name:
            self.uid_map().release(self.user.name)

    def clear_state(self):
        super().clear_state()
        self._release()



def own_home(home: str, uid: int, gid: int) -> None:
    """Make ``home`` (created before the sandbox, or by the hub) belong to the server's uid, mode 0700."""
    st = os.stat(home)
    if st.st_uid != uid or st.st_gid != gid:
        for root, dirs, files in os.walk(home):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, gid)
        os.chown(home, uid, gid)
    os.chmod(home, 0o700)
