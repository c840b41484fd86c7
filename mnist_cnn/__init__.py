"""MNIST CNN Studio's engine: data, model, training, evaluation, drawings, model store.

import mnist_cnn
(x_train, y_train), (x_test, y_test) = mnist_cnn.load_mnist()
model = mnist_cnn.load_model()  # the default: pinned, else newest trained (local), else bundled
digit_image = mnist_cnn.canvas_to_mnist(rgba_canvas)
probabilities = mnist_cnn.predict(model, digit_image[None])  # calibrated when the model is
fitted = mnist_cnn.calibrate(model, held_out_images, held_out_labels)  # its temperature
layer_outputs = mnist_cnn.activations(model, digit_image)      # {layer name: its output}
heat = mnist_cnn.saliency(model, digit_image, digit=7)     # (28, 28): which pixels said 7
mnist_cnn.looks_like_digit(digit_image)  # False for scribbles, blobs, grids, noise
reading = mnist_cnn.read_number(rgba_image, model)  # reading.text == "2026", reading.digits
result = mnist_cnn.fine_tune(model, my_images, my_labels)  # result.model reads my handwriting
tiny = mnist_cnn.preset("tiny")  # a ModelSpec: tiny.parameters, tiny.flops_per_sample, ...
run = mnist_cnn.train(x_train, y_train, spec=tiny)  # any network, either recipe
"""

import os

# TensorFlow's C++ start-up chatter hides real messages; users can still override this.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Large buffers from malloc, which gives them back, not from a pool that keeps them (memory.py).
os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")

import importlib

# Public names and the module each comes from. They are imported on first use (PEP 562), so that
# importing one light module (mnist_cnn.drawing, say) does not import TensorFlow with the rest:
# the web app draws its pages while TensorFlow loads (7-12 s on a small server).
_EXPORTS = {
    "calibrate": "calibration",
    "DataError": "data",
    "load_mnist": "data",
    "prepare_images": "data",
    "canvas_to_mnist": "drawing",
    "looks_like_digit": "digit_check",
    "activations": "explain",
    "saliency": "explain",
    "FineTuneConfig": "fine_tuning",
    "fine_tune": "fine_tuning",
    "evaluate": "evaluation",
    "predict": "inference",
    "read_number": "numbers",
    "build_model": "model",
    "ModelSpec": "architecture",
    "preset": "architecture",
    "ModelLoadError": "store",
    "load_model": "store",
    "save_model": "store",
    "TrainConfig": "training",
    "train": "training",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mnist_cnn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mnist_cnn.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
