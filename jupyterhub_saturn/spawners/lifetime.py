"""How long a ``saturn-local`` server may outlive its hub, and how a restarted hub takes it back.

:class:`ServerLifetimeMixin` (mixed into :class:`~.local.SaturnLocalSpawner`) does two things:

- **Bounds from inside.** Each server runs under the watchdog
  (:mod:`jupyterhub_saturn.singleuser.watchdog`, prefixed to the command), which stops it
  when the hub has not answered for ``hub_unreachable_timeout`` (throwaway servers:
  ``throwaway_hub_unreachable_timeout``), when the hub revoked its token, or at its max
  age (+ ``max_age_grace``) — with the hub down as well.
- **Adoption.** Beside the pid, the spawner state keeps a
  :class:`~.adoption.ProcessRecord` (start time, boot id, a secret marker in the server's
  environment). After a hub restart, :meth:`poll` adopts the process only if the record
  proves it is this server; otherwise the server counts as stopped (the stranger's process
  is never signalled), and JupyterHub's clean-up releases its GPUs. A restarted hub no longer
  holds the server's token, so it cannot revoke it when it finds the server gone;
  :meth:`poll` does: a server still running somewhere unknown to the hub then hears
  "unknown token" and its watchdog stops it.
"""

from __future__ import annotations

import secrets
import sys

from traitlets import Bool, Int, List, Unicode, Union, validate
from traitlets.config import Configurable

from jupyterhub import orm
from jupyterhub.utils import url_escape_path, url_path_join

from ..policy.durations import config_duration
from ..singleuser.lifetime import ENV_MARKER, Bounds
from . import adoption

_DURATION_HELP = " Seconds, or a duration like '90s', '5m'; 0 turns the bound off."


def _duration_trait(default, help_text: str, *, allow_zero: bool = True):
    return Union([Int(), Unicode()], default_value=default, config=True,
                 help=help_text + (_DURATION_HELP if allow_zero else " Seconds, or a duration like '30s'."))


