"""Retake the README's screenshots (docs/draw.png, docs/train.png, docs/evaluate.png,
docs/inside.png, docs/map.png, docs/your_drawings.png, docs/network.png, docs/models.png,
docs/lab.png).

    MNIST_NPZ=/path/to/mnist.npz python docs/screenshots.py [draw] [evaluate] [train] [inside]
        [map] [your_drawings] [network] [models] [lab]

Starts its own `streamlit run streamlit_app.py` (with the bundled model, saving nothing into
./trained_models) and drives headless Chromium as the browser tests do (tests/e2e). Use the
full MNIST: on the committed sample, which the bundled model gets all right, the Evaluate page
has no mistakes to show. The Train screenshot waits for a first epoch on it, a few minutes;
the Models one trains two short runs to compare first (one minute or two), and the Your drawings
one answers a drawing of each digit on the Draw page. The lab one trains every preset for an
epoch (a few minutes) and charts them on the Models page.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
# This file runs as a script: the package, and the browser tests' helpers, go on the path.
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from browser_support import (  # noqa: E402
    MATRIX_SQUARES,
    SCREENSHOT_VIEWPORT,
    VEGA_CHARTS,
    click_cell,
    draw_digit,
    launch_chromium,
    open_app,
    prediction,
    screenshot,
    select_rows,
)
from streamlit_server import SAMPLE_NPZ, Server, start_server, stop_server  # noqa: E402

from mnist_cnn.architecture import PRESETS  # noqa: E402
from mnist_cnn.jobs import train_evaluate_save  # noqa: E402
from mnist_cnn.training import TrainConfig  # noqa: E402
from sketchbook.sketches import DIGIT_STROKES  # noqa: E402

INSIDE_HEIGHT = 2450  # the Inside page, from the input down to its saliency maps
MAP_HEIGHT = 1150  # the Inside page's neighbours and map
TSNE_TIMEOUT_MS = 120_000  # the t-SNE map of 10,000 digits: ~30 s here
MODELS_HEIGHT = 2050  # the Models page, from the table down to the per-digit F1
YOUR_DRAWINGS_HEIGHT = 1620  # the Your drawings page, down to export and import
COMPARED_EPOCHS = 3  # per run on the Models page: enough for curves, not points
NETWORK_HEIGHT = 1250  # the Train page's Network section, its layers open
LAB_HEIGHT = 1150  # the Models page, from its table down to the chart of every model
LAB_EPOCHS = 1  # per preset on the lab's chart: their order shows after one
TIMEOUT_MS = 600_000  # evaluating 10,000 test images, or an epoch, on a slow machine
# True once at least ``count`` Vega-Lite charts are on the page, each with its lines drawn.
CHARTS_DRAWN = """count => {
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks')];
    return charts.length >= count && charts.every(c => c.querySelector('.mark-line path'));
}"""
# True once ``count`` Plotly charts are on the page, each with points drawn.
PLOTS_DRAWN = """count => {
    const plots = [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')];
    return plots.length === count
        && plots.every(p => p.querySelector('.scatterlayer path, .barlayer path'));
}"""


def draw_page(page: Page, server: Server) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible()
    # The probability chart: wait until its ten bars are drawn, not just its box.
    expect(page.locator(f"{VEGA_CHARTS} .mark-rect path")).to_have_count(10)
    screenshot(page, "draw.png")


def inside_page(page: Page, server: Server) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    page.get_by_role("link", name="See inside").click()
    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible()
    expect(prediction(page)).to_have_text("7")
    expect(page.get_by_role("heading", name="What breaks it")).to_be_visible()
    # The prediction's bars are Vega-Lite; the dense units, the output and the sweep Plotly.
    expect(page.locator(f"{VEGA_CHARTS} .mark-rect path")).to_have_count(10)
    page.wait_for_function(PLOTS_DRAWN, arg=4)  # the map too
    screenshot(page, "inside.png", height=INSIDE_HEIGHT)


def map_section(page: Page, server: Server) -> None:
    """The Inside page's nearest training digits and map, for a drawn 9, on the t-SNE layout."""
    open_app(page, server)
    draw_digit(page, 9)
    expect(prediction(page)).to_have_text("9")
    page.get_by_role("link", name="See inside").click()
    expect(page.get_by_role("heading", name="A map of what the model learnt")).to_be_visible()
    page.get_by_test_id("stButtonGroup").get_by_text("t-SNE").click()
    expect(page.locator(".stPlotlyChart").filter(has_text="t-SNE 1")).to_be_visible(
        timeout=TSNE_TIMEOUT_MS
    )
    page.wait_for_function(PLOTS_DRAWN, arg=4)
    page.set_viewport_size({**SCREENSHOT_VIEWPORT, "height": MAP_HEIGHT})
    heading = page.get_by_role("heading", name="Like which training digits")
    heading.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    page.screenshot(path=REPO / "docs" / "map.png")


def most_confused_cell(page: Page) -> tuple[int, int]:
    """(true, predicted) of the off-diagonal square with the highest count."""
    labels = page.evaluate(
        "() => document.querySelector('.stPlotlyChart .js-plotly-plot').data[0].text"
    )
    assert len(labels) == 100, f"{len(labels)} labels in the confusion matrix"
    counts = [int(text) if text.strip().isdigit() else 0 for text in labels]
    cell = max((i for i in range(100) if i // 10 != i % 10), key=counts.__getitem__)
    return divmod(cell, 10)


def evaluate_page(page: Page, server: Server) -> None:
    open_app(page, server, "evaluate")
    expect(page.locator(MATRIX_SQUARES)).to_have_count(100)
    click_cell(page, *most_confused_cell(page))
    expect(page.get_by_text("mistaken for")).to_be_visible()
    page.get_by_text("Only the mistakes").click()
    expect(page.get_by_test_id("stImage").filter(has_text="✗").first).to_be_visible()
    page.get_by_role("heading", name="Evaluate the model").scroll_into_view_if_needed()
    screenshot(page, "evaluate.png", height=1560)  # down to the first gallery row's captions


def train_page(page: Page, server: Server) -> None:
    open_app(page, server, "train")
    page.get_by_role("spinbutton", name="Epochs").fill("5")
    page.get_by_role("button", name="Start training").click()
    # Two epochs done, so the per-epoch chart draws lines rather than single points.
    expect(page.get_by_test_id("stProgress")).to_contain_text("Epoch 3 of 5")
    # The live view redraws itself only: open the page afresh so Start shows as unavailable.
    open_app(page, server, "train")
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()
    expect(page.get_by_text("Train and validation, per epoch")).to_be_visible()
    page.wait_for_function(CHARTS_DRAWN, arg=4)  # per batch and per epoch: loss, accuracy
    screenshot(page, "train.png")
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("Training stopped")).to_be_visible()


def your_drawings_page(page: Page, server: Server) -> None:
    """Draw every variant of every digit, answer each with its digit, then look at them all."""
    open_app(page, server)
    for digit, variants in DIGIT_STROKES.items():
        for variant in range(len(variants)):
            draw_digit(page, digit, variant=variant)
            expect(page.get_by_text("Your answer keeps the drawing")).to_be_visible()
            page.get_by_role("button", name=str(digit), exact=True).click()
            expect(page.get_by_text(f"Saved as a {digit}")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Your drawings", exact=True).click()
    expect(page.get_by_text("Accuracy on your drawings")).to_be_visible()
    expect(page.locator(MATRIX_SQUARES).first).to_be_visible()
    screenshot(page, "your_drawings.png", height=YOUR_DRAWINGS_HEIGHT)


def models_page(page: Page, server: Server) -> None:
    """Two short runs, the seed and the tuned recipe, compared with each other."""
    for recipe in ("seed", "tuned"):
        config = TrainConfig.from_recipe(recipe, epochs=COMPARED_EPOCHS)
        train_evaluate_save(config, data_path=data_file(), models_directory=server.models_dir)
    open_app(page, server, "models")
    expect(page.get_by_text("Choose a row (the box at its left)")).to_be_visible()
    select_rows(page, [1, 2])  # the two runs (row 0 is the bundled model)
    expect(page.get_by_role("heading", name="Validation, per epoch")).to_be_visible()
    expect(page.locator(".stPlotlyChart .scatterlayer .trace").first).to_be_visible()
    page.get_by_role("heading", name="Models").scroll_into_view_if_needed()
    screenshot(page, "models.png", height=MODELS_HEIGHT)


def network_section(page: Page, server: Server) -> None:
    """The Train page's Network section on the Deep preset, its layers open for editing."""
    open_app(page, server, "train")
    page.get_by_role("radio", name="Deep", exact=True).click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Parameters")).to_contain_text(
        f"{PRESETS['deep'].parameters:,}"
    )
    page.get_by_text("Edit the layers").click()
    expect(page.get_by_role("spinbutton", name="Block 3: filters")).to_be_visible()
    page.get_by_role("heading", name="Network").scroll_into_view_if_needed()
    screenshot(page, "network.png", height=NETWORK_HEIGHT)


def lab_chart(page: Page, server: Server) -> None:
    """Every preset trained for an epoch with the tuned recipe, on the Models page's chart."""
    for spec in PRESETS.values():
        config = TrainConfig.tuned(epochs=LAB_EPOCHS)
        train_evaluate_save(
            config, data_path=data_file(), models_directory=server.models_dir, spec=spec
        )
    open_app(page, server, "models")
    expect(
        page.get_by_role("heading", name="Accuracy against size and training time")
    ).to_be_visible()
    page.wait_for_function(PLOTS_DRAWN, arg=1)
    screenshot(page, "lab.png", height=LAB_HEIGHT)


def data_file() -> Path:
    return Path(os.environ.get("MNIST_NPZ") or SAMPLE_NPZ)


def main() -> None:
    pages = {
        "draw": draw_page,
        "evaluate": evaluate_page,
        "train": train_page,
        "inside": inside_page,
        "map": map_section,
        "your_drawings": your_drawings_page,
        "network": network_section,
        "models": models_page,  # late: its runs would be the other pages' model
        "lab": lab_chart,
    }
    unknown = set(sys.argv[1:]) - set(pages)
    if unknown:
        sys.exit(f"no such page: {', '.join(sorted(unknown))} (pages: {', '.join(pages)})")
    chosen = set(sys.argv[1:]) or set(pages)
    takes = [take for name, take in pages.items() if name in chosen]  # models, lab last
    data = data_file()
    if data == SAMPLE_NPZ:
        print("MNIST_NPZ is not set: using the sample, whose Evaluate page shows no mistakes")
    workdir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    server = start_server(workdir / "trained_models", workdir / "streamlit.log", data)
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for take in takes:
                    context = browser.new_context(viewport=SCREENSHOT_VIEWPORT)
                    context.set_default_timeout(TIMEOUT_MS)
                    take(context.new_page(), server)
                    context.close()
                    print(f"{take.__name__}: done")
            finally:
                browser.close()
    finally:
        stop_server(server)
    print(f"Screenshots in {REPO / 'docs'} (server log: {workdir / 'streamlit.log'})")


if __name__ == "__main__":
    main()
