"""Headless Chromium and a visitor's actions on the app, shared by the browser tests
(conftest.py, test_browser.py), benchmarks/bench_browser.py and docs/screenshots.py.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM): Playwright cannot download its own
browsers here. Scripts outside tests/e2e put this folder on sys.path to import it.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright, expect
from streamlit_server import REPO, Server

from mnist_cnn.sketches import sketch_strokes

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
SCREENSHOT_VIEWPORT = {"width": 1400, "height": 1500}
DOCS = REPO / "docs"
CANVAS_SIZE = 280  # as app_pages/draw.py draws it
MATRIX_SQUARES = ".stPlotlyChart .scatterlayer path.point"


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_app(page: Page, server: Server, path: str = "") -> None:
    """Load a page and wait until the app has run (the sidebar's model card is drawn)."""
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_role("heading", name="Active model")).to_be_visible()


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


def draw_digit(page: Page, digit: int) -> None:
    """Draw ``digit`` with mouse strokes, scaled onto the canvas as it sits on the screen."""
    box = show_canvas(page).bounding_box()
    scale_x, scale_y = box["width"] / CANVAS_SIZE, box["height"] / CANVAS_SIZE
    for stroke in sketch_strokes(digit, size=CANVAS_SIZE):
        points = [(box["x"] + x * scale_x, box["y"] + y * scale_y) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=4)
        page.mouse.up()


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
