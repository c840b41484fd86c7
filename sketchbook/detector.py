"""The training side of ``mnist_cnn.digit_check``'s learned detector (scripts/train_digit_check.py).

The engine only runs the detector; what it is trained on and how it was made live here. The
examples are built by the engine's own functions, so training and the Draw page see the same.
"""

from __future__ import annotations

import json

import numpy as np

from mnist_cnn.conv_features import bundled_features
from mnist_cnn.data import prepare_images
from mnist_cnn.digit_check import WEIGHTS_PATH, detector_input, measure, measured_logs
from mnist_cnn.shapes import IMAGE_SHAPE

PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


def features(image: np.ndarray, ink: np.ndarray | None = None) -> np.ndarray:
    """One training example as kept: the 784 input pixels as the CNN takes them, then the
    ``measured_logs`` of the drawing and its ink. The pixels are kept, not the CNN's features,
    so that a cache of examples outlives a retrained bundled model."""
    pixels = prepare_images(np.asarray(image)[np.newaxis]).reshape(-1)
    return np.concatenate((pixels, measured_logs(measure(image, ink))))


def cnn_features(examples: np.ndarray) -> np.ndarray:
    """The bundled CNN's unit features of each example's pixels (rows of ``features``)."""
    return bundled_features().unit_features(examples[:, :PIXELS].reshape(-1, *IMAGE_SHAPE))


def detector_inputs(examples: np.ndarray, unit_features: np.ndarray) -> np.ndarray:
    """What the detector sees of each example: ``detector_input`` of its ``cnn_features`` and
    its logs."""
    return detector_input(unit_features, examples[:, PIXELS:])


def detector_metadata() -> dict:
    """How the shipped detector was made (script, settings, date), from its file."""
    with np.load(WEIGHTS_PATH, allow_pickle=False) as saved:
        return json.loads(str(saved["metadata"]))
