"""Where the time of Run this copy's first feedback goes: a Chromium trace of one click on the report.

Starts a hub (saturn-local, the gallery), publishes a long report with math, opens it in Debian's
Chromium (Playwright), presses **Run this copy** like a person while tracing, and prints, relative to the
mouse press: when the press and release were acknowledged, when each document (report, run page, launch
page) first had the launch steps visible, and the longest renderer tasks (style, layout, paint, parsing,
script) and the network requests in between.

    .venv/bin/python benchmarks/feedback_trace.py [--rounds 3] [--keep-trace trace.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.gallery_helpers import GALLERY_CONFIG, publish  # noqa: E402
from tests.harness import Hub  # noqa: E402

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "loading", "navigation",
              "input", "blink.user_timing", "toplevel"]
#: renderer work worth naming
WORK = {"UpdateLayoutTree", "Layout", "Paint", "PrePaint", "Layerize", "ParseHTML", "ParseAuthorStyleSheet",
        "EventDispatch", "FunctionCall", "EvaluateScript", "HitTest", "ScheduleStyleRecalculation",
        "RunTask", "ThreadControllerImpl::RunTask", "CommitLoad", "Document::updateStyleAndLayout",
        "LocalFrameView::RunPostLifecycleSteps", "ProxyMain::BeginMainFrame", "Commit"}
PROBE = ("(() => { const e = document.getElementById('saturn-launch-steps'); "
         "return [location.pathname, !!(e && e.checkVisibility())]; })()")


def report_notebook():
    from tests.browser.test_report_browser import math_notebook

    return math_notebook("Waves and phasors")


def one_click(browser, hub: Hub, nb_id: str, trace_path: Path | None) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/gallery/{nb_id}")
    cdp = context.new_cdp_session(page)
    box = page.locator("#saturn-run-button").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    browser.start_tracing(page=page, categories=CATEGORIES)
    polls = []
    t0 = time.perf_counter()
    page.mouse.down()
    t_down = time.perf_counter() - t0
    page.mouse.up()
    t_up = time.perf_counter() - t0
    seen = {}
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        try:
            r = cdp.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True})
            path, visible = r["result"]["value"]
        except Exception as e:  # noqa: BLE001 - a navigation swapped the context
            path, visible = f"({type(e).__name__})", False
        t = time.perf_counter() - t0
        polls.append((t, path, visible))
        if visible and path not in seen:
            seen[path] = t
        if "/launch/" in path and visible:
            break
        time.sleep(0.002)
    trace = browser.stop_tracing()
    context.close()
    if trace_path is not None:
        trace_path.write_bytes(trace)
    return {"down": t_down, "up": t_up, "seen": seen, "polls": polls, "trace": json.loads(trace)}


def analyse(result: dict) -> None:
    events = result["trace"]["traceEvents"] if isinstance(result["trace"], dict) else result["trace"]
    press = [e for e in events if e.get("name") == "EventDispatch"
             and (e.get("args", {}).get("data", {}) or {}).get("type") == "mousedown"]
    ms = lambda v: f"{v * 1000:7.1f} ms"  # noqa: E731
    print(f"  press acknowledged after {ms(result['down'])}, release after {ms(result['up'])}")
    for path, t in result["seen"].items():
        kind = "launch page" if "/launch/" in path else "run page" if "/run/" in path else "report"
        print(f"  steps visible in the {kind:11s} at {ms(t)}  ({path})")
    first_poll = result["polls"][0] if result["polls"] else None
    if first_poll:
        print(f"  first probe answered at {ms(first_poll[0])}: {first_poll[1]} visible={first_poll[2]}")
    if not press:
        print("  (no mousedown in the trace)")
        return
    ts0 = press[0]["ts"]
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
    rows = []
    for e in events:
        if e.get("ts", 0) < ts0 - 5_000 or e.get("ts", 0) > ts0 + 3_000_000:
            continue
        name = e.get("name", "")
        data = (e.get("args") or {}).get("data") or {}
        if e.get("ph") == "X" and (e.get("dur", 0) >= 4_000 and (name in WORK or e.get("dur", 0) >= 15_000)):
            detail = data.get("type") or data.get("url") or ""
            rows.append((e["ts"] - ts0, f"{name} {e['dur'] / 1000:.1f} ms {detail}"[:140], names.get((e["pid"], e["tid"]), e["tid"])))
        elif name in ("ResourceSendRequest", "ResourceReceiveResponse", "ResourceFinish", "navigationStart",
                      "firstPaint", "firstContentfulPaint", "domContentLoadedEventEnd", "MarkDOMContent",
                      "MarkLoad", "CommitLoad", "FrameCommittedInBrowser"):
            rows.append((e["ts"] - ts0, f"{name} {data.get('url', '') or data.get('frame', '')}"[:140],
                         names.get((e["pid"], e["tid"]), e["tid"])))
    for offset, text, thread in sorted(rows)[:80]:
        print(f"   {offset / 1000:8.1f} ms  [{str(thread)[:18]:18s}] {text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep-trace", type=Path, help="write the last round's trace here (chrome://tracing)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS, chromium_path

    tmp = Path(tempfile.mkdtemp(prefix="saturn-feedback-trace-"))
    hub = Hub(tmp / "hub", GALLERY_CONFIG)
    try:
        hub.start()
        hub.ensure_user("prof", ["instructors"])
        nb_id = publish(hub, hub.user_token("prof"), report_notebook()).json()["id"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            try:
                for i in range(args.rounds):
                    print(f"round {i + 1}")
                    result = one_click(browser, hub, nb_id, args.keep_trace if i == args.rounds - 1 else None)
                    analyse(result)  # the copies keep starting; the hub stops them at the end
            finally:
                browser.close()
    finally:
        hub.stop()
        hub.kill_owned()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
