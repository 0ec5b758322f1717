"""The auto-shutoff culler: a hub-managed service that stops each server at its own deadline.

- :mod:`.decide` -- pure decisions over the hub's REST models (unit-tested)
- :mod:`.hub_client` -- a bounded-concurrency client for the hub API
- :mod:`.sweep` -- one sweep: list ready servers, stop, check kernels, remove throwaway users
- :mod:`.app` -- the ``jupyterhub-saturn-culler`` Application (``main``)
- :mod:`.service` -- :func:`culler_service` for ``jupyterhub_config.py``
"""

from .service import culler_scopes, culler_service, local_hub_api_url

__all__ = ["culler_scopes", "culler_service", "local_hub_api_url"]
