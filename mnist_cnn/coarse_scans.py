"""Training digits as a coarse scan gives them, read the way the app reads an upload.

A digit scanned at low resolution (a form's cell at 8-12 pixels, a phone photo of a page) and
enlarged reaches the model through ``canvas_to_mnist``, which binarises its blur and re-strokes
it with MNIST's pen: loops that the blur closed come out filled, thin joins come out broken.
A training-time blur does not look like that (the app never shows the model a blur), so these
copies go through the app's own preprocessing, once, before training: ``coarse_scans`` makes
them from training digits, and ``TrainConfig(coarse_scans=N)`` adds N of them to a run's
training images (never to its validation split).

They are made at sides the held-out test never uses (7, 9, 11 and 13 pixels here; 8, 10 and
12 in ``benchmarks/bench_other_hands.py``), sampled with a different filter (bilinear down,
nearest up, where the test's scans use box down, bilinear up), so that the test stays a test.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.shapes import IMAGE_SHAPE

TRAINING_SIDES = (7, 9, 11, 13)
LEVELS = 16
ENLARGED_PX = 56  # the scan as the app would get it, enlarged (larger only costs time)
INK_THRESHOLD = 0.1


def coarse_scan(image: np.ndarray, side: int, levels: int = LEVELS) -> np.ndarray | None:
    """One (28, 28) uint8 digit as the app reads a ``side``-pixel, ``levels``-grey scan of it:
    a (28, 28) float32 model input, or None when nothing of it survives."""
    pixels = np.asarray(image, np.float32) / 255.0
    rows = np.flatnonzero(pixels.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(pixels.max(axis=0) > INK_THRESHOLD)
    if len(rows) == 0:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    size = max(bottom - top, right - left)
    square = np.zeros((size, size), np.float32)
    r0, c0 = (size - (bottom - top)) // 2, (size - (right - left)) // 2
    square[r0 : r0 + bottom - top, c0 : c0 + right - left] = pixels[top:bottom, left:right]
    grid = Image.fromarray((square * 255).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BILINEAR
    )
    steps = levels - 1
    quantised = np.round(np.asarray(grid, np.float32) / 255 * steps) / steps
    enlarged = Image.fromarray((quantised * 255).astype(np.uint8)).resize(
        (ENLARGED_PX, ENLARGED_PX), Image.Resampling.NEAREST
    )
    return canvas_to_mnist(np.asarray(enlarged))


def coarse_scans(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` coarse scans of randomly chosen ``images`` at random ``TRAINING_SIDES``, as
    uint8 (count, 28, 28) images (like MNIST's) and their labels; a digit that does not
    survive its scan is left out, so there may be a few fewer."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(count, len(images)), replace=False)
    sides = rng.choice(TRAINING_SIDES, size=len(chosen))
    scanned, kept = [], []
    for index, side in zip(chosen, sides, strict=True):
        made = coarse_scan(images[index], int(side))
        if made is not None:
            scanned.append(np.round(made * 255).astype(np.uint8))
            kept.append(labels[index])
    if not scanned:
        return np.zeros((0, *IMAGE_SHAPE), np.uint8), np.zeros((0,), labels.dtype)
    return np.stack(scanned), np.asarray(kept, labels.dtype)
