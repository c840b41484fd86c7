import json
import os
import zipfile

import keras
import numpy as np
import pytest

from mnist_cnn.inference import predict
from mnist_cnn.model import build_model
from mnist_cnn.store import (
    METADATA_FILE,
    MODEL_FILE,
    ModelLoadError,
    ModelMetadata,
    ParentModel,
    active_record,
    bundled_record,
    find_record,
    load_active,
    load_model,
    models_dir,
    rename_model,
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
    assert loaded.record.metadata.name == "good" and not loaded.warnings
    np.testing.assert_allclose(predict(loaded.model, PROBE), predict(good, PROBE), atol=1e-6)


def test_leftover_partial_folder_from_a_killed_process_is_ignored(isolated_models_dir):
    save_model(build_model(), {"name": "good"})
    partial = isolated_models_dir / ".partial-killed"
    partial.mkdir()
    (partial / "model.keras").write_bytes(b"PK")
    assert load_active().record.metadata.name == "good"


def test_corrupt_newest_model_warns_and_falls_back():
    save_model(build_model(), {"name": "good"})
    corrupt = save_model(build_model(), {"name": "corrupt"})
    corrupt.model_file.write_bytes(b"not a keras archive")
    with pytest.warns(RuntimeWarning, match="corrupt or not a Keras model"):
        loaded = load_active()
    assert loaded.record.metadata.name == "good"
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
    assert record.metadata.made_with.startswith("python -m mnist_cnn train")
    assert record.metadata.test_accuracy >= 0.99
    assert record.metadata.test_images == 10_000


def test_a_good_trained_model_loads_even_without_the_bundled_one(monkeypatch, tmp_path):
    monkeypatch.setattr("mnist_cnn.store.BUNDLED_DIR", tmp_path / "no-bundle")
    saved = save_model(build_model(), {"name": "mine"})
    assert load_active().record.folder == saved.folder
    with pytest.raises(ModelLoadError, match="bundled model is missing"):
        bundled_record()


# --- Metadata -------------------------------------------------------------------------------


def listed_with(folder, metadata_text: str):
    """The record of a trained model whose metadata.json holds ``metadata_text`` (listing a model
    reads only its metadata: a stand-in model file will do)."""
    model_folder = folder / "20260101T000000000000Z"
    model_folder.mkdir(parents=True)
    (model_folder / MODEL_FILE).write_bytes(b"PK")
    (model_folder / METADATA_FILE).write_text(metadata_text)
    return find_record(model_folder.name)


def test_metadata_written_before_recipes_still_loads(isolated_models_dir):
    old = {
        "config": {"epochs": 10, "batch_size": 32, "learning_rate": 0.001, "augment": True},
        "history": [{"epoch": 1, "loss": 0.2, "accuracy": 0.94}],
        "training_seconds": 61,
        "test_accuracy": 0.9912,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    record = listed_with(isolated_models_dir, json.dumps(old))
    metadata = record.metadata
    assert metadata.config == old["config"] == record.training_config
    assert metadata.history == ({"epoch": 1, "loss": 0.2, "accuracy": 0.94},)
    assert metadata.training_seconds == 61.0 and metadata.test_accuracy == 0.9912
    assert metadata.created_at == old["created_at"] and metadata.made_with is None
    assert metadata.parameters is None and metadata.versions == {} and metadata.parent is None
    assert record.name == "Run of 01 Jan 00:00:00" and record.taught_from is None


def test_a_malformed_metadata_field_counts_as_missing(isolated_models_dir):
    malformed = {
        "name": 7,
        "test_accuracy": "0.99",
        "training_seconds": "slow",
        "test_images": 1.5,
        "parameters": True,
        "history": [{"epoch": 1}, "epoch 2"],
        "config": ["epochs", 5],
        "parent_model": 42,
        "created_at": None,
    }
    record = listed_with(isolated_models_dir, json.dumps(malformed))
    assert record.metadata == ModelMetadata(history=({"epoch": 1},))
    assert record.name == "Run of 01 Jan 00:00:00" and record.training_config == {}
    for unreadable in ("[1, 2]", "not JSON", ""):
        (record.folder / METADATA_FILE).write_text(unreadable)
        assert find_record(record.key).metadata == ModelMetadata()


def test_metadata_round_trips_through_its_file(isolated_models_dir):
    written = {
        "made_with": "web app: fine-tuned on 40 drawings",
        "parent_model": "bundled",
        "parent_name": "Bundled model",
        "parent_bundled": True,
        "drawings": 40,
        "fine_tune": {"steps": 8},
        "training_seconds": 3.2,
        "test_images": 300,
        "test_accuracy": 0.97,
        "a_later_field": [1, 2],  # unknown to this version: kept on disk
    }
    saved = save_model(build_model(), written)
    read_back = find_record(saved.key).metadata
    assert read_back == saved.metadata
    assert read_back.parent == ParentModel("bundled", "Bundled model", True, 40)
    assert read_back.fine_tune == {"steps": 8} and read_back.test_images == 300
    assert read_back.parameters == 121_930 and read_back.created_at is not None
    renamed = rename_model(saved, "  mine ")
    assert renamed.metadata == find_record(saved.key).metadata
    assert renamed.metadata.name == "mine" and renamed.metadata.parent == read_back.parent
    on_disk = json.loads((saved.folder / METADATA_FILE).read_text())
    assert {key: on_disk[key] for key in written} == written and on_disk["name"] == "mine"
