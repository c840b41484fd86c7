"""Headless Chromium and a visitor's actions on the app, shared by the browser tests
(conftest.py, test_browser.py), benchmarks/bench_browser.py and docs/screenshots.py.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM): Playwright cannot download its own
browsers here. Scripts outside tests/e2e put this folder on sys.path to import it.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, CDPSession, Locator, Page, Playwright, expect
from streamlit_server import REPO, Server

from sketchbook.sketches import sketch_strokes

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
# A phone held upright (an iPhone 12's browser window): 390 px wide, touch instead of a mouse.
PHONE = {
    "viewport": {"width": 390, "height": 664},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
SCREENSHOT_VIEWPORT = {"width": 1400, "height": 1500}
DOCS = REPO / "docs"
CANVAS_SIZE = 280  # as app_pages/draw.py draws it
MATRIX_SQUARES = ".stPlotlyChart .scatterlayer path.point"
# st.dataframe's grid (a canvas): header and row height, and the row-selection column.
GRID_ROW_PX = 35
GRID_MARKER_PX = 20
# The picture of each Vega-Lite chart (Streamlit renders them as SVG).
VEGA_CHARTS = '[data-testid="stVegaLiteChart"] svg.marks'

# Watches the Train page's live charts while a run is in progress (a progress bar is shown),
# sampling every ``everyMs`` milliseconds, or every animation frame when it is 0. A sample is
# "bad" when fewer charts are drawn than the most seen so far: one missing, or re-created and
# not drawn yet. "replaced" counts charts that appeared without the number of charts growing,
# i.e. a chart re-created rather than updated. Counts both Vega-Lite and Plotly charts, so the
# benchmark can measure an older version of the app the same way.
WATCH_LIVE_CHARTS = """everyMs => {
    const watch = {samples: 0, bad: 0, replaced: 0, most: 0, count: 0, running: true};
    window.__liveCharts = watch;
    const drawn = chart => chart.matches('svg')
        ? [...chart.querySelectorAll('.mark-line path, .mark-rect path')].some(
            path => (path.getAttribute('d') || '').length > 0)
        : chart.querySelector('.scatterlayer .trace path.js-line') !== null;
    const sample = () => {
        if (!document.querySelector('[data-testid="stProgress"]')) return;
        const charts = [...document.querySelectorAll(
            '[data-testid="stVegaLiteChart"] svg.marks, .stPlotlyChart .js-plotly-plot')];
        const fresh = charts.filter(chart => !chart.__watched);
        fresh.forEach(chart => { chart.__watched = true; });
        if (watch.most > 0 && charts.length <= watch.count) watch.replaced += fresh.length;
        const shown = charts.filter(drawn).length;
        watch.samples += 1;
        if (shown < watch.most) watch.bad += 1;
        watch.most = Math.max(watch.most, shown);
        watch.count = charts.length;
    };
    if (everyMs > 0) {
        const timer = setInterval(() => watch.running ? sample() : clearInterval(timer), everyMs);
    } else {
        const frame = () => { if (watch.running) { sample(); requestAnimationFrame(frame); } };
        requestAnimationFrame(frame);
    }
}"""
# Records, in the page's clock, when the first visit's pieces appear: the page title, the
# navigation, the canvas (inside the canvas component's shadow root), the sidebar's start-up
# notice and the model card (drawn once the model has loaded). Polls every 25 ms until all
# have appeared: a MutationObserver does not see into shadow roots.
WATCH_FIRST_VISIT = """() => {
    const seen = {};
    window.__firstVisit = seen;
    const note = (name, found) => {
        if (seen[name] === undefined && found) seen[name] = performance.now();
    };
    const canvas = () => [...document.querySelectorAll('*')].some(
        e => e.shadowRoot && e.shadowRoot.querySelector('canvas.upper-canvas'));
    const timer = setInterval(() => {
        if (!document.body) return;
        note('title', [...document.querySelectorAll('h1')].some(
            h => h.innerText.includes('Draw a digit')));
        note('navigation', document.querySelector('[data-testid="stSidebarNav"]'));
        if (seen.canvas === undefined) note('canvas', canvas());
        const sidebar = document.querySelector('[data-testid="stSidebar"]');
        note('notice', sidebar && sidebar.innerText.includes('Starting up'));
        note('card', sidebar && sidebar.innerText.includes('Active model'));
        if (Object.keys(seen).length === 5) clearInterval(timer);
    }, 25);
}"""


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_app(page: Page, server: Server, path: str = "") -> None:
    """Load a page and wait until the app has run (the sidebar's model card is drawn)."""
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_role("heading", name="Active model")).to_be_visible()


def wait_until_idle(page: Page) -> None:
    """Wait until the app's script run has ended, so the elements on the page now stay.

    A widget used while the page is still running (a dropdown opened, say) can be replaced by
    the rest of that run and lose the click.
    """
    expect(
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    ).to_have_count(1)


def watch_live_charts(page: Page, every_ms: int = 0) -> None:
    """Start sampling the live charts (see WATCH_LIVE_CHARTS); ``stop_watching`` reads it."""
    page.evaluate(WATCH_LIVE_CHARTS, every_ms)


