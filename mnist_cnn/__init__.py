"""MNIST CNN Studio's engine: data, model, training, evaluation, drawings, model store.

import mnist_cnn
(x_train, y_train), (x_test, y_test) = mnist_cnn.load_mnist()
model = mnist_cnn.load_model()            # newest trained model, else the bundled one
digit_image = mnist_cnn.canvas_to_mnist(rgba_canvas)
probabilities = mnist_cnn.predict(model, digit_image[None])
"""

import os

# TensorFlow's C++ start-up chatter hides real messages; users can still override this.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib

# Public names and the module each comes from. They are imported on first use (PEP 562), so that
# importing one light module (mnist_cnn.drawing, say) does not import TensorFlow with the rest:
# the web app draws its pages while TensorFlow loads (7-12 s on a small server).
_EXPORTS = {
    "DataError": "data",
    "load_mnist": "data",
    "prepare_images": "data",
    "canvas_to_mnist": "drawing",
    "evaluate": "evaluation",
    "predict": "inference",
    "build_model": "model",
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
