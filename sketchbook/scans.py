"""Digits as a low-resolution scanner or a phone photo of a form gives them: the held-out test
of how a model reads handwriting captured coarsely.

``low_resolution_scan`` turns one 28x28 MNIST digit into what such a capture looks like: the
digit's own box (its ink, not MNIST's 4-pixel margin) sampled onto a ``side`` x ``side`` grid
of ``levels`` grey levels, as the 8x8, 16-level forms of the UCI optical digits were, then
enlarged back to a picture of ``shown`` pixels, which the app reads as it reads an upload
(``canvas_to_mnist``). PIL does the sampling here; the training pipeline's low-resolution
distortion is TensorFlow's (``mnist_cnn.augment``), so the test is not the training's own
arithmetic.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SCAN_SIDE = 8
# The sides the held-out test scans at (benchmarks/bench_other_hands.py); training never uses
# them (mnist_cnn.coarse_scans.TRAINING_SIDES).
HELD_OUT_SIDES = (8, 10, 12)
SCAN_LEVELS = 16
SHOWN_PX = 224  # the enlarged picture: a small upload
INK_THRESHOLD = 0.1  # of full ink: where the digit's box ends


def low_resolution_scan(
    image: np.ndarray, side: int = SCAN_SIDE, levels: int = SCAN_LEVELS, shown: int = SHOWN_PX
) -> np.ndarray:
    """One (28, 28) digit (uint8, or floats in [0, 1]; white on black) as a (shown, shown)
    uint8 picture of its ``side`` x ``side``, ``levels``-grey scan, white ink on black."""
    pixels = np.asarray(image, np.float64)
    if pixels.max() > 1.0:
        pixels = pixels / 255.0
    rows = np.flatnonzero(pixels.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(pixels.max(axis=0) > INK_THRESHOLD)
    if len(rows) == 0:
        return np.zeros((shown, shown), np.uint8)
    # A square box round the ink, as a form's cell holds one digit.
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    size = max(bottom - top, right - left)
    square = np.zeros((size, size))
    r0, c0 = (size - (bottom - top)) // 2, (size - (right - left)) // 2
    square[r0 : r0 + bottom - top, c0 : c0 + right - left] = pixels[top:bottom, left:right]
    grid = Image.fromarray((square * 255).astype(np.uint8)).resize((side, side), Image.BOX)
    quantised = np.round(np.asarray(grid, np.float64) / 255 * (levels - 1)) / (levels - 1)
    picture = Image.fromarray((quantised * 255).astype(np.uint8))
    return np.asarray(picture.resize((shown, shown), Image.BILINEAR))


def low_resolution_scans(images: np.ndarray, **settings: int) -> np.ndarray:
    """``low_resolution_scan`` of each of (N, 28, 28) ``images``."""
    return np.stack([low_resolution_scan(image, **settings) for image in images])
