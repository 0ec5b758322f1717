"""The sandbox of ``saturn-local`` servers, as pure data: the bubblewrap command line and the uid map.

:mod:`.bwrap` turns a plain :class:`~.bwrap.SandboxSpec` (uid, home, read-only paths, device
nodes, paths that must never be mounted) into the ``bwrap`` argument list; :mod:`.uids` gives each
hub user a stable unprivileged uid from a configured range, persisted across hub restarts. Neither
imports JupyterHub; the adapter is :mod:`jupyterhub_saturn.spawners.sandboxing`.
"""

from .bwrap import SandboxSpec, bwrap_argv, probe_argv
from .uids import UidMap, parse_uid_range

__all__ = ["SandboxSpec", "UidMap", "bwrap_argv", "parse_uid_range", "probe_argv"]
