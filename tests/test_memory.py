import os

import numpy as np
import psutil
import tensorflow as tf

import mnist_cnn  # noqa: F401  (sets TensorFlow's allocator before its first allocation)
from mnist_cnn.memory import give_back_freed_memory

MB = 1024 * 1024
TENSOR_MB = 48


def resident_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def test_importing_the_package_makes_tensorflow_allocate_from_malloc():
    assert os.environ["TF_ONEDNN_USE_SYSTEM_ALLOCATOR"] == "1"


def test_a_large_tensor_freed_leaves_the_process():
    pixels = np.ones((TENSOR_MB, MB), np.uint8)
    before = resident_mb()
    tensor = tf.constant(pixels)  # a copy, in TensorFlow's memory
    assert resident_mb() > before + TENSOR_MB / 2
    del tensor
    give_back_freed_memory()
    # TensorFlow's own pool kept all 48 MB here for good.
    assert resident_mb() < before + TENSOR_MB / 4
