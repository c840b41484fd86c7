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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Locator, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for mnist_cnn.sketches; this file runs as a script

from mnist_cnn.sketches import sketch_strokes  # noqa: E402

SAMPLE_NPZ = REPO / "tests" / "data" / "mnist_sample.npz"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CANVAS_SIZE = 280
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


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    spawned_at: float

    def rss_mb(self) -> float:
        """Resident memory of the server and its children."""
        root = psutil.Process(self.process.pid)
        processes = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes if p.is_running()) / MB

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(name: str, script: str, env: dict[str, str], log: Path) -> Server:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
        "--server.port", str(port), "--server.fileWatcherType", "none",
    ]  # fmt: skip
    spawned_at = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)
    server = Server(name, f"http://localhost:{port}", process, spawned_at)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name}: streamlit exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    server.stop()
    sys.exit(f"{name}: not healthy after 300 s:\n{log.read_text()[-3000:]}")


def canvas_of(page: Page) -> Locator:
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_have_count(1)
    canvas.hover()  # slides the canvas toolbar off the top right corner
    expect(page.locator(".dc-toolbar")).to_have_css("opacity", "1")
    return canvas


def draw(page: Page, digit: int) -> None:
    box = canvas_of(page).bounding_box()
    scale = box["width"] / CANVAS_SIZE
    for stroke in sketch_strokes(digit, size=CANVAS_SIZE):
        points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=4)
        page.mouse.up()


def prediction(page: Page) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text="Prediction")


def clear(page: Page) -> None:
    """Empty the canvas with its own toolbar button, which both pages have."""
    canvas_of(page)
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(prediction(page)).to_have_count(0)


def open_draw_page(page: Page, server: Server) -> None:
    page.goto(server.url)
    canvas_of(page)
    page.evaluate(INSTRUMENT)


def time_drawing(page: Page, digit: int) -> tuple[float, bool]:
    """Milliseconds from the stroke's mouseup to the prediction, and whether it was right."""
    clear(page)
    draw(page, digit)
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
            self.peak = max(self.peak, server.rss_mb())

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
    env = {
        **os.environ,
        "MNIST_NPZ": str(data),
        "MNIST_CNN_MODELS_DIR": str(workdir / "trained_models"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    print(f"Browser benchmark: headless Chromium, {os.cpu_count()} CPUs, MNIST from {data}")
    print(f"(server logs in {workdir})")

    servers: list[Server] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        expect.set_options(timeout=120_000)
        try:
            pages: dict[str, Page] = {}
            startup: dict[str, float] = {}
            for name, script in (("Draw page", "streamlit_app.py"),
                                 ("bare page", "benchmarks/bare_draw_page.py")):  # fmt: skip
                server = start_server(name, script, env, workdir / f"{name[:4]}.log")
                servers.append(server)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                open_draw_page(page, server)
                draw(page, 7)
                expect(prediction(page)).to_be_visible()
                startup[name] = time.perf_counter() - server.spawned_at
                pages[name] = page
            app = servers[0]
            memory = {"after start-up and a first prediction": app.rss_mb()}

            latencies: dict[str, list[float]] = {name: [] for name in pages}
            correct = dict.fromkeys(pages, 0)
            for i in range(args.drawings):
                digit = ONE_STROKE_DIGITS[i % len(ONE_STROKE_DIGITS)]
                order = list(pages) if i % 2 == 0 else list(pages)[::-1]
                for name in order:
                    latency, right = time_drawing(pages[name], digit)
                    latencies[name].append(latency)
                    correct[name] += right
            servers.pop().stop()  # the bare page's job is done; keep the memory figures clean

            page = pages["Draw page"]
            sidebar = page.get_by_test_id("stSidebar")
            matrix = page.locator(".stPlotlyChart .scatterlayer path.point")
            sidebar.get_by_role("link", name="Evaluate").click()
            expect(matrix).to_have_count(100)
            sidebar.get_by_role("link", name="Train").click()
            memory["after visiting every page"] = app.rss_mb()

            page.get_by_label("Epochs").fill(str(args.epochs))
            with PeakMemory(app) as peak:
                page.get_by_role("button", name="Start training").click()
                training_s = timed(
                    lambda: expect(page.get_by_text("Training finished")).to_be_visible(
                        timeout=3_600_000
                    )
                )
            sidebar.get_by_role("link", name="Evaluate").click()
            expect(matrix).to_have_count(100)
            sidebar.get_by_role("link", name="Draw").click()
            page.evaluate(INSTRUMENT)
            time_drawing(page, 3)
            memory[f"after a {args.epochs}-epoch training run and every page again"] = app.rss_mb()
        finally:
            for server in servers:
                server.stop()
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
