"""End to end: the app in headless Chromium against a real `streamlit run` server.

A visitor's view of every page: drawing digits with the mouse, uploading pictures, clicking
into the confusion matrix, and a live training run that survives a trip to another page.
The visitor's actions live in browser_support.py, which docs/screenshots.py also uses to take
the README's screenshots (against the full MNIST). The server here trains on the committed
MNIST sample and uses the bundled model throughout: no test here lets a training run finish,
so every test sees the same active model.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from browser_support import (
    MATRIX_SQUARES,
    PHONE,
    VEGA_CHARTS,
    VIEWPORT,
    WATCH_FIRST_VISIT,
    click_cell,
    draw_digit,
    draw_digit_by_touch,
    open_app,
    prediction,
    stop_watching,
    watch_live_charts,
)
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, expect
from streamlit_server import Server, start_server, stop_server

from sketchbook.sketches import render_sketch
from studio.compat import START_UP_NOISE

pytestmark = pytest.mark.browser


def upload(name: str, content: bytes) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": content}


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# --- Navigation ------------------------------------------------------------------------------


def test_sidebar_visits_all_three_pages(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    for link, title in (("Train", "Train a model"), ("Evaluate", "Evaluate the model")):
        sidebar.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(sidebar.get_by_text("Bundled with the app")).to_be_visible()
    sidebar.get_by_role("link", name="Draw", exact=True).click()
    expect(page.locator("canvas.upper-canvas")).to_be_visible()


def test_deep_link_on_a_fresh_server_goes_through_the_entry_point(
    page: Page, tmp_path: Path
) -> None:
    """The first request a server ever gets may be a bookmarked page, not the home page.

    With a ``pages/`` folder beside streamlit_app.py, Streamlit would run that page's file on
    its own (no model card, no navigation): the pages live in ``app_pages/`` for this reason.
    """
    fresh = start_server(tmp_path / "trained_models", tmp_path / "streamlit.log")
    try:
        open_app(page, fresh, "evaluate")
        expect(page.get_by_role("heading", name="Evaluate the model")).to_be_visible()
        expect(
            page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True)
        ).to_be_visible()
    finally:
        stop_server(fresh)


def test_first_visit_shows_the_page_before_the_model_has_loaded(
    browser: Browser, tmp_path: Path
) -> None:
    """On a fresh server, the title, the navigation, the canvas and a start-up notice come
    before the model card, which is drawn once TensorFlow and the model have loaded; a digit
    drawn meanwhile is answered when the model is ready."""
    fresh = start_server(tmp_path / "trained_models", tmp_path / "streamlit.log")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(f"({WATCH_FIRST_VISIT})()")
        page = context.new_page()
        page.goto(fresh.url)
        expect(page.locator("canvas.upper-canvas")).to_be_visible()
        draw_digit(page, 7)
        expect(prediction(page)).to_have_text("7")
        seen = page.evaluate("() => window.__firstVisit")
    finally:
        context.close()
        stop_server(fresh)
    assert {"title", "navigation", "canvas", "notice", "card"} <= seen.keys(), seen
    assert max(seen["title"], seen["navigation"], seen["canvas"], seen["notice"]) < seen["card"]
    # TensorFlow loaded (the digit was answered), and its start-up lines stayed out of the log.
    log = fresh.log.read_text()
    assert "You can now view your Streamlit app" in log, log
    assert not [noise for noise in START_UP_NOISE if noise in log], log


# --- Draw page -------------------------------------------------------------------------------


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_drawn_digit_is_recognised(page: Page, server: Server, digit: int) -> None:
    open_app(page, server)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    draw_digit(page, digit)
    expect(prediction(page)).to_have_text(str(digit))
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible()


def test_on_a_phone_touch_draws_and_the_answer_shows_without_scrolling(
    browser: Browser, server: Server
) -> None:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(server.url)
        canvas = page.locator("canvas.upper-canvas")
        expect(canvas).to_be_in_viewport(ratio=1)
        # A 3 starts below the top edge, where the canvas's toolbar sits until a mouse hovers
        # (a finger cannot) and takes a touch that starts there.
        draw_digit_by_touch(page, 3)
        expect(prediction(page)).to_have_text("3")
        metric = page.get_by_test_id("stMetric").filter(has_text="Prediction")
        expect(metric).to_be_in_viewport(ratio=1)
        expect(canvas).to_be_in_viewport(ratio=1)  # nothing scrolled meanwhile
    finally:
        context.close()


def test_clear_empties_the_canvas_and_the_prediction(page: Page, server: Server) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    expect(prediction(page)).to_have_count(0)
    draw_digit(page, 1)  # the new canvas draws and predicts like the first
    expect(prediction(page)).to_have_text("1")


def test_uploaded_pictures_are_read_or_refused_clearly(page: Page, server: Server) -> None:
    open_app(page, server)
    page.get_by_role("tab", name="Upload an image").click()
    expect(page.get_by_text("Upload a picture of a digit")).to_be_visible()
    picker = page.get_by_test_id("stFileUploaderDropzoneInput")

    dark_on_paper = render_sketch(7, ink=(20, 20, 20, 255), background=(250, 250, 245, 255))
    picker.set_input_files(files=[upload("seven.png", png(dark_on_paper))])
    expect(prediction(page)).to_have_text("7")

    picker.set_input_files(files=[upload("broken.png", b"not a picture")])
    expect(page.get_by_text("not an image that can be read")).to_be_visible()
    expect(prediction(page)).to_have_count(0)

    huge = b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024)  # over server.maxUploadSize (2 MB)
    picker.set_input_files(files=[upload("huge.png", huge)])
    expect(page.get_by_text("File must be 2.0MB or smaller.")).to_be_visible()


# --- Evaluate page ---------------------------------------------------------------------------


def test_confusion_matrix_cell_shows_its_test_images(page: Page, server: Server) -> None:
    open_app(page, server, "evaluate")
    squares = page.locator(MATRIX_SQUARES)
    expect(squares).to_have_count(100)
    expect(page.get_by_text("Click a square in the confusion matrix")).to_be_visible()

    page.get_by_test_id("stButtonGroup").get_by_text("Share of each row").click()
    labels = page.locator(".stPlotlyChart .scatterlayer .textpoint")
    expect(labels.filter(has_text="%").first).to_be_visible()
    page.get_by_test_id("stButtonGroup").get_by_text("Counts").click()
    expect(labels.filter(has_text="%")).to_have_count(0)

    click_cell(page, 7, 7)
    heading = page.get_by_text("test images of 7 correctly recognised")
    expect(heading).to_be_visible()
    cell_images = page.get_by_test_id("stImage").filter(has_text="#")
    expect(cell_images.first).to_be_visible()


# --- Train page ------------------------------------------------------------------------------


def start_training(page: Page, epochs: int) -> None:
    page.get_by_role("spinbutton", name="Epochs").fill(str(epochs))
    page.get_by_role("button", name="Start training").click()


def expect_stopped(page: Page) -> None:
    expect(page.get_by_text("Training stopped")).to_be_visible()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Bundled with the app")).to_be_visible()
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()


def test_training_runs_live_across_pages_and_stops(page: Page, server: Server) -> None:
    open_app(page, server, "train")
    # Enough work that the run is still going after a trip to another page on a fast machine.
    start_training(page, epochs=100)

    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("Epoch")
    expect(page.locator(VEGA_CHARTS).nth(1)).to_be_visible()  # per batch: loss, accuracy

    page.get_by_test_id("stSidebar").get_by_role("link", name="Draw", exact=True).click()
    expect(page.locator("canvas.upper-canvas")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
    expect(progress).to_contain_text("Epoch")
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()
    expect(page.get_by_text("Train and validation, per epoch")).to_be_visible()

    page.get_by_role("button", name="Stop training").click()
    expect_stopped(page)


def chart_lines(page: Page) -> str:
    """The first live chart's lines, to tell whether it changed."""
    return page.locator(VEGA_CHARTS).first.locator(".mark-line").first.inner_html()


