"""Every private upstream name jupyterhub-saturn touches, in one place.

Supported upstream sets: JupyterHub 5.5 / KubeSpawner 7.0 / oauthenticator 17.4 (the z2jh 4.4 hub image)
and JupyterHub 6.1 / KubeSpawner 7.1 / oauthenticator 17.4. ``tests/test_compat.py`` checks each name,
with its signature, on the installed set; ``make test`` runs it on both. Each entry says which upstream
change would let it go. Nothing else in the package may use an upstream name starting with ``_``.
"""

from __future__ import annotations

import contextlib

# ---------------------------------------------------------------- JupyterHub


def hub_template_dir(app) -> str:
    """JupyterHub's own template directory (the last of its ``template_paths``).

    ``JupyterHub._template_paths_default``; would go with a public ``JupyterHub.default_template_path``.
    """
    return app._template_paths_default()[0]


def spawner_log_name(spawner) -> str:
    """``user:server`` as JupyterHub's own log lines name a server (``Spawner._log_name``)."""
    return getattr(spawner, "_log_name", None) or getattr(getattr(spawner, "user", None), "name", "?")


@contextlib.contextmanager
def spawn_pending(spawner):
    """Mark a server pending for a spawn the hub's spawn handler does not drive (the warm pool), as
    ``BaseHandler.spawn_single_user`` does, so the API and the proxy say "pending" until it answers HTTP.

    ``Spawner._spawn_pending``; would go with a public ``User.spawn(..., pending=True)`` or similar.
    """
    spawner._spawn_pending = True
    try:
        yield spawner
    finally:
        spawner._spawn_pending = False


def passthrough_options_from_form(spawner) -> bool:
    """True when ``Spawner.options_from_form`` is upstream's ``"passthrough"`` (``Spawner._passthrough_options_from_form``,
    what the trait's validator turns the string into); would go with a public name for the predefined behaviours."""
    return spawner.options_from_form is type(spawner)._passthrough_options_from_form


def apply_user_options_dict(spawner, user_options):
    """JupyterHub's declarative ``apply_user_options = {option: trait}`` (``Spawner._apply_user_options_dict``),
    for an admin's dict that runs after the product's own checks; would go with a public way to chain hooks."""
    return spawner._apply_user_options_dict(user_options)


# ---------------------------------------------------------------- KubeSpawner


class KubeSpawnerSteps:
    """KubeSpawner's create steps and shared watchers, behind the product's own hook names.

    Mix in right before ``KubeSpawner``. KubeSpawner retries pod/PVC creation on timeouts only; a refused
    connection (apiserver restarting) must be retried too, and its watchers give up silently after
    ~50 s of API errors (``saturn_create_unreachable``, ``saturn_watchers``). Would go when KubeSpawner
    retries connection errors and restarts its reflectors itself.
    """

    async def saturn_create_unreachable(self, kind: str, name: str, error) -> bool:
        """A create of ``kind`` could not reach the API: False to retry (KubeSpawner's contract), or raise."""
        raise error

    async def _make_create_pod_request(self, pod, request_timeout):
        try:
            return await super()._make_create_pod_request(pod, request_timeout)
        except self.saturn_unreachable_errors as e:
            return await self.saturn_create_unreachable("pod", self.pod_name, e)

    async def _make_create_pvc_request(self, pvc, request_timeout):
        try:
            return await super()._make_create_pvc_request(pvc, request_timeout)
        except self.saturn_unreachable_errors as e:
            return await self.saturn_create_unreachable("PVC", self.pvc_name, e)

    saturn_unreachable_errors: tuple = ()

    def saturn_watchers(self) -> list:
        """``(kind, reflector or None, stopped, restart)`` for the shared pod (and event) watchers.

        ``_get_reflector_key``, ``_start_watching_pods/events``, ``ResourceReflector.watch_task/_stopping``.
        """
        kinds = [("pods", self._start_watching_pods)]
        if self.events_enabled:
            kinds.append(("events", self._start_watching_events))
        out = []
        for kind, start in kinds:
            reflector = type(self).reflectors.get(self._get_reflector_key(kind))
            task = getattr(reflector, "watch_task", None)
            stopped = task is not None and task.done() and not getattr(reflector, "_stopping", False)
            out.append((kind, reflector, stopped, start))
        return out

    def saturn_expand(self, template: str) -> str:
        """``{username}``-style templates expanded as KubeSpawner expands ``pvc_name_template``
        (``_expand_user_properties``); would go with a public expand method."""
        return self._expand_user_properties(template)


# ---------------------------------------------------------------- oauthenticator


async def google_member_groups(authenticator, email: str, domain: str) -> set[str]:
    """The Google Workspace groups of ``email``, transitively (``GoogleOAuthenticator._fetch_member_groups``,
    which upstream calls only for ``allowed_google_groups``/``admin_google_groups``); would go with a public
    group lookup or ``manage_groups`` support in GoogleOAuthenticator."""
    return set(await authenticator._fetch_member_groups(email, domain))


#: every private upstream name above, by owner (what tests/test_compat.py checks on each version set)
PRIVATE_NAMES = {
    "jupyterhub.app.JupyterHub": ["_template_paths_default"],
    "jupyterhub.spawner.Spawner": ["_spawn_pending", "_apply_user_options_dict", "_log_name"],
    "kubespawner.KubeSpawner": ["_make_create_pod_request", "_make_create_pvc_request", "_get_reflector_key",
                                "_start_watching_pods", "_start_watching_events", "_expand_user_properties"],
    "kubespawner.reflector.ResourceReflector": ["_stopping"],
    "oauthenticator.google.GoogleOAuthenticator": ["_fetch_member_groups"],
}

__all__ = ["PRIVATE_NAMES", "KubeSpawnerSteps", "apply_user_options_dict", "google_member_groups",
           "hub_template_dir", "spawn_pending", "spawner_log_name"]
