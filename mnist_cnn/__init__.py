"""MNIST CNN Studio's engine: data, model, training, evaluation, drawings, model store.

import mnist_cnn
(x_train, y_train), (x_test, y_test) = mnist_cnn.load_mnist()
model = mnist_cnn.load_model()            # newest trained model, else the bundled one
digit_image = mnist_cnn.canvas_to_mnist(rgba_canvas)
probabilities = mnist_cnn.predict(model, digit_image[None])
layer_outputs = mnist_cnn.activations(model, digit_image)      # {layer name: its output}
heat = mnist_cnn.saliency(model, digit_image, digit=7)     # (28, 28): which pixels said 7
mnist_cnn.looks_like_digit(digit_image)  # False for scribbles, blobs, grids, noise
result = mnist_cnn.fine_tune(model, my_images, my_labels)  # result.model reads my handwriting
"""

import os

# TensorFlow's C++ start-up chatter hides real messages; users can still override this.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mnist_cnn.data import DataError, load_mnist, prepare_images
from mnist_cnn.digit_check import looks_like_digit
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.evaluation import evaluate
from mnist_cnn.explain import activations, saliency
from mnist_cnn.fine_tuning import FineTuneConfig, fine_tune
from mnist_cnn.inference import predict
from mnist_cnn.model import build_model
from mnist_cnn.store import ModelLoadError, load_model, save_model
from mnist_cnn.training import TrainConfig, train

__all__ = [
    "DataError",
    "FineTuneConfig",
    "ModelLoadError",
    "TrainConfig",
    "activations",
    "build_model",
    "canvas_to_mnist",
    "evaluate",
    "fine_tune",
    "load_mnist",
    "load_model",
    "looks_like_digit",
    "predict",
    "prepare_images",
    "saliency",
    "save_model",
    "train",
]
