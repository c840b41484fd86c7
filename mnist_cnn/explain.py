"""What the model makes of one digit: every layer's output, and which pixels decided the answer.

`activations` runs the digit through the model once and keeps what each layer hands to the next:
for the seed CNN the feature maps of the two convolution and pooling blocks, the flattened
vector, the 64 dense units and the ten probabilities; for any other network its own layers
(batch normalisation and dropout run as at inference, dropout passing everything).
`saliency` answers the other question people ask of a classifier, *why this answer?*, as a
28x28 map of how much each pixel pushed one digit up (positive) or down (negative).

Saliency does not measure the probability itself. A well-trained model is near 100% sure of most
digits, and near 1 the softmax is flat: the probability hardly moves when a pixel changes, so its
gradient vanishes and blanking a square barely lowers it. Saliency measures the quantities the
probability is made of instead, which keep moving where the probability has stopped: the digit's
*logit* (its score before the softmax, `logits`) for integrated gradients, and the digit's
*log-probability* for occlusion. Both rise and fall with the evidence for the digit, so the
pixels they rank highest are the ones whose loss costs the digit the most probability (the
deletion check in tests/test_explain.py).

All run as compiled TensorFlow functions, traced once per model and cached like
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
from mnist_cnn.shapes import INPUT_SHAPE

# Integrated gradients approximates a path integral with this many points. 128 keeps the
# attributions' sum within a few % of its exact value (see `saliency`): on the bundled model 32
# points missed it by up to 26% (a ReLU network's path is full of kinks).
INTEGRATED_GRADIENTS_STEPS = 128
# ...taken this many at a time: in one batch of 128 the process kept ~30 MB more for good
# (TensorFlow holds on to its largest batch's memory), which the 690 MB box cannot spare.
INTEGRATED_GRADIENTS_BATCH = 32
# Occlusion blanks a 4x4 square at every other position: 13 x 13 = 169 images, one batch.
OCCLUSION_PATCH = 4
OCCLUSION_STRIDE = 2
SALIENCY_METHODS = ("integrated_gradients", "occlusion")
SaliencyMethod = Literal["integrated_gradients", "occlusion"]

_HEIGHT, _WIDTH = INPUT_SHAPE[:2]
_compile_lock = threading.Lock()
_layer_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_logit_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
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


# --- Logits ----------------------------------------------------------------------------------


def _output_layer(model: keras.Model) -> keras.layers.Dense:
    """The model's last layer, checked to be a Dense layer whose scores a softmax turns into
    probabilities (the app's models all end that way)."""
    last = _sequential_layers(model)[-1]
    if not isinstance(last, keras.layers.Dense) or last.activation is not keras.activations.softmax:
        raise TypeError(
            "expected the model to end in a Dense layer with a softmax activation, got "
            f"{type(last).__name__} {last.name!r}"
        )
    return last


def _logits_of(model: keras.Model, images: tf.Tensor) -> tf.Tensor:
    """The scores the last Dense layer hands its softmax: every layer but the last, then the
    last one's weights and bias without the softmax."""
    output = _output_layer(model)
    x = images
    for layer in model.layers[:-1]:
        x = layer(x, training=False)
    return tf.matmul(x, output.kernel) + output.bias


def _trace_logits(model_ref: weakref.ref) -> Callable:
    @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
    def logits(images):
        return _logits_of(model_ref(), images)

    return logits.get_concrete_function()


def logits(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The ten scores before the softmax, shape (N, 10), for images of shape (N, 28, 28[, 1]).

    ``softmax(logits(model, images))`` equals `predict`. Unlike the probabilities they do not
    saturate: a digit the model is 99.99% sure of still scores higher the more ink speaks for it.
    Works for Sequential models that end in a softmax Dense layer (every model the app builds or
    loads); others get a TypeError. uint8 images are scaled to [0, 1]; float images must
    already be in [0, 1].
    """
    _output_layer(model)  # a clear error before tracing
    batch = tf.constant(prepare_images(images))
    return _compiled(_logit_functions, model, _trace_logits)(batch).numpy()


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits, in float64: a probability of 1 - 1e-9 keeps its digits."""
    scores = scores.astype(np.float64)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# --- Saliency --------------------------------------------------------------------------------


def _trace_integrated_gradients(model_ref: weakref.ref) -> Callable:
    @tf.function(
        input_signature=[
            tf.TensorSpec(INPUT_SHAPE, tf.float32),
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((None, 1, 1, 1), tf.float32),
        ]
    )
    def summed_gradients(image, digit, alphas):
        path = alphas * image[tf.newaxis]
        with tf.GradientTape() as tape:
            tape.watch(path)
            scores = _logits_of(model_ref(), path)[:, digit]
        return tf.reduce_sum(tape.gradient(scores, path), axis=0)

    return summed_gradients.get_concrete_function()


def _integrated_gradients(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    function = _compiled(_gradient_functions, model, _trace_integrated_gradients)
    # Midpoints of the straight path from the black image (0) to the input (1), a batch at a
    # time, one after another, so that only one batch's activations exist at once.
    alphas = np.arange(INTEGRATED_GRADIENTS_STEPS, dtype=np.float32) + 0.5
    alphas = (alphas / INTEGRATED_GRADIENTS_STEPS).reshape(-1, 1, 1, 1)
    image_tensor, digit_tensor = tf.constant(image), tf.constant(digit, tf.int32)
    total = np.zeros(INPUT_SHAPE, np.float32)
    for start in range(0, INTEGRATED_GRADIENTS_STEPS, INTEGRATED_GRADIENTS_BATCH):
        batch = tf.constant(alphas[start : start + INTEGRATED_GRADIENTS_BATCH])
        total += function(image_tensor, digit_tensor, batch).numpy()
    return (image * total / INTEGRATED_GRADIENTS_STEPS)[..., 0]


def _occlusion(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    corners = [
        (row, col)
        for row in range(0, _HEIGHT - OCCLUSION_PATCH + 1, OCCLUSION_STRIDE)
        for col in range(0, _WIDTH - OCCLUSION_PATCH + 1, OCCLUSION_STRIDE)
    ]
    batch = np.repeat(image[np.newaxis, ..., 0], len(corners) + 1, axis=0)
    for index, (row, col) in enumerate(corners, start=1):  # batch[0] stays the original
        batch[index, row : row + OCCLUSION_PATCH, col : col + OCCLUSION_PATCH] = 0.0
    log_probabilities = _log_softmax(logits(model, batch))[:, digit]
    drops = log_probabilities[0] - log_probabilities[1:]
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
    """A (28, 28) float32 map of how much each pixel pushed ``digit`` up or down.

    Positive values are evidence for ``digit``, negative values evidence against it (for another
    digit). Both methods compare the image with black, "no ink", so neither can say that ink
    *missing* somewhere would have helped. Neither uses the probability directly: near 100% the
    softmax saturates and hides which pixels matter (see the module docstring).

    - ``"integrated_gradients"`` (Sundararajan et al., 2017): the gradient of the digit's
      *logit* (its score before the softmax), averaged along the straight path from a black
      image to this one, times the pixel's value. Sharp, per pixel, only on ink, and the values
      add up to the digit's logit for this image minus its logit for a black image (within a
      few %: the path integral is a sum over `INTEGRATED_GRADIENTS_STEPS` points). The
      probability would add up too, but for a confident digit it sits at ~1 along most of the
      path, so its gradient is ~0 there and the map degrades to noise. Cost:
      `INTEGRATED_GRADIENTS_STEPS` forward and backward passes, in batches of
      `INTEGRATED_GRADIENTS_BATCH`, 43-51 ms a digit on a 2-core CPU
      (`benchmarks/bench_inside.py`).
    - ``"occlusion"`` (Zeiler and Fergus, 2014): how much the digit's *log-probability* drops
      when a 4x4 square (`OCCLUSION_PATCH`) over the pixel is blanked, averaged over the
      squares that cover it. Asks the model directly, no gradients, but blurred to the square's
      size. The log (computed in float64 from the logits) tells a drop from 99.999% to 99.9%
      (a hundredfold more doubt) from no drop at all, where the probability sees 0.1%; unlike
      the logit alone, it also counts a square that raises a rival digit. Cost: one batch of
      170 forward passes (169 squares and the original), ~25 ms on a CPU.
    """
    if method not in SALIENCY_METHODS:
        raise ValueError(f"unknown saliency method {method!r}: use one of {SALIENCY_METHODS}")
    digit = int(digit)
    if not 0 <= digit < model.output_shape[-1]:
        raise ValueError(f"digit must be 0 to {model.output_shape[-1] - 1}, got {digit}")
    _output_layer(model)  # a clear error before tracing
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

    Walks back from the layer to the input. A k x k convolution widens the field by k - 1
    pixels, a 2x2 pooling doubles it; batch normalisation and dropout work pixel by pixel and
    leave it as it is. A "same"-padded layer centres its window on the unit, so the field starts
    (k - 1) // 2 pixels earlier (TensorFlow puts an uneven padding's extra zero after). Where a
    window hangs over the edge it sees padding zeros, not the image, so the field is clipped to
    each layer's input on the way back. The seed CNN's conv 1 units see 3x3 pixels, conv 2's
    8x8, pool 2's 10x10; LeNet-5's padded 5x5 conv 1 sees 5x5, 3x5 on the top row and 3x3 in a
    corner.
    """
    layers = _sequential_layers(model)
    names = [layer.name for layer in layers]
    if layer_name not in names:
        raise ValueError(f"no layer named {layer_name!r}")
    traced = layers[: names.index(layer_name) + 1]
    # Each layer's input and output shapes, worked out forward from the image's shape alone.
    shapes = [(1, *INPUT_SHAPE)]
    for layer in traced:
        shapes.append(tuple(layer.compute_output_shape(shapes[-1])))
    if len(shapes[-1]) != len(shapes[0]):
        raise ValueError(f"layer {layer_name!r} has no feature maps to trace back")
    height, width = shapes[-1][1:3]
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(
            f"unit ({row}, {col}) is outside the {height}x{width} maps of {layer_name!r}"
        )
    rows, cols = (row, row), (col, col)
    for layer, before, after in reversed(list(zip(traced, shapes, shapes[1:], strict=False))):
        if isinstance(layer, _PIXELWISE_LAYERS):
            continue
        if isinstance(layer, keras.layers.Conv2D):
            if tuple(layer.dilation_rate) != (1, 1):
                raise ValueError(f"layer {layer.name!r} is dilated; only dilation 1 is traced back")
            size, strides = layer.kernel_size, layer.strides
        elif isinstance(layer, keras.layers.MaxPooling2D):
            size, strides = layer.pool_size, layer.strides
        else:
            raise ValueError(f"layer {layer.name!r} has no feature maps to trace back")
        rows = _window_back(rows, size[0], strides[0], layer.padding, before[1], after[1])
        cols = _window_back(cols, size[1], strides[1], layer.padding, before[2], after[2])
    return slice(rows[0], rows[1] + 1), slice(cols[0], cols[1] + 1)


# Layers that change each value on its own (or zero it, in training): a unit sees what the
# unit at the same place in the layer before saw.
_PIXELWISE_LAYERS = (keras.layers.BatchNormalization, keras.layers.Dropout)


def _window_back(
    units: tuple[int, int], size: int, stride: int, padding: str, before: int, after: int
) -> tuple[int, int]:
    """Along one axis: the first and last input positions that the windows of output units
    ``units`` (first, last) cover, for a layer from ``before`` positions to ``after``."""
    # TensorFlow's "same" padding: the zeros the windows need, the larger half after the input.
    padded = max((after - 1) * stride + size - before, 0) if padding == "same" else 0
    first, last = units
    start = first * stride - padded // 2
    end = last * stride + size - 1 - padded // 2
    return max(start, 0), min(end, before - 1)
