"""Compare a stock run and a saturn run of one upstream suite, test by test (no pytest, no hub: plain data).

A test that passes with the stock class and does not pass with the saturn class (fails, errors, is skipped
or is missing) is a *difference*. A difference is *intended* when ``intended.yaml`` lists it (for this
suite and version set) with its reason; otherwise it is *unexplained*. A listed entry that matches no
difference is *stale*. Tests that fail with the stock class too are *control failures*: reported, never
counted as differences.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import yaml

INTENDED = Path(__file__).with_name("intended.yaml")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def read_junit(path) -> dict[str, str]:
    """``{test id: passed|failed|skipped}`` from a pytest junit XML file; the id is ``classname::name``."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            outcomes[test_id] = FAILED
        elif "skipped" in tags:
            outcomes[test_id] = SKIPPED
        else:
            outcomes[test_id] = PASSED
    return outcomes


def failure_messages(path) -> dict[str, str]:
    """``{test id: first line of its failure or error message}`` from a junit file (for the report)."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                text = (child.get("message") or child.text or "").strip().splitlines()
                out[f"{case.get('classname', '')}::{case.get('name', '')}"] = text[0][:240] if text else ""
                break
    return out


@dataclass(frozen=True)
class Intended:
    """One intended difference: ``test`` is an exact id, or a prefix ending in ``*`` (all parameters)."""

    suite: str
    test: str
    reason: str
    versions: tuple[str, ...] = ()  # JupyterHub version sets ("6.1", "5.5") it applies to; empty: all

    def matches(self, suite: str, version: str, test_id: str) -> bool:
        if suite != self.suite or (self.versions and version not in self.versions):
            return False
        if self.test.endswith("*"):
            return test_id.startswith(self.test[:-1])
        return test_id == self.test


def load_intended(path=INTENDED) -> list[Intended]:
    """The data file: ``{suite: [{test, reason, versions?}, ...]}``; a malformed entry raises ValueError."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    out = []
    for suite, entries in data.items():
        for i, entry in enumerate(entries or []):
            where = f"{Path(path).name}: {suite}[{i}]"
            if not isinstance(entry, dict) or not entry.get("test") or not entry.get("reason"):
                raise ValueError(f"{where}: every entry needs a test id and a reason")
            unknown = set(entry) - {"test", "reason", "versions"}
            if unknown:
                raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
            versions = tuple(str(v) for v in entry.get("versions") or ())
            out.append(Intended(suite, str(entry["test"]), " ".join(str(entry["reason"]).split()), versions))
    return out


@dataclass
class SuiteReport:
    suite: str
    version: str
    stock: dict[str, str]
    saturn: dict[str, str]
    intended: dict[str, Intended] = field(default_factory=dict)  # differing test id → its entry
    unexplained: list[str] = field(default_factory=list)
    control_failures: list[str] = field(default_factory=list)
    stale: list[Intended] = field(default_factory=list)
    saturn_only_passes: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # saturn run: test id → why it failed
    retried: list[str] = field(default_factory=list)  # differed once, passed when run again alone

    def passed_on_retry(self, outcomes: dict[str, str]) -> None:
        """Differences that passed when run again with the saturn class are not counted (a difference the
        product makes reproduces; upstream's timing-sensitive tests on a loaded machine may not)."""
        self.retried = [t for t in self.unexplained if outcomes.get(t) == PASSED]
        self.unexplained = [t for t in self.unexplained if t not in self.retried]

    def count(self, run: str, outcome: str) -> int:
        return sum(1 for o in getattr(self, run).values() if o == outcome)


def compare(suite: str, version: str, stock: dict[str, str], saturn: dict[str, str],
            intended: list[Intended]) -> SuiteReport:
    """The per-test comparison of one suite on one version set."""
    report = SuiteReport(suite, version, stock, saturn)
    mine = [e for e in intended if e.suite == suite and (not e.versions or version in e.versions)]
    used: set[Intended] = set()
    for test_id in sorted(set(stock) | set(saturn)):
        before, after = stock.get(test_id), saturn.get(test_id, FAILED)
        if before is None:
            continue  # only in the saturn run: nothing to compare with
        if before == FAILED:
            report.control_failures.append(test_id)
            used.update(e for e in mine if e.matches(suite, version, test_id))  # cannot tell: not stale
            continue
        if before == PASSED and after != PASSED:
            entry = next((e for e in mine if e.matches(suite, version, test_id)), None)
            if entry is None:
                report.unexplained.append(test_id)
            else:
                report.intended[test_id] = entry
                used.add(entry)
        elif before != PASSED and after == PASSED:
            report.saturn_only_passes.append(test_id)
    report.stale = [e for e in mine if e not in used]
    return report


def table(reports: list[SuiteReport]) -> str:
    """A short table: per suite and version, stock and saturn passed/failed, intended, unexplained."""
    head = ("suite", "JupyterHub", "stock pass/fail", "saturn pass/fail", "intended", "unexplained",
            "control fails")
    rows = [head] + [
        (r.suite, r.version, f"{r.count('stock', PASSED)}/{r.count('stock', FAILED)}",
         f"{r.count('saturn', PASSED)}/{r.count('saturn', FAILED)}", str(len(r.intended)),
         str(len(r.unexplained)), str(len(r.control_failures)))
        for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def details(reports: list[SuiteReport], control: bool = False) -> list[str]:
    """Lines naming every unexplained difference, stale entry and retried test (and control failure)."""
    lines = []
    for r in reports:
        tag = f"[{r.suite}, JupyterHub {r.version}]"
        for t in r.unexplained:
            why = r.messages.get(t)
            lines.append(f"UNEXPLAINED {tag} {t}: passes stock, {r.saturn.get(t, 'missing')} saturn"
                         + (f" ({why})" if why else ""))
        lines += [f"STALE {tag} intended.yaml lists {e.test} ({e.reason[:60]}), which no longer differs"
                  for e in r.stale]
        lines += [f"control failure {tag} {t} (fails with the stock class too)" for t in r.control_failures
                  if control]
        lines += [f"retried {tag} {t}: failed once with the saturn class, passed when run again" for t in r.retried]
    return lines


def docs_rows(intended: list[Intended]) -> str:
    """The rows of docs/compat.md's intended-differences table for these entries (what the docs must list)."""
    return "\n".join(f"| {e.suite} | `{e.test}` | {', '.join(e.versions) or 'all'} | {e.reason} |" for e in intended)


def unexplained_total(reports: list[SuiteReport]) -> int:
    return sum(len(r.unexplained) for r in reports)
