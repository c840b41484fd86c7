"""End to end: draw a digit, correct the model, find the drawing on the Your drawings page.

Locally against the shared server (its drawings folder sits beside its temporary models
folder); in public mode against a server of this module's own, where a second browser context,
another visitor, must not see the first one's drawings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import VIEWPORT, draw_digit, open_app, prediction
from playwright.sync_api import Browser, Page, expect
from streamlit_server import Server, start_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def public_server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("public")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_CNN_PUBLIC", "1")  # the server copies this environment
        running = start_server(folder / "trained_models", folder / "streamlit.log")
    yield running
    stop_server(running)


def answer(page: Page, label: str) -> None:
    """Click one of the correction buttons ("Right", "0" ... "9") under the prediction."""
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_text("Saved as a")).to_be_visible()


def open_your_drawings(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("link", name="Your drawings", exact=True).click()
    expect(page.get_by_role("heading", name="Your drawings")).to_be_visible()


def test_a_corrected_drawing_appears_in_your_drawings(page: Page, server: Server) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    answer(page, "1")  # say it was a 1: saved as a 1, whatever the model said
    expect(page.get_by_text("Saved as a 1")).to_be_visible()
    expect(prediction(page)).to_have_count(0)  # a fresh canvas for the next drawing

    open_your_drawings(page)
    expect(page.get_by_role("tab", name="1 (1)")).to_be_visible()
    expect(page.get_by_text("Accuracy on your drawings")).to_be_visible()
    assert any(p.name == "my_drawings" for p in server.models_dir.parent.iterdir())


def test_an_import_over_the_upload_limit_is_refused_visibly(page: Page, server: Server) -> None:
    """Streamlit refuses it in the browser; the reason must show, not only on hover."""
    open_app(page, server)
    open_your_drawings(page)
    picker = page.get_by_test_id("stFileUploaderDropzoneInput")
    huge = bytes(3 * 1024 * 1024)  # over server.maxUploadSize (2 MB)
    picker.set_input_files(
        files=[{"name": "huge.npz", "mimeType": "application/octet-stream", "buffer": huge}]
    )
    refusal = page.get_by_text("File must be 2.0MB or smaller.")
    expect(refusal).to_be_visible()
    # Streamlit's own alert is clipped to a 1 px box (a tooltip on hover): it must be readable.
    box = refusal.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 10, box


def test_in_public_mode_another_visitor_does_not_see_your_drawings(
    browser: Browser, public_server: Server
) -> None:
    visitor, other = (browser.new_context(viewport=VIEWPORT) for _ in range(2))
    try:
        page = visitor.new_page()
        open_app(page, public_server)
        draw_digit(page, 7)
        expect(prediction(page)).to_have_text("7")
        answer(page, "Right")
        open_your_drawings(page)
        expect(page.get_by_role("tab", name="7 (1)")).to_be_visible()

        someone_else = other.new_page()
        open_app(someone_else, public_server)
        open_your_drawings(someone_else)
        expect(someone_else.get_by_text("No drawings yet")).to_be_visible()
        expect(someone_else.get_by_role("tab", name="7 (1)")).to_have_count(0)
    finally:
        visitor.close()
        other.close()
    assert not (public_server.models_dir.parent / "my_drawings").exists()


def test_teaching_shows_progress_then_makes_the_new_model_yours(
    browser: Browser, public_server: Server
) -> None:
    # In public mode, so that the taught model is this visitor's only, not the next test's.
    visitor = browser.new_context(viewport=VIEWPORT)
    try:
        page = visitor.new_page()
        open_app(page, public_server)
        for digit in range(10):  # MIN_DRAWINGS_TO_TEACH
            draw_digit(page, digit)
            expect(page.get_by_text("Your answer keeps the drawing")).to_be_visible()
            answer(page, str(digit))
        open_your_drawings(page)
        page.get_by_role("button", name="Teach the model my handwriting").click()
        expect(page.get_by_test_id("stProgress")).to_contain_text("Teaching on 10 drawings")

        expect(page.get_by_text("Taught on your handwriting")).to_be_visible()
        model_box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
        expect(model_box).to_have_value(re.compile("Taught on 10 drawings"))
        labels = page.get_by_test_id("stMetricLabel")
        expect(labels.get_by_text("MNIST test", exact=True)).to_be_visible()  # the result
        expect(page.get_by_test_id("stProgress")).to_have_count(0)  # no longer polling
    finally:
        visitor.close()
