import json
import os
import zipfile

import keras
import numpy as np
import pytest

from mnist_cnn.inference import predict
from mnist_cnn.model import build_model
from mnist_cnn.store import (
    ModelLoadError,
    active_record,
    bundled_record,
    load_active,
    load_model,
    models_dir,
    save_model,
    trained_records,
)

PROBE = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)


def test_models_dir_is_configurable(tmp_path, monkeypatch, isolated_models_dir):
    assert models_dir() == isolated_models_dir
    assert models_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("MNIST_CNN_MODELS_DIR")
    assert models_dir().name == "trained_models"


def test_save_then_load_round_trip(isolated_models_dir):
    model = build_model()
    record = save_model(model, {"config": {"epochs": 5}, "test_accuracy": 0.99})
    assert record.folder.parent == isolated_models_dir
    assert sorted(p.name for p in record.folder.iterdir()) == ["metadata.json", "model.keras"]
    metadata = json.loads((record.folder / "metadata.json").read_text())
    assert metadata["config"] == {"epochs": 5} and metadata["parameters"] == 121_930
    assert {"created_at", "versions"} <= metadata.keys()
    assert metadata["versions"]["keras"] == keras.__version__
    loaded = load_active()
    assert loaded.record.folder == record.folder and not loaded.warnings
    np.testing.assert_allclose(predict(loaded.model, PROBE), predict(model, PROBE), atol=1e-6)


def test_newest_trained_model_is_active_else_bundled():
    assert active_record().bundled
    first = save_model(build_model(), {})
    second = save_model(build_model(), {})
    assert [r.folder for r in trained_records()] == [second.folder, first.folder]
    assert active_record().folder == second.folder
    assert active_record().id != bundled_record().id


def test_failed_save_leaves_previous_model_loadable(monkeypatch, isolated_models_dir):
    good = build_model()
    save_model(good, {"name": "good"})

    def crash_halfway(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as half_written:
            half_written.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        save_model(build_model(), {"name": "bad"})
    assert [p.name for p in isolated_models_dir.iterdir() if p.name.startswith(".")] == []
    loaded = load_active()
    assert loaded.record.metadata["name"] == "good" and not loaded.warnings
    np.testing.assert_allclose(predict(loaded.model, PROBE), predict(good, PROBE), atol=1e-6)


def test_leftover_partial_folder_from_a_killed_process_is_ignored(isolated_models_dir):
    save_model(build_model(), {"name": "good"})
    partial = isolated_models_dir / ".partial-killed"
    partial.mkdir()
    (partial / "model.keras").write_bytes(b"PK")
    assert load_active().record.metadata["name"] == "good"


def test_corrupt_newest_model_warns_and_falls_back():
    save_model(build_model(), {"name": "good"})
    corrupt = save_model(build_model(), {"name": "corrupt"})
    corrupt.model_file.write_bytes(b"not a keras archive")
    with pytest.warns(RuntimeWarning, match="corrupt or not a Keras model"):
        loaded = load_active()
    assert loaded.record.metadata["name"] == "good"
    assert len(loaded.warnings) == 1 and str(corrupt.model_file) in loaded.warnings[0]
    with pytest.warns(RuntimeWarning):
        assert load_model().count_params() == 121_930


def test_only_corrupt_models_fall_back_to_the_bundled_one():
    corrupt = save_model(build_model(), {})
    os.truncate(corrupt.model_file, 100)
    with pytest.warns(RuntimeWarning, match="Using an earlier model instead"):
        loaded = load_active()
    assert loaded.record.bundled


def test_explicit_corrupt_path_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{ not json")
    with pytest.raises(ModelLoadError, match=r"broken\.keras: it is corrupt or not a Keras model"):
        load_model(path)
    with pytest.raises(ModelLoadError, match="No model file at"):
        load_model(tmp_path / "missing.keras")


def test_a_keras_model_for_other_data_is_refused(tmp_path):
    other = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    other.save(tmp_path / "cifar.keras")
    with pytest.raises(ModelLoadError, match=r"an MNIST model takes \(None, 28, 28, 1\)"):
        load_model(tmp_path / "cifar.keras")


def test_models_load_in_safe_mode(tmp_path):
    """A Lambda layer carries Python bytecode; safe mode refuses to run it."""
    unsafe = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Lambda(lambda x: x * 2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    unsafe.save(tmp_path / "unsafe.keras")
    with pytest.raises(ModelLoadError, match="safe_mode"):
        load_model(tmp_path / "unsafe.keras")


def test_bundled_model_loads_and_says_how_it_was_made():
    record = bundled_record()
    model = load_model(record.model_file)
    assert model.count_params() == 121_930
    assert record.metadata["made_with"].startswith("python -m mnist_cnn train")
    assert record.metadata["test_accuracy"] >= 0.99
    assert record.metadata["test_images"] == 10_000


def test_a_good_trained_model_loads_even_without_the_bundled_one(monkeypatch, tmp_path):
    monkeypatch.setattr("mnist_cnn.store.BUNDLED_DIR", tmp_path / "no-bundle")
    saved = save_model(build_model(), {"name": "mine"})
    assert load_active().record.folder == saved.folder
    with pytest.raises(ModelLoadError, match="bundled model is missing"):
        bundled_record()
