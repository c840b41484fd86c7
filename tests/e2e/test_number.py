"""End to end: the Number page in headless Chromium against a real `streamlit run` server.

A number written with the mouse on the wide canvas, and a photo-like picture of one uploaded,
are both read whole.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from browser_support import mouse_stroke, open_app, show_canvas
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from streamlit_server import Server

from sketchbook.composed_numbers import compose, on_paper, sketch_digit_ink
from sketchbook.sketches import sketch_strokes

pytestmark = pytest.mark.browser

CANVAS_WIDTH, CANVAS_HEIGHT = 840, 280  # as studio/number_view.py draws it
DIGIT_BOX = (0.25, 0.15, 0.75, 0.85)  # each digit's part of its cell, as sketch_strokes takes it


def number_value(page: Page) -> Locator:
    metric = page.get_by_test_id("stMetric").filter(has_text="Number")
    return metric.get_by_test_id("stMetricValue")


def write_number(page: Page, text: str) -> None:
    """Write ``text`` with mouse strokes, one digit to each equal cell of the wide canvas."""
    box = show_canvas(page).bounding_box()
    scale_x, scale_y = box["width"] / CANVAS_WIDTH, box["height"] / CANVAS_HEIGHT
    cell = CANVAS_WIDTH / len(text)
    for position, digit in enumerate(text):
        # The sketch fills a CANVAS_HEIGHT square; squeezed to the cell's width when narrower.
        squeeze = min(1.0, cell / CANVAS_HEIGHT)
        left = position * cell + (cell - CANVAS_HEIGHT * squeeze) / 2
        for stroke in sketch_strokes(int(digit), size=CANVAS_HEIGHT, box=DIGIT_BOX):
            mouse_stroke(
                page,
                [
                    (box["x"] + (left + x * squeeze) * scale_x, box["y"] + y * scale_y)
                    for x, y in stroke
                ],
            )


def test_a_number_written_with_the_mouse_is_read(page: Page, server: Server) -> None:
    open_app(page, server, "number")
    expect(page.get_by_text("Write a number on the canvas")).to_be_visible()
    write_number(page, "2026")
    expect(number_value(page)).to_have_text("2026")
    expect(page.get_by_role("heading", name="Digit by digit")).to_be_visible()


def test_an_uploaded_photo_of_a_number_is_read(page: Page, server: Server) -> None:
    open_app(page, server, "number")
    page.get_by_role("tab", name="Upload an image").click()
    rng = np.random.default_rng(4)
    ink = compose([sketch_digit_ink(int(d)) for d in "3059"], "close", rng, height=80)
    buffer = io.BytesIO()
    Image.fromarray(on_paper(ink, rng)).save(buffer, format="PNG")
    picker = page.get_by_test_id("stFileUploaderDropzoneInput")
    picker.set_input_files(
        files=[{"name": "number.png", "mimeType": "image/png", "buffer": buffer.getvalue()}]
    )
    expect(number_value(page)).to_have_text("3059")
