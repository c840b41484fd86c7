"""Push a digit until the model's answer flips: shift, rotate, scale, thicken or thin it.

A CNN's convolutions make it tolerant of small shifts, and MNIST's own variety of handwriting
teaches it some slant and size; nothing teaches it a digit turned on its side. These changes
let a visitor find those limits, one at a time or all together, and `rotation_sweep` draws the
whole curve for one of them: the ten probabilities across a range of angles.

Free of TensorFlow except through `mnist_cnn.inference.predict`; a change costs well under a
millisecond (scipy.ndimage), a sweep one batched prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras
import numpy as np
from scipy import ndimage

from mnist_cnn.data import prepare_images
from mnist_cnn.inference import predict
from mnist_cnn.shapes import IMAGE_SHAPE

MAX_SHIFT = 6  # pixels, either way
MAX_ANGLE = 45  # degrees, either way
MIN_SCALE, MAX_SCALE = 0.5, 1.5
MIN_STROKE, MAX_STROKE = -1.0, 2.0  # pixels of ink removed (negative) or added round the edge
# Rotation sweeps go round to a digit on its side, beyond the slider, where answers do flip.
SWEEP_ANGLES = np.arange(-90, 91, 3)
# Thickening or thinning grows or wears a stroke by one pixel on every side at a time.
_STROKE_FOOTPRINT = ndimage.generate_binary_structure(2, 1)  # the pixel and its 4 neighbours
_CENTRE = (27 / 2, 27 / 2)  # rows and columns are pixel centres 0..27; turn about the middle


@dataclass(frozen=True)
class Distortion:
    """How to change a digit; the default changes nothing.

    ``right`` and ``down`` move it by pixels, ``angle`` turns it counter-clockwise by degrees,
    ``scale`` grows or shrinks it about the image's centre and ``stroke`` thickens (positive) or
    thins (negative) its strokes by that many pixels on each side, fractions blending between
    whole steps.
    """

    right: float = 0.0
    down: float = 0.0
    angle: float = 0.0
    scale: float = 1.0
    stroke: float = 0.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be positive, got {self.scale}")


def _restroke(image: np.ndarray, stroke: float) -> np.ndarray:
    """Grow (stroke > 0) or wear (stroke < 0) the ink by ``abs(stroke)`` pixels per side."""
    operation = ndimage.grey_dilation if stroke > 0 else ndimage.grey_erosion
    whole, fraction = divmod(abs(stroke), 1.0)
    for _ in range(int(whole)):
        image = operation(image, footprint=_STROKE_FOOTPRINT)
    if fraction:
        image = (1 - fraction) * image + fraction * operation(image, footprint=_STROKE_FOOTPRINT)
    return image


def distort(image: np.ndarray, distortion: Distortion) -> np.ndarray:
    """``image`` (28, 28) changed as ``distortion`` says, as float32 in [0, 1].

    Strokes change first (in the digit's own pixels), then one bilinear resampling turns,
    scales and moves it, so the digit is blurred once however many changes combine.
    uint8 images are scaled to [0, 1]; float images must already be in [0, 1].
    """
    batch = np.asarray(image).reshape(1, *IMAGE_SHAPE)
    pixels = prepare_images(batch)[0, ..., 0].astype(np.float64)
    if distortion.stroke:
        pixels = _restroke(pixels, distortion.stroke)
    # affine_transform maps each output pixel back to where it comes from in the input.
    radians = np.deg2rad(distortion.angle)
    cos, sin = np.cos(radians), np.sin(radians)
    # Rows grow downwards, so a counter-clockwise turn on screen is this (row, col) rotation.
    back = np.array([[cos, sin], [-sin, cos]]) / distortion.scale
    centre = np.array(_CENTRE)
    target_centre = centre + np.array([distortion.down, distortion.right])
    offset = centre - back @ target_centre
    moved = ndimage.affine_transform(pixels, back, offset=offset, order=1, cval=0.0)
    return np.clip(moved, 0.0, 1.0).astype(np.float32)


def rotation_sweep(
    model: keras.Model,
    image: np.ndarray,
    distortion: Distortion = Distortion(),
    angles: np.ndarray = SWEEP_ANGLES,
) -> np.ndarray:
    """The ten probabilities, shape (len(angles), 10), for ``image`` turned by each angle.

    Every other change in ``distortion`` is kept; its angle is replaced by each of ``angles``.
    All the turned digits go through the model in one batch.
    """
    turned = np.stack([distort(image, replace(distortion, angle=float(angle))) for angle in angles])
    return predict(model, turned)


def answer_flips(angles: np.ndarray, probabilities: np.ndarray) -> list[tuple[float, int, int]]:
    """Where along a sweep the predicted digit changes: (angle, digit before, digit after).

    The angle reported is the first one at which the new digit wins.
    """
    answers = np.argmax(probabilities, axis=1)
    return [
        (float(angles[i]), int(answers[i - 1]), int(answers[i]))
        for i in range(1, len(answers))
        if answers[i] != answers[i - 1]
    ]
