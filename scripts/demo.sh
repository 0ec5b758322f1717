#!/usr/bin/env bash
# `make demo`: start the demo hub (config/jupyterhub_config.py) and say where to open it once it answers.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
URL=${SATURN_DEMO_URL:-http://127.0.0.1:8000}
export SATURN_DEMO_URL=$URL

"$VENV/bin/jupyterhub" -f config/jupyterhub_config.py "$@" &
hub=$!
trap 'kill -TERM $hub 2>/dev/null; wait $hub' INT TERM

# wait until the hub answers (or exits), then print the URL where the logs cannot bury it. The hub's own
# port is asked first: a request through the proxy before the hub listens makes configurable-http-proxy log
# an ECONNREFUSED error with its stack, which a user would have to decode
"$VENV/bin/python" - "$URL" "$hub" "${SATURN_DEMO_HUB_URL:-http://127.0.0.1:8081}" <<'PY'
import os, sys, time, urllib.request
url, pid, hub_url = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3].rstrip("/")

def answers(base):
    try:
        urllib.request.urlopen(base + "/hub/api/", timeout=2)
        return True
    except Exception:
        return False

for base in (hub_url, url):
    while not answers(base):
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(1)  # the hub stopped: its own log says why
        time.sleep(0.5)
line = "=" * 78
print(f"\n{line}\n  The demo hub is up: open {url}\n"
      f"  Log in as 'student' or 'instructor' with password 'saturn-demo' (Ctrl-C stops it).\n{line}\n",
      file=sys.stderr, flush=True)
PY
wait $hub
