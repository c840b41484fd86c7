"""What the bundled CNN makes of a drawing: its convolutional features, scaled to unit length.

Both learned parts of the "not a digit" check (``mnist_cnn.digit_check``) judge a drawing by
these, not by its pixels: the 1,600 values (5x5 maps of 64 filters) that the bundled CNN's two
convolution blocks hand its dense layers. Those filters respond to the strokes, curves and
junctions that make digits; a letter, a smiley or hatching sets off another pattern of them.
Each vector is scaled to unit length, so a faint digit and a bold one agree.

- The learned detector reads them with the drawing's measurements. Trained on the same digits
  and non-digits, it refused more of every training family's held-out canvases than the same
  network on the 784 pixels did (Sans font letters 69% -> 92%; ``scripts/train_digit_check.py``).
- The familiarity references (``mnist_cnn.familiarity``) are these features of MNIST digits.

They come from the bundled model alone, with no MNIST, so the detector works wherever the app
does: offline, and on the smallest box, where the familiarity part is off. The model file's
``fingerprint`` is kept beside the detector: a bundled model trained again gives other
features, and ``digit_check`` then stops asking the learned parts rather than misjudge.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from mnist_cnn.features import compiled_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import keras

FINGERPRINT_CHARS = 16  # of the model file's SHA-256 in hex
_lock = threading.Lock()


class ConvFeatures:
    """A model's unit convolutional features, computed a batch at a time."""

    def __init__(self, model: keras.Model, model_id: str) -> None:
        self.model_id = model_id
        self._forward = compiled_prefix(model, _depth_through_flatten(model))
        self.width = int(self._forward.structured_outputs.shape[-1])

    def unit_features(self, images: np.ndarray) -> np.ndarray:
        """(N, width) features of (N, 28, 28) images (uint8, or floats in [0, 1])."""
        rows = np.empty((len(images), self.width), np.float32)
        for start, batch in self.batches(images):
            rows[start : start + len(batch)] = batch
        return rows

    def batches(self, images: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Each batch's start and unit features: the CNN's activations for a whole set at once
        (26 x 26 x 32 values a digit after the first layer alone) would be the peak."""
        import tensorflow as tf

        from mnist_cnn.data import prepare_images
        from mnist_cnn.inference import BATCH_SIZE

        for start in range(0, len(images), BATCH_SIZE):
            batch = prepare_images(np.asarray(images[start : start + BATCH_SIZE]))
            rows = self._forward(tf.constant(batch)).numpy()
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            yield start, rows / np.maximum(norms, np.finfo(np.float32).tiny)


def _depth_through_flatten(model: keras.Model) -> int:
    """How many of the model's layers run up to and including its Flatten."""
    import keras

    for depth, layer in enumerate(model.layers, start=1):
        if isinstance(layer, keras.layers.Flatten):
            return depth
    raise ValueError("the model has no Flatten layer to take convolutional features from")


def fingerprint(model_file: Path) -> str:
    """What a model's file holds, in short: the same bytes give the same fingerprint anywhere
    (a checkout's file times differ, its bytes do not)."""
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    return f"sha256:{digest[:FINGERPRINT_CHARS]}"


@cache
def _bundled() -> ConvFeatures:
    from mnist_cnn.store import bundled_record, load_record

    record = bundled_record()
    return ConvFeatures(load_record(record), fingerprint(record.model_file))


def bundled_features() -> ConvFeatures:
    """The bundled model's features, made once per process (under a lock)."""
    with _lock:
        return _bundled()
