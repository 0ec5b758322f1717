"""Which saturn class stands in for which stock class in upstream's tests.

- ``LocalProcessSpawner`` → ``SaturnLocalSpawner``; JupyterHub's tests use ``SimpleLocalProcessSpawner`` (a
  LocalProcessSpawner that needs no system accounts), which becomes :func:`saturn_simple_spawner`: saturn's
  spawner over it, so saturn's methods win and upstream's test base only fills in what saturn leaves to it.
- ``jupyterhub.tests.mocking.MockSpawner`` and every mock derived from it (``SlowSpawner``, ``FormSpawner``, …)
  → the same mock combined with that saturn spawner: the mock's test behaviour (its command, environment,
  token reuse, delays, failures) on top, saturn's spawner beneath (:func:`combined_mocks`).
- ``KubeSpawner`` → ``SaturnKubeSpawner``; ``GenericOAuthenticator`` → ``SaturnOIDCAuthenticator``;
  ``GitHubOAuthenticator`` → ``SaturnGitHubAuthenticator``; ``GoogleOAuthenticator`` → ``SaturnGoogleAuthenticator``.
"""

from __future__ import annotations

import importlib
from functools import cache


@cache
def saturn_simple_spawner() -> type:
    """``SaturnLocalSpawner`` over upstream's test-only ``SimpleLocalProcessSpawner``."""
    from jupyterhub.spawner import SimpleLocalProcessSpawner

    from jupyterhub_saturn.spawners.local import SaturnLocalSpawner

    return type("SaturnSimpleLocalSpawner", (SaturnLocalSpawner, SimpleLocalProcessSpawner),
                {"__module__": __name__, "__doc__": "SaturnLocalSpawner over SimpleLocalProcessSpawner."})


def combine(mock: type) -> type:
    """``mock`` (a MockSpawner or a class derived from it) with saturn's spawner beneath it.

    The method resolution order is the mock's own classes, then saturn's (``SaturnLocalSpawner`` and its
    mixins), then ``SimpleLocalProcessSpawner``: the mock's ``super()`` calls reach saturn's spawner."""
    return type(mock.__name__, (mock, saturn_simple_spawner()),
                {"__module__": mock.__module__, "__qualname__": mock.__qualname__,
                 "__doc__": f"{mock.__doc__ or mock.__name__} (combined with SaturnLocalSpawner)"})


@cache
def combined_mocks() -> dict[type, type]:
    """Every spawner class of ``jupyterhub.tests.mocking`` derived from ``MockSpawner`` → its combination."""
    mocking = importlib.import_module("jupyterhub.tests.mocking")
    base = mocking.MockSpawner
    return {cls: combine(cls) for cls in vars(mocking).values()
            if isinstance(cls, type) and issubclass(cls, base) and cls.__module__ == mocking.__name__}


#: (stock module, stock name, saturn module, saturn name)
PAIRS = (
    ("jupyterhub.spawner", "LocalProcessSpawner", "jupyterhub_saturn.spawners.local", "SaturnLocalSpawner"),
    ("kubespawner", "KubeSpawner", "jupyterhub_saturn.spawners.kube", "SaturnKubeSpawner"),
    ("oauthenticator.generic", "GenericOAuthenticator", "jupyterhub_saturn.auth.oidc", "SaturnOIDCAuthenticator"),
    ("oauthenticator.github", "GitHubOAuthenticator", "jupyterhub_saturn.auth.github", "SaturnGitHubAuthenticator"),
    ("oauthenticator.google", "GoogleOAuthenticator", "jupyterhub_saturn.auth.google", "SaturnGoogleAuthenticator"),
)


def substitutions(suite: str) -> dict[type, type]:
    """stock class → saturn class for one suite (``jupyterhub``, ``oauthenticator`` or ``kubespawner``)."""
    out: dict[type, type] = {}
    for stock_mod, stock_name, saturn_mod, saturn_name in PAIRS:
        if not stock_mod.startswith(suite if suite != "jupyterhub" else "jupyterhub."):
            continue
        out[getattr(importlib.import_module(stock_mod), stock_name)] = getattr(
            importlib.import_module(saturn_mod), saturn_name)
    if suite == "jupyterhub":
        from jupyterhub.spawner import SimpleLocalProcessSpawner

        out[SimpleLocalProcessSpawner] = saturn_simple_spawner()
        out.update(combined_mocks())
    return out
