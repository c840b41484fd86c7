"""Every preset goes the whole way: it trains, saves, loads in safe mode, and is scored,
explained and taught like the seed CNN; and the seed spec is the model every saved file holds."""

import numpy as np
import pytest

from mnist_cnn import store
from mnist_cnn.architecture import PRESETS, SEED
from mnist_cnn.evaluation import evaluate
from mnist_cnn.explain import activations, saliency
from mnist_cnn.fine_tuning import FineTuneConfig, fine_tune
from mnist_cnn.inference import predict
from mnist_cnn.model import build_model, network
from mnist_cnn.numbers import read_number
from mnist_cnn.training import TrainConfig, train
from sketchbook.composed_numbers import compose, on_canvas, sketch_digit_ink

TRAIN_IMAGES = 256
FINE_TUNE = FineTuneConfig(steps=4, batch_size=16, replay_images=64, steps_per_execution=2)


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_spec_figures_are_keras_own(name):
    spec = PRESETS[name]
    model = build_model(spec=spec)
    assert model.count_params() == spec.parameters
    assert [layer.name for layer in model.layers] == [layer.name for layer in spec.layers()]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        layer.shape for layer in spec.layers()
    ]


def test_the_bundled_model_is_the_seed_spec_and_predicts_the_same_rebuilt():
    bundled = store.load_record(store.bundled_record())
    rebuilt = network(SEED)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in bundled.layers]
    assert [layer.get_config() for layer in rebuilt.layers] == [
        layer.get_config() for layer in bundled.layers
    ]
    rebuilt.set_weights(bundled.get_weights())
    digits = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(
        rebuilt.predict(digits / 255.0, verbose=0),
        bundled.predict(digits / 255.0, verbose=0),
        atol=1e-6,
    )


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_saves_loads_scores_explains_and_learns(
    name, sample_mnist, isolated_models_dir
):
    spec = PRESETS[name]
    (x_train, y_train), (x_test, y_test) = sample_mnist
    config = TrainConfig.tuned(epochs=1, validation_split=0.0, steps_per_execution=4)
    result = train(x_train[:TRAIN_IMAGES], y_train[:TRAIN_IMAGES], config, spec=spec)
    assert not result.stopped and len(result.history) == 1
    assert np.isfinite(result.history[0].loss)

    record = store.save_model(result.model, {"architecture": spec.to_dict()}, isolated_models_dir)
    assert record.metadata.parameters == spec.parameters
    assert record.architecture["preset"] == name
    assert record.architecture_text.endswith(f"{spec.parameters:,} parameters")
    loaded = store.load_record(record)
    np.testing.assert_allclose(
        predict(loaded, x_test[:16]), predict(result.model, x_test[:16]), atol=1e-5
    )

    evaluation = evaluate(loaded, x_test, y_test)
    assert 0 <= evaluation.accuracy <= 1 and evaluation.confusion.sum() == len(y_test)
    outputs = activations(loaded, x_test[0])
    assert list(outputs) == [layer.name for layer in spec.layers()]
    np.testing.assert_allclose(
        list(outputs.values())[-1], predict(loaded, x_test[:1])[0], atol=1e-5
    )
    heat = saliency(loaded, x_test[0], int(y_test[0]))
    assert heat.shape == (28, 28) and np.isfinite(heat).all() and np.abs(heat).sum() > 0

    # A number apart enough to part without the model: it reads as four digits, whatever each.
    inks = [sketch_digit_ink(int(digit)) for digit in "2026"]
    ink = compose(inks, "apart", np.random.default_rng(0), height=80)
    reading = read_number(on_canvas(ink), loaded)
    assert len(reading.digits) == 4 and reading.text.isdigit()
    assert [d.box[0] for d in reading.digits] == sorted(d.box[0] for d in reading.digits)

    taught = fine_tune(loaded, x_test[:40], y_test[:40], FINE_TUNE, mnist=sample_mnist)
    assert taught is not None
    assert [layer.name for layer in taught.model.layers] == [layer.name for layer in loaded.layers]
    changed = [
        not np.array_equal(before, after)
        for before, after in zip(loaded.get_weights(), taught.model.get_weights(), strict=True)
    ]
    assert any(changed)  # it learnt from the drawings; the loaded model is left as it was
    np.testing.assert_allclose(
        predict(loaded, x_test[:16]), predict(result.model, x_test[:16]), atol=1e-5
    )
