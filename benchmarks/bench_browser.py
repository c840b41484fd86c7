"""Browser benchmark of the web app: drawing latency, start-up time and server memory.

    python benchmarks/bench_browser.py [--drawings 20] [--epochs 1] [--data PATH]

Starts its own `streamlit run` servers and drives headless Chromium (/usr/bin/chromium, or
$CHROMIUM):

1. Start-up: from `streamlit run streamlit_app.py` to the Draw page showing a prediction.
2. Stroke -> prediction: a digit drawn with the mouse until the "Prediction" metric appears,
   timed in the browser's own clock (mouseup to the metric entering the page), on the real Draw
   page and on a bare page (benchmarks/bare_draw_page.py) in the same run, drawings interleaved
   so that a noisy machine slows both alike. The canvas itself waits ~200 ms after mouseup.
3. Memory: resident memory of the app's server (and any children) after visiting every page
   and one training run, plus the peak during the run.

MNIST for the training run comes from --data, else $MNIST_NPZ, else the committed sample.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Locator, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
# This file runs as a script: the package, and the browser tests' helpers, go on the path.
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from browser_support import VIEWPORT, draw_digit, launch_chromium, show_canvas  # noqa: E402
from streamlit_server import SAMPLE_NPZ, Server, start_server, stop_server  # noqa: E402

# Digits drawn in one stroke, so the last mouseup is the one that counts.
ONE_STROKE_DIGITS = (0, 1, 2, 3, 6, 7, 8, 9)
LATENCY_TARGET = 1.1
MEMORY_TARGET_MB = 1200
MB = 1024 * 1024

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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


class PeakMemory:
    """Samples a server's RSS in the background to catch the peak of a training run."""

    def __init__(self, server: Server, every_s: float = 0.25) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(server, every_s), daemon=True)

    def _sample(self, server: Server, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.peak = max(self.peak, rss_mb(server))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=20, help="drawings per page")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the training run")
    parser.add_argument("--data", type=Path, help="MNIST .npz (default: $MNIST_NPZ, else sample)")
    args = parser.parse_args()
    data = args.data or Path(os.environ.get("MNIST_NPZ") or SAMPLE_NPZ)
    workdir = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    models_dir = workdir / "trained_models"
    print(f"Browser benchmark: headless Chromium, {os.cpu_count()} CPUs, MNIST from {data}")
    print(f"(server logs in {workdir})")

    servers: list[Server] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        expect.set_options(timeout=120_000)
        try:
            pages: dict[str, Page] = {}
            startup: dict[str, float] = {}
            for name, script in (("Draw page", "streamlit_app.py"),
                                 ("bare page", "benchmarks/bare_draw_page.py")):  # fmt: skip
                spawned_at = time.perf_counter()
                server = start_server(models_dir, workdir / f"{name[:4]}.log", data, script)
                servers.append(server)
                page = browser.new_page(viewport=VIEWPORT)
                open_draw_page(page, server)
                draw_digit(page, 7)
                expect(prediction(page)).to_be_visible()
                startup[name] = time.perf_counter() - spawned_at
                pages[name] = page
            app = servers[0]
            memory = {"after start-up and a first prediction": rss_mb(app)}

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

            page = pages["Draw page"]
            sidebar = page.get_by_test_id("stSidebar")
            matrix = page.locator(".stPlotlyChart .scatterlayer path.point")
            sidebar.get_by_role("link", name="Evaluate", exact=True).click()
            expect(matrix).to_have_count(100)
            sidebar.get_by_role("link", name="Train", exact=True).click()
            memory["after visiting every page"] = rss_mb(app)

            page.get_by_label("Epochs").fill(str(args.epochs))
            with PeakMemory(app) as peak:
                page.get_by_role("button", name="Start training").click()
                training_s = timed(
                    lambda: expect(page.get_by_text("Training finished")).to_be_visible(
                        timeout=3_600_000
                    )
                )
            sidebar.get_by_role("link", name="Evaluate", exact=True).click()
            expect(matrix).to_have_count(100)
            sidebar.get_by_role("link", name="Draw", exact=True).click()
            page.evaluate(INSTRUMENT)
            time_drawing(page, 3)
            memory[f"after a {args.epochs}-epoch training run and every page again"] = rss_mb(app)
        finally:
            for server in servers:
                stop_server(server)
            browser.close()

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
    print("Start-up, `streamlit run` -> Draw page showing a prediction:")
    for name, seconds in startup.items():
        print(f"  {name:<10} {seconds:6.1f} s")
    print()
    print("Server memory (RSS, streamlit process and children):")
    for label, megabytes in memory.items():
        print(f"  {label:<62} {megabytes:6.0f} MB")
    print(f"  {'peak during the training run':<62} {peak.peak:6.0f} MB")
    final = list(memory.values())[-1]
    verdict = "meets" if max(final, peak.peak) <= MEMORY_TARGET_MB else "misses"
    print(f"  ({verdict} the target <= {MEMORY_TARGET_MB} MB; training took {training_s:.0f} s)")


if __name__ == "__main__":
    main()
