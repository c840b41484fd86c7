"""What the model has made of a digit just before it decides: its penultimate-layer features.

The last layer of the app's models is a Dense softmax over ten digits, so the layer before it
is where the network has already turned pixels into the evidence it decides from: the seed
CNN's 64 ReLU units, Tiny's 400 flattened map values (it has no hidden dense layer), Deep's 128
units through their dropout, which passes everything at inference (``training=False``). Two
digits close together there look alike *to the model*, whatever their pixels say: the
nearest-neighbour index (`mnist_cnn.neighbours`) and the map of the test digits
(`mnist_cnn.digit_map`) both work in this space.

The features come from one compiled function per model, traced once with a fixed signature and
weakly keyed like `mnist_cnn.inference.predict`'s, run in batches of the same size so memory
stays bounded whatever the number of images.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from mnist_cnn.data import prepare_images
from mnist_cnn.inference import BATCH_SIZE
from mnist_cnn.memory import give_back_freed_memory
from mnist_cnn.shapes import INPUT_SHAPE

if TYPE_CHECKING:
    import keras

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_compile_lock = threading.Lock()


def _penultimate(model: keras.Model):
    """The model's compiled pass through every layer but the last, traced once (under a lock)."""
    import tensorflow as tf

    with _compile_lock:
        function = _compiled.get(model)
        if function is None:
            model_ref = weakref.ref(model)  # a cached function must not keep its model alive

            @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
            def penultimate(images):
                x = images
                for layer in model_ref().layers[:-1]:
                    x = layer(x, training=False)
                return x

            function = penultimate.get_concrete_function()
            _compiled[model] = function
    return function


def feature_size(model: keras.Model) -> int:
    """How many numbers the model's penultimate layer hands its last one (64 for the seed CNN)."""
    return int(model.layers[-1].kernel.shape[0])


def features(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Penultimate-layer features, float32 of shape (N, feature_size), for (N, 28, 28[, 1]) images.

    uint8 images are scaled to [0, 1]; float images must already be in [0, 1]. Every batch but
    the last has ``BATCH_SIZE`` images, so one image and the same image inside a batch of many
    agree to float rounding.
    """
    import tensorflow as tf

    forward = _penultimate(model)
    images = np.asarray(images)
    # Filled in place, batch by batch: a list of batches joined at the end would hold the
    # features twice at its peak (190 MB rather than 96 for a Tiny model's 60,000 x 400).
    rows = np.empty((len(images), feature_size(model)), np.float32)
    for start in range(0, len(images), BATCH_SIZE):
        batch = tf.constant(prepare_images(images[start : start + BATCH_SIZE]))
        rows[start : start + BATCH_SIZE] = forward(batch).numpy()
    if len(images) > BATCH_SIZE:
        give_back_freed_memory()
    return rows
