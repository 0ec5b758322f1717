"""Pure policy core: auto-shutoff choices, caps and deadlines; limits on anonymous launches.

No JupyterHub, tornado or Kubernetes imports: adapters feed plain data in and render the
:mod:`jupyterhub_saturn.errors` raised here as HTTP answers or start-up failures.
"""

from .client_ip import client_ip, parse_trusted_proxies, rate_key
from .deadlines import Deadlines, deadlines
from .durations import config_duration, format_duration, parse_duration
from .launch_limits import Admission, LaunchGate, LaunchLimits
from .rate_limiter import RateLimiter
from .resolved import NOTEBOOK_KEY, RESOLVED_KEY, notebook_of, resolved_options
from .shutoff import ShutoffPolicy
from .shutoff_config import NEVER, ShutoffConfig
from .shutoff_state import CHOICE_KEY, STATE_KEY, LoadedShutoff, Shutoff, load_shutoff

__all__ = [
    "CHOICE_KEY",
    "NEVER",
    "NOTEBOOK_KEY",
    "RESOLVED_KEY",
    "STATE_KEY",
    "Admission",
    "Deadlines",
    "LaunchGate",
    "LaunchLimits",
    "LoadedShutoff",
    "RateLimiter",
    "Shutoff",
    "ShutoffConfig",
    "ShutoffPolicy",
    "client_ip",
    "config_duration",
    "deadlines",
    "format_duration",
    "load_shutoff",
    "notebook_of",
    "parse_duration",
    "parse_trusted_proxies",
    "rate_key",
    "resolved_options",
]
