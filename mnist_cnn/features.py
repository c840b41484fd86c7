"""What the model has made of a digit just before it decides: its penultimate-layer features.

The last layer of the app's models is a Dense softmax over ten digits, so the layer before it
is where the network has already turned pixels into the evidence it decides from: the seed
CNN's 64 ReLU units, Tiny's 400 flattened map values (it has no hidden dense layer), Deep's 128
units through their dropout, which passes everything at inference (``training=False``). Two
digits close together there look alike *to the model*, whatever their pixels say: the
nearest-neighbour index (`mnist_cnn.neighbours`) and the map of the test digits
(`mnist_cnn.digit_map`) both work in this space.

The features come from one compiled function per model (``compiled_prefix``), traced once with
a fixed signature and weakly keyed like `mnist_cnn.inference.predict`'s, run in batches of the
same size so memory stays bounded whatever the number of images.
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

_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {depth: pass}
_compile_lock = threading.Lock()


def compiled_prefix(model: keras.Model, depth: int):
    """The model's compiled pass through its first ``depth`` layers, traced once per model and
    depth (under a lock), with a fixed signature so any batch size reuses it.

    Kept weakly, like `mnist_cnn.inference.predict`'s: a cached function must not keep its
    model alive. `features` runs every layer but the last; `mnist_cnn.familiarity` stops after
    the Flatten.
    """
    import tensorflow as tf

    with _compile_lock:
        by_depth = _compiled.setdefault(model, {})
        function = by_depth.get(depth)
        if function is None:
            model_ref = weakref.ref(model)

            @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
            def prefix(images):
                x = images
                for layer in model_ref().layers[:depth]:
                    x = layer(x, training=False)
                return x

            function = prefix.get_concrete_function()
            by_depth[depth] = function
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

    forward = compiled_prefix(model, len(model.layers) - 1)
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
