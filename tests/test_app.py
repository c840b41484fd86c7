"""The app as a whole under Streamlit's AppTest: navigation, the model card, shared pieces."""

from __future__ import annotations

import gc
import itertools
import subprocess
import sys

import numpy as np
import pytest
from apptest_support import APP, DRAW, EVALUATE, TRAIN, USE_APP_ENVIRONMENT, open_page, sidebar_text
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from mnist_cnn.training import BatchProgress
from studio import charts, compat, digit_images

pytestmark = USE_APP_ENVIRONMENT


@pytest.mark.parametrize("page", [DRAW, TRAIN, EVALUATE])
def test_every_page_renders_with_the_model_card(page: str) -> None:
    app = open_page(page)
    assert app.sidebar.subheader[0].value == "Active model"
    assert "Bundled with the app" in sidebar_text(app)
    assert any(m.label == "Test accuracy" for m in app.sidebar.metric)
    assert not app.error


def test_streamlit_is_adapted_to_tensorflow() -> None:
    """Streamlit's clear_session() after each run hangs a training thread mid-build, and its
    full garbage collection after each run costs ~200 ms unless start-up objects are frozen."""
    open_page(DRAW)
    assert script_runner._clean_problem_modules is compat._keep_keras_state
    assert gc.get_freeze_count() > 0


# Objects alive after importing Streamlit, TensorFlow and Keras: about 440,000 with TF 2.21.
TENSORFLOW_OBJECTS = 100_000


def test_loading_tensorflow_freezes_its_objects_at_once() -> None:
    """A stroke on the Draw page reruns only its fragment, never the entry point: the freeze
    must not wait for an entry-point run, or a visitor who only draws pays a 200-300 ms
    garbage collection after every stroke. A fresh process, as a fresh server."""
    loader = (
        "import gc; from studio import runtime; runtime.page_drawn(); "
        "runtime.import_tensorflow_quietly(); print(gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", loader], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > TENSORFLOW_OBJECTS, done.stdout


def test_draw_is_the_page_that_opens_first() -> None:
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert app.title[0].value == "Draw a digit"


# --- Shared pieces --------------------------------------------------------------------------


def test_confusion_matrix_is_one_clickable_square_per_cell() -> None:
    confusion = np.diag(np.full(10, 50))
    confusion[9, 4] = 3
    trace = charts.confusion_figure(confusion).data[0]
    assert trace.type == "scatter" and trace.marker.symbol == "square"
    assert len(trace.x) == 100
    cell = 10 * 9 + 4  # row-major: true digit 9, predicted 4
    assert (trace.y[cell], trace.x[cell], trace.text[cell]) == (9, 4, "3")
    assert trace.text[1] == ""  # empty cells stay blank
    shares = charts.confusion_figure(confusion, normalise=True).data[0].text
    assert shares[cell] == "6%" and shares[0] == "100%"


def test_confusion_matrix_numbers_are_readable_on_every_square() -> None:
    for intensity in np.linspace(0, 1, 201):
        square = charts.luminance(charts.scale_colour(intensity))
        label = charts.luminance(charts.label_colour(intensity))
        assert charts.contrast(square, label) >= 3.9, intensity
    assert charts.scale_colour(0) == "#F3F4F8" and charts.scale_colour(1) == charts.PRIMARY
    confusion = np.diag(np.full(10, 50))
    confusion[9, 4] = 3
    colours = charts.confusion_figure(confusion).data[0].textfont.color
    assert colours[0] == charts.WHITE  # a whole row: the darkest square
    assert colours[10 * 9 + 4] == charts.TEXT  # a few mistakes: a light square


def test_smoothing_follows_the_trend_without_overshooting() -> None:
    assert charts.smooth([]) == []
    smoothed = charts.smooth([1.0, 0.0, 0.0, 0.0])
    assert smoothed[0] == 1.0 and all(a > b for a, b in itertools.pairwise(smoothed))
    assert min(smoothed) > 0.0


def batch_report(batch: int, learning_rate: float | None) -> BatchProgress:
    return BatchProgress(1, 5, batch, 100, 0.5, 0.9, 1000.0, learning_rate=learning_rate)


def test_live_chart_draws_the_learning_rate_next_to_the_loss() -> None:
    rates = [1e-3, 2e-3, 3e-3]
    frame = charts.rate_frame(
        [batch_report(b, r) for b, r in zip((10, 20, 30), rates, strict=True)]
    )
    assert list(frame["value"]) == rates and list(frame["epoch"]) == [0.1, 0.2, 0.3]
    assert charts.LEARNING_RATE_SPEC["title"]["text"] == "Learning rate"
    # Reports without a rate (from code that does not set it) keep the two charts.
    assert charts.rate_frame([batch_report(10, None)]) is None


def test_live_chart_specs_stay_the_same_as_data_comes_in() -> None:
    """Streamlit updates a Vega-Lite chart in place only while its spec is unchanged."""
    specs = [
        charts.BATCH_LOSS_SPEC,
        charts.BATCH_ACCURACY_SPEC,
        charts.LEARNING_RATE_SPEC,
        charts.EPOCH_LOSS_SPEC,
        charts.EPOCH_ACCURACY_SPEC,
        charts.PROBABILITY_SPEC,
    ]
    assert all("data" not in spec and "datasets" not in spec for spec in specs)
    few = charts.batch_frame([batch_report(10, None)], "loss")
    more = charts.batch_frame([batch_report(b, None) for b in (10, 20, 30)], "loss")
    assert list(few.columns) == list(more.columns) == ["epoch", "value", "series"]
    assert set(more["series"]) == {charts.RAW, charts.SMOOTHED}


def test_enlarged_digits_stay_square_and_crisp() -> None:
    wide = np.ones((10, 20), dtype=np.float32)
    big = digit_images.enlarge(wide, width=120)
    assert big.shape == (120, 120) and big.dtype == np.uint8
    assert set(np.unique(big)) == {0, 255}
