"""A stable unprivileged uid per hub user, from a configured range, kept across hub restarts.

The map lives in one JSON file (``{"version": 1, "uids": {"<user>": <uid>}}``) written
atomically (temp file + fsync + rename), so a crash leaves the old map or the new one. A new
user gets the lowest free uid of the range; uid 0, the hub's own uid and ``nobody`` (65534) are
never handed out. A user deleted from the hub gives its uid back (:meth:`UidMap.release`): the
next owner cannot see the old home, because a sandbox mounts only its own home.

A damaged map file stops the hub rather than risk giving one uid to two users.
Not thread-safe: used from the hub's event loop.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ConfigError, SaturnError
from ..gallery.atomic import atomic_write

NOBODY = 65534
MAX_UID = 2**32 - 2  # (uid_t)-1 means "no change" to the kernel


def parse_uid_range(value: object, path: str = "SaturnLocalSpawner.sandbox_uids") -> tuple[int, int]:
    """``[first, last]`` (inclusive) → ``(first, last)``; ``ConfigError`` naming ``path`` otherwise."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(path, f"expected [first, last] uids such as [200000, 299999], got {value!r}")
    first, last = value
    for i, v in enumerate((first, last)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{path}[{i}]", f"expected a whole number, got {v!r}")
    if first < 1 or last > MAX_UID or first > last:
        raise ConfigError(path, f"expected 1 <= first <= last <= {MAX_UID}, got [{first}, {last}]")
    return first, last


class UidMap:
    """Hub user name → uid, persisted in ``path``."""

    def __init__(self, path: str | os.PathLike, first: int, last: int, *, reserved: tuple[int, ...] = ()):
        self.path = Path(path)
        self.first, self.last = parse_uid_range([first, last])
        self.reserved = frozenset({0, NOBODY, *reserved})
        if sum(1 for r in self.reserved if first <= r <= last) >= last - first + 1:
            raise ConfigError("SaturnLocalSpawner.sandbox_uids", "the range holds no usable uid")
        self._uids: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            uids = data["uids"]
            if data.get("version") != 1 or not isinstance(uids, dict):
                raise ValueError("unknown layout")
            out = {}
            for name, uid in uids.items():
                if not isinstance(name, str) or isinstance(uid, bool) or not isinstance(uid, int) or uid in self.reserved:
                    raise ValueError(f"bad entry {name!r}: {uid!r}")
                out[name] = uid
            if len(set(out.values())) != len(out):
                raise ValueError("one uid is given to two users")
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError("SaturnLocalSpawner.sandbox_uid_file", f"{self.path} is damaged ({e}); "
                              "restore it from a backup, or move it away only if no home directories exist") from None
        return out

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": 1, "uids": self._uids}, sort_keys=True, indent=1).encode()
        atomic_write(self.path, data)
        os.chmod(self.path, 0o600)

    def get(self, name: str) -> int | None:
        """The uid already given to ``name``, or None."""
        return self._uids.get(name)

    def uid_for(self, name: str) -> int:
        """``name``'s uid, allocating (and persisting) the lowest free one in the range if new.

        Raises :class:`SaturnError` (503) when the range is used up.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"user name must be a non-empty string, got {name!r}")
        uid = self._uids.get(name)
        if uid is not None:
            return uid
        taken = set(self._uids.values()) | self.reserved
        for candidate in range(self.first, self.last + 1):
            if candidate not in taken:
                self._uids[name] = candidate
                try:
                    self._save()
                except BaseException:
                    del self._uids[name]
                    raise
                return candidate
        raise SaturnError(
            f"no free sandbox uid: all {self.last - self.first + 1} uids of SaturnLocalSpawner.sandbox_uids "
            "are given to users; delete unused users or widen the range",
            status=503,
        )

    def release(self, name: str) -> None:
        """Give ``name``'s uid back (the user was deleted)."""
        if self._uids.pop(name, None) is not None:
            self._save()

    def __len__(self) -> int:
        return len(self._uids)
