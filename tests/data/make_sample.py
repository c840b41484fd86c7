"""Recreate tests/data/mnist_sample.npz from the full MNIST file: the first 1,200
training and 300 test images, in the same keys, shapes and dtypes.

    python tests/data/make_sample.py ../shared/data/mnist.npz
"""

import sys
from pathlib import Path

import numpy as np

with np.load(sys.argv[1], allow_pickle=False) as full:
    sample = {
        "x_train": full["x_train"][:1200],
        "y_train": full["y_train"][:1200],
        "x_test": full["x_test"][:300],
        "y_test": full["y_test"][:300],
    }
np.savez_compressed(Path(__file__).with_name("mnist_sample.npz"), **sample)
