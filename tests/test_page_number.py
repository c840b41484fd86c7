"""The Number page under Streamlit's AppTest (the browser tests draw on it with a real mouse)."""

from __future__ import annotations

import numpy as np
from apptest_support import USE_APP_ENVIRONMENT, open_page, png_bytes
from streamlit.testing.v1 import AppTest

from sketchbook.composed_numbers import compose, on_paper, sketch_digit_ink
from studio import your_drawings
from studio.calibration_view import SURE_AT

pytestmark = USE_APP_ENVIRONMENT
NUMBER = "app_pages/number.py"


def photo_of(text: str) -> bytes:
    ink = compose([sketch_digit_ink(int(d)) for d in text], "apart", np.random.default_rng(0))
    return png_bytes(on_paper(ink, np.random.default_rng(0)))


def upload(app: AppTest, content: bytes) -> AppTest:
    app.session_state["number_source"] = "Upload an image"  # the tabs' key: open the upload tab
    next(u for u in app.file_uploader if u.key == "number_upload").set_value(
        ("number.png", content, "image/png")
    )
    return app.run()


def test_blank_canvas_asks_for_a_number() -> None:
    app = open_page(NUMBER)
    assert any("Write a number on the canvas" in info.value for info in app.info)
    assert not [m for m in app.metric if m.label == "Number"]
    assert any(b.label == "Clear" for b in app.button)


def test_uploaded_photo_is_read_with_a_box_and_an_input_per_digit() -> None:
    app = upload(open_page(NUMBER), photo_of("2026"))
    assert not app.exception, [e.value for e in app.exception]
    number = next(m for m in app.metric if m.label == "Number")
    assert number.value == "2026"
    assert any(s.value == "Digit by digit" for s in app.subheader)
    # One row of ten correction buttons per digit, the digit read marked.
    for position, digit in enumerate("2026"):
        row = [b for b in app.button if b.key and b.key.startswith(f"number-{position}-")]
        assert [b.label for b in row] == [str(label) for label in range(10)]
        assert app.button(key=f"number-{position}-{digit}").proto.type == "primary"


def test_one_click_saves_a_digit_to_your_drawings() -> None:
    app = upload(open_page(NUMBER), photo_of("2026"))
    app.button(key="number-3-5").click()  # "the last digit was really a 5"
    app.run()
    assert any("Saved as a 5" in s.value for s in app.success)
    images, labels = your_drawings.collection().arrays()
    assert list(labels) == [5] and images.shape == (1, 28, 28)


def test_blank_photo_says_there_is_no_writing() -> None:
    blank = np.full((200, 400, 3), 235, np.uint8)
    app = upload(open_page(NUMBER), png_bytes(blank))
    assert any("No writing found" in w.value for w in app.warning)
    assert not [m for m in app.metric if m.label == "Number"]


def test_bad_upload_gets_a_clear_message() -> None:
    app = upload(open_page(NUMBER), b"this is not a PNG")
    assert not app.exception
    assert any("not an image that can be read" in e.value for e in app.error)


def test_reading_is_not_repeated_on_a_rerun(monkeypatch) -> None:
    app = upload(open_page(NUMBER), photo_of("47"))
    import mnist_cnn.numbers

    def fail(*args, **kwargs):
        raise AssertionError("read_number ran again for the same image and model")

    monkeypatch.setattr(mnist_cnn.numbers, "read_number", fail)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert next(m for m in app.metric if m.label == "Number").value == "47"


def test_an_unsure_digit_is_marked_with_its_runner_up() -> None:
    from mnist_cnn.drawing import canvas_to_mnist
    from mnist_cnn.numbers import ReadDigit
    from sketchbook.sketches import render_sketch
    from studio import number_view

    stages = canvas_to_mnist(render_sketch(7), return_stages=True)
    probabilities = np.full(10, 0.025, np.float32)
    probabilities[7], probabilities[1] = 0.45, 0.35
    unsure = ReadDigit((0, 0, 1, 1), stages, probabilities, looks_like_digit=True)
    assert not number_view.sure(unsure)
    assert number_view.digit_caption(unsure) == "? 7 · 45%, or 1 · 35%"
    probabilities[7], probabilities[1] = 0.78, 0.02
    sure = ReadDigit((0, 0, 1, 1), stages, probabilities, looks_like_digit=True)
    assert number_view.digit_caption(sure) == "7 · 78%"


def test_digits_below_the_sessions_threshold_are_marked_unsure() -> None:
    app = upload(open_page(NUMBER), photo_of("2026"))
    at_default = next(m for m in app.metric if m.label == "Number")
    assert at_default.value == "2026"
    captions = [c for element in app.image for c in element.captions]
    assert any("below 60.0% sure" in c for c in captions)
    read_as = [c for c in captions if " · " in c]
    confidences = [float(c.split(" · ")[1].split("%")[0]) / 100 for c in read_as]
    # The Evaluate page's slider sets the session's threshold: above the least sure digit
    # (shown rounded to a whole percent, so more than half a percent above it).
    threshold = min(confidences) + 0.006
    app.session_state[SURE_AT] = threshold
    app.run()
    captions = [c for element in app.image for c in element.captions]
    assert any(f"below {threshold:.1%} sure" in c for c in captions)
    assert any(c.startswith("? ") for c in captions)
    assert next(m for m in app.metric if m.label == "Number").delta.endswith("digits unsure")
