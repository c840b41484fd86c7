"""Score a model on the test set: accuracy, per-class report, confusion matrix, mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from mnist_cnn.calibration import (
    coverage_at_accuracy,
    expected_calibration_error,
    temperature_of,
    with_temperature,
)
from mnist_cnn.inference import predict
from mnist_cnn.shapes import DIGITS


@dataclass(frozen=True)
class Evaluation:
    """Everything a report or a page needs, computed once per model."""

    labels: np.ndarray  # (N,) true digits
    predictions: np.ndarray  # (N,) predicted digits
    confidences: np.ndarray  # (N,) probability of the predicted digit
    confusion: np.ndarray  # (10, 10) counts, rows = true digit, columns = predicted
    report: dict  # scikit-learn classification_report(output_dict=True)
    raw_probabilities: np.ndarray  # (N, 10) the network's own, before temperature scaling
    temperature: float | None  # the model's (calibration.py), None when it has none

    @cached_property
    def probabilities(self) -> np.ndarray:
        """(N, 10) as shown: calibrated with the model's temperature when it has one."""
        if self.temperature is None:
            return self.raw_probabilities
        return with_temperature(self.raw_probabilities, self.temperature)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels))

    def per_class(self) -> list[dict]:
        """One row per digit: precision, recall, F1 and support."""
        return [
            {"digit": digit, **{k: self.report[str(digit)][k] for k in _REPORT_COLUMNS}}
            for digit in DIGITS
        ]

    def cell_indices(self, true_digit: int, predicted_digit: int) -> np.ndarray:
        """Indices of the test images behind one confusion-matrix cell."""
        return np.flatnonzero((self.labels == true_digit) & (self.predictions == predicted_digit))

    def most_confused(self, top: int = 5) -> list[tuple[int, int, int]]:
        """The ``top`` most frequent mistakes as ``(true, predicted, count)``, largest first."""
        off_diagonal = self.confusion.copy()
        np.fill_diagonal(off_diagonal, 0)
        order = np.argsort(off_diagonal, axis=None)[::-1][:top]
        pairs = [
            (int(t), int(p), int(off_diagonal[t, p]))
            for t, p in zip(*np.unravel_index(order, off_diagonal.shape), strict=True)
        ]
        return [pair for pair in pairs if pair[2] > 0]


_REPORT_COLUMNS = ("precision", "recall", "f1-score", "support")


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Predict every image in large compiled batches and summarise the results."""
    raw = predict(model, images, calibrated=False)
    temperature = temperature_of(model)
    probabilities = raw if temperature is None else with_temperature(raw, temperature)
    predictions = probabilities.argmax(axis=1)
    labels = np.asarray(labels).astype(np.int64)
    return Evaluation(
        labels=labels,
        predictions=predictions,
        confidences=probabilities[np.arange(len(predictions)), predictions],
        confusion=confusion_matrix(labels, predictions, labels=DIGITS),
        report=classification_report(
            labels,
            predictions,
            labels=DIGITS,
            target_names=[str(d) for d in DIGITS],
            output_dict=True,
            zero_division=0,
        ),
        raw_probabilities=raw,
        temperature=temperature,
    )


def format_report(evaluation: Evaluation) -> str:
    """Accuracy, per-class table and confusion matrix as plain text (for the CLI)."""
    lines = [f"Test accuracy: {evaluation.accuracy:.4f} ({len(evaluation.labels)} images)", ""]
    lines.append(f"{'digit':>5} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for row in evaluation.per_class():
        lines.append(
            f"{row['digit']:>5} {row['precision']:>9.4f} {row['recall']:>7.4f} "
            f"{row['f1-score']:>7.4f} {row['support']:>8.0f}"
        )
    lines += ["", "Confusion matrix (rows: true digit, columns: predicted)"]
    lines.append("      " + "".join(f"{d:>6}" for d in DIGITS))
    for digit, row in zip(DIGITS, evaluation.confusion, strict=True):
        lines.append(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
    mistakes = evaluation.most_confused()
    if mistakes:
        lines += ["", "Most confused: " + ", ".join(f"{t}->{p} ({n})" for t, p, n in mistakes)]
    return "\n".join(lines)


# The accuracy that ``format_calibration`` reports the coverage at: 1 error in 1,000 answers.
REPORTED_ACCURACY = 0.999


def format_calibration(evaluation: Evaluation) -> str:
    """Expected calibration error, raw and calibrated, and the share answered at 99.9%."""
    labels = evaluation.labels
    raw_ece = expected_calibration_error(evaluation.raw_probabilities, labels)
    if evaluation.temperature is None:
        lines = [
            f"Expected calibration error: {raw_ece:.2%} (not calibrated: "
            "`python -m mnist_cnn calibrate` fits a temperature)"
        ]
    else:
        ece = expected_calibration_error(evaluation.probabilities, labels)
        lines = [
            f"Expected calibration error: {raw_ece:.2%} raw, {ece:.2%} calibrated "
            f"(temperature {evaluation.temperature:.3f})"
        ]
    answered = coverage_at_accuracy(evaluation.probabilities, labels, REPORTED_ACCURACY)
    if answered is None:
        lines.append(f"No threshold reaches {REPORTED_ACCURACY:.1%} accuracy.")
    else:
        lines.append(
            f"Answering only at >= {answered.threshold:.2%} sure: {answered.answered:.1%} of "
            f"digits answered, {answered.accuracy:.2%} of those right"
        )
    return "\n".join(lines)
