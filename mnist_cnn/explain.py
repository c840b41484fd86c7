"""What the model makes of one digit: every layer's output, and which pixels decided the answer.

`activations` runs the digit through the model once and keeps what each layer hands to the next:
the feature maps of the two convolution and pooling blocks, the flattened vector, the 64 dense
units and the ten probabilities. `saliency` answers the other question people ask of a
classifier, *why this answer?*, as a 28x28 map of how much each pixel pushed the probability of
one digit up (positive) or down (negative).

Both run as compiled TensorFlow functions, traced once per model and cached like
`mnist_cnn.inference.predict`: weakly keyed by the model, so a cached function never keeps a
model alive, and built under a lock, so two visitors asking at once trace it only once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.data import prepare_images
from mnist_cnn.inference import predict
from mnist_cnn.model import INPUT_SHAPE

# Integrated gradients approximates a path integral with this many points, all in one batch.
# 32 keeps the attributions within ~1% of their sum's exact value (see `saliency`) at a few ms.
INTEGRATED_GRADIENTS_STEPS = 32
# Occlusion blanks a 4x4 square at every other position: 13 x 13 = 169 images, one batch.
OCCLUSION_PATCH = 4
OCCLUSION_STRIDE = 2
SALIENCY_METHODS = ("integrated_gradients", "occlusion")
SaliencyMethod = Literal["integrated_gradients", "occlusion"]

_HEIGHT, _WIDTH = INPUT_SHAPE[:2]
_compile_lock = threading.Lock()
_layer_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_gradient_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(
    cache: weakref.WeakKeyDictionary, model: keras.Model, trace: Callable[[weakref.ref], Callable]
) -> Callable:
    """The function ``trace`` builds for ``model``, built once per model (under a lock)."""
    with _compile_lock:
        function = cache.get(model)
        if function is None:
            # Weakly bound so that a cached function does not keep its model alive.
            function = trace(weakref.ref(model))
            cache[model] = function
    return function


def _one_image(image: np.ndarray) -> np.ndarray:
    """One (28, 28[, 1]) image as a float32 (28, 28, 1) array in [0, 1]."""
    array = np.asarray(image)
    if array.shape not in ((_HEIGHT, _WIDTH), (_HEIGHT, _WIDTH, 1)):
        raise ValueError(f"expected one image of shape (28, 28), got {array.shape}")
    return prepare_images(array.reshape(1, _HEIGHT, _WIDTH))[0]


def _sequential_layers(model: keras.Model) -> list[keras.layers.Layer]:
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"expected a keras.Sequential model, got {type(model).__name__}")
    return list(model.layers)


# --- Activations -----------------------------------------------------------------------------


def _trace_layer_outputs(model_ref: weakref.ref) -> Callable:
    @tf.function(input_signature=[tf.TensorSpec((1, *INPUT_SHAPE), tf.float32)])
    def layer_outputs(image):
        outputs, x = [], image
        for layer in model_ref().layers:
            x = layer(x, training=False)
            outputs.append(x)
        return outputs

    return layer_outputs.get_concrete_function()


def activations(model: keras.Model, image: np.ndarray) -> dict[str, np.ndarray]:
    """Each layer's output for one (28, 28) image, in order, keyed by the layer's name.

    For the default CNN: conv 1 (26, 26, 32), pool 1 (13, 13, 32), conv 2 (11, 11, 64),
    pool 2 (5, 5, 64), flatten (1600,), dense (64,) and the ten probabilities (10,), which equal
    `predict` for the same image. One compiled call runs the layers in turn (as a Sequential
    model does) and returns every intermediate result, so this costs about one prediction.
    uint8 images are scaled to [0, 1]; float images must already be in [0, 1].
    """
    names = [layer.name for layer in _sequential_layers(model)]
    batch = tf.constant(_one_image(image)[np.newaxis])
    outputs = _compiled(_layer_functions, model, _trace_layer_outputs)(batch)
    return {name: output.numpy()[0] for name, output in zip(names, outputs, strict=True)}


# --- Saliency --------------------------------------------------------------------------------


def _trace_integrated_gradients(model_ref: weakref.ref) -> Callable:
    # Midpoints of the straight path from the black image (0) to the input (1).
    alphas = tf.constant(
        (np.arange(INTEGRATED_GRADIENTS_STEPS) + 0.5) / INTEGRATED_GRADIENTS_STEPS,
        shape=(INTEGRATED_GRADIENTS_STEPS, 1, 1, 1),
        dtype=tf.float32,
    )

    @tf.function(
        input_signature=[
            tf.TensorSpec(INPUT_SHAPE, tf.float32),
            tf.TensorSpec((), tf.int32),
        ]
    )
    def integrated_gradients(image, digit):
        path = alphas * image[tf.newaxis]
        with tf.GradientTape() as tape:
            tape.watch(path)
            probabilities = model_ref()(path, training=False)[:, digit]
        gradients = tape.gradient(probabilities, path)
        return (image * tf.reduce_mean(gradients, axis=0))[..., 0]

    return integrated_gradients.get_concrete_function()


def _integrated_gradients(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    function = _compiled(_gradient_functions, model, _trace_integrated_gradients)
    return function(tf.constant(image), tf.constant(digit, tf.int32)).numpy()


def _occlusion(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    corners = [
        (row, col)
        for row in range(0, _HEIGHT - OCCLUSION_PATCH + 1, OCCLUSION_STRIDE)
        for col in range(0, _WIDTH - OCCLUSION_PATCH + 1, OCCLUSION_STRIDE)
    ]
    batch = np.repeat(image[np.newaxis, ..., 0], len(corners) + 1, axis=0)
    for index, (row, col) in enumerate(corners, start=1):  # batch[0] stays the original
        batch[index, row : row + OCCLUSION_PATCH, col : col + OCCLUSION_PATCH] = 0.0
    probabilities = predict(model, batch)[:, digit]
    drops = probabilities[0] - probabilities[1:]
    total = np.zeros((_HEIGHT, _WIDTH), np.float32)
    covered = np.zeros((_HEIGHT, _WIDTH), np.float32)
    for drop, (row, col) in zip(drops, corners, strict=True):
        total[row : row + OCCLUSION_PATCH, col : col + OCCLUSION_PATCH] += drop
        covered[row : row + OCCLUSION_PATCH, col : col + OCCLUSION_PATCH] += 1
    return total / np.maximum(covered, 1)


def saliency(
    model: keras.Model,
    image: np.ndarray,
    digit: int,
    method: SaliencyMethod = "integrated_gradients",
) -> np.ndarray:
    """A (28, 28) float32 map of how much each pixel pushed the probability of ``digit``.

    Positive values pushed the probability up (evidence for ``digit``), negative values pushed
    it down (evidence for another digit). Both methods compare the image with black, "no ink",
    so neither can say that ink *missing* somewhere would have helped.

    - ``"integrated_gradients"`` (Sundararajan et al., 2017): the gradient of the probability,
      averaged along the straight path from a black image to this one, times the pixel's value.
      Sharp, per pixel, only on ink, and the values add up to the probability of ``digit``
      minus its probability for a black image. Cost: one batch of
      `INTEGRATED_GRADIENTS_STEPS` forward and backward passes, ~10 ms on a CPU.
    - ``"occlusion"`` (Zeiler and Fergus, 2014): how much the probability drops when a 4x4
      square (`OCCLUSION_PATCH`) over the pixel is blanked, averaged over the squares that
      cover it. Asks the model directly, no gradients, but blurred to the square's size.
      Cost: one batch of 170 forward passes (169 squares and the original), ~25 ms on a CPU.
    """
    if method not in SALIENCY_METHODS:
        raise ValueError(f"unknown saliency method {method!r}: use one of {SALIENCY_METHODS}")
    digit = int(digit)
    if not 0 <= digit < model.output_shape[-1]:
        raise ValueError(f"digit must be 0 to {model.output_shape[-1] - 1}, got {digit}")
    prepared = _one_image(image)
    if method == "integrated_gradients":
        return _integrated_gradients(model, prepared, digit)
    return _occlusion(model, prepared, digit)


# --- Filters and receptive fields ------------------------------------------------------------


def conv_filters(model: keras.Model, layer_name: str) -> np.ndarray:
    """A convolution layer's kernels as (maps, input channels, height, width).

    Feature map ``k`` of the layer is the sum over input channels ``c`` of the input's channel
    ``c`` correlated with ``filters[k, c]``, plus a bias, through ReLU.
    """
    layer = model.get_layer(layer_name)
    if not isinstance(layer, keras.layers.Conv2D):
        raise ValueError(f"layer {layer_name!r} is not a convolution")
    return np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))


def receptive_field(model: keras.Model, layer_name: str, row: int, col: int) -> tuple[slice, slice]:
    """The rows and columns of the 28x28 input that unit (row, col) of a layer's maps sees.

    Walks back from the layer to the input: a 3x3 convolution widens the field by 2 pixels, a
    2x2 pooling doubles it. Conv 1's units see 3x3 pixels, conv 2's 8x8, pool 2's 10x10.
    """
    top, bottom, left, right = row, row, col, col
    layers = _sequential_layers(model)
    names = [layer.name for layer in layers]
    if layer_name not in names:
        raise ValueError(f"no layer named {layer_name!r}")
    for layer in reversed(layers[: names.index(layer_name) + 1]):
        if isinstance(layer, keras.layers.Conv2D):
            size, strides = layer.kernel_size, layer.strides
        elif isinstance(layer, keras.layers.MaxPooling2D):
            size, strides = layer.pool_size, layer.strides
        else:
            raise ValueError(f"layer {layer.name!r} has no feature maps to trace back")
        if layer.padding != "valid":
            raise ValueError(f"layer {layer.name!r} pads its input; only 'valid' is traced back")
        top, bottom = top * strides[0], bottom * strides[0] + size[0] - 1
        left, right = left * strides[1], right * strides[1] + size[1] - 1
    return slice(top, bottom + 1), slice(left, right + 1)