# Whether the first live chart's lines differ from ``before`` (what chart_lines read).
CHART_CHANGED = f"""before => {{
    const lines = document.querySelector('{VEGA_CHARTS} .mark-line');
    return lines !== null && lines.innerHTML !== before;
}}"""


# The epoch the progress bar shows ("Epoch n of ..."), or 0 before the first report.
EPOCH_SHOWN = """() => {
    const progress = document.querySelector('[data-testid="stProgress"]');
    const match = progress && progress.innerText.match(/Epoch (\\d+) of/);
    return match === null ? 0 : Number(match[1]);
}"""
# Epochs to watch the live charts over: past epoch ends, the per-epoch charts get more points.
WATCHED_EPOCHS = 3
# Samples to take at least, whatever the epochs' pace: on the sample data an epoch can take
# a fraction of a second, and three of them can pass within a handful of 50 ms samples.
WATCHED_SAMPLES = 40
# True once the progress bar shows epoch `least` or later (not exactly: the text may skip an
# epoch between two looks) and the watch has taken `samples`.
WATCHED_ENOUGH = f"""({{least, samples}}) =>
    ({EPOCH_SHOWN})() >= least && window.__liveCharts.samples >= samples"""


def test_live_charts_update_in_place_and_never_go_missing(page: Page, server: Server) -> None:
    """Sampled every 50 ms over several epochs: each chart stays drawn, the same element
    throughout (updated, never re-created), and what it shows changes."""
    open_app(page, server, "train")
    start_training(page, epochs=100)
    expect(page.locator(VEGA_CHARTS).nth(1)).to_be_visible()
    # On a loaded machine the charts can first appear epochs into the run: watch from here.
    first_epoch = page.evaluate(EPOCH_SHOWN)
    before = chart_lines(page)
    watch_live_charts(page, every_ms=50)
    page.wait_for_function(
        WATCHED_ENOUGH, arg={"least": first_epoch + WATCHED_EPOCHS, "samples": WATCHED_SAMPLES}
    )
    # The chart must show new data while the run goes on. Waited for rather than read once:
    # on a loaded machine the browser can draw a refresh's data a moment after its progress bar.
    changed = page.wait_for_function(CHART_CHANGED, arg=before).json_value()
    watched = stop_watching(page)
    page.get_by_role("button", name="Stop training").click()
    expect_stopped(page)

    assert watched["samples"] >= WATCHED_SAMPLES, watched
    # Per batch (loss, accuracy and, when the recipe reports it, the learning rate) and per
    # epoch (loss, accuracy).
    assert watched["most"] >= 4, watched
    assert watched["bad"] == 0, f"a chart was missing or half-drawn: {watched}"
    assert watched["replaced"] == 0, f"a chart was re-created rather than updated: {watched}"
    assert changed, "the live chart did not change while the run went on"


def test_stop_at_a_random_moment_ends_the_run(page: Page, server: Server) -> None:
    """From the first trace of the training step to the epochs' validation passes, a Stop
    ends the run, saves nothing, and the page is ready for the next run."""
    moment_s = random.uniform(0, 6)
    open_app(page, server, "train")
    start_training(page, epochs=100)
    page.wait_for_timeout(moment_s * 1000)
    page.get_by_role("button", name="Stop training").click()
    expect_stopped(page)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    assert not list(server.models_dir.glob("*")), f"saved after a Stop at {moment_s:.2f} s"
