#!/usr/bin/env bash
# `make test`: install what the suites need and run them all, timing every phase.
#
# Order (2-core machines): the Go builds of the test binaries start first, in the background, and
# run beside the installs.  Then two chains run side by side (end-to-end tests mostly wait on
# servers, deadlines and browsers, so two fill the machine): in the foreground every test that
# needs no Go build, on JupyterHub 6.1; in the background the JupyterHub 5.5 run, which repeats only
# the tests marked `hub_versions` (behaviour that differs between the supported versions), while
# the builds finish, and then the suites on the real kube-apiserver.  A cold build thus never holds
# up a suite that does not need it.  Every suite runs even when an earlier one failed; the exit code
# and the closing line count them all.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
VENV55=${VENV55:-.venv-jh55}
PYTEST_ARGS=${PYTEST_ARGS:-}
OUT=${SATURN_TEST_OUT:-.test-results}
rm -rf "$OUT" && mkdir -p "$OUT"

T0=$(date +%s)
FAILED=0

note() { printf '%s\n' "$*" >>"$OUT/phases.txt"; }
stamp() { date +%s; }

# phase NAME CMD... : run in the foreground, print and remember how long it took
phase() {
  local name=$1; shift
  local t; t=$(stamp)
  echo "== [$name] ..."
  "$@"
  local rc=$?
  local took=$(( $(stamp) - t ))
  note "$(printf '%-34s %5ss  %s' "$name" "$took" "$([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)")")"
  echo "== [$name] ${took}s, exit $rc"
  [ $rc = 0 ] || FAILED=1
  return $rc
}

# background NAME CMD... : start a phase beside the others; its output goes to $OUT/NAME.log
background() {
  local name=$1; shift
  ( t=$(stamp); "$@" >"$OUT/$name.log" 2>&1; rc=$?
    echo "$rc $(( $(stamp) - t ))" >"$OUT/$name.done" ) &
  echo "== [$name] started in the background (log: $OUT/$name.log)"
}

# join NAME [LINES] : wait for a background phase, show its log tail (all of it: LINES=+1), record its time
join() {
  local name=$1 lines=${2:-5} t; t=$(stamp)
  while [ ! -f "$OUT/$name.done" ]; do sleep 2; done
  local rc took; read -r rc took <"$OUT/$name.done"
  tail -n "$lines" "$OUT/$name.log"
  note "$(printf '%-34s %5ss  %s (waited %ss)' "$name" "$took" "$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")" "$(( $(stamp) - t ))")"
  if [ "$rc" != 0 ]; then
    FAILED=1; echo "== [$name] FAILED"; [ "$lines" = +1 ] || tail -n 60 "$OUT/$name.log"; return 1
  fi
}

# suite NAME PY ARGS... : one pytest run, with a junit file for the closing count
suite() {
  local name=$1 py=$2; shift 2
  # shellcheck disable=SC2086
  phase "suite $name" "$py" -m pytest -q -p no:cacheprovider --durations=15 \
    --junitxml="$OUT/junit-$name.xml" $PYTEST_ARGS "$@"
  local rc=$?
  [ $rc = 5 ] && { echo "suite $name collected no test"; }
  return $rc
}

# upstream LABEL PY : upstream's own suites (JupyterHub, oauthenticator, KubeSpawner's cluster-free tests) with
# the stock and the saturn classes, compared test by test (tests/upstream; the two runs side by side: they mostly
# wait on mock servers); fails on any unexplained difference
export SATURN_KUBESPAWNER_TESTS=${SATURN_KUBESPAWNER_TESTS:-$(cd .. && pwd)/shared/upstream-tests}
upstream() {
  phase "upstream suites ($1)" "$2" -m tests.upstream --jobs 2 --out "$OUT/upstream-${1##* }"
}

echo "== tool versions"
$PYTHON --version; node --version; npm --version; (go version || echo "go: missing") 2>&1

# 1. the Go builds (slowest step on a cold machine) start first; helm has its own lock and cache
background "go builds (etcd, kube-apiserver)" $PYTHON -m tests.kube.build
background "go build (helm)" $PYTHON -m tests.kube.helm

# 2. installs, beside the builds
background "venv JupyterHub 5.5" make -s venv55
phase "venv JupyterHub 6.1" make -s venv
phase "npm packages" make -s node
phase "JupyterLab extension" make -s labextension
phase "Debian packages (chromium, bubblewrap)" make -s chromium bubblewrap

# 3. beside it, in the background: the JupyterHub 5.5 tests that need no Go build and upstream's suites on
#    5.5 (the builds go on meanwhile), then, once the builds are done, the suites on the real kube-apiserver
#    (6.1, then 5.5)
jh55_then_kube() {
  join "venv JupyterHub 5.5"
  phase "JupyterLab extension (5.5 venv)" make -s labextension55
  suite "hub_versions (JupyterHub 5.5)" "$VENV55/bin/python" -m "hub_versions and not kube"
  upstream "JupyterHub 5.5" "$VENV55/bin/python"
  join "go builds (etcd, kube-apiserver)"
  join "go build (helm)"
  suite "kube (JupyterHub 6.1)" "$VENV/bin/python" -m kube
  suite "kube hub_versions (JupyterHub 5.5)" "$VENV55/bin/python" -m "hub_versions and kube"
  return $FAILED
}
background "JupyterHub 5.5 and kube suites" jh55_then_kube

# 4. ... beside every test that needs no Go build, on JupyterHub 6.1, then upstream's suites on it
suite "core+e2e (JupyterHub 6.1)" "$VENV/bin/python" -m "not kube"
upstream "JupyterHub 6.1" "$VENV/bin/python"

echo "== [JupyterHub 5.5 and kube suites] (ran in the background; its whole output follows)"
join "JupyterHub 5.5 and kube suites" +1

echo
echo "== phases (total $(( $(stamp) - T0 ))s; the 5.5 and kube suites ran beside the 6.1 core+e2e suite)"
sed 's/^/  /' "$OUT/phases.txt"
"$PYTHON" - "$OUT" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
n = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in glob.glob(f"{sys.argv[1]}/junit-*.xml"):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for key in n:
            n[key] += int(suite.get(key, 0))
failed = n["failures"] + n["errors"]
passed = n["tests"] - failed - n["skipped"]
print(f"make test: {passed} passed, {failed} failed, {n['skipped']} skipped")
EOF
exit $FAILED
