"""End to end: the network lab in headless Chromium. A visitor picks Tiny, sees its size before
training, trains it for an epoch, and finds it in the Model box, on the Models page's chart and
on the Inside page.

The test has a server of its own: the finished run becomes the newest model, which new
sessions on a local server start on, and the shared server of the other files keeps the
bundled model throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import draw_digit, open_app, prediction
from playwright.sync_api import Page, expect
from streamlit_server import Server, start_server, stop_server

from studio.models_view import TRADEOFFS_KEY

pytestmark = pytest.mark.browser
# A finished run's notice may take the whole run, on a busy machine.
RUN_TIMEOUT_MS = 300_000
TINY_PARAMETERS = "5,258"


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("lab")
    running = start_server(folder / "trained_models", folder / "streamlit.log")
    yield running
    stop_server(running)


def sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def go_to(page: Page, title: str) -> None:
    sidebar(page).get_by_role("link", name=title, exact=True).click()


def test_pick_tiny_train_it_and_find_it_everywhere(page: Page, lab_server: Server) -> None:
    open_app(page, lab_server, "train")
    parameters = page.get_by_test_id("stMetric").filter(has_text="Parameters")
    expect(parameters).to_contain_text("121,930")
    page.get_by_role("radio", name="Tiny", exact=True).click()
    expect(parameters).to_contain_text(TINY_PARAMETERS)
    expect(page.get_by_text("8 and 16 filters straight into the output")).to_be_visible()
    expect(page.get_by_test_id("stGraphVizChart")).to_contain_text("5x5x16")

    page.get_by_role("spinbutton", name="Epochs").fill("1")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_text(f"Network: Tiny, {TINY_PARAMETERS} parameters")).to_be_visible()
    model_box = sidebar(page).get_by_role("combobox", name="Model")
    expect(model_box).to_have_value(re.compile("Run of"))
    expect(sidebar(page).get_by_text(f"Tiny · {TINY_PARAMETERS} parameters")).to_be_visible()
    run_name = re.match(r"Run of [^·]*\d", model_box.input_value()).group(0)

    go_to(page, "Models")
    chart = page.locator(f".st-key-{TRADEOFFS_KEY} .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    # Plotly keeps each trace's points on the chart's element: the Tiny trace names the run.
    traces = chart.evaluate("plot => plot.data.map(t => ({name: t.name, text: t.text}))")
    tiny = [trace for trace in traces if trace["name"] == "Tiny"]
    assert tiny, traces
    assert any(text.startswith(run_name) for trace in tiny for text in trace["text"]), traces

    go_to(page, "Draw")
    draw_digit(page, 1)
    expect(prediction(page)).to_be_visible()
    page.get_by_role("link", name="See inside").click()
    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible()
    for layer in ("8 maps, 26x26", "8 maps, 13x13", "16 maps, 11x11", "16 maps, 5x5"):
        expect(page.get_by_test_id("stImage").filter(has_text=layer)).to_be_visible()
    expect(page.get_by_text(f"Tiny · {TINY_PARAMETERS} parameters")).to_be_visible()
