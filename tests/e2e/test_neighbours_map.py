"""End to end: a drawn digit's nearest training digits on the Draw page, its point on the
Inside page's map, and a click on the map that opens a test digit there."""

from __future__ import annotations

import re

import pytest
from browser_support import draw_digit, open_app, prediction
from playwright.sync_api import Page, expect
from streamlit_server import Server

from mnist_cnn.neighbours import NEIGHBOURS
from studio.map_view import YOUR_DIGIT

pytestmark = pytest.mark.browser

NEIGHBOUR_CAPTION = re.compile(
    r"^\d · \d+\.\d$"
)  # "7 · 3.2": a training digit's label and distance

# Page pixels of the first point of the map's trace for ``digit``, and that point's test index:
# from Plotly's own axes, so the click lands where the point is drawn.
POINT_ON_SCREEN = """(plot, digit) => {
    const trace = plot._fullData.find(t => t.name === String(digit));  // arrays decoded
    const layout = plot._fullLayout;
    const box = plot.getBoundingClientRect();
    const at = i => [
        box.left + layout._size.l + layout.xaxis.l2p(trace.x[i]),
        box.top + layout._size.t + layout.yaxis.l2p(trace.y[i]),
    ];
    const [x, y] = at(0);
    return {x, y, index: trace.customdata[0][0]};
}"""


def test_a_drawn_digit_shows_its_neighbours_and_its_point_on_the_map(
    page: Page, server: Server
) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    neighbours = page.get_by_test_id("stImage").filter(has_text=NEIGHBOUR_CAPTION)
    expect(neighbours).to_have_count(NEIGHBOURS)
    expect(page.get_by_text("training digits the model finds most like this one")).to_be_visible()

    page.get_by_role("link", name="See inside").click()
    expect(page.get_by_role("heading", name="A map of what the model learnt")).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="True digit")  # its legend
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".legendtext", has_text=YOUR_DIGIT)).to_be_visible()
    expect(chart.locator(".scatterlayer .point")).to_have_count(1)  # the star: SVG, over WebGL
    expect(page.get_by_test_id("stImage").filter(has_text=NEIGHBOUR_CAPTION)).to_have_count(
        NEIGHBOURS
    )

    point = chart.locator(".js-plotly-plot").evaluate(POINT_ON_SCREEN, 3)
    page.mouse.click(point["x"], point["y"])
    expect(
        page.get_by_text(f"The input: test digit #{point['index']} (labelled 3)")
    ).to_be_visible()
