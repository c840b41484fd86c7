"""Fast, thread-safe prediction through one compiled function per model.

``model.predict`` builds a dataset and a progress loop on every call (~80 ms for one
image on a CPU). A ``tf.function`` traced once with a fixed signature answers in a
millisecond or two, and once traced it may be called from many threads at once.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from mnist_cnn.calibration import apply_temperature
from mnist_cnn.data import prepare_images
from mnist_cnn.memory import give_back_freed_memory
from mnist_cnn.shapes import INPUT_SHAPE, NUM_CLASSES

if TYPE_CHECKING:  # a caller holds a model, so TensorFlow is loaded by the time one predicts
    import keras
    import tensorflow as tf

# Bounds memory when scoring the whole test set. TensorFlow keeps buffers for each batch shape it
# has run, so the server holds about this many images' activations for good: 128 keeps ~40 MB
# less than 256 and ~370 MB less than 2048, for ~13% longer to score 10,000 images (0.62 vs
# 0.55 s on a 2-core CPU).
BATCH_SIZE = 128

_compiled: weakref.WeakKeyDictionary[keras.Model, tf.types.experimental.ConcreteFunction]
_compiled = weakref.WeakKeyDictionary()
_compile_lock = threading.Lock()


def _forward(model: keras.Model):
    """Return the model's compiled forward pass, tracing it once (under a lock)."""
    import tensorflow as tf

    with _compile_lock:
        function = _compiled.get(model)
        if function is None:
            # Weakly bound so a cached function does not keep its model alive.
            model_ref = weakref.ref(model)

            @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
            def forward(images):
                return model_ref()(images, training=False)

            function = forward.get_concrete_function()
            _compiled[model] = function
    return function


def _tensor(batch: np.ndarray) -> tf.Tensor:
    import tensorflow as tf

    return tf.constant(batch)


def predict(model: keras.Model, images: np.ndarray, calibrated: bool = True) -> np.ndarray:
    """Class probabilities, shape (N, 10), for images of shape (N, 28, 28[, 1]).

    uint8 images are scaled to [0, 1]; float images must already be in [0, 1]. The
    probabilities are calibrated with the model's temperature when it has one
    (`mnist_cnn.calibration`); ``calibrated=False`` gives the network's own.
    """
    images = np.asarray(images)
    if len(images) <= BATCH_SIZE:
        batch = prepare_images(images)
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        probabilities = _forward(model)(_tensor(batch)).numpy()
    else:
        # Scaled a batch at a time: the MNIST test set as float32 would be 31 MB more.
        forward = _forward(model)
        probabilities = np.concatenate(
            [
                forward(_tensor(prepare_images(images[i : i + BATCH_SIZE]))).numpy()
                for i in range(0, len(images), BATCH_SIZE)
            ]
        )
        give_back_freed_memory()  # the batches' buffers: ~30 MB for the MNIST test set
    return apply_temperature(model, probabilities) if calibrated else probabilities
