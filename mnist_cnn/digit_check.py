"""Does a drawing look like a digit at all? A cheap check before the model is asked.

The classifier always answers with one of ten digits, and often confidently, even for a
tic-tac-toe board, a canvas coloured in or a letter: softmax confidence is a poor judge of
inputs unlike anything in training. So the Draw page first asks two things of the drawing.

**Measured limits.** Four simple properties, each with a limit that handwritten digits stay
within:

- **holes**: enclosed background regions of the 28x28 input. Digits have at most two (an 8);
  a grid or a tangle has many.
- **coverage**: the share of the 20x20 digit box that is inked. Digits are strokes; noise and
  hatching fill the box.
- **stroke length**: the length of all strokes in input pixels (total variation x pi / 8, as in
  ``drawing._stroke_width``). The longest digit, an 8, is about 60 px; a grid is longer. A
  near-empty input is too short: even a 1 is longer than ``MIN_STROKE_LENGTH``. That minimum
  sits below MNIST's 0.1th percentile (16 px) on purpose: total variation under-counts a line
  along an axis by pi/4, so a clean upright 1 as tall as the 20 px box measures 15.7 px, and
  scanned or blurred 1s, which are clean bars, fell under 16.
- **stroke ratio**: stroke width over the drawing's longer side, measured on the ink before
  preprocessing (which thins every stroke to MNIST's width). A blob is nearly as wide as long.

The limits are the 99.9th percentiles (the minimum length aside) of the 60,000 MNIST
training digits, which also take in every digit of ``sketchbook.sketches.drawn_digit_set``
(seed 0):
``benchmarks/bench_not_a_digit.py --calibrate`` prints both.

**A learned detector.** Measurements cannot tell an X or a short scribble from a digit: after
``canvas_to_mnist`` they have a digit's holes, coverage and length. A small network can: one
hidden layer of 64 ReLU units over what the bundled CNN makes of the input (its 1,600 unit
convolutional features, ``mnist_cnn.conv_features``) and the logs of the four measurements,
giving a logit for "not a digit". ``scripts/train_digit_check.py`` trains it on MNIST training
digits and drawn digits (positives) against generated non-digits (scribbles, noise, blobs,
grids, letters drawn as strokes, letters from the DejaVu/Liberation Sans fonts bent and
thickened at random, letter messes, doodles), every canvas prepared by ``canvas_to_mnist`` as
on the page. Read from the CNN's features rather than the 784 pixels, it refuses more of each
family's held-out canvases: the CNN already tells strokes and junctions apart, so the network
need not learn them from a few hundred drawings a family. Its threshold is set on digits it
never trained on, so that at most 0.3% of held-out MNIST or drawn digits are refused. The
weights are ``digit_check.npz`` beside this module, read with ``allow_pickle=False``, with the
fingerprint of the bundled model they were trained on: a call is one pass of that CNN's
convolutions (about a millisecond here) and two small matrix products in numpy.

**Familiarity.** The detector knows only the kinds of non-digit it was trained on, so a third
part learns from digits alone (``mnist_cnn.familiarity``): the same features of the input,
and their distance to the nearest of 10,000 MNIST training digits'. Its limit is the lowest
that keeps the whole check's refusals of held-out digits at 0.8%. Kinds that no part of the
check trained on (``sketchbook.unseen_kinds``) are how it is judged:
``benchmarks/bench_not_a_digit.py`` reports each.

The score is the largest of the measurements' ratios to their limits, ``exp(margin)``, the
detector's logit over its threshold, and the unfamiliarity: above 1 means "not a digit", and
``reason`` says which.

Limits: letters that are written like digits (O, I, l, S, Z, B, b, g, q) pass by design, and
so may any shape close to a digit (a plain circle is a 0). New kinds of drawing fare worse
than the trained families (an arrow is close enough to a 1 or a 7 to pass more often than
not): the leave-one-family-out figures of ``scripts/train_digit_check.py --leave-one-out``
and the unseen kinds' say how much.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from mnist_cnn.drawing import BOX_SIZE, _bounding_box, _stroke_width
from mnist_cnn.shapes import IMAGE_SHAPE

# Calibrated limits (see the module docstring and bench_not_a_digit.py --calibrate).
MAX_HOLES = 4
MAX_COVERAGE = 0.58
MAX_STROKE_LENGTH = 64.0
MIN_STROKE_LENGTH = 12.0  # below an upright bar's 15.7 px (see the docstring)
MAX_STROKE_RATIO = 0.29
# The learned detector: scripts/train_digit_check.py writes it, np.load reads it (no pickle).
WEIGHTS_PATH = Path(__file__).with_name("digit_check.npz")
_MAX_MARGIN = 50.0  # exp(margin) is capped here, far past any doubt, so it cannot overflow
_log = logging.getLogger(__name__)
_RATIO_FLOOR, _RATIO_CEILING = 0.05, 20.0  # the measurements' ratios enter the network as logs
# A unit vector's 1,600 values are about 1/40 each; scaled, they weigh as the logs do. Of the
# scales tried (8 and 16), 16 refused as much or more of every held-out set but one.
FEATURE_SCALE = 16.0
# Pixels at least this bright count as ink when finding holes (MNIST's edges are grey).
_INK_THRESHOLD = 0.4
_BOX_THRESHOLD = 0.1


@dataclass(frozen=True)
class DigitLikeness:
    """The measurements of a drawing, the detector's verdict and the score (above 1: not a digit).

    ``margin`` is the learned detector's logit minus its threshold: above 0, it finds the input
    more like its non-digits than like its digits. ``unfamiliarity`` is the distance of the
    CNN's features to the nearest digit's over its limit (``mnist_cnn.familiarity``): above 1,
    no digit the CNN was shown looks like it.
    """

    holes: int
    coverage: float
    stroke_length: float
    stroke_ratio: float
    margin: float = -math.inf
    unfamiliarity: float = 0.0

    def measured_ratios(self) -> dict[str, float]:
        """Each measurement as a fraction of its limit."""
        return {
            "holes": self.holes / MAX_HOLES,
            "coverage": self.coverage / MAX_COVERAGE,
            "stroke length": self.stroke_length / MAX_STROKE_LENGTH,
            "short strokes": MIN_STROKE_LENGTH / max(self.stroke_length, 1e-6),
            "stroke ratio": self.stroke_ratio / MAX_STROKE_RATIO,
        }

    def ratios(self) -> dict[str, float]:
        """The measurements' ratios, the detector's exp(margin) and the unfamiliarity's."""
        return {
            **self.measured_ratios(),
            "unlike digits": math.exp(min(self.margin, _MAX_MARGIN)),
            "unlike any digit seen": self.unfamiliarity,
        }

    @property
    def score(self) -> float:
        return max(self.ratios().values())

    @property
    def reason(self) -> str:
        """The ratio furthest past its limit ("unlike digits": the learned detector's)."""
        ratios = self.ratios()
        return max(ratios, key=ratios.get)


