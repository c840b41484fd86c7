"""End to end: a digit drawn with the mouse, opened on the Inside page, pushed until it flips."""

from __future__ import annotations

import pytest
from browser_support import draw_digit, open_app, prediction
from playwright.sync_api import Page, expect
from streamlit_server import Server

from studio.inside_view import ROTATE_LABEL

pytestmark = pytest.mark.browser


def probe_answer(page: Page):
    metric = page.get_by_test_id("stMetric").filter(has_text="After the changes")
    return metric.get_by_test_id("stMetricValue")


def test_drawn_seven_inside_and_turned_until_it_flips(page: Page, server: Server) -> None:
    open_app(page, server)
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7")
    page.get_by_role("link", name="See inside").click()

    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible()
    expect(prediction(page)).to_have_text("7")
    expect(page.get_by_text("The input: your drawing")).to_be_visible()
    for layer in ("32 maps, 26x26", "32 maps, 13x13", "64 maps, 11x11", "64 maps, 5x5"):
        expect(page.get_by_test_id("stImage").filter(has_text=layer)).to_be_visible()
    saliency = page.get_by_test_id("stImage").filter(has_text="Saliency for 7")
    saliency.scroll_into_view_if_needed()
    expect(saliency.locator("img")).to_be_visible()
    expect(probe_answer(page)).to_have_text("7")

    rotate = page.get_by_test_id("stSlider").filter(has_text=ROTATE_LABEL).get_by_role("slider")
    rotate.scroll_into_view_if_needed()
    rotate.focus()
    # Turned 45 degrees clockwise, the drawn 7 reads as a 2 (the sweep: 7 from -42 to +48).
    rotate.press("Home")
    expect(rotate).to_have_value("-45")
    expect(probe_answer(page)).not_to_have_text("7")
    expect(prediction(page)).to_have_text("7")  # the digit itself still reads as 7


def test_test_digit_opens_from_the_evaluate_gallery(page: Page, server: Server) -> None:
    open_app(page, server, "evaluate")
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Look inside one of these")
    picker.scroll_into_view_if_needed()
    picker.click()
    page.get_by_role("option", name="test digit #1: ✓ 2").click()
    page.get_by_role("button", name="See inside").click()
    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible()
    expect(page.get_by_text("The input: test digit #1 (labelled 2)")).to_be_visible()
    expect(prediction(page)).to_have_text("2")
