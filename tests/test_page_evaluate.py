"""The Evaluate page under Streamlit's AppTest (cell clicks are tested in the browser)."""

from __future__ import annotations

import pytest
from apptest_support import EVALUATE, USE_APP_ENVIRONMENT, open_page

from mnist_cnn import memory_budget, settings
from studio import resources

pytestmark = USE_APP_ENVIRONMENT


def test_evaluate_shows_accuracy_report_and_matrix() -> None:
    app = open_page(EVALUATE)
    metrics = {m.label: m.value for m in app.main.metric}
    assert metrics["Test images"] == "300"
    assert metrics["Test accuracy"].endswith("%")
    report = app.dataframe[0].value
    assert list(report.columns) == ["digit", "precision", "recall", "f1-score", "support"]
    assert report["support"].sum() == 300
    assert app.get("plotly_chart"), "no confusion matrix"
    assert any("Click a square" in info.value for info in app.info)
    assert len(app.image) >= 32, "no gallery of test digits"


def test_evaluate_counts_or_row_shares() -> None:
    app = open_page(EVALUATE)
    app.segmented_control[0].set_value("Share of each row").run()
    assert not app.exception


def test_evaluate_without_mnist_explains_instead_of_crashing(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    app = open_page(EVALUATE)
    assert "MNIST file not found" in app.error[0].value


def test_evaluate_shows_how_sure_and_the_threshold_is_the_sessions() -> None:
    app = open_page(EVALUATE)
    metrics = {m.label: m.value for m in app.main.metric}
    # The bundled model ships with its temperature (fitted on held-out training digits).
    assert metrics["Temperature"] == "1.26"
    assert metrics["Calibration error, raw"].endswith("%")
    assert metrics["Calibration error, as shown"].endswith("%")
    assert len(app.get("vega_lite_chart")) >= 1, "no reliability diagram"
    slider = app.slider(key="sure_at_slider")
    assert slider.value == 60.0  # calibration.DEFAULT_SURE_AT
    assert any("At 60.0% sure it answers" in text.value for text in app.markdown)

    slider.set_value(99.9).run()
    assert not app.exception
    assert app.session_state["sure_at"] == pytest.approx(0.999)
    said = [text.value for text in app.markdown if "At 99.9% sure" in text.value]
    assert said and "of the test digits" in said[0]


def test_evaluate_while_the_server_is_short_of_memory_says_until_when(monkeypatch) -> None:
    limit = memory_budget.SERVER_MB + memory_budget.TRAINING_MB
    monkeypatch.setenv(settings.MEMORY_MB_ENV, str(int(limit)))
    monkeypatch.setattr(memory_budget, "HOLD_WAIT_S", 0.0)
    training = resources.memory_budget().reserve(memory_budget.TRAINING, lambda: 40.0)
    app = open_page(EVALUATE)
    errors = [error.value for error in app.error]
    assert any(
        "short of memory until the training run ends, about 40 s" in error for error in errors
    ), errors
    assert not app.get("plotly_chart")  # no confusion matrix of a model not scored

    resources.memory_budget().release(training)
    app.run()
    assert not app.error and app.get("plotly_chart")
