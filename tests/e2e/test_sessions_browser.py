"""Many visitors, one server, in headless Chromium: each visitor's own model, public mode's
rules, and the Models page comparing runs.

Each test here starts its own `streamlit run` (public mode, or a local server with two trained
models): the shared server of test_browser.py keeps the bundled model throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import VIEWPORT, open_app, select_rows
from conftest import EXPECT_TIMEOUT_MS
from playwright.sync_api import Browser, Locator, Page, expect
from streamlit_server import SAMPLE_NPZ, Server, start_server, stop_server

from mnist_cnn.jobs import train_evaluate_save
from mnist_cnn.training import TrainConfig

pytestmark = pytest.mark.browser
# Long enough on the 1,200-image sample that the second visitor looks while it runs.
PUBLIC_RUN_EPOCHS = 30
# A finished run's notice may take the whole run, on a busy machine.
RUN_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def public_server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("public")
    settings = {"MNIST_CNN_PUBLIC": "1", "MNIST_CNN_MAX_EPOCHS": str(PUBLIC_RUN_EPOCHS)}
    running = start_server(folder / "trained_models", folder / "streamlit.log", env=settings)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def server_with_two_runs(tmp_path_factory) -> Iterator[Server]:
    """A local server whose models folder holds two runs with different recipes."""
    folder = tmp_path_factory.mktemp("local")
    models = folder / "trained_models"
    for config in (TrainConfig(epochs=2), TrainConfig(epochs=2, learning_rate=3e-3)):
        train_evaluate_save(config, data_path=SAMPLE_NPZ, models_directory=models)
    running = start_server(models, folder / "streamlit.log")
    yield running
    stop_server(running)


def new_visitor(browser: Browser) -> Page:
    """A separate browser context: its own cookies, its own Streamlit session."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context.new_page()


def model_box(page: Page) -> Locator:
    """The sidebar's "Model" box; its value is the chosen option's text."""
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")


def test_public_runs_belong_to_their_starter(browser: Browser, public_server: Server) -> None:
    starter, watcher = new_visitor(browser), new_visitor(browser)
    try:
        open_app(starter, public_server, "train")
        expect(model_box(starter)).to_have_value(re.compile("Bundled"))
        expect(starter.get_by_text(f"limited to {PUBLIC_RUN_EPOCHS} epochs")).to_be_visible()
        starter.get_by_label("Epochs", exact=True).fill(str(PUBLIC_RUN_EPOCHS))
        starter.get_by_role("button", name="Start training").click()
        expect(starter.get_by_test_id("stProgress")).to_contain_text("Epoch")
        expect(starter.get_by_role("button", name="Stop training")).to_be_enabled()

        open_app(watcher, public_server, "train")
        expect(watcher.get_by_text("only the visitor who started it can stop it")).to_be_visible()
        expect(watcher.get_by_role("button", name="Stop training")).to_be_disabled()
        expect(watcher.get_by_role("button", name="Start training")).to_be_disabled()

        expect(starter.get_by_text("Training finished")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(starter.get_by_text("Your training run finished")).to_be_visible()
        expect(model_box(starter)).to_have_value(re.compile("Run of"))
        expect(model_box(starter)).not_to_have_value(re.compile("Bundled"))

        watcher.get_by_test_id("stSidebar").get_by_role("link", name="Draw", exact=True).click()
        expect(watcher.locator("canvas.upper-canvas")).to_be_visible()
        expect(model_box(watcher)).to_have_value(re.compile("Bundled"))
        # A visitor arriving now starts on the bundled model too, not on the newest run.
        newcomer = new_visitor(browser)
        open_app(newcomer, public_server)
        expect(model_box(newcomer)).to_have_value(re.compile("Bundled"))
        newcomer.context.close()
    finally:
        starter.context.close()
        watcher.context.close()


def test_models_page_compares_two_runs(page: Page, server_with_two_runs: Server) -> None:
    open_app(page, server_with_two_runs, "models")
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    expect(page.get_by_text("Choose a row (the box at its left)")).to_be_visible()
    select_rows(page, [1, 2])  # the two trained runs (row 0 is the bundled model)
    expect(page.get_by_role("heading", name="Validation, per epoch")).to_be_visible()
    expect(page.get_by_role("heading", name="Recipe differences")).to_be_visible()
    # The grid draws on a canvas; its accessible copy holds the cells' text.
    expect(page.get_by_text("learning_rate", exact=True)).to_have_count(1)
    expect(page.get_by_text("Test accuracy: Run of")).to_have_count(2)
    curves = page.locator(".stPlotlyChart .scatterlayer .trace")
    expect(curves.first).to_be_visible()
    assert curves.count() >= 4, "expected validation and training curves for both runs"


def test_models_page_details_of_one_run(page: Page, server_with_two_runs: Server) -> None:
    open_app(page, server_with_two_runs, "models")
    select_rows(page, [0])
    expect(page.get_by_role("heading", name="Bundled model")).to_be_visible()
    expect(page.get_by_role("button", name="Download (.keras)")).to_be_visible()
    expect(page.get_by_text("Rename or delete")).to_have_count(0)


def test_overlong_upload_is_refused_visibly(page: Page, public_server: Server) -> None:
    open_app(page, public_server)
    page.get_by_role("tab", name="Upload an image").click()
    picker = page.get_by_test_id("stFileUploaderDropzoneInput")
    huge = b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024)
    picker.set_input_files(files=[{"name": "huge.png", "mimeType": "image/png", "buffer": huge}])
    refusal = page.get_by_role("alert").filter(has_text="File must be 2.0MB or smaller.")
    expect(refusal).to_be_visible()
    # Streamlit's own alert is a 1x1 px screen-reader text; shown, it is a line of text.
    assert refusal.bounding_box()["width"] > 100
