"""Temperature scaling, reliability, coverage: the arithmetic on made-up probabilities, and
the temperature's trip through a model's metadata."""

import numpy as np
import pytest

from mnist_cnn import calibration
from mnist_cnn.calibration import (
    Calibration,
    coverage,
    coverage_at_accuracy,
    coverage_curve,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    with_temperature,
)

RNG_SEED = 7
DIGITS = 10


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def overconfident(count: int = 4000, sharpen: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities whose logits were multiplied by ``sharpen`` after the labels were drawn
    from the unsharpened ones: calibrated at temperature ``sharpen``."""
    rng = np.random.default_rng(RNG_SEED)
    logits = rng.normal(0, 1.5, (count, DIGITS))
    logits[np.arange(count), rng.integers(0, DIGITS, count)] += 3
    true = softmax(logits)
    labels = np.array([rng.choice(DIGITS, p=row) for row in true])
    return softmax(logits * sharpen).astype(np.float32), labels


def test_fitting_lowers_the_nll_keeps_every_answer_and_finds_the_temperature():
    probabilities, labels = overconfident(sharpen=3.0)
    temperature = fit_temperature(probabilities, labels)
    scaled = with_temperature(probabilities, temperature)
    assert temperature == pytest.approx(3.0, rel=0.15)
    assert negative_log_likelihood(scaled, labels) < negative_log_likelihood(probabilities, labels)
    assert np.array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
    assert reliability(scaled, labels).ece < reliability(probabilities, labels).ece


def test_scaled_probabilities_are_probabilities_and_temperature_one_changes_nothing():
    probabilities, _ = overconfident(count=200)
    for temperature in (0.5, 1.0, 2.0, 10.0):
        scaled = with_temperature(probabilities, temperature)
        assert np.allclose(scaled.sum(axis=1), 1, atol=1e-5)
        assert (scaled >= 0).all()
    assert np.allclose(with_temperature(probabilities, 1.0), probabilities, atol=1e-5)


def test_a_probability_that_underflowed_to_zero_does_not_break_scaling():
    probabilities = np.array([[1.0] + [0.0] * 9], dtype=np.float32)
    scaled = with_temperature(probabilities, 5.0)
    assert np.isfinite(scaled).all() and scaled[0].argmax() == 0


def test_reliability_bins_count_every_answer_and_ece_is_the_weighted_gap():
    # Two answers at 0.95 (one right), two at 0.55 (both right).
    probabilities = np.full((4, DIGITS), 0.0, dtype=np.float32)
    probabilities[:2, 0], probabilities[:2, 1] = 0.95, 0.05
    probabilities[2:, 3], probabilities[2:, 4] = 0.55, 0.45
    labels = np.array([0, 1, 3, 3])
    bins = reliability(probabilities, labels, bins=10)
    assert bins.counts.sum() == 4
    assert bins.counts[9] == 2 and bins.counts[5] == 2
    assert bins.accuracy[9] == pytest.approx(0.5) and bins.accuracy[5] == pytest.approx(1.0)
    # (2 * |0.5 - 0.95| + 2 * |1 - 0.55|) / 4
    assert bins.ece == pytest.approx(0.45)


def test_coverage_answers_only_the_sure_and_the_curve_agrees():
    probabilities = np.zeros((5, DIGITS), dtype=np.float32)
    sure = [0.99, 0.97, 0.9, 0.8, 0.6]
    for row, p in enumerate(sure):
        probabilities[row, 0], probabilities[row, 1] = p, 1 - p
    labels = np.array([0, 0, 1, 0, 1])  # the 0.9 and the 0.6 answers are wrong
    at_95 = coverage(probabilities, labels, 0.95)
    assert at_95.answered == pytest.approx(0.4) and at_95.accuracy == 1.0
    assert np.isnan(coverage(probabilities, labels, 0.999).accuracy)
    thresholds, answered, accuracy = coverage_curve(probabilities, labels)
    assert list(thresholds) == pytest.approx(sure)
    assert list(answered) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert list(accuracy) == pytest.approx([1, 1, 2 / 3, 3 / 4, 3 / 5])
    best = coverage_at_accuracy(probabilities, labels, 0.75)
    assert (best.threshold, best.answered, best.accuracy) == pytest.approx((0.8, 0.8, 0.75))
    assert coverage_at_accuracy(probabilities, labels, 1.0).answered == pytest.approx(0.4)


def test_calibration_reads_back_and_refuses_what_is_not_one():
    fitted = Calibration(1.3, 6000, 0.03, 0.027, 0.004, 0.002)
    assert Calibration.from_dict(fitted.to_dict()) == fitted
    for broken in (None, [], {}, {**fitted.to_dict(), "temperature": "hot"}):
        assert Calibration.from_dict(broken) is None
    assert Calibration.from_dict({**fitted.to_dict(), "temperature": 0.0}) is None
    assert Calibration.from_dict({**fitted.to_dict(), "images": True}) is None


def test_a_saved_temperature_comes_back_with_the_model_and_predict_uses_it(sample_mnist):
    from mnist_cnn.inference import predict
    from mnist_cnn.model import build_model
    from mnist_cnn.store import find_record, load_record, save_calibration, save_model

    (x_train, y_train), (x_test, _) = sample_mnist
    model = build_model()
    record = save_model(model, {"made_with": "test"})
    raw = predict(model, x_test[:20], calibrated=False)
    fitted = calibration.calibrate(model, x_train[-200:], y_train[-200:])
    assert fitted.nll_after <= fitted.nll_before + 1e-9
    save_calibration(record, fitted)

    reloaded = load_record(find_record(record.key))
    assert calibration.temperature_of(reloaded) == pytest.approx(fitted.temperature)
    assert find_record(record.key).metadata.calibration == fitted
    shown = predict(reloaded, x_test[:20])
    assert np.allclose(shown, with_temperature(raw, fitted.temperature), atol=1e-5)
    assert np.allclose(predict(reloaded, x_test[:20], calibrated=False), raw, atol=1e-5)
    assert np.array_equal(shown.argmax(axis=1), raw.argmax(axis=1))


def test_the_bundled_model_ships_calibrated():
    from mnist_cnn.store import bundled_record

    fitted = bundled_record().metadata.calibration
    assert fitted is not None and fitted.images > 0
    assert fitted.nll_after <= fitted.nll_before
