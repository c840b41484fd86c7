"""Does a drawing look like a digit at all? A cheap check before the model is asked.

The classifier always answers with one of ten digits, and often confidently, even for a
tic-tac-toe board or a canvas coloured in: softmax confidence is a poor judge of inputs unlike
anything in training. So the Draw page first measures four simple properties of the drawing,
each with a limit that handwritten digits stay within:

- **holes**: enclosed background regions of the 28x28 input. Digits have at most two (an 8);
  a grid or a tangle has many.
- **coverage**: the share of the 20x20 digit box that is inked. Digits are strokes; noise and
  hatching fill the box.
- **stroke length**: the length of all strokes in input pixels (total variation x pi / 8, as in
  ``drawing._stroke_width``). The longest digit, an 8, is about 60 px; a grid is longer. A
  near-empty input is too short: even a 1 is longer than ``MIN_STROKE_LENGTH``.
- **stroke ratio**: stroke width over the drawing's longer side, measured on the ink before
  preprocessing (which thins every stroke to MNIST's width). A blob is nearly as wide as long.

The score is the largest of the measurements, each divided by its limit: above 1 means "not a
digit". The limits are the 99.9th percentiles (0.1th for the minimum length) of the 60,000
MNIST training digits, which also take in every digit of ``sketches.drawn_digit_set`` (seed 0):
`benchmarks/bench_not_a_digit.py --calibrate` prints both, and the same script measures the
rates on held-out sets (MNIST test, other seeds).

Limits of the approach: it judges shape statistics, not meaning. A single letter such as an X
or an H has the holes, coverage and length of a digit and passes; so does a short scribble.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mnist_cnn.drawing import BOX_SIZE, _bounding_box, _stroke_width

# Calibrated limits (see the module docstring and bench_not_a_digit.py --calibrate).
MAX_HOLES = 4
MAX_COVERAGE = 0.58
MAX_STROKE_LENGTH = 64.0
MIN_STROKE_LENGTH = 16.0
MAX_STROKE_RATIO = 0.29
# Pixels at least this bright count as ink when finding holes (MNIST's edges are grey).
_INK_THRESHOLD = 0.4
_BOX_THRESHOLD = 0.1


@dataclass(frozen=True)
class DigitLikeness:
    """The four measurements of a drawing and its score (above 1: not a digit)."""

    holes: int
    coverage: float
    stroke_length: float
    stroke_ratio: float

    def ratios(self) -> dict[str, float]:
        """Each measurement as a fraction of its limit."""
        return {
            "holes": self.holes / MAX_HOLES,
            "coverage": self.coverage / MAX_COVERAGE,
            "stroke length": self.stroke_length / MAX_STROKE_LENGTH,
            "short strokes": MIN_STROKE_LENGTH / max(self.stroke_length, 1e-6),
            "stroke ratio": self.stroke_ratio / MAX_STROKE_RATIO,
        }

    @property
    def score(self) -> float:
        return max(self.ratios().values())

    @property
    def reason(self) -> str:
        """The measurement furthest past its limit."""
        ratios = self.ratios()
        return max(ratios, key=ratios.get)


def digit_likeness(image: np.ndarray, ink: np.ndarray | None = None) -> DigitLikeness:
    """Measure a (28, 28) model input (floats in [0, 1] or uint8) and, if given, its ink.

    ``ink`` is the drawing before preprocessing (``DrawingStages.ink``); without it the input
    itself stands in, as it does for MNIST, whose digits are all we have.
    """
    pixels = _as_float(image)
    if pixels.shape != (28, 28):
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


def looks_like_digit(image: np.ndarray, ink: np.ndarray | None = None) -> bool:
    """Whether a drawing is within every limit a handwritten digit keeps (see the module)."""
    return digit_likeness(image, ink).score <= 1.0


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
