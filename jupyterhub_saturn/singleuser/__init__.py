"""What runs beside and inside a single-user server.

:mod:`.watchdog` (``python -m jupyterhub_saturn.singleuser -- <server command>``) starts a
``saturn-local`` server as its child and stops it when :mod:`.lifetime` says so: the hub unreachable
for too long, the hub no longer knowing the server, or the server past its maximum age. It lives
inside the server's process tree (and sandbox), so it needs nothing from the hub process.
Standard library only: it must start fast and run wherever the server runs.

:mod:`.extension` is a server extension (loaded while sharing is on, on every backend) that closes
the open websockets of a guest whose share was revoked; :mod:`.connections` holds its rules.
"""
