import keras
import pytest

from mnist_cnn.model import build_model


def test_default_architecture_is_the_seed_cnn():
    model = build_model()
    assert model.count_params() == 121_930
    layers = [
        (type(layer).__name__, getattr(layer, "filters", None) or getattr(layer, "units", None))
        for layer in model.layers
    ]
    assert layers == [
        ("Conv2D", 32),
        ("MaxPooling2D", None),
        ("Conv2D", 64),
        ("MaxPooling2D", None),
        ("Flatten", None),
        ("Dense", 64),
        ("Dense", 10),
    ]
    assert model.layers[0].kernel_size == (3, 3)
    assert model.layers[-1].activation is keras.activations.softmax
    assert model.input_shape == (None, 28, 28, 1)


def test_compiled_with_adam_sparse_crossentropy_and_accuracy():
    model = build_model(learning_rate=0.002)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)
    assert model.loss == "sparse_categorical_crossentropy"
    metric_names = [m.name for m in model.metrics]
    assert "compile_metrics" in metric_names or "accuracy" in metric_names
