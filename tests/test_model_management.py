"""Settings, the model list and its upkeep: ids, the server default, rename, delete, retention,
leftovers of killed saves, the writable check, and messages without server paths."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from mnist_cnn import settings
from mnist_cnn.model import build_model
from mnist_cnn.store import (
    ModelLoadError,
    ModelsDirError,
    active_record,
    all_records,
    check_writable,
    delete_model,
    find_record,
    load_active,
    prune_models,
    remove_stale_partials,
    rename_model,
    resolve_model,
    save_model,
    trained_records,
)
from studio.messages import HIDDEN_PATH, for_visitor
from studio.usage import ModelUsage


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """One real saved model, copied into many folders (saving each would take a second)."""
    return save_model(build_model(), {"test_accuracy": 0.9}, tmp_path_factory.mktemp("one"))


def copies(saved_model, folder, count: int) -> list[str]:
    """``count`` trained models in ``folder``, oldest first; returns their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [f"20260101T0000{second:02d}000000Z" for second in range(count)]
    for key in keys:
        shutil.copytree(saved_model.folder, folder / key)
    return keys


# --- Settings -------------------------------------------------------------------------------


def test_settings_default_to_local_mode(monkeypatch):
    for name in ("MNIST_CNN_PUBLIC", "MNIST_CNN_MAX_EPOCHS", "MNIST_CNN_KEEP_MODELS"):
        monkeypatch.delenv(name, raising=False)
    assert not settings.public_mode()
    assert settings.max_epochs() == settings.LOCAL_MAX_EPOCHS
    assert settings.keep_models() == 20 and settings.default_model() is None


def test_public_mode_and_its_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    assert settings.public_mode() and settings.max_epochs() == 10
    monkeypatch.setenv("MNIST_CNN_MAX_EPOCHS", "3")
    monkeypatch.setenv("MNIST_CNN_KEEP_MODELS", "2")
    assert settings.max_epochs() == 3 and settings.keep_models() == 2
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "off")
    assert not settings.public_mode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("MNIST_CNN_PUBLIC", "maybe"), ("MNIST_CNN_KEEP_MODELS", "0"), ("MNIST_CNN_KEEP_MODELS", "x")],
)
def test_unusable_settings_are_errors_that_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingError, match=name):
        settings.public_mode() if name == "MNIST_CNN_PUBLIC" else settings.keep_models()


# --- The model list and the server default ----------------------------------------------------


def test_every_model_has_an_id_and_a_name(saved_model, isolated_models_dir):
    (key,) = copies(saved_model, isolated_models_dir, 1)
    bundled, trained = all_records()
    assert (bundled.key, bundled.bundled, bundled.name) == ("bundled", True, "Bundled model")
    assert trained.key == key and trained.name == "Run of 01 Jan 00:00:00"
    assert find_record(key).folder == trained.folder and find_record("bundled").bundled
    for hostile in ("..", "../x", ".partial-x", "/etc", "nope"):
        assert find_record(hostile) is None


def test_a_taught_model_is_named_for_its_parent_and_claims_no_recipe(
    saved_model, isolated_models_dir
):
    """A fine-tuned model: named for what it was taught on and from; its table row, details
    and CLI line show that rather than a training recipe, even when (as older ones do) its
    metadata kept its parent's ``config``."""
    from mnist_cnn.cli import model_summary

    plain, taught = copies(saved_model, isolated_models_dir, 2)
    metadata_file = isolated_models_dir / taught / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata.update(
        parent_model=plain, parent_name="Run of 01 Jan 00:00:00", drawings=40, config={"epochs": 7}
    )
    metadata_file.write_text(json.dumps(metadata))
    record = find_record(taught)
    assert record.name == "Taught on 40 drawings (from Run of 01 Jan 00:00:00)"
    assert record.taught_from == "Taught from Run of 01 Jan 00:00:00 on 40 drawings"
    assert record.recipe_text == record.taught_from
    assert record.training_config == {} and model_summary(record)["config"] == {}
    assert model_summary(record)["parent_model"] == plain
    untaught = find_record(plain)
    assert untaught.taught_from is None and untaught.name == "Run of 01 Jan 00:00:00"
    rename_model(record, "my hand")
    assert find_record(taught).name == "my hand"  # a given name still wins


def test_default_is_newest_locally_bundled_in_public_and_a_pin_wins(
    saved_model, isolated_models_dir, monkeypatch
):
    older, newer = copies(saved_model, isolated_models_dir, 2)
    assert active_record().key == newer
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    assert active_record().bundled and load_active().record.bundled
    monkeypatch.setenv("MNIST_CNN_DEFAULT_MODEL", older)
    assert active_record().key == older and load_active().record.key == older
    monkeypatch.setenv("MNIST_CNN_DEFAULT_MODEL", "no-such-model")
    with pytest.raises(ModelLoadError, match="MNIST_CNN_DEFAULT_MODEL='no-such-model'"):
        active_record()


