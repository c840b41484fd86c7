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
from pathlib import Path

import numpy as np
import pytest
from browser_support import MATRIX_SQUARES, click_cell, draw_digit, open_app, prediction
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect
from streamlit_server import Server, start_server, stop_server

from mnist_cnn.sketches import render_sketch

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


# --- Draw page -------------------------------------------------------------------------------


@pytest.mark.parametrize("digit", [1, 0, 7])
def test_drawn_digit_is_recognised(page: Page, server: Server, digit: int) -> None:
    open_app(page, server)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    draw_digit(page, digit)
    expect(prediction(page)).to_have_text(str(digit))
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible()


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


# The live per-batch chart's point count once it exceeds ``n``, else null (keep polling). Each
# refresh of the live view re-creates the chart, so for a moment there may be none to count.
BATCH_POINTS_ABOVE = """n => {
    const plot = document.querySelector('.stPlotlyChart .js-plotly-plot');
    const count = plot && plot.data ? plot.data[0].x.length : 0;
    return count > n ? count : null;
}"""


def wait_for_batch_points(page: Page, above: int = 0) -> int:
    """Wait until the live per-batch chart shows more than ``above`` points; return how many."""
    return page.wait_for_function(BATCH_POINTS_ABOVE, arg=above).json_value()


def test_training_runs_live_across_pages_and_stops(page: Page, server: Server) -> None:
    open_app(page, server, "train")
    # Enough work that the run is still going after a trip to another page on a fast machine.
    page.get_by_label("Epochs", exact=True).fill("100")
    page.get_by_role("button", name="Start training").click()

    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("Epoch")
    seen = wait_for_batch_points(page)
    wait_for_batch_points(page, above=seen)  # the chart grows while we watch

    page.get_by_test_id("stSidebar").get_by_role("link", name="Draw", exact=True).click()
    expect(page.locator("canvas.upper-canvas")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Train", exact=True).click()
    expect(progress).to_contain_text("Epoch")
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()
    expect(page.get_by_text("Train and validation, per epoch")).to_be_visible()

    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("Training stopped")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Bundled with the app")).to_be_visible()
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
