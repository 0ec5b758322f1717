"""The published-notebook store: one directory per notebook, one immutable file per version.

Layout under ``root``::

    notebooks/<id>/record.json        metadata of the current version (atomically replaced)
    notebooks/<id>/<version>.ipynb    the notebook bytes of one version (written once)
    notebooks/<id>/.lock              flock serialising writers of this id
    trash/                            unpublished notebooks on their way out

A publish first writes the new version file, then atomically replaces ``record.json``
(which names the version and its sha256), so a crash at any point leaves the old
record with its old file, or the new record with its new file, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .atomic import TMP_SUFFIX, atomic_write, fsync_dir, locked
from .errors import InvalidField, NotAuthor, UnknownNotebook
from .fields import check_text, text_problem
from .ids import check_id, new_id
from .notebook import DEFAULT_MAX_BYTES, derive_title, parse_notebook
from .tags import parse_tags

log = logging.getLogger(__name__)

RECORD = "record.json"
LOCK = ".lock"
VERSION_RE = re.compile(r"[0-9]{6,12}-[0-9a-f]{8}")
ENV_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_DESCRIPTION = 2000
MAX_ENV_KEYS = 16
MAX_ENV_VALUE = 200
MAX_AUTHOR = 255
MAX_TITLE_INPUT = 1000
MAX_FILENAME = 255
STALE_SECONDS = 3600
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Record:
    """One published notebook: who, what, which environment, and which version is current."""

    id: str
    author: str
    title: str
    description: str
    environment: Mapping[str, str]
    created: float
    updated: float
    version: str
    size: int
    sha256: str
    updated_by: str = ""
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The record as a JSON-able dict (times as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "author": self.author,
            "title": self.title,
            "description": self.description,
            "environment": dict(self.environment),
            "created": _iso(self.created),
            "updated": _iso(self.updated),
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            "updated_by": self.updated_by,
            "tags": list(self.tags),
        }

    def _to_disk(self) -> dict:
        data = {k: getattr(self, k) for k in (
            "id", "author", "title", "description", "created", "updated", "version", "size", "sha256",
            "updated_by",
        )}
        data["environment"] = dict(self.environment)
        data["tags"] = list(self.tags)
        data["format"] = 1
        return data

    @classmethod
    def _from_disk(cls, data: dict, expect_id: str) -> Record:
        if not isinstance(data, dict) or data.get("format") != 1 or data.get("id") != expect_id:
            raise ValueError("not a format-1 record for this id")
        if not isinstance(data.get("version"), str) or not VERSION_RE.fullmatch(data["version"]):
            raise ValueError("bad version")
        env = data.get("environment")
        if not isinstance(env, dict):
            raise ValueError("bad environment")
        texts = [data.get(k) for k in ("author", "title", "description", "updated_by")] + list(env) + list(env.values())
        for text in texts:
            if not isinstance(text, (str, type(None))):
                raise ValueError(f"text field holds {type(text).__name__}")
            if isinstance(text, str) and text_problem(text):
                raise ValueError(f"unpublishable text in the record: {text_problem(text)}")
        try:
            tags = parse_tags(data.get("tags") or None)
        except InvalidField as e:
            raise ValueError(e.text) from None
        record = cls(
            id=expect_id,
            author=str(data["author"]),
            title=str(data["title"]),
            description=str(data.get("description", "")),
            environment={str(k): str(v) for k, v in env.items()},
            created=float(data["created"]),
            updated=float(data["updated"]),
            version=data["version"],
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            updated_by=str(data.get("updated_by", "")),
            tags=tags,
        )
        try:
            record.to_json()  # dates a page can show (a huge or NaN time would fail there, for every reader)
        except (OverflowError, OSError, ValueError) as e:
            raise ValueError(f"bad time: {e}") from None
        return record


def _check_author(author: object, name: str = "author") -> str:
    if (not isinstance(author, str) or not author.strip() or len(author) > MAX_AUTHOR or _CONTROL.search(author)
            or text_problem(author)):
        raise InvalidField(f"{name} must be a user name of 1-{MAX_AUTHOR} printable characters", field=name)
    return author


def _check_description(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidField("description must be text", field="description")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidField(
            f"description is {len(value)} characters; at most {MAX_DESCRIPTION} are allowed", field="description"
        )
    return check_text(value, "description").strip()


def _check_environment(env: object) -> dict[str, str]:
    if not isinstance(env, Mapping):
        raise InvalidField("environment must be an object of text values", field="environment")
    if len(env) > MAX_ENV_KEYS:
        raise InvalidField(f"environment has {len(env)} keys; at most {MAX_ENV_KEYS} are allowed", field="environment")
    out = {}
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_KEY_RE.fullmatch(key):
            raise InvalidField(
                f"environment key {str(key)[:40]!r} is not valid (pattern {ENV_KEY_RE.pattern})",
                field="environment",
            )
        if not isinstance(value, str) or len(value) > MAX_ENV_VALUE or _CONTROL.search(value) or text_problem(value):
            raise InvalidField(
                f"environment.{key} must be text of at most {MAX_ENV_VALUE} printable characters",
                field=f"environment.{key}",
            )
        out[key] = value
    return out


class NotebookStore:
    """Published notebooks on disk under ``root``; safe across restarts, threads and kill -9.

    ``max_bytes`` caps the size of one notebook (HTTP 413 beyond it).
    """

    def __init__(self, root: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES, *,
                 clock: Callable[[], float] = time.time):
        if not isinstance(max_bytes, int) or max_bytes <= 0:
            raise InvalidField("max_bytes must be a positive integer", field="max_bytes")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._clock = clock
        self._dir = self.root / "notebooks"
        self._trash = self.root / "trash"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._trash.mkdir(parents=True, exist_ok=True)
        self._mutex = threading.Lock()
        self.sweep()

    # ------------------------------------------------------------------ paths
    def _path(self, nb_id: str) -> Path:
        return self._dir / check_id(nb_id)

    # ----------------------------------------------------------------- reading
    def _load(self, nb_id: str) -> Record:
        path = self._path(nb_id) / RECORD
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise UnknownNotebook(f"no published notebook has id {nb_id!r}", field="id") from None
        try:
            return Record._from_disk(json.loads(raw), nb_id)
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as e:
            log.warning("damaged gallery record %s: %s", path, e)
            raise UnknownNotebook(f"published notebook {nb_id!r} is damaged and cannot be read", field="id") from None

    def get(self, nb_id: str) -> Record:
        """The current record of ``nb_id`` (404 if unknown, 400 if the id is malformed)."""
        return self._load(nb_id)

    def read(self, nb_id: str) -> tuple[Record, bytes]:
        """The current record and its notebook bytes, guaranteed to belong together."""
        for _ in range(5):
            record = self._load(nb_id)
            try:
                data = (self._path(nb_id) / f"{record.version}.ipynb").read_bytes()
            except FileNotFoundError:
                continue  # a concurrent publish pruned it: re-read the pointer
            if hashlib.sha256(data).hexdigest() != record.sha256:
                log.warning("gallery notebook %s version %s fails its checksum", nb_id, record.version)
                raise UnknownNotebook(f"published notebook {nb_id!r} is damaged and cannot be read", field="id")
            return record, data
        raise UnknownNotebook(f"published notebook {nb_id!r} is being replaced; try again", field="id")

    def read_notebook(self, nb_id: str) -> bytes:
        """The current notebook bytes (canonical nbformat JSON)."""
        return self.read(nb_id)[1]

    def list(self, *, author: str | None = None) -> list[Record]:
        """All records (optionally one author's), most recently updated first."""
        records = []
        for entry in os.scandir(self._dir):
            try:
                record = self._load(entry.name)
            except (InvalidField, UnknownNotebook):
                continue
            if author is None or record.author == author:
                records.append(record)
        records.sort(key=lambda r: (-r.updated, r.id))
        return records

    # ----------------------------------------------------------------- writing
    def publish(
        self,
        notebook: bytes | str | dict,
        *,
        author: str,
        title: str | None = None,
        description: str | None = None,
        environment: Mapping[str, str] | None = None,
        id: str | None = None,  # noqa: A002 - the public name of the argument
        filename: str | None = None,
        admin: bool = False,
        tags: object = None,
    ) -> Record:
        """Publish a new notebook, or a new version of ``id`` (author or ``admin=True`` only).

        Republishing keeps the id (the public URL) and ``created``; it replaces the content
        and ``updated``; ``description``/``environment``/``tags`` left as ``None`` keep their old values.
        """
        _check_author(author)
        check_text(title, "title", max_chars=MAX_TITLE_INPUT)
        check_text(filename, "filename", max_chars=MAX_FILENAME)
        if id is not None:
            check_id(id)
        if description is not None:
            description = _check_description(description)
        if environment is not None:
            environment = _check_environment(environment)
        tags = None if tags is None else parse_tags(tags)
        nb, blob = parse_notebook(notebook, self.max_bytes)
        resolved_title = derive_title(nb, title=title, filename=filename)
        if id is None:
            return self._create(blob, author, resolved_title, description or "", environment or {}, tags or ())
        return self._replace(id, blob, author, resolved_title, description, environment, admin, tags)

    def edit(self, nb_id: str, *, user: str, admin: bool = False, title: str | None = None,
             description: str | None = None, tags: object = None) -> Record:
        """Change the title, description or tags of ``nb_id`` (author or ``admin=True``), keeping its notebook.

        Makes a new version (the rendered page shows the title); ``None`` keeps a value.
        """
        _check_author(user, "user")
        check_text(title, "title", max_chars=MAX_TITLE_INPUT)
        if description is not None:
            description = _check_description(description)
        tags = None if tags is None else parse_tags(tags)
        old, blob = self.read(nb_id)
        nb, blob = parse_notebook(blob, self.max_bytes)
        resolved_title = old.title if title is None else derive_title(nb, title=title)
        return self._replace(nb_id, blob, user, resolved_title, description, None, admin, tags)

    def _create(self, blob: bytes, author: str, title: str, description: str, env: dict,
                tags: tuple[str, ...]) -> Record:
        for _ in range(20):
            nb_id = new_id(title)
            path = self._dir / nb_id
            try:
                path.mkdir()
            except FileExistsError:
                continue
            fsync_dir(self._dir)
            with locked(path / LOCK):
                now = self._clock()
                return self._commit(path, blob, Record(
                    id=nb_id, author=author, title=title, description=description, environment=env,
                    created=now, updated=now, version=_next_version(None), size=len(blob),
                    sha256=hashlib.sha256(blob).hexdigest(), updated_by=author, tags=tags,
                ))
        raise RuntimeError("could not allocate a fresh notebook id")  # 36**8 space: never in practice

    def _replace(self, nb_id, blob, user, title, description, env, admin, tags=None) -> Record:
        path = self._path(nb_id)
        self._load(nb_id)  # 404 before taking a lock in a directory that does not exist
        with locked(path / LOCK):
            old = self._load(nb_id)  # re-read under the lock
            if old.author != user and not admin:
                raise NotAuthor(
                    f"only {old.author!r} (or an admin) may republish notebook {nb_id!r}", field="id"
                )
            record = Record(
                id=nb_id, author=old.author, title=title,
                description=old.description if description is None else description,
                environment=old.environment if env is None else env,
                created=old.created, updated=max(self._clock(), old.updated), version=_next_version(old.version),
                size=len(blob), sha256=hashlib.sha256(blob).hexdigest(), updated_by=user,
                tags=old.tags if tags is None else tags,
            )
            return self._commit(path, blob, record, previous=old.version)

    def _commit(self, path: Path, blob: bytes, record: Record, previous: str | None = None) -> Record:
        atomic_write(path / f"{record.version}.ipynb", blob)
        atomic_write(path / RECORD, json.dumps(record._to_disk(), indent=1, sort_keys=True).encode())
        keep = {f"{record.version}.ipynb", f"{previous}.ipynb"}
        for entry in os.scandir(path):
            # keep the previous version a little: a reader may hold the old pointer
            if entry.name.endswith(".ipynb") and entry.name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        return record

    def unpublish(self, nb_id: str, *, user: str, admin: bool = False) -> Record:
        """Remove ``nb_id`` (its author or ``admin=True`` only); returns the removed record."""
        _check_author(user, "user")
        path = self._path(nb_id)
        self._load(nb_id)
        with locked(path / LOCK):
            record = self._load(nb_id)
            if record.author != user and not admin:
                raise NotAuthor(f"only {record.author!r} (or an admin) may unpublish notebook {nb_id!r}", field="id")
            grave = self._trash / f"{nb_id}.{secrets.token_hex(4)}"
            os.rename(path, grave)  # atomic: the id disappears at once
            fsync_dir(self._dir)
        shutil.rmtree(grave, ignore_errors=True)
        return record

    # ------------------------------------------------------------ maintenance
    def sweep(self, older_than: float = STALE_SECONDS) -> None:
        """Remove leftovers of interrupted operations (temp files, half-created ids, trash)."""
        with self._mutex:
            cutoff = time.time() - older_than
            for entry in os.scandir(self._trash):
                shutil.rmtree(entry.path, ignore_errors=True)
            for entry in os.scandir(self._dir):
                if not entry.is_dir(follow_symlinks=False):
                    continue
                _sweep_dir(Path(entry.path), cutoff)


def _sweep_dir(path: Path, cutoff: float) -> None:
    record_version = None
    try:
        record_version = json.loads((path / RECORD).read_bytes()).get("version")
    except (OSError, ValueError, AttributeError):
        pass
    for entry in os.scandir(path):
        try:
            old = entry.stat(follow_symlinks=False).st_mtime < cutoff
        except FileNotFoundError:
            continue
        if entry.name.endswith(TMP_SUFFIX) and old:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
    if record_version is None:
        try:
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)  # a create that never committed
        except FileNotFoundError:
            pass


def _next_version(previous: str | None) -> str:
    seq = int(previous.split("-", 1)[0]) + 1 if previous else 1
    return f"{seq:06d}-{secrets.token_hex(4)}"