def test_models_resolve_by_id_or_path(saved_model, isolated_models_dir):
    (key,) = copies(saved_model, isolated_models_dir, 1)
    assert resolve_model(key).count_params() == 121_930
    assert resolve_model(str(saved_model.model_file)).count_params() == 121_930
    with pytest.raises(ModelLoadError, match="No model with id 'nope'"):
        resolve_model("nope")


def test_rename_keeps_the_id_and_delete_removes_the_model(saved_model, isolated_models_dir):
    first, second = copies(saved_model, isolated_models_dir, 2)
    renamed = rename_model(find_record(first), "  wide batches ")
    assert renamed.key == first and find_record(first).name == "wide batches"
    delete_model(find_record(second))
    assert [r.key for r in trained_records()] == [first]
    assert sorted(p.name for p in isolated_models_dir.iterdir()) == [first]
    bundled = find_record("bundled")
    with pytest.raises(ValueError, match="bundled model cannot be deleted"):
        delete_model(bundled)
    with pytest.raises(ValueError, match="cannot be renamed"):
        rename_model(bundled, "mine")


# --- Retention ------------------------------------------------------------------------------


def test_retention_keeps_the_newest_and_spares_pinned_and_in_use(
    saved_model, isolated_models_dir, monkeypatch
):
    monkeypatch.setenv("MNIST_CNN_KEEP_MODELS", "2")
    keys = copies(saved_model, isolated_models_dir, 6)  # oldest first
    monkeypatch.setenv("MNIST_CNN_DEFAULT_MODEL", keys[0])
    pruned = prune_models(protected={keys[1]})
    assert sorted(r.key for r in pruned) == keys[2:4]
    # The two newest, plus the pinned and the in-use ones.
    assert sorted(r.key for r in trained_records()) == [keys[0], keys[1], keys[4], keys[5]]
    assert find_record("bundled") is not None


def test_stale_partial_folders_are_removed_fresh_ones_kept(isolated_models_dir):
    isolated_models_dir.mkdir()
    stale, fresh = isolated_models_dir / ".partial-old", isolated_models_dir / ".partial-new"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"PK")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert remove_stale_partials() == 1
    assert not stale.exists() and fresh.exists()


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_partial_files_are_removed_too(isolated_models_dir):
    """check_writable's probe and a metadata rewrite leave files, not folders, when killed."""
    check_writable()
    stale_probe, fresh_probe = (
        isolated_models_dir / ".partial-probe",
        isolated_models_dir / ".partial-meta",
    )
    stale_probe.write_bytes(b"")
    fresh_probe.write_text("{}")
    age(stale_probe, 7200)
    assert remove_stale_partials() == 1
    assert not stale_probe.exists() and fresh_probe.exists()


def test_server_start_clears_stale_drawing_partials_locally_only(tmp_path, monkeypatch):
    from studio import resources

    drawings = tmp_path / "drawings"
    drawings.mkdir()
    monkeypatch.setenv("MNIST_CNN_DRAWINGS_DIR", str(drawings))
    leftover = drawings / ".partial-abc.npz"
    leftover.write_bytes(b"PK")
    age(leftover, 7200)

    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    resources.remove_stale_partials.clear()
    assert resources.remove_stale_partials() == 0
    assert leftover.exists()  # public mode never touches a drawings folder

    monkeypatch.setenv(settings.PUBLIC_ENV, "0")
    resources.remove_stale_partials.clear()
    assert resources.remove_stale_partials() == 1
    assert not leftover.exists()
    resources.remove_stale_partials.clear()


# --- Failing early and without leaking paths ------------------------------------------------------


def test_unwritable_models_folder_is_found_before_a_run(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelsDirError, match="Set MNIST_CNN_MODELS_DIR to a writable folder"):
        check_writable(blocker / "models")
    assert check_writable(tmp_path / "new" / "models").is_dir()


def test_messages_lose_server_paths_only_in_public_mode(monkeypatch):
    message = (
        "Could not load the model in /srv/app/trained_models/2026/model.keras: it is corrupt "
        "(BadZipFile: File is not a zip file: '/srv/app/x'). Try 1/2 and/or a 28x28 image."
    )
    assert for_visitor(message) == message
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    hidden = for_visitor(message)
    assert "/srv" not in hidden and hidden.count(HIDDEN_PATH) == 2
    assert "1/2 and/or a 28x28 image" in hidden


def test_sessions_idle_past_the_limit_no_longer_hold_their_model():
    now = [0.0]
    usage = ModelUsage(live_for_s=60, clock=lambda: now[0])
    usage.record("a", "model-1")
    now[0] = 30
    usage.record("b", "model-2")
    assert usage.in_use() == {"model-1", "model-2"}
    now[0] = 70
    assert usage.in_use() == {"model-2"}