class ServerLifetimeMixin(Configurable):
    """In-server bounds (hub unreachable, max age) and proven adoption after a hub restart."""

    watchdog = Bool(
        True, config=True,
        help="""Run each server under the watchdog that stops it when its hub is gone or at its max age.
        Turn off only if something else bounds orphaned servers.""",
    )
    watchdog_command = List(
        Unicode(), config=True,
        help="""Command that runs the watchdog; the server command follows a "--". Default: this hub's
        Python, isolated (-I): [sys.executable, "-I", "-m", "jupyterhub_saturn.singleuser"].""",
    )
    hub_unreachable_timeout = _duration_trait(
        "5m", "How long a logged-in user's server keeps running while its hub does not answer.")
    throwaway_hub_unreachable_timeout = _duration_trait(
        "90s", "How long a throwaway (Run this copy) server keeps running while its hub does not answer.")
    hub_check_interval = _duration_trait(
        "30s", "How often the watchdog asks the hub (at least three times per unreachable bound).",
        allow_zero=False)
    max_age_grace = _duration_trait(
        "60s", "Time after its max age at which a server stops itself (the culler normally stops it first).")

    def _default_watchdog_command(self):
        return [sys.executable, "-I", "-m", "jupyterhub_saturn.singleuser"]

    def _seconds(self, name: str, allow_zero: bool = True) -> int:
        return config_duration(getattr(self, name), path=f"SaturnLocalSpawner.{name}", allow_zero=allow_zero)

    @validate("hub_unreachable_timeout", "throwaway_hub_unreachable_timeout", "max_age_grace")
    def _check_bound(self, proposal):
        config_duration(proposal["value"], path=f"SaturnLocalSpawner.{proposal['trait'].name}", allow_zero=True)
        return proposal["value"]

    @validate("hub_check_interval")
    def _check_interval(self, proposal):
        config_duration(proposal["value"], path="SaturnLocalSpawner.hub_check_interval")
        return proposal["value"]

    # ------------------------------------------------------------ bounds for this server

    def lifetime_bounds(self) -> Bounds:
        """The watchdog's limits for this server (throwaway or not, its max age)."""
        throwaway = bool(getattr(self, "is_throwaway", False))
        unreachable = self._seconds("throwaway_hub_unreachable_timeout" if throwaway else "hub_unreachable_timeout")
        shutoff = getattr(self, "saturn_shutoff", None)
        max_age = shutoff.max_age + self._seconds("max_age_grace") if shutoff and shutoff.max_age else None
        return Bounds(hub_unreachable=unreachable or None, max_age=max_age,
                      check_interval=self._seconds("hub_check_interval", allow_zero=False),
                      stop_grace=float(getattr(self, "interrupt_timeout", 10)))

    # ------------------------------------------------------------ launch

    _saturn_marker: str = ""
    _saturn_process: adoption.ProcessRecord | None = None
    _saturn_token_id: int | None = None

    def get_env(self):
        env = super().get_env()
        if self._saturn_marker:
            env[ENV_MARKER] = self._saturn_marker
        if self.watchdog:
            env.update(self.lifetime_bounds().to_env())
        return env

    async def start(self):
        """Start the server under the watchdog and record what proves the process is this server."""
        self._saturn_marker = secrets.token_hex(16)
        self._saturn_process = None
        command = self.cmd
        if self.watchdog:
            self.cmd = [*(self.watchdog_command or self._default_watchdog_command()), "--", *command]
        try:
            result = await super().start()
        finally:
            self.cmd = command
        if getattr(self, "pid", 0):
            self._saturn_process = adoption.record_for(self.pid, self._saturn_marker)
        token = self._orm_token(self.api_token)
        self._saturn_token_id = token.id if token is not None else None
        return result

    def _orm_token(self, value: str):
        db = getattr(getattr(self, "user", None), "db", None)
        return orm.APIToken.find(db, value) if value and db is not None else None

    # ------------------------------------------------------------ adoption

    async def poll(self):
        """JupyterHub's poll, but a process restored from state is adopted only when proven ours,
        and a restored server found stopped loses its API token."""
        restored = getattr(self, "proc", None) is None
        if restored and getattr(self, "pid", 0) and self._saturn_process is not None:
            record = self._saturn_process
            if record.pid != self.pid:
                verdict, why = adoption.FOREIGN, f"the saved pid {self.pid} is not the recorded {record.pid}"
            else:
                verdict, why = adoption.verify(record)
            if verdict != adoption.OURS:
                self.log.warning("%s is not running: %s; not adopting pid %i", self._log_name, why, self.pid)
                self.clear_state()
                self.revoke_stale_tokens()
                return 0
        status = await super().poll()
        if restored and status is not None:
            self.revoke_stale_tokens()
        return status

    def revoke_stale_tokens(self) -> int:
        """Delete the API token of this server's earlier start: the one recorded at start, or (the hub has
        the server on record but no token id, e.g. it was killed while starting) those JupyterHub named
        "Server at <url>". Never the token of a start in progress. Returns how many were deleted."""
        user = getattr(self, "user", None)
        orm_user = getattr(user, "orm_user", None)
        db = getattr(user, "db", None)
        if orm_user is None or db is None:
            return 0
        current = self._orm_token(self.api_token)
        note = f"Server at {url_path_join(user.base_url, url_escape_path(self.name or ''), '/')}"
        if self._saturn_token_id is not None:
            stale = [t for t in orm_user.api_tokens if t.id == self._saturn_token_id and t.note == note]
        elif getattr(self, "server", None) is not None:  # the hub has a server on record, but no token id
            stale = [t for t in orm_user.api_tokens if t.note == note]
        else:  # nothing was running: leave tokens alone
            return 0
        stale = [t for t in stale if t is not current]
        for token in stale:
            db.delete(token)
        self._saturn_token_id = None
        if stale:
            db.commit()
            self.log.info("Revoked %i API token(s) of %s's earlier server", len(stale), self._log_name)
        return len(stale)

    def get_state(self):
        state = super().get_state()
        if self._saturn_process is not None and getattr(self, "pid", 0):
            state["saturn_process"] = self._saturn_process.to_state()
        if self._saturn_token_id is not None:
            state["saturn_token_id"] = self._saturn_token_id
        return state

    def load_state(self, state):
        super().load_state(state)
        self._saturn_process = adoption.ProcessRecord.from_state(state.get("saturn_process"))
        if self._saturn_process is not None:
            self._saturn_marker = self._saturn_process.marker
        token_id = state.get("saturn_token_id")
        self._saturn_token_id = token_id if isinstance(token_id, int) and not isinstance(token_id, bool) else None

    def clear_state(self):
        super().clear_state()
        self._saturn_process = None
        if getattr(self, "proc", None) is not None:  # started by this hub process: JupyterHub revokes the token
            self._saturn_token_id = None