def stop_watching(page: Page) -> dict:
    """Stop the live-chart watch; its counts: samples, bad, replaced, most (charts drawn)."""
    return page.evaluate(
        "() => { window.__liveCharts.running = false; return window.__liveCharts; }"
    )


# A selectbox's dropdown that closed before its option could be picked is opened again, this
# many times, waiting this long for the option each time.
DROPDOWN_ATTEMPTS = 3
DROPDOWN_WAIT_MS = 10_000


def choose(page: Page, selectbox: Locator, option: str) -> None:
    """Pick ``option`` from ``selectbox``, opening its dropdown again if it closed unpicked.

    Once in CI (one run of about ten) the Evaluate page's picker showed no options after a
    click on an idle page, and the test waited out its minute; the cause was not found. A
    visitor would click again, and so does this.
    """
    wanted = page.get_by_role("option", name=option)
    for attempt in range(1, DROPDOWN_ATTEMPTS + 1):
        selectbox.click()
        try:
            expect(wanted).to_be_visible(timeout=DROPDOWN_WAIT_MS)
        except AssertionError:
            if attempt == DROPDOWN_ATTEMPTS:
                raise
            page.keyboard.press("Escape")  # closed, whatever state the click left it in
        else:
            # Typed, not clicked: the list is virtualised, and on a busy machine scrolling an
            # option into view to click it re-rendered it out from under the click for a minute
            # ("element was detached from the DOM, retrying"). Typing filters the list to the
            # option, and Enter picks it.
            page.keyboard.type(option)
            expect(wanted).to_be_visible()
            page.keyboard.press("Enter")
            return


def select_rows(page: Page, rows: list[int]) -> None:
    """Tick rows of the Models table: st.dataframe draws on a canvas, so click by position."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    for row in rows:
        y = box["y"] + GRID_ROW_PX * (row + 1.5)  # below the header row
        page.mouse.move(box["x"] + GRID_MARKER_PX, y)
        page.mouse.click(box["x"] + GRID_MARKER_PX, y)


def show_canvas(page: Page) -> Locator:
    """The drawing canvas, ready for strokes.

    Until the pointer is over the canvas, its (invisible) toolbar covers the top right corner
    and swallows a stroke that starts there; hovering slides it up and out of the way.
    """
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_have_count(1)
    canvas.hover()
    expect(page.locator(".dc-toolbar")).to_have_css("opacity", "1")
    return canvas


def draw_digit(page: Page, digit: int, **sketch: object) -> None:
    """Draw ``digit`` with mouse strokes, scaled onto the canvas as it sits on the screen.

    ``sketch`` goes to `sketch_strokes`: a ``variant`` of the digit, or the ``box`` it fills.
    """
    box = show_canvas(page).bounding_box()
    scale_x, scale_y = box["width"] / CANVAS_SIZE, box["height"] / CANVAS_SIZE
    for stroke in sketch_strokes(digit, size=CANVAS_SIZE, **sketch):
        mouse_stroke(page, [(box["x"] + x * scale_x, box["y"] + y * scale_y) for x, y in stroke])


def mouse_stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point (in page pixels), move through the rest, release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=4)
    page.mouse.up()


def draw_digit_by_touch(page: Page, digit: int) -> None:
    """Draw ``digit`` with one finger: touch events through the Chrome DevTools Protocol, as
    Playwright's own touchscreen only taps."""
    box = page.locator("canvas.upper-canvas").bounding_box()
    scale_x, scale_y = box["width"] / CANVAS_SIZE, box["height"] / CANVAS_SIZE
    devtools = page.context.new_cdp_session(page)
    for stroke in sketch_strokes(digit, size=CANVAS_SIZE):
        points = np.array([(box["x"] + x * scale_x, box["y"] + y * scale_y) for x, y in stroke])
        touch(devtools, "touchStart", points[0])
        for start, end in itertools.pairwise(points):  # four moves a segment, as a finger sends
            for fraction in (0.25, 0.5, 0.75, 1.0):
                touch(devtools, "touchMove", start + fraction * (end - start))
        devtools.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    devtools.detach()


def touch(devtools: CDPSession, kind: str, point: np.ndarray) -> None:
    x, y = (float(value) for value in point)
    devtools.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})


def prediction(page: Page) -> Locator:
    """The value of the "Prediction" metric."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    return metric.get_by_test_id("stMetricValue")


def click_cell(page: Page, true: int, predicted: int) -> None:
    """Click one square of the confusion matrix (point index = 10 * row + column)."""
    square = page.locator(MATRIX_SQUARES).nth(10 * true + predicted)
    square.scroll_into_view_if_needed()
    box = square.bounding_box()
    # Plotly's drag layer, not the marker, takes the click: click its position.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def screenshot(page: Page, name: str, height: int = SCREENSHOT_VIEWPORT["height"]) -> Path:
    """Save a README screenshot: a taller window, so a page's main content fits in one image."""
    page.set_viewport_size({**SCREENSHOT_VIEWPORT, "height": height})
    page.mouse.move(0, 0)  # no hover tooltips in the picture
    page.wait_for_timeout(500)  # let Plotly redraw at the new size before the picture
    DOCS.mkdir(exist_ok=True)
    path = DOCS / name
    page.screenshot(path=path)
    return path
