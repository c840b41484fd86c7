"""The training side of ``mnist_cnn.digit_check``'s learned detector (scripts/train_digit_check.py).

The engine only runs the detector; what it is trained on and how it was made live here. The
examples are built by the engine's own functions, so training and the Draw page see the same.
"""

from __future__ import annotations

import json

import numpy as np

from mnist_cnn.conv_features import bundled_features
from mnist_cnn.digit_check import WEIGHTS_PATH, detector_input, measure, measured_logs
from mnist_cnn.shapes import IMAGE_SHAPE

PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


def features(image: np.ndarray, ink: np.ndarray | None = None) -> np.ndarray:
    """One training example as kept: the 784 input pixels (floats in [0, 1]), then the
    ``measured_logs`` of the drawing and its ink. The pixels are kept, not the CNN's features,
    so that a cache of examples outlives a retrained bundled model."""
    image = np.asarray(image)
    pixels = image / np.float32(255) if image.dtype == np.uint8 else image.astype(np.float32)
    return np.concatenate((pixels.reshape(-1), measured_logs(measure(image, ink))))


def detector_inputs(examples: np.ndarray) -> np.ndarray:
    """What the detector sees of each example (rows of ``features``): ``detector_input`` of the
    bundled CNN's unit features of its pixels and of its logs."""
    images = examples[:, :PIXELS].reshape(-1, *IMAGE_SHAPE)
    return detector_input(bundled_features().unit_features(images), examples[:, PIXELS:])


def detector_metadata() -> dict:
    """How the shipped detector was made (script, settings, date), from its file."""
    with np.load(WEIGHTS_PATH, allow_pickle=False) as saved:
        return json.loads(str(saved["metadata"]))
