"""``python -m jupyterhub_saturn.culler``."""

from .app import main

main()