def digit_likeness(image: np.ndarray, ink: np.ndarray | None = None) -> DigitLikeness:
    """Measure a (28, 28) model input (floats in [0, 1] or uint8) and, if given, its ink.

    ``ink`` is the drawing before preprocessing (``DrawingStages.ink``); without it the input
    itself stands in, as it does for MNIST, whose digits are all we have.
    """
    from mnist_cnn.conv_features import bundled_features

    measured = measure(image, ink)
    detector = _detector()
    if detector is None:
        return measured
    features = bundled_features()
    if features.model_id != detector.features_model:
        _warn_of_another_model(features.model_id, detector.features_model)
        return measured
    unit = features.unit_features(_as_float(image)[np.newaxis])[0]
    return replace(
        measured,
        margin=detector.margin(detector_input(unit, measured_logs(measured))),
        unfamiliarity=detector.unfamiliarity(unit),
    )


def not_digit_score(image: np.ndarray, ink: np.ndarray | None = None) -> float:
    """The check's score for a drawing: above 1 it is refused (see the module)."""
    return digit_likeness(image, ink).score


def looks_like_digit(image: np.ndarray, ink: np.ndarray | None = None) -> bool:
    """Whether a drawing passes both the measured limits and the learned detector (see above)."""
    return not_digit_score(image, ink) <= 1.0


