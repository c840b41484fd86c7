"""Browser benchmark of the web app: start-up, drawing latency, live charts, Stop, memory.

    python benchmarks/bench_browser.py [--drawings 20] [--epochs 1] [--stops 10] [--data PATH]

Starts its own `streamlit run` servers and drives headless Chromium (/usr/bin/chromium, or
$CHROMIUM):

1. First visit: from the server answering its health check to the Draw page's title, canvas
   and model card showing (page clock), and to the prediction of a digit drawn as soon as the
   canvas shows; also from `streamlit run` to that prediction.
2. Stroke -> prediction: a digit drawn with the mouse until the "Prediction" metric appears,
   timed in the browser's own clock (mouseup to the metric entering the page), on the real Draw
   page and on a bare page (benchmarks/bare_draw_page.py) in the same run, drawings interleaved
   so that a noisy machine slows both alike. The canvas itself waits ~200 ms after mouseup.
3. Live charts: every animation frame of a whole training run (--epochs), the frames in which
   a live chart is missing or half-drawn, and the charts re-created instead of updated.
4. Stop: --stops runs, each stopped at a random moment from the start to the end of a run as
   long as the one in 3 (tracing, batches, validation, the final evaluation), timed in the
   page's clock from the click to "Training stopped" showing.
5. Memory: resident memory of the app's server (and any children) after each step, and the
   peak during the training run.

MNIST for the training run comes from --data, else $MNIST_NPZ, else the committed sample.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO = Path(__file__).resolve().parent.parent
# This file runs as a script: the package, and the browser tests' helpers, go on the path.
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from browser_support import (  # noqa: E402
    VIEWPORT,
    WATCH_FIRST_VISIT,
    draw_digit,
    launch_chromium,
    show_canvas,
    stop_watching,
    wait_until_idle,
    watch_live_charts,
)
from peak_memory import PeakMemory  # noqa: E402  (benchmarks/, the script's folder)
from streamlit_server import SAMPLE_NPZ, Server, start_server, stop_server  # noqa: E402

# Digits drawn in one stroke, so the last mouseup is the one that counts.
ONE_STROKE_DIGITS = (0, 1, 2, 3, 6, 7, 8, 9)
LATENCY_TARGET = 1.1
MEMORY_TARGET_MB = 1000
PEAK_MEMORY_TARGET_MB = 1100
FIRST_TITLE_TARGET_S = 2.0
FIRST_PREDICTION_TARGET_S = 8.0
STOP_TARGET_S = 1.0
STOP_GIVE_UP_MS = 300_000
MB = 1024 * 1024
# How often the server's RSS is read during the training run, for its peak.
SERVER_PEAK_SAMPLE_S = 0.25

# Records, in the page's clock, a click on "Stop training" and when the run's end shows:
# "Training stopped", or "Training finished" when the run was saved before the Stop arrived.
WATCH_STOP = """() => {
    window.__stop = {clicked: null, shown: null, outcome: null};
    document.addEventListener('click', event => {
        const button = event.target.closest('button');
        if (button && button.innerText.includes('Stop training')) {
            window.__stop.clicked = performance.now();
        }
    }, true);
    new MutationObserver(() => {
        const stop = window.__stop;
        if (stop.clicked === null || stop.shown !== null) return;
        const text = document.body.innerText;
        const outcome = text.includes('Training stopped') ? 'stopped'
            : text.includes('Training finished') ? 'finished' : null;
        if (outcome !== null) {
            stop.shown = performance.now();
            stop.outcome = outcome;
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""

# Records, in the page's clock, the last mouseup and when a "Prediction" metric next appears.
INSTRUMENT = """() => {
    window.__bench = {up: null, shown: null};
    document.addEventListener('mouseup', () => {
        window.__bench.up = performance.now();
        window.__bench.shown = null;
    }, true);
    new MutationObserver(() => {
        const bench = window.__bench;
        if (bench.up === null || bench.shown !== null) return;
        const metrics = document.querySelectorAll('[data-testid="stMetric"]');
        if ([...metrics].some(m => m.innerText.startsWith('Prediction'))) {
            bench.shown = performance.now();
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def rss_mb(server: Server) -> float:
    """Resident memory of the server and its children."""
    root = psutil.Process(server.process.pid)
    processes = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / MB


def prediction(page: Page) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text="Prediction")


def clear(page: Page) -> None:
    """Empty the canvas with its own toolbar button, which both pages have."""
    show_canvas(page)
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(prediction(page)).to_have_count(0)


BARE_PAGE = "benchmarks/bare_draw_page.py"


def open_draw_page(page: Page, server: Server) -> None:
    page.goto(server.url)
    show_canvas(page)
    page.evaluate(INSTRUMENT)


def time_drawing(page: Page, digit: int) -> tuple[float, bool]:
    """Milliseconds from the stroke's mouseup to the prediction, and whether it was right."""
    clear(page)
    draw_digit(page, digit)
    page.wait_for_function("() => window.__bench.shown !== null")
    latency = page.evaluate("() => window.__bench.shown - window.__bench.up")
    value = prediction(page).get_by_test_id("stMetricValue").inner_text()
    return latency, value == str(digit)


# The pages besides Draw and Evaluate (which the steps visit with a check of their own), by
# their titles, ending on Train, where the training run starts.
OTHER_PAGES = {
    "Inside": "Inside the CNN",
    "Models": "Models",
    "Your drawings": "Your drawings",
    "Train": "Train a model",
}


def visit_the_other_pages(page: Page) -> None:
    """Open each of OTHER_PAGES and let its run finish (Inside works on the last drawing)."""
    sidebar = page.get_by_test_id("stSidebar")
    for link, title in OTHER_PAGES.items():
        sidebar.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        wait_until_idle(page)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def first_visit(browser: Browser, server: Server, up_at: float) -> tuple[Page, dict[str, float]]:
    """Open the Draw page on a fresh server and draw a 7 once the canvas shows: seconds from
    the server being up (``up_at``, epoch seconds) to each piece showing, and the prediction."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(f"({WATCH_FIRST_VISIT})()")
    page = context.new_page()
    page.goto(server.url)
    show_canvas(page)
    page.evaluate(INSTRUMENT)
    draw_digit(page, 7)
    expect(prediction(page)).to_be_visible()
    expect(page.get_by_role("heading", name="Active model")).to_be_visible()
    origin = page.evaluate("() => performance.timeOrigin") / 1000
    seen = page.evaluate("() => ({...window.__firstVisit, prediction: window.__bench.shown})")
    return page, {name: origin + at / 1000 - up_at for name, at in seen.items() if at is not None}


def watched_training_run(page: Page, server: Server, epochs: int) -> tuple[float, dict, float]:
    """One training run watched frame by frame: its seconds, the chart watch, peak memory."""
    page.get_by_role("spinbutton", name="Epochs").fill(str(epochs))
    with PeakMemory(lambda: rss_mb(server), SERVER_PEAK_SAMPLE_S) as peak:
        watch_live_charts(page)  # every animation frame
        page.get_by_role("button", name="Start training").click()
        seconds = timed(
            lambda: expect(page.get_by_text("Training finished")).to_be_visible(timeout=3_600_000)
        )
        watched = stop_watching(page)
    return seconds, watched, peak.peak


def stop_latencies(page: Page, runs: int, longest_s: float, epochs: int) -> tuple[list[float], int]:
    """Start and stop ``runs`` runs, each at a random moment up to ``longest_s`` in: seconds
    from each click on Stop to "Training stopped" showing (page clock), and how many runs had
    saved their model before their Stop arrived (they rightly show "Training finished")."""
    latencies, too_late = [], 0
    start = page.get_by_role("button", name="Start training")
    for _ in range(runs):
        expect(start).to_be_enabled(timeout=600_000)  # the last run has ended
        page.get_by_role("spinbutton", name="Epochs").fill(str(epochs))
        start.click()
        stop = page.get_by_role("button", name="Stop training")
        expect(stop).to_be_visible()
        page.wait_for_timeout(random.uniform(0, longest_s) * 1000)
        page.evaluate(WATCH_STOP)
        if stop.count() == 0 or stop.is_disabled():  # the run ended before the moment came
            continue
        stop.click()
        try:
            page.wait_for_function("() => window.__stop.shown !== null", timeout=STOP_GIVE_UP_MS)
        except PlaywrightTimeoutError:
            latencies.append(math.inf)  # never showed: counts as the slowest
            continue
        if page.evaluate("() => window.__stop.outcome") == "finished":
            too_late += 1
            continue
        latencies.append(page.evaluate("() => window.__stop.shown - window.__stop.clicked") / 1000)
    return latencies, too_late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=20, help="drawings per page")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the training run")
    parser.add_argument("--stops", type=int, default=10, help="runs stopped at random moments")
    parser.add_argument("--data", type=Path, help="MNIST .npz (default: $MNIST_NPZ, else sample)")
    args = parser.parse_args()
    data = args.data or Path(os.environ.get("MNIST_NPZ") or SAMPLE_NPZ)
    workdir = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    models_dir = workdir / "trained_models"
    print(f"Browser benchmark: headless Chromium, {os.cpu_count()} CPUs, MNIST from {data}")
    print(f"(server logs in {workdir}; load average at the start {os.getloadavg()[0]:.1f})")

    servers: list[Server] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        expect.set_options(timeout=120_000)
        try:
            pages: dict[str, Page] = {}
            startup: dict[str, float] = {}
            spawned_at = time.perf_counter()
            app = start_server(models_dir, workdir / "app.log", data)
            servers.append(app)
            pages["Draw page"], first = first_visit(browser, app, time.time())
            startup["Draw page"] = time.perf_counter() - spawned_at
            memory = {"after start-up and a first prediction": rss_mb(app)}

            spawned_at = time.perf_counter()
            bare = start_server(models_dir, workdir / "bare.log", data, BARE_PAGE)
            servers.append(bare)
            page = browser.new_page(viewport=VIEWPORT)
            open_draw_page(page, bare)
            draw_digit(page, 7)
            expect(prediction(page)).to_be_visible()
            startup["bare page"] = time.perf_counter() - spawned_at
            pages["bare page"] = page

            latencies: dict[str, list[float]] = {name: [] for name in pages}
            correct = dict.fromkeys(pages, 0)
            for i in range(args.drawings):
                digit = ONE_STROKE_DIGITS[i % len(ONE_STROKE_DIGITS)]
                order = list(pages) if i % 2 == 0 else list(pages)[::-1]
                for name in order:
                    latency, right = time_drawing(pages[name], digit)
                    latencies[name].append(latency)
                    correct[name] += right
            stop_server(servers.pop())  # the bare page's job is done; keep the memory figures clean
            memory["after the drawings"] = rss_mb(app)

            page = pages["Draw page"]
            sidebar = page.get_by_test_id("stSidebar")
            matrix = page.locator(".stPlotlyChart .scatterlayer path.point")
            sidebar.get_by_role("link", name="Evaluate", exact=True).click()
            expect(matrix).to_have_count(100)
            memory["after the Evaluate page"] = rss_mb(app)
            visit_the_other_pages(page)
            memory["after visiting every page"] = rss_mb(app)

            training_s, watched, peak = watched_training_run(page, app, args.epochs)
            memory[f"after a {args.epochs}-epoch training run"] = rss_mb(app)
            sidebar.get_by_role("link", name="Evaluate", exact=True).click()
            expect(matrix).to_have_count(100)
            visit_the_other_pages(page)
            sidebar.get_by_role("link", name="Draw", exact=True).click()
            page.evaluate(INSTRUMENT)
            time_drawing(page, 3)
            memory["after the run and every page again"] = rss_mb(app)

            sidebar.get_by_role("link", name="Train", exact=True).click()
            stops, too_late = stop_latencies(page, args.stops, training_s, args.epochs)
            after_stops = rss_mb(app)
        finally:
            for server in servers:
                stop_server(server)
            browser.close()

    stopping = (stops, too_late, after_stops)
    report(first, startup, latencies, correct, args, training_s, watched, stopping, memory, peak)


def report(first, startup, latencies, correct, args, training_s, watched, stopping, memory, peak):
    """Print every figure, with the targets."""
    stops, too_late, after_stops = stopping
    print()
    print("First visit on a fresh server, seconds from its health check answering:")
    for name in ("navigation", "title", "notice", "canvas", "card", "prediction"):
        shown = f"{first[name]:6.1f} s" if name in first else "   not shown"
        print(f"  {name:<11} {shown}")
    print(
        f"  (targets: title <= {FIRST_TITLE_TARGET_S:.0f} s, prediction of a digit drawn at once "
        f"<= {FIRST_PREDICTION_TARGET_S:.0f} s)"
    )
    print("  `streamlit run` -> that prediction, and the bare page's start-up to its first one:")
    for name, seconds in startup.items():
        print(f"    {name:<10} {seconds:6.1f} s")
    print()
    print(f"Stroke -> prediction shown ({args.drawings} drawings each, browser clock):")
    print(f"  {'':<10} {'p50':>8} {'p95':>8} {'mean':>8}  recognised")
    for name, values in latencies.items():
        print(
            f"  {name:<10} {statistics.median(values):>6.0f} ms {percentile(values, 95):>5.0f} ms "
            f"{statistics.fmean(values):>5.0f} ms  {correct[name]}/{args.drawings}"
        )
    ratio = statistics.median(latencies["Draw page"]) / statistics.median(latencies["bare page"])
    verdict = "meets" if ratio <= LATENCY_TARGET else "misses"
    print(f"  ratio Draw/bare (p50): {ratio:.2f}x ({verdict} the target <= {LATENCY_TARGET}x)")
    print()
    print(
        f"Live charts over a {args.epochs}-epoch run ({training_s:.0f} s), every animation frame:"
    )
    print(
        f"  {watched['bad']} of {watched['samples']} frames with a chart missing or half-drawn "
        f"({watched['bad'] / max(watched['samples'], 1):.1%}); {watched['replaced']} charts "
        f"re-created instead of updated; {watched['most']} charts at most"
    )
    print()
    if stops:
        print(f"Stop -> 'Training stopped' shown, {len(stops)} runs stopped at random moments:")
        print(
            f"  p50 {statistics.median(stops):.2f} s, p95 {percentile(stops, 95):.2f} s, "
            f"max {max(stops):.2f} s (target <= {STOP_TARGET_S:.0f} s); all: "
            + ", ".join(f"{s:.2f}" for s in stops)
        )
    if too_late:
        print(f"  ({too_late} more runs had saved their model when their Stop arrived: 'finished')")
    if stops or too_late:
        print()
    print("Server memory (RSS, streamlit process and children):")
    for label, megabytes in memory.items():
        print(f"  {label:<62} {megabytes:6.0f} MB")
    print(f"  {'peak during the training run':<62} {peak:6.0f} MB")
    print(f"  {f'after the {args.stops} Stop runs (not a target step)':<62} {after_stops:6.0f} MB")
    settled = max(memory.values())
    met = settled <= MEMORY_TARGET_MB and peak <= PEAK_MEMORY_TARGET_MB
    print(
        f"  ({'meets' if met else 'misses'} the targets <= {MEMORY_TARGET_MB} MB after each step, "
        f"<= {PEAK_MEMORY_TARGET_MB} MB peak; load average at the end {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
