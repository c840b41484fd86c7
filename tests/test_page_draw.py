"""The Draw page under Streamlit's AppTest (the browser tests draw with a real mouse)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from apptest_support import DRAW, USE_APP_ENVIRONMENT, open_page, png_bytes
from streamlit.testing.v1 import AppTest

from sketchbook.sketches import render_sketch
from studio import compat, prediction_view

pytestmark = USE_APP_ENVIRONMENT


def test_blank_canvas_prompts_to_draw_and_predicts_nothing() -> None:
    app = open_page(DRAW)
    assert any("Draw a digit on the canvas" in info.value for info in app.info)
    assert not [m for m in app.metric if m.label == "Prediction"]
    assert next(s for s in app.slider if s.label == "Brush width").value == 18
    assert any(b.label == "Clear" for b in app.button)


def test_clear_button_gives_a_new_canvas() -> None:
    app = open_page(DRAW)
    before = app.session_state["canvas_round"]
    next(b for b in app.button if b.label == "Clear").click()
    app.run()
    assert app.session_state["canvas_round"] == before + 1
    assert any("Draw a digit on the canvas" in info.value for info in app.info)


def upload(app: AppTest, name: str, content: bytes, mime: str) -> AppTest:
    app.session_state["source"] = "Upload an image"  # the tabs' key: open the upload tab
    app.file_uploader[0].set_value((name, content, mime))
    return app.run()


def test_uploaded_digit_is_predicted_with_its_stages() -> None:
    app = upload(open_page(DRAW), "seven.png", png_bytes(render_sketch(7)), "image/png")
    assert not app.exception
    prediction = next(m for m in app.metric if m.label == "Prediction")
    assert prediction.value == "7"
    assert "confident" in prediction.delta
    assert any(s.value == "What the model sees" for s in app.subheader)


def test_the_answer_shows_the_training_digits_it_resembles() -> None:
    from mnist_cnn.neighbours import NEIGHBOURS

    app = upload(open_page(DRAW), "seven.png", png_bytes(render_sketch(7)), "image/png")
    assert any(m.value == "**Like which training digits**" for m in app.markdown)
    note = next(c.value for c in app.caption if "training digits the model finds most" in c.value)
    assert f"The {NEIGHBOURS} training digits" in note
    neighbours = [c for element in app.image for c in element.captions if " · " in c]
    assert len(neighbours) == NEIGHBOURS
    assert all(c.split(" · ")[0] in "0123456789" for c in neighbours)


def test_open_upload_tab_without_a_file_prompts_to_upload() -> None:
    app = open_page(DRAW)
    app.session_state["source"] = "Upload an image"
    app.run()
    assert any("Upload a picture of a digit" in info.value for info in app.info)


def test_bad_upload_gets_a_clear_message_not_a_traceback() -> None:
    app = upload(open_page(DRAW), "digit.png", b"this is not a PNG", "image/png")
    assert not app.exception
    assert any("not an image that can be read" in error.value for error in app.error)
    assert not [m for m in app.metric if m.label == "Prediction"]


def test_blank_upload_says_no_digit_found() -> None:
    blank = np.full((60, 60), 255, dtype=np.uint8)
    app = upload(open_page(DRAW), "blank.png", png_bytes(blank), "image/png")
    assert any("No digit found" in warning.value for warning in app.warning)
    assert not any("Upload a picture of a digit" in info.value for info in app.info)
    assert not [m for m in app.metric if m.label == "Prediction"]


def test_upload_over_the_pixel_cap_is_refused_clearly() -> None:
    big = np.zeros((2100, 2000), dtype=np.uint8)
    app = upload(open_page(DRAW), "big.png", png_bytes(big), "image/png")
    assert any("more than the 4 megapixels" in error.value for error in app.error)


def show_prediction_of(probabilities: list[float]) -> AppTest:
    def page(probabilities: list[float]) -> None:
        # AppTest runs this function's source alone, so it imports what it uses.
        import numpy as np

        from studio import prediction_view

        prediction_view.prediction(np.array(probabilities))

    return AppTest.from_function(page, args=(probabilities,)).run()


def test_low_confidence_says_the_model_is_unsure() -> None:
    unsure = show_prediction_of([0.05, 0.40, 0.05, 0.05, 0.05, 0.05, 0.05, 0.20, 0.05, 0.05])
    assert unsure.metric[0].label == "Prediction" and unsure.metric[0].value == "1"
    assert "unsure: 1 at 40%, 7 at 20%" in unsure.warning[0].value
    confident = show_prediction_of([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.97, 0.03, 0.0])
    assert confident.metric[0].value == "7" and not confident.warning


@pytest.mark.parametrize("head_start", [True, False])
def test_a_head_start_sends_the_answer_alone_before_the_rest(
    monkeypatch: pytest.MonkeyPatch, head_start: bool
) -> None:
    """The Draw page's answer goes out, then a pause lets the browser draw it, then the chart."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        prediction_view.st, "metric", lambda *args, **kwargs: calls.append(("metric",))
    )
    monkeypatch.setattr(compat, "time", SimpleNamespace(sleep=lambda s: calls.append(("pause", s))))
    monkeypatch.setattr(prediction_view, "vega", lambda *args: calls.append(("chart",)))
    prediction_view.prediction(np.eye(10)[7], head_start=head_start)
    pause = [("pause", compat.ANSWER_HEAD_START_S)] if head_start else []
    assert calls == [("metric",), *pause, ("chart",)]


def test_an_unsure_answer_names_the_writing_style_and_offers_to_teach_it() -> None:
    import numpy as np

    from mnist_cnn.style_hints import style_hint
    from sketchbook.sketches import render_pen_digit

    # A pen 1 whose long flag the bundled model reads as 1 at 55%, 7 at 45%.
    flagged_one = render_pen_digit(1, np.random.default_rng(6), style=0)
    app = upload(open_page(DRAW), "one.png", png_bytes(flagged_one), "image/png")
    assert not app.exception
    warning = next(w.value for w in app.warning if "The model is unsure" in w.value)
    assert "1s written with a flag are often read as 7" in warning
    assert "teach the model yours" in warning
    assert "Try a larger, centred digit" not in warning
    links = [link.proto for link in app.get("page_link")]
    teach = next(link for link in links if link.label == "Teach it your handwriting")
    assert teach.page.endswith("your_drawings")
    assert style_hint(7, 1) == style_hint(1, 7) and style_hint(0, 8) is None
