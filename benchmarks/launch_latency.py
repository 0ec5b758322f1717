"""Run this copy: click-to-notebook-served latency, and a burst of anonymous launches.

In Chromium (Debian's, through Playwright): click "Run this copy" on the public page →
first feedback (the launch steps are visible, on the report itself or the run page) and → the notebook's first cell visible in
JupyterLab, warm pool and cold, beside a stock JupyterHub: click "Start My Server" → the
hub's spawn page, and → the same notebook's first cell in JupyterLab.

Click-to-served = POST /hub/run/<id> → the copy is readable through the server's contents
API. Measured for a warm pool, a cold launch, and (the reference) a stock JupyterHub spawn
of the same server on a hub with the `simple` spawner followed by writing the same file
through the contents API. Then a burst of N simultaneous anonymous launches from distinct
client addresses: successes, 429s, 5xx, and the time until every admitted copy is ready.

    .venv/bin/python benchmarks/launch_latency.py [--rounds 8] [--burst 50]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.gallery_helpers import (  # noqa: E402
    GALLERY_CONFIG, launch_steps_visible, publish, sample_notebook, xsrf_of,
)
from tests.harness import Hub, wait_for  # noqa: E402


def click(hub: Hub, nb_id: str, ip: str) -> tuple[float, str]:
    """Seconds from the POST to the copy being readable; returns (seconds, outcome)."""
    s = requests.Session()
    page = s.get(f"{hub.url}/hub/run/{nb_id}?manual=1", timeout=60, headers={"X-Forwarded-For": ip})
    t0 = time.perf_counter()
    r = s.post(f"{hub.url}/hub/run/{nb_id}", data={"_xsrf": xsrf_of(page.text)}, allow_redirects=False,
               timeout=300, headers={"X-Forwarded-For": ip})
    if r.status_code != 303:
        return time.perf_counter() - t0, str(r.status_code)
    launch_id = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    while True:
        st = s.get(f"{hub.url}/hub/run/status/{launch_id}", timeout=60).json()
        if st["state"] in ("ready", "failed"):
            break
        time.sleep(0.05)
    if st["state"] != "ready":
        return time.perf_counter() - t0, "failed"
    name = st["url"].split("/user/")[1].split("/")[0]
    path = st["url"].split("/lab/tree/", 1)[1]
    token = hub.user_token(name, scopes=[f"access:servers!server={name}/"])
    r = requests.get(f"{hub.url}/user/{name}/api/contents/{path}?content=0", timeout=60,
                     headers={"Authorization": f"token {token}"})
    elapsed = time.perf_counter() - t0
    hub.stop_server(name)
    return elapsed, "ok" if r.status_code == 200 else f"contents {r.status_code}"


def stock_spawn(hub: Hub, nb: dict) -> float:
    t0 = time.perf_counter()
    assert hub.api("POST", "/users/bench/server").status_code in (201, 202)
    wait_for(lambda: hub.user_model("bench").get("servers", {}).get("", {}).get("ready"), timeout=300, interval=0.05)
    token = hub.user_token("bench")
    r = requests.put(f"{hub.url}/user/bench/api/contents/copy.ipynb", timeout=60,
                     headers={"Authorization": f"token {token}"},
                     data=json.dumps({"type": "notebook", "format": "json", "content": nb}))
    assert r.status_code in (200, 201), r.text
    elapsed = time.perf_counter() - t0
    hub.stop_server("bench")
    return elapsed


def press(page, selector: str) -> float:
    """Click ``selector`` like a person (mouse down and up at its centre); returns the time of the mouse down.

    Playwright's ``click`` first waits for the element to be stable and hit-testable (several frames, slow on a
    long page); the user's click starts at the press, so both hubs are timed from there."""
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    t0 = time.perf_counter()
    page.mouse.down()
    page.mouse.up()
    return t0


def browser_click(browser, hub: Hub, nb_id: str) -> tuple[float, float]:
    """(click -> launch steps visible, click -> first cell visible in JupyterLab), in seconds."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/hub/gallery/{nb_id}")
        cdp = context.new_cdp_session(page)
        t0 = press(page, "#saturn-run-button")
        # the report shows the launch steps on click (CSS, no script), then the run page and the launch page do
        wait_for(lambda: launch_steps_visible(cdp), timeout=60, interval=0.002, what="launch steps on screen")
        feedback = time.perf_counter() - t0
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=300_000)
        return feedback, time.perf_counter() - t0
    finally:
        context.close()


def browser_stock(browser, hub: Hub) -> tuple[float, float]:
    """Stock hub: (click Start My Server -> spawn page, -> first cell of the notebook visible in JupyterLab)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", "pw")
        page.click("input[type=submit], button[type=submit]")
        page.goto(f"{hub.url}/hub/home")
        t0 = press(page, "#start")
        page.wait_for_url(lambda u: "/hub/home" not in u, wait_until="domcontentloaded", timeout=60_000)
        feedback = time.perf_counter() - t0
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=300_000)
        elapsed = time.perf_counter() - t0
    finally:
        context.close()
    hub.stop_server("bench")
    return feedback, elapsed