@dataclass(frozen=True)
class _Detector:
    """One hidden ReLU layer and a logit, in numpy: about 100k multiply-adds a call."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    threshold: float
    familiarity_limit: float
    features_model: str  # the fingerprint of the bundled model whose features both parts read

    def margin(self, x: np.ndarray) -> float:
        hidden = np.maximum(x @ self.w1 + self.b1, 0.0)
        return float(hidden @ self.w2 + self.b2) - self.threshold

    def unfamiliarity(self, unit_features: np.ndarray) -> float:
        """The familiarity distance over its limit; 0 when that check is unavailable."""
        from mnist_cnn import settings
        from mnist_cnn.familiarity import references

        if not settings.familiarity_check():
            return 0.0
        shared = references()
        if shared is None:
            return 0.0
        return float(shared.distances_of(unit_features[np.newaxis])[0]) / self.familiarity_limit


@cache
def _warn_of_another_model(bundled: str, set_for: str) -> None:
    """Said once: a retrained bundled model needs scripts/train_digit_check.py run again."""
    _log.warning(
        "The learned parts of the not-a-digit check are off: they were set for bundled model "
        "%s, not %s; run scripts/train_digit_check.py",
        set_for,
        bundled,
    )


@cache
def _detector() -> _Detector | None:
    """The trained detector, or None before scripts/train_digit_check.py has made one."""
    if not WEIGHTS_PATH.exists():
        return None
    with np.load(WEIGHTS_PATH, allow_pickle=False) as saved:
        return _Detector(
            w1=saved["w1"], b1=saved["b1"], w2=saved["w2"],
            b2=float(saved["b2"]), threshold=float(saved["threshold"]),
            familiarity_limit=float(saved["familiarity_limit"]),
            features_model=str(saved["features_model"]),
        )  # fmt: skip


def measure(image: np.ndarray, ink: np.ndarray | None = None) -> DigitLikeness:
    """The four measurements alone (``margin`` stays -inf): the learned detector is not asked."""
    pixels = _as_float(image)
    if pixels.shape != IMAGE_SHAPE:
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    ink_pixels = pixels if ink is None else _as_float(ink)
    mask = pixels >= _INK_THRESHOLD
    background_regions = ndimage.label(~np.pad(mask, 1))[1]  # 4-connected, padded: 1 outside
    variation = np.abs(np.diff(pixels, axis=0)).sum() + np.abs(np.diff(pixels, axis=1)).sum()
    return DigitLikeness(
        holes=max(background_regions - 1, 0),
        coverage=float(pixels.sum()) / BOX_SIZE**2,
        stroke_length=float(variation) * math.pi / 8,
        stroke_ratio=_stroke_ratio(ink_pixels),
    )


def measured_logs(measured: DigitLikeness) -> np.ndarray:
    """The measurements' ratios to their limits as the detector reads them: clipped logs."""
    ratios = np.array(list(measured.measured_ratios().values()))
    return np.log(np.clip(ratios, _RATIO_FLOOR, _RATIO_CEILING)).astype(np.float32)


def detector_input(unit_features: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """What the learned detector sees: the CNN's unit features, scaled, and ``measured_logs``.

    Works on one drawing or a batch (rows). Public so that its training
    (``sketchbook.detector.detector_inputs``) builds exactly this.
    """
    scaled = np.asarray(unit_features, np.float32) * FEATURE_SCALE
    return np.concatenate((scaled, np.asarray(logs, np.float32)), axis=-1)


def _stroke_ratio(ink: np.ndarray) -> float:
    if float(ink.max()) <= _BOX_THRESHOLD:
        return 0.0
    rows, cols = _bounding_box(ink > _BOX_THRESHOLD)
    cropped = ink[rows, cols]
    return _stroke_width(cropped) / max(cropped.shape)


def _as_float(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    return pixels.astype(np.float32, copy=False)
