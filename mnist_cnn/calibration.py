"""How sure the model is, kept honest: temperature scaling, reliability and answer-only-when-sure.

A trained network's top probability is often higher than its accuracy: of the digits it calls
"99% sure" fewer than 99% are right. *Temperature scaling* (Guo et al., "On Calibration of
Modern Neural Networks", 2017) divides the logits by one number ``T`` fitted to minimise the
negative log-likelihood on digits the model did not train on. ``T > 1`` softens overconfident
answers, ``T < 1`` sharpens timid ones, and because every logit is divided by the same number the
predicted digit never changes, so accuracy is untouched.

The model's last layer is a softmax, so its logits are not at hand; they are not needed:
``softmax(log(p) / T) = softmax(z / T)``, since ``log(p)`` is the logits less one constant per
image. A model's temperature is kept beside it here, weakly keyed like the compiled functions
of `mnist_cnn.inference`, and in its ``metadata.json`` (``store.load_keras_file`` restores it),
so `predict` gives calibrated probabilities by default.

The *expected calibration error* (ECE) weighs each confidence bin's gap between accuracy and
mean confidence by its share of the digits; the reliability diagram draws the same bins.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

# Guo et al.'s bins: 15 of equal width over [0, 1].
RELIABILITY_BINS = 15
# The temperature is searched for between these, on a log scale (further is a broken model).
TEMPERATURE_RANGE = (0.05, 20.0)
# Below this top probability an answer is "unsure": the Draw and Number pages' default, until a
# visitor picks another on the Evaluate page.
DEFAULT_SURE_AT = 0.6
# log(0) is -inf: a probability that underflowed to 0 counts as this instead.
_SMALLEST_PROBABILITY = 1e-30

_temperatures: weakref.WeakKeyDictionary[keras.Model, float] = weakref.WeakKeyDictionary()
_temperatures_lock = threading.Lock()


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and what it did on the digits it was fitted on."""

    temperature: float
    images: int  # how many digits it was fitted on
    nll_before: float  # mean negative log-likelihood, raw probabilities
    nll_after: float
    ece_before: float  # expected calibration error, a fraction
    ece_after: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: object) -> Calibration | None:
        """Read what ``to_dict`` wrote; None when anything is missing or not a number."""
        if not isinstance(values, dict):
            return None
        numbers = {}
        for name in cls.__dataclass_fields__:
            value = values.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            numbers[name] = value
        low, high = TEMPERATURE_RANGE
        if not low <= numbers["temperature"] <= high:
            return None
        return cls(**{**numbers, "images": int(numbers["images"])})


@dataclass(frozen=True)
class Reliability:
    """Confidence bins: their edges, how many answers fell in each, and those answers'
    mean confidence and accuracy (NaN for an empty bin)."""

    edges: np.ndarray  # (bins + 1,)
    counts: np.ndarray  # (bins,)
    confidence: np.ndarray  # (bins,)
    accuracy: np.ndarray  # (bins,)

    @property
    def ece(self) -> float:
        """Expected calibration error: each bin's |accuracy - confidence|, weighted by count."""
        filled = self.counts > 0
        gaps = np.abs(self.accuracy[filled] - self.confidence[filled])
        return float(np.sum(gaps * self.counts[filled]) / max(self.counts.sum(), 1))


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities, (N, 10), as the same logits divided by ``temperature`` give."""
    scaled = np.log(np.maximum(probabilities, _SMALLEST_PROBABILITY)) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(scaled)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(true digit)."""
    true = probabilities[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]
    return float(-np.mean(np.log(np.maximum(true, _SMALLEST_PROBABILITY))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    if len(labels) == 0:
        raise ValueError("a temperature needs at least one labelled digit to fit on")
    from scipy.optimize import minimize_scalar  # the model store imports this module: kept light

    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(
            with_temperature(probabilities, np.exp(log_t)), labels
        ),
        bounds=(low, high),
        method="bounded",
    )
    return float(np.exp(result.x))


def reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS
) -> Reliability:
    """The reliability diagram's bins for these probabilities, (N, 10), and true digits."""
    confidences = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bins are (low, high], the first [0, high]: a confidence of exactly 1 is in the last.
    which = np.clip(np.searchsorted(edges, confidences, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, weights=confidences, minlength=bins) / counts
        accuracy = np.bincount(which, weights=correct, minlength=bins) / counts
    return Reliability(edges, counts, confidence, accuracy)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return reliability(probabilities, labels).ece


def calibrate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Calibration:
    """Fit ``model``'s temperature on held-out ``images`` and ``labels``, and use it from now on.

    Fit on digits the model did not train on (the run's validation split; for a model without
    one, a part of the training set it never saw), never on the test set that scores it.
    """
    from mnist_cnn.inference import predict

    raw = predict(model, images, calibrated=False)
    temperature = fit_temperature(raw, labels)
    scaled = with_temperature(raw, temperature)
    set_temperature(model, temperature)
    return Calibration(
        temperature=temperature,
        images=len(labels),
        nll_before=negative_log_likelihood(raw, labels),
        nll_after=negative_log_likelihood(scaled, labels),
        ece_before=expected_calibration_error(raw, labels),
        ece_after=expected_calibration_error(scaled, labels),
    )


def set_temperature(model: keras.Model, temperature: float) -> None:
    """Make ``predict`` divide this model's logits by ``temperature``."""
    with _temperatures_lock:
        _temperatures[model] = float(temperature)


def temperature_of(model: keras.Model) -> float | None:
    """The model's fitted temperature, or None for a model never calibrated."""
    with _temperatures_lock:
        return _temperatures.get(model)


def apply_temperature(model: keras.Model, probabilities: np.ndarray) -> np.ndarray:
    """The model's raw probabilities with its temperature applied (unchanged if it has none)."""
    temperature = temperature_of(model)
    if temperature is None:
        return probabilities
    return with_temperature(probabilities, temperature)


@dataclass(frozen=True)
class Coverage:
    """Answering only at or above ``threshold``: the share answered and their accuracy."""

    threshold: float
    answered: float  # a fraction of all digits
    accuracy: float  # on those answered; NaN when none is


def coverage(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> Coverage:
    """What answering only digits whose top probability is at least ``threshold`` gives."""
    confidences = probabilities.max(axis=1)
    answered = confidences >= threshold
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    accuracy = float(correct[answered].mean()) if answered.any() else float("nan")
    return Coverage(threshold, float(answered.mean()), accuracy)


def coverage_curve(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every threshold worth drawing: (thresholds, share answered, accuracy on those).

    The thresholds are the digits' own confidences, highest first, so point ``i`` answers the
    ``i + 1`` surest digits.
    """
    confidences = probabilities.max(axis=1)
    order = np.argsort(-confidences, kind="stable")
    correct = (probabilities.argmax(axis=1) == np.asarray(labels))[order]
    answered = np.arange(1, len(order) + 1)
    return confidences[order], answered / len(order), np.cumsum(correct) / answered


def coverage_at_accuracy(
    probabilities: np.ndarray, labels: np.ndarray, accuracy: float
) -> Coverage | None:
    """The most digits one can answer with at least ``accuracy`` on them, and the threshold
    that does it; None when even the surest digit alone misses it."""
    thresholds, answered, accuracies = coverage_curve(probabilities, labels)
    # Ties share a threshold: only the last of a run of equal confidences is a real choice.
    real = np.append(thresholds[1:] != thresholds[:-1], True)
    good = np.flatnonzero(real & (accuracies >= accuracy))
    if len(good) == 0:
        return None
    best = good[-1]
    return Coverage(float(thresholds[best]), float(answered[best]), float(accuracies[best]))
