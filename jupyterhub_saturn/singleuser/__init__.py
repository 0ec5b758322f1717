"""What runs beside every ``saturn-local`` single-user server, in its own process tree.

:mod:`.watchdog` (``python -m jupyterhub_saturn.singleuser -- <server command>``) starts the
server as its child and stops it when :mod:`.lifetime` says so: the hub unreachable for too
long, the hub no longer knowing the server, or the server past its maximum age. It lives
inside the server's process tree (and sandbox), so it needs nothing from the hub process.
Standard library only: it must start fast and run wherever the server runs.
"""