def run_browser(args, warm: Hub, cold: Hub, stock: Hub, ids: dict, refill) -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS, chromium_path

    results: dict[str, list[tuple[float, float]]] = {"warm": [], "cold": [], "stock": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.browser_rounds):
                results["warm"].append(browser_click(browser, warm, ids[warm]))
                results["cold"].append(browser_click(browser, cold, ids[cold]))
                results["stock"].append(browser_stock(browser, stock))
                refill()
        finally:
            browser.close()
    print("in Chromium: click -> first feedback, and click -> the notebook's first cell visible in JupyterLab")
    for name, pairs in results.items():
        print("  " + summary(f"{name} fb", [a for a, _ in pairs]) + "   " + summary("cell", [b for _, b in pairs]))
    print(f"  first feedback p50 (cold) = {statistics.median(a for a, _ in results['cold']) * 1000:.0f} ms"
          "  (target <= 200 ms)")


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{name:10s} n={len(values):3d}  p50={statistics.median(values) * 1000:8.1f} ms  p95={p95 * 1000:8.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--max-throwaway", type=int, default=20)
    ap.add_argument("--burst-only", action="store_true", help="skip the latency rounds")
    ap.add_argument("--browser-rounds", type=int, default=3, help="Chromium rounds (0 = skip)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="saturn-launch-bench-"))
    limits = (f'c.Saturn.launch_limits = {{"max_throwaway_servers": {args.max_throwaway}, '
              f'"max_per_notebook": {args.max_throwaway}, "rate": {{"launches": 5, "per": "1h"}}}}\n')
    warm = Hub(tmp / "warm", GALLERY_CONFIG + limits + 'c.SaturnGallery.warm_pool = {"python": 2}\n')
    cold = Hub(tmp / "cold", GALLERY_CONFIG + limits)
    stock = Hub(tmp / "stock", 'c.JupyterHub.spawner_class = "simple"\nimport os\n'
                'c.Spawner.default_url = "/lab/tree/copy.ipynb"\n'
                'c.SimpleLocalProcessSpawner.home_dir_template = ' + repr(str(tmp / "stock-homes" / "{username}")) +
                '\nif os.geteuid() == 0:\n    c.Spawner.args = ["--allow-root"]\n')
    nb = sample_notebook("Bench")
    try:
        for h in (warm, cold, stock):
            h.start()
        stock.ensure_user("bench")
        (tmp / "stock-homes" / "bench").mkdir(parents=True, exist_ok=True)
        (tmp / "stock-homes" / "bench" / "copy.ipynb").write_text(json.dumps(nb))
        ids = {}
        for h in (warm, cold):
            h.ensure_user("prof", ["instructors"])
            ids[h] = publish(h, h.user_token("prof"), nb).json()["id"]
        wait_for(lambda: sum(1 for u in warm.api("GET", "/users").json()
                             if u["name"].startswith("anon~") and u["servers"].get("", {}).get("ready")) >= 2,
                 timeout=300, what="warm pool")
        samples: dict[str, list[float]] = {"warm": [], "cold": [], "stock": []}
        for i in range(0 if args.burst_only else args.rounds):
            ip = f"10.1.{i // 250}.{i % 250 + 1}"
            samples["warm"].append(click(warm, ids[warm], ip)[0])
            samples["cold"].append(click(cold, ids[cold], ip)[0])
            samples["stock"].append(stock_spawn(stock, nb))
            # let the pool refill before the next warm click
            wait_for(lambda: sum(1 for u in warm.api("GET", "/users").json()
                                 if u["name"].startswith("anon~") and u["servers"].get("", {}).get("ready")) >= 2,
                     timeout=300, what="warm pool refill")
        if not args.burst_only and args.rounds:
            print("click-to-notebook-served (POST run -> copy readable via the contents API)")
            for name, values in samples.items():
                print("  " + summary(name, values))
            ratio = statistics.median(samples["cold"]) / statistics.median(samples["stock"])
            print(f"  cold/stock median ratio = {ratio:.3f}  (target: cold no slower than stock)")
            print(f"  warm p50 = {statistics.median(samples['warm']) * 1000:.0f} ms  (target < 1000 ms)")

        if args.browser_rounds and not args.burst_only:
            def refill():
                wait_for(lambda: sum(1 for u in warm.api("GET", "/users").json()
                                     if u["name"].startswith("anon~") and u["servers"].get("", {}).get("ready")) >= 2,
                         timeout=300, what="warm pool refill")
            run_browser(args, warm, cold, stock, ids, refill)

        print(f"burst of {args.burst} simultaneous anonymous launches (cap {args.max_throwaway} throwaway servers)")
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(max_workers=args.burst) as pool:
            futures = [pool.submit(click, cold, ids[cold], f"10.2.{i // 250}.{i % 250 + 1}") for i in range(args.burst)]
            outcomes = [f.result() for f in futures]
        total = time.perf_counter() - t0
        ok = [t for t, o in outcomes if o == "ok"]
        codes = [o for _, o in outcomes if o != "ok"]
        from collections import Counter

        print(f"  admitted and ready: {len(ok)}   429: {codes.count('429')}   503: {codes.count('503')}   "
              f"5xx other: {sum(1 for c in codes if c.startswith('5') and c != '503')}   failed: {codes.count('failed')}")
        other = Counter(c for c in codes if c not in ("429", "503", "failed") and not c.startswith("5"))
        if other:
            print(f"  other outcomes: {dict(other)}")
        if ok:
            print(f"  time until all admitted copies were ready: {max(ok):.1f} s (whole burst {total:.1f} s)")
    finally:
        for h in (warm, cold, stock):
            h.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
