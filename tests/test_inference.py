from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mnist_cnn.inference import predict
from mnist_cnn.model import build_model


@pytest.fixture(scope="module")
def model():
    return build_model()


def test_shapes_and_probabilities(model):
    images = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    probabilities = predict(model, images)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(predict(model, images[..., np.newaxis]), probabilities)


def test_matches_keras_predict(model):
    images = np.random.default_rng(1).integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    expected = model.predict(images[..., np.newaxis] / 255.0, verbose=0)
    np.testing.assert_allclose(predict(model, images), expected, atol=1e-5)


def test_empty_batch(model):
    assert predict(model, np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


def test_rejects_wrong_shape(model):
    with pytest.raises(ValueError, match="28, 28"):
        predict(model, np.zeros((2, 27, 28)))


def test_safe_from_many_threads_at_once():
    model = build_model()  # fresh, so the first traces race each other
    images = np.random.default_rng(2).random((64, 28, 28), dtype=np.float32)
    expected = model.predict(images[..., np.newaxis], verbose=0)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: predict(model, images[i : i + 4]), range(0, 64, 4)))
    np.testing.assert_allclose(np.concatenate(results), expected, atol=1e-5)
