"""What a copy of a published notebook runs on ("Run this copy"). Pure Python.

- :func:`copy_options`: the notebook's environment within what the runner may use (a server the
  launch starts itself);
- :func:`environment_offer`: whether a signed-in user's *running* server is of another environment
  the notebook's own, which the user may use, could replace — the launch then asks before it stops
  anything;
- :func:`restart_options`: the running server's choices with only the environment changed;
- :func:`parse_choice`: the user's answer to that offer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InvalidChoice
from ..profiles import KINDS, NO_GPU, Catalog, default_choice, entitled_choices
from .resolved import NOTEBOOK_KEY
from .shutoff_state import STATE_KEY

#: the answers to an environment offer: restart in the notebook's environment, or copy into the running server
CHOICES = ("restart", "keep")


def copy_options(catalog: Catalog, environment: Mapping | None, groups: Iterable[str], *, throwaway: bool,
                 anonymous_size: str = "") -> dict[str, str]:
    """user_options for a server started for a copy: each kind of the notebook's ``environment`` the user
    may use, else their default; a throwaway copy gets no GPU and at most ``anonymous_size``."""
    groups = list(groups)
    environment = environment or {}
    options = {}
    for kind in KINDS:
        wanted = environment.get(kind)
        options[kind] = wanted if wanted in entitled_choices(catalog, kind, groups) else default_choice(
            catalog, kind, groups)
    if throwaway:
        options["gpu"] = NO_GPU
        cap = anonymous_size or catalog.defaults["size"]
        sizes = list(catalog.sizes)
        if cap in sizes and sizes.index(options["size"]) > sizes.index(cap):
            options["size"] = cap
    return options


@dataclass(frozen=True)
class EnvironmentOffer:
    """The running server's environment and the notebook's, by key and by the names people read."""

    running: str
    wanted: str
    running_name: str
    wanted_name: str

    def message(self) -> str:
        return (f"Your server is running {self.running_name}; this notebook was published for {self.wanted_name}. "
                f"Restart your server in {self.wanted_name}, or open the copy in {self.running_name}?")

    def to_json(self) -> dict:
        return {"running": self.running, "wanted": self.wanted, "running_name": self.running_name,
                "wanted_name": self.wanted_name}


def environment_offer(catalog: Catalog, running_options: Mapping | None, environment: Mapping | None,
                      groups: Iterable[str]) -> EnvironmentOffer | None:
    """An offer to restart in the notebook's environment, or None: when the notebook names no environment,
    one the user may not use, or the one the server already runs (a server with no recorded environment
    runs the user's default)."""
    groups = list(groups)
    wanted = (environment or {}).get("image")
    if not isinstance(wanted, str) or wanted not in entitled_choices(catalog, "image", groups):
        return None
    running = (running_options or {}).get("image")
    if not isinstance(running, str) or not running:
        running = default_choice(catalog, "image", groups)
    if running == wanted:
        return None
    return EnvironmentOffer(running, wanted, catalog.display_name("image", running),
                            catalog.display_name("image", wanted))


def restart_options(running_options: Mapping | None, image: str, notebook_id: str) -> dict:
    """The running server's choices (size, GPU, disk, auto-shutoff, declared extra options) with ``image``
    instead of its environment, for a copy of ``notebook_id``; state the spawner recomputes is left out."""
    options = {k: v for k, v in (running_options or {}).items() if k not in (STATE_KEY, NOTEBOOK_KEY)}
    options["image"] = image
    options[NOTEBOOK_KEY] = notebook_id
    return options


def parse_choice(value) -> str:
    """The user's answer to an environment offer (``choice`` in the form)."""
    if value not in CHOICES:
        shown = value if isinstance(value, str) and len(value) <= 40 else "(that value)"
        raise InvalidChoice(f"choice {shown!r} is not an answer to the environment offer", field="choice",
                            allowed=CHOICES)
    return value
