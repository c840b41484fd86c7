"""Numbers composed from single digits, as a browser canvas or a photo of paper would show them.

There is no data set of handwritten numbers here, so the tests, ``benchmarks/bench_numbers.py``
and the notebook write their own: digits (MNIST images, or pen-style sketches) are put side by
side at a chosen spacing, measured between their nearest strokes rather than their boxes:

- **apart**: a clear gap, a third of a digit's height or more;
- **close**: a gap of a pixel or a few, where the boxes of slanted digits may overlap;
- **touching**: strokes pushed into each other by a few pixels, so that the ink is connected.

The line may slope a little and each digit sits a little higher or lower. The ink then goes on a
light-on-dark canvas (white on black, as the app's canvas) or on "paper": dark ink on a lighter
background with uneven light, a soft shadow and noise, as a phone photo of a page.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from sketchbook.sketches import PEN_STROKES, render_pen_digit, render_sketch

SPACINGS = ("apart", "close", "touching")
BACKGROUNDS = ("canvas", "paper")
_GAPS = {"apart": (0.35, 0.7), "close": (0.03, 0.1)}  # times the digit height
_OVERLAP = (0.03, 0.08)  # touching: strokes pushed into each other by this (times the height)
_MAX_SLOPE_DEG = 4.0
_BASELINE_JITTER = 0.04  # times the height
_MARGIN = 0.4  # around the number, times the height
_INK_THRESHOLD = 0.1  # MNIST's faint edges below this do not count as strokes


def mnist_digit_ink(image: np.ndarray) -> np.ndarray:
    """An MNIST image (28x28 uint8) as float ink in [0, 1], cropped to its strokes."""
    ink = np.asarray(image, dtype=np.float32) / 255.0
    return _cropped(ink)


def pen_digit_ink(digit: int, rng: np.random.Generator) -> np.ndarray:
    """A pen-style sketch of ``digit`` (``sketches.render_pen_digit``) as cropped float ink."""
    height = rng.uniform(0.6, 0.85)
    width = height * rng.uniform(0.5, 0.85)
    canvas = render_pen_digit(
        digit,
        rng,
        style=int(rng.integers(len(PEN_STROKES[digit]))),
        box=(0.5 - width / 2, 0.5 - height / 2, 0.5 + width / 2, 0.5 + height / 2),
        pen=rng.uniform(0.07, 0.16) * height * 280,
        slant=rng.uniform(-0.25, 0.25),
        rotation_deg=rng.uniform(-8.0, 8.0),
        tremor=rng.uniform(0.0, 0.015),
        ink=(255, 255, 255, 255),
        paper=(0, 0, 0, 255),
    )
    return _cropped(canvas[..., 0].astype(np.float32) / 255.0)


def sketch_digit_ink(digit: int, variant: int = 0) -> np.ndarray:
    """A template sketch of ``digit`` (``sketches.render_sketch``) as cropped float ink."""
    return _cropped(render_sketch(digit, variant=variant)[..., 0].astype(np.float32) / 255.0)


def _cropped(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > _INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > _INK_THRESHOLD).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def compose(
    digits: list[np.ndarray], spacing: str, rng: np.random.Generator, height: int = 64
) -> np.ndarray:
    """Digit inks side by side at ``spacing`` (see the module): (H, W) float32 ink in [0, 1].

    Each digit is scaled to about ``height`` pixels (its own height varies by a little).
    """
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    scaled = [_scaled(ink, height * rng.uniform(0.85, 1.0) / max(ink.shape)) for ink in digits]
    slope = math.tan(math.radians(rng.uniform(-_MAX_SLOPE_DEG, _MAX_SLOPE_DEG)))
    margin = round(_MARGIN * height)
    total_width = sum(ink.shape[1] for ink in scaled) + len(scaled) * height
    rise = abs(slope) * total_width
    canvas = np.zeros((round(2 * margin + 1.3 * height + rise), total_width + 2 * margin), "f4")
    right_edge = np.full(canvas.shape[0], -np.inf)  # rightmost stroke so far, per row
    x = float(margin)
    for ink in scaled:
        baseline = margin + height * (1.0 + rng.uniform(-_BASELINE_JITTER, _BASELINE_JITTER))
        top = round(baseline - ink.shape[0] + (rise if slope < 0 else 0.0) + slope * x)
        if np.isfinite(right_edge).any():
            x = _next_position(ink, top, right_edge, spacing, height, rng)
        left = round(x)
        region = canvas[top : top + ink.shape[0], left : left + ink.shape[1]]
        np.maximum(region, ink, out=region)
        rows = np.flatnonzero((ink > _INK_THRESHOLD).any(axis=1))
        for row in rows:
            last = left + np.flatnonzero(ink[row] > _INK_THRESHOLD)[-1]
            right_edge[top + row] = max(right_edge[top + row], last)
        x = left + ink.shape[1]
    cols = np.flatnonzero(canvas.any(axis=0))
    return canvas[:, : cols[-1] + 1 + margin]


def _next_position(
    ink: np.ndarray,
    top: int,
    right_edge: np.ndarray,
    spacing: str,
    height: int,
    rng: np.random.Generator,
) -> float:
    """Where the next digit's left edge goes so its nearest stroke is ``spacing`` away.

    Strokes a row or a few above or below count too (as far as the gap), so that "close"
    digits never touch diagonally.
    """
    if spacing == "touching":
        gap = -max(1.0, rng.uniform(*_OVERLAP) * height)
    else:
        gap = max(1.0, rng.uniform(*_GAPS[spacing]) * height)
    reach = max(0, math.ceil(gap))
    nearby = ndimage.maximum_filter1d(right_edge, 2 * reach + 1, mode="nearest")
    touch = -np.inf  # the left position at which the new strokes would just meet the old
    for row in range(ink.shape[0]):
        strokes = np.flatnonzero(ink[row] > _INK_THRESHOLD)
        if strokes.size and np.isfinite(nearby[top + row]):
            touch = max(touch, nearby[top + row] - strokes[0] + 1)
    if not np.isfinite(touch):  # no shared row: put it by the previous digit's right side
        touch = float(np.max(right_edge[np.isfinite(right_edge)])) + 1
    return touch + gap


def _scaled(ink: np.ndarray, factor: float) -> np.ndarray:
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    resized = Image.fromarray(ink).resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def on_canvas(ink: np.ndarray) -> np.ndarray:
    """White ink on black, as the app's canvas returns it: (H, W, 4) uint8 RGBA."""
    grey = np.round(np.clip(ink, 0.0, 1.0) * 255).astype(np.uint8)
    return np.dstack((grey, grey, grey, np.full_like(grey, 255)))


def on_paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark ink on paper under uneven light, with a soft shadow and noise: (H, W, 3) uint8."""
    height, width = ink.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = np.asarray(rng.uniform([0.8, 0.78, 0.7], [1.0, 1.0, 0.98]), dtype=np.float32)
    pen = np.asarray(rng.uniform([0.0, 0.0, 0.1], [0.35, 0.35, 0.6]), dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / max(height, width)
    light = 1.0 - rng.uniform(0.1, 0.35) * (ramp - ramp.min())
    shadow_x = rng.uniform(0, width)
    shadow = rng.uniform(0.0, 0.25) / (1.0 + np.exp(-(xs - shadow_x) / (0.1 * height)))
    light = (light - shadow)[..., np.newaxis]
    strength = (np.clip(ink, 0.0, 1.0) * rng.uniform(0.75, 1.0))[..., np.newaxis]
    pixels = (paper * (1.0 - strength) + pen * strength) * light
    pixels += rng.normal(0.0, rng.uniform(0.01, 0.035), pixels.shape).astype(np.float32)
    return np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)
