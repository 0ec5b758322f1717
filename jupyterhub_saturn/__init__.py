"""jupyterhub-saturn: hosted-notebook-cloud features for a stock JupyterHub.

Pure core: :mod:`jupyterhub_saturn.profiles`, :mod:`jupyterhub_saturn.policy`,
:mod:`jupyterhub_saturn.gallery`. Adapters: spawners, hub handlers, authenticators,
the culler service and the CLI.
"""

__version__ = "0.1.0"
