"""``python -m tests.upstream``: run upstream's suites with the stock and the saturn classes and compare.

Each suite runs twice in this environment's Python (the control run with the stock class, then with the
saturn class; ``--jobs 2`` runs them side by side), each with a junit file and a log under ``--out``. The
comparison (:mod:`.compare`) prints a table per suite, every unexplained difference, stale entry and
control failure, and ``upstream suites: N unexplained failures``. Exit status 1 when N > 0 or an entry of
``intended.yaml`` is stale; 2 when a suite could not run at all.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import compare
from .plugin import MODE_VAR, SUITE_VAR
from ..harness import CHP
from .suites import REPO, SUITES, Suite, hub_version, write_kubeconfig

INI = Path(__file__).with_name("pytest.ini")


def pytest_command(suite: Suite, mode: str, out: Path, extra: list[str], name: str) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.upstream.plugin",
           "-c", str(INI), "--rootdir", str(suite.rootdir()), "--basetemp", str(out / f"tmp-{name}"),
           f"--junitxml={out / f'junit-{name}.xml'}"]
    for option in suite.options:
        cmd += ["-o", option]
    return cmd + extra + suite.paths()


def run(suite: Suite, mode: str, out: Path, extra: list[str], only: list[str] = (),
        label: str = "") -> tuple[dict[str, str], float]:
    """One pytest run of ``suite`` with ``mode`` classes (``only``: these node ids): ``({test id: outcome}, s)``."""
    env = dict(os.environ, **{MODE_VAR: mode, SUITE_VAR: suite.name})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # MockHub runs configurable-http-proxy by name (make node installs it here), and the venv's scripts
    env["PATH"] = os.pathsep.join([str(CHP.parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    if suite.name == "kubespawner":
        env["KUBECONFIG"] = str(write_kubeconfig(out / f"kubeconfig-{mode}"))
    name = f"{suite.name}-{mode}{label}"
    junit = out / f"junit-{name}.xml"
    junit.unlink(missing_ok=True)
    log = out / f"{name}.log"
    cwd = out / f"cwd-{name}"  # whatever the tests leave in their working directory stays here
    cwd.mkdir(exist_ok=True)
    cmd = pytest_command(suite, mode, out, extra, name)
    if only:
        cmd = cmd[: len(cmd) - len(suite.paths())] + list(only)
    t0 = time.monotonic()
    with log.open("w") as f:
        rc = subprocess.call(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    took = time.monotonic() - t0
    if rc not in (0, 1) or not junit.exists():
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-25:])
        raise RuntimeError(f"{suite.name} ({mode} classes) did not run (pytest exit {rc}); {log}:\n{tail}")
    return compare.read_junit(junit), took


def default_interrupt() -> None:
    """Give the runs SIGINT's default action. A command started with ``&`` by a shell without job control (the
    background phases of ``make test``, or ``(make test &)``) inherits SIGINT ignored, and so would every
    process the suites start: upstream's mock single-user server would ignore the hub's SIGINT, each stop would
    wait out ``interrupt_timeout``, and the stock control run failed a dozen tests and took 13–36 min, not 3."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a handler: children start with SIG_DFL


def main(argv=None) -> int:
    default_interrupt()
    parser = argparse.ArgumentParser(prog="python -m tests.upstream", description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", choices=[s.name for s in SUITES],
                        help="run only this suite (repeatable); default: all three")
    parser.add_argument("--out", default=str(REPO / ".test-results" / "upstream"), help="junit files and logs")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="2: stock and saturn runs side by side")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest after --, e.g. -- -k test_spawner")
    parser.add_argument("--control", action="store_true", help="also list the tests that fail with the stock class")
    parser.add_argument("--docs", action="store_true", help="print intended.yaml as docs/compat.md's table rows")
    args = parser.parse_args(argv)
    if args.docs:
        print(compare.docs_rows(compare.load_intended()))
        return 0
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    version = hub_version()
    intended = compare.load_intended()
    chosen = [s for s in SUITES if not args.suite or s.name in args.suite]
    reports, timings = [], []
    for suite in chosen:
        try:
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                stock, saturn = pool.map(lambda mode: run(suite, mode, out, args.pytest_args), ("stock", "saturn"))
        except (RuntimeError, FileNotFoundError) as e:
            print(f"upstream suite {suite.name}: {e}", file=sys.stderr)
            return 2
        timings.append(f"{suite.name} {suite.version()}: stock {stock[1]:.0f}s, saturn {saturn[1]:.0f}s")
        report = compare.compare(suite.name, version, stock[0], saturn[0], intended)
        report.messages = compare.failure_messages(out / f"junit-{suite.name}-saturn.xml")
        if report.unexplained:
            try:
                again, took = run(suite, "saturn", out, args.pytest_args,
                                  only=[suite.node_id(t) for t in report.unexplained], label="-retry")
            except (RuntimeError, ValueError) as e:
                print(f"upstream suite {suite.name}: the retry did not run: {e}", file=sys.stderr)
                again, took = {}, 0.0
            report.passed_on_retry(again)
            timings[-1] += f", retry of {len(report.unexplained) + len(report.retried)} {took:.0f}s"
        reports.append(report)
    print(f"upstream suites on JupyterHub {version} (" + "; ".join(timings) + ")")
    print(compare.table(reports))
    for line in compare.details(reports, control=args.control):
        print(line)
    n = compare.unexplained_total(reports)
    stale = sum(len(r.stale) for r in reports)
    print(f"upstream suites: {n} unexplained failures" + (f", {stale} stale intended.yaml entries" if stale else ""))
    return 1 if n or stale else 0


if __name__ == "__main__":
    sys.exit(main())
