"""The Inside page under Streamlit's AppTest: with no digit yet, with a drawn (uploaded) one,
and with a test digit opened from the Evaluate page's gallery."""

from __future__ import annotations

from apptest_support import (
    APP,
    DRAW,
    EVALUATE,
    INSIDE,
    USE_APP_ENVIRONMENT,
    open_page,
    png_bytes,
)
from streamlit.testing.v1 import AppTest

from sketchbook.sketches import render_sketch
from studio import runtime
from studio.inside_view import DIGIT_KEY, ROTATE_LABEL

pytestmark = USE_APP_ENVIRONMENT

SECTIONS = [
    "Layer by layer",
    "One feature map up close",
    "Conv 1's filters",
    "Which pixels decided",
    "What breaks it",
]


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def seven_from_the_draw_page() -> AppTest:
    """Upload a drawn 7 on the Draw page (as a visitor's drawing), then open Inside."""
    app = open_page(DRAW)
    app.session_state["source"] = "Upload an image"
    app.file_uploader[0].set_value(("seven.png", png_bytes(render_sketch(7)), "image/png"))
    app.run()
    assert metric(app, "Prediction") == "7"
    assert DIGIT_KEY in app.session_state, "the Draw page kept no digit for the Inside page"
    app.switch_page(INSIDE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_without_a_digit_it_says_where_to_get_one() -> None:
    app = open_page(INSIDE)
    assert any("Nothing to look inside yet" in info.value for info in app.info)
    assert not [m for m in app.metric if m.label == "Prediction"]
    assert not [s for s in app.subheader if s.value in SECTIONS]


def test_on_a_servers_first_visit_the_sidebar_follows_a_page_with_no_digit(monkeypatch) -> None:
    # The first visit draws the page before the sidebar's model card (TensorFlow still loading);
    # a page that ended early must not take the "Model" box with it.
    monkeypatch.setattr(runtime, "tensorflow_loaded", lambda: False)
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page(INSIDE).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Nothing to look inside yet" in info.value for info in app.info)
    assert [box.label for box in app.sidebar.selectbox] == ["Model"]
    assert not [info for info in app.sidebar.info if "Starting up" in info.value]


def test_a_drawn_seven_inside_every_layer_and_saliency() -> None:
    app = seven_from_the_draw_page()
    assert metric(app, "Prediction") == "7"
    assert [s.value for s in app.main.subheader] == SECTIONS
    # The input, four feature-map mosaics, one enlarged map, its filter, its patch, conv 1's
    # filters, two saliency maps and their legend, and the changed digit.
    assert len(app.image) >= 13
    assert metric(app, "After the changes") == "7"
    captions = [picture.caption for image in app.image for picture in image.proto.imgs]
    assert "The input: your upload" in captions


def test_turning_the_seven_far_enough_changes_the_answer() -> None:
    app = seven_from_the_draw_page()
    # Measured with the bundled model (trained on rotated digits): this 7 reads as 7 from -40°
    # to +45°, and as a 2 at -45°, 45° clockwise, the slider's end.
    next(s for s in app.slider if s.label == ROTATE_LABEL).set_value(-45).run()
    assert not app.exception
    assert metric(app, "After the changes") != "7"
    assert metric(app, "Prediction") == "7", "the original digit's answer must not change"
    next(b for b in app.button if b.label == "Reset").click().run()
    assert metric(app, "After the changes") == "7"


def test_other_controls_rerun_cleanly() -> None:
    app = seven_from_the_draw_page()
    app.segmented_control(key="saliency-method").set_value("occlusion").run()
    app.selectbox(key="why-not").set_value(1).run()
    app.segmented_control(key="map-layer").set_value("conv2d_1").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(m.value.startswith("**Why not 1**") for m in app.markdown)


def test_a_test_digit_opens_from_the_evaluate_gallery() -> None:
    app = open_page(EVALUATE)
    gallery_open = [b for b in app.button if b.label == "See inside"]
    assert gallery_open, "the Evaluate page's gallery offers no way to look inside a digit"
    gallery_open[-1].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(s.value == "Layer by layer" for s in app.subheader)
    inside = app.session_state[DIGIT_KEY]
    assert inside.source == "test digit #0" and inside.label == 7
    assert metric(app, "Prediction") == "7"
