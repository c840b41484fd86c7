"""The Evaluate page under Streamlit's AppTest (cell clicks are tested in the browser)."""

from __future__ import annotations

from apptest_support import EVALUATE, USE_APP_ENVIRONMENT, open_page

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
