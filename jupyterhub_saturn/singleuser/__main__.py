"""``python -m jupyterhub_saturn.singleuser -- <command>``: run a server under the watchdog."""

import sys

from .watchdog import main

sys.exit(main())
