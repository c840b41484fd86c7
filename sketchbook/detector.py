"""The training side of ``mnist_cnn.digit_check``'s learned detector (scripts/train_digit_check.py).

The engine only runs the detector; what it is trained on and how it was made live here. The
features are built by the engine's own functions, so training and the Draw page see the same.
"""

from __future__ import annotations

import json

import numpy as np

from mnist_cnn.digit_check import WEIGHTS_PATH, detector_input, measure


def features(image: np.ndarray, ink: np.ndarray | None = None) -> np.ndarray:
    """One training example for the detector: ``detector_input`` of a drawing and its ink."""
    return detector_input(image, measure(image, ink))


def detector_metadata() -> dict:
    """How the shipped detector was made (script, settings, date), from its file."""
    with np.load(WEIGHTS_PATH, allow_pickle=False) as saved:
        return json.loads(str(saved["metadata"]))
