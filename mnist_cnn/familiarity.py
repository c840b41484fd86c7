"""Has the CNN seen anything like this drawing? How far its features are from the nearest digit's.

The learned half of ``digit_check`` knows only the kinds of non-digit it was trained on: with
a kind left out of its training, the whole check refused as few as 57% of that kind. Any list
of non-digits is short next to everything a visitor can draw, so this check learns from digits
alone: whatever is unlike every digit is refused, whether or not anyone thought of it (Sun et
al. 2022, "Out-of-distribution detection with deep nearest neighbors").

"Like" is judged by the bundled CNN itself, in its convolutional features: the 1,600 values
(5x5 maps of 64 filters) its two convolution blocks hand the dense layers. Those filters
respond to the strokes, curves and junctions that make digits; a letter, a smiley or hatching
sets off another pattern of them. Each feature vector is scaled to unit length, so a faint
digit and a bold one agree, and compared with ``REFERENCE_DIGITS`` MNIST training digits: the
distance to the nearest one is the drawing's ``unfamiliarity``. Its limit is set by
``scripts/train_digit_check.py`` on digits kept out of the references and saved with the
detector (``digit_check.npz``), with the fingerprint of the bundled model it holds for (a hash
of the model file: a checkout's file times differ, its bytes do not).

The references are made once per process when first asked (a second or two: one pass of the
CNN over 10,000 digits) and kept: 10,000 x 1,600 float32, 64 MB. Without MNIST to make them
(no file, no network) the check is unavailable, and ``digit_check`` goes on without it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_cnn.features import compiled_prefix

if TYPE_CHECKING:
    import keras

FINGERPRINT_CHARS = 16  # of the model file's SHA-256 in hex
REFERENCE_DIGITS = 10_000  # the first MNIST training digits; the limit is set on later ones
_QUERY_CHUNK = 1_000  # queries compared at once: 1,000 x 10,000 distances, 40 MB
_log = logging.getLogger(__name__)
_lock = threading.Lock()


class References:
    """Unit-length convolutional features of the reference digits and the function making them."""

    def __init__(self, model: keras.Model, digits: np.ndarray, model_id: str) -> None:
        self.model_id = model_id
        self._forward = compiled_prefix(model, _depth_through_flatten(model))
        self._width = int(self._forward.structured_outputs.shape[-1])
        self.rows = self.features(digits)

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, 1600) unit-length features of (N, 28, 28) images (uint8, or floats in [0, 1])."""
        import tensorflow as tf

        from mnist_cnn.data import prepare_images
        from mnist_cnn.inference import BATCH_SIZE

        # Filled and scaled in place: batches joined at the end, then divided, would hold the
        # references' 64 MB three times at the peak.
        rows = np.empty((len(images), self._width), np.float32)
        for start in range(0, len(images), BATCH_SIZE):
            batch = prepare_images(np.asarray(images[start : start + BATCH_SIZE]))
            rows[start : start + BATCH_SIZE] = self._forward(tf.constant(batch)).numpy()
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows /= np.maximum(norms, np.finfo(np.float32).tiny)
        return rows

    def distances(self, images: np.ndarray) -> np.ndarray:
        """(N,) distance of each image's features to its nearest reference digit's, in [0, 2]."""
        queries = self.features(images)
        nearest = np.empty(len(queries), np.float32)
        for start in range(0, len(queries), _QUERY_CHUNK):
            closest = (queries[start : start + _QUERY_CHUNK] @ self.rows.T).max(axis=1)
            nearest[start : start + _QUERY_CHUNK] = np.sqrt(np.maximum(2.0 - 2.0 * closest, 0.0))
        return nearest


def _depth_through_flatten(model: keras.Model) -> int:
    """How many of the model's layers run up to and including its Flatten."""
    import keras

    for depth, layer in enumerate(model.layers, start=1):
        if isinstance(layer, keras.layers.Flatten):
            return depth
    raise ValueError("the model has no Flatten layer to take convolutional features from")


@cache
def _shared_references() -> References | None:
    from mnist_cnn.data import DataError, shared_mnist
    from mnist_cnn.store import bundled_record, load_record

    record = bundled_record()
    try:
        (x_train, _), _ = shared_mnist()
    except DataError as error:
        _log.warning("The familiarity check is off: no MNIST to compare drawings with (%s)", error)
        return None
    return References(
        load_record(record), x_train[:REFERENCE_DIGITS], fingerprint(record.model_file)
    )


def fingerprint(model_file: Path) -> str:
    """What a model's file holds, in short: the same bytes give the same fingerprint anywhere."""
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    return f"sha256:{digest[:FINGERPRINT_CHARS]}"


def references() -> References | None:
    """The process's reference digits (made on first use, under a lock), or None without MNIST."""
    with _lock:
        return _shared_references()
