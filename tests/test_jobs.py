import json
import threading

import pytest

from mnist_cnn.background import BusyError
from mnist_cnn.jobs import TrainingRegistry, train_evaluate_save
from mnist_cnn.store import METADATA_FILE, ModelsDirError, active_record, trained_records
from mnist_cnn.training import TrainConfig


def wait_for_batches(job, count=1):
    """Block until the job has reported ``count`` batches (or ended)."""
    reported = threading.Event()
    original = job.on_batch

    def on_batch(progress):
        original(progress)
        if len(job.snapshot().batches) >= count:
            reported.set()

    job.on_batch = on_batch
    while not reported.wait(0.05) and job.snapshot().active:
        pass


def test_train_evaluate_save_makes_the_new_model_active(sample_npz):
    outcome = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz, made_with="test")
    assert outcome.record is not None and active_record().folder == outcome.record.folder
    metadata = json.loads((outcome.record.folder / METADATA_FILE).read_text())
    assert metadata["made_with"] == "test" and metadata["config"]["epochs"] == 1
    assert metadata["test_accuracy"] == outcome.evaluation.accuracy
    assert len(metadata["history"]) == 1 and metadata["test_images"] == 300
    # Its temperature was fitted on the run's validation split, the 10% it did not train on.
    validation_images = metadata["training_images"] // 10
    assert metadata["calibration"]["images"] == validation_images
    assert outcome.record.metadata.calibration.temperature > 0
    assert outcome.evaluation.temperature == outcome.record.metadata.calibration.temperature


def test_a_finished_job_is_saved_and_reported(sample_npz):
    registry = TrainingRegistry(data_path=sample_npz)
    job = registry.start(TrainConfig(epochs=1))
    job.join(timeout=300)
    snapshot = job.snapshot()
    assert snapshot.status == "finished" and not snapshot.active
    assert snapshot.fraction_done == 1.0 and snapshot.seconds_left is None
    assert snapshot.record.folder == active_record().folder
    assert 0 < snapshot.test_accuracy <= 1 and len(snapshot.epochs) == 1
    assert registry.latest is job


def test_one_run_at_a_time_and_stop_keeps_the_previous_model(sample_npz):
    registry = TrainingRegistry(data_path=sample_npz)
    job = registry.start(TrainConfig(epochs=200))
    wait_for_batches(job, 2)
    with pytest.raises(BusyError, match="already in progress"):
        registry.start(TrainConfig(epochs=1))
    running = job.snapshot()
    assert running.status == "running" and 0 < running.fraction_done < 1
    assert running.samples_per_second > 0 and running.seconds_left > 0
    job.stop()
    stopped = job.snapshot()
    assert stopped.status == "stopped" and not stopped.active  # at once, not after a batch
    job.join(timeout=60)
    assert job.snapshot().status == "stopped"
    assert job.snapshot().batches == stopped.batches  # the charts stay as at the Stop
    assert trained_records() == [] and active_record().bundled
    # Once stopped, a new run may start.
    registry.start(TrainConfig(epochs=1)).join(timeout=300)
    assert registry.latest.snapshot().status == "finished"


def test_stop_while_preparing_ends_the_run_at_once_and_the_next_run_waits_for_it(sample_npz):
    """A Stop in the first seconds (loading MNIST, tracing the step) shows at once; the next
    Start waits for the stopped thread to end rather than run two trainings together."""
    registry = TrainingRegistry(data_path=sample_npz)
    job = registry.start(TrainConfig(epochs=50))
    job.stop()
    assert job.snapshot().status == "stopped"
    following = registry.start(TrainConfig(epochs=1))
    assert not job.winding_down  # start() waited for the stopped thread
    following.join(timeout=300)
    assert job.snapshot().status == "stopped" and following.snapshot().status == "finished"
    assert len(trained_records()) == 1


def test_stop_while_the_model_is_written_discards_it(sample_npz, monkeypatch):
    import mnist_cnn.background as background

    registry = TrainingRegistry(data_path=sample_npz)
    save_model = background.save_model

    def stop_then_save(*args, **kwargs):  # the Stop lands between the last check and the save
        registry.latest.stop()
        return save_model(*args, **kwargs)

    monkeypatch.setattr(background, "save_model", stop_then_save)
    job = registry.start(TrainConfig(epochs=1))
    job.join(timeout=300)
    assert job.snapshot().status == "stopped" and job.snapshot().record is None
    assert trained_records() == [] and active_record().bundled


def test_a_stop_during_the_save_prunes_nothing(sample_npz, monkeypatch):
    """A discarded run must not cost anyone an older model: pruning waits until it is kept."""
    import mnist_cnn.background as background

    monkeypatch.setenv("MNIST_CNN_KEEP_MODELS", "1")
    older = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz).record
    registry = TrainingRegistry(data_path=sample_npz)
    save_model = background.save_model

    def stop_then_save(*args, **kwargs):
        registry.latest.stop()
        return save_model(*args, **kwargs)

    monkeypatch.setattr(background, "save_model", stop_then_save)
    job = registry.start(TrainConfig(epochs=1))
    job.join(timeout=300)
    assert job.snapshot().status == "stopped"
    assert [r.key for r in trained_records()] == [older.key]


def test_a_stop_once_the_run_is_settled_is_too_late_and_keeps_the_model(sample_npz, monkeypatch):
    """The race: Stop pressed after the run was decided finished (here, while it prunes). The
    page and the disk must agree: finished, and the model kept; the Stop says it did nothing."""
    import mnist_cnn.background as background

    registry = TrainingRegistry(data_path=sample_npz)
    prune_models = background.prune_models
    stop_results = []

    def stop_then_prune(*args, **kwargs):
        stop_results.append(registry.latest.stop())
        return prune_models(*args, **kwargs)

    monkeypatch.setattr(background, "prune_models", stop_then_prune)
    job = registry.start(TrainConfig(epochs=1))
    job.join(timeout=300)
    snapshot = job.snapshot()
    assert stop_results == [False]
    assert snapshot.status == "finished" and snapshot.record is not None
    assert [r.key for r in trained_records()] == [snapshot.record.key]


def test_keep_settles_the_run_after_the_save(sample_npz, monkeypatch):
    """``keep`` sees the written model; refusing it deletes the model and prunes nothing."""
    monkeypatch.setenv("MNIST_CNN_KEEP_MODELS", "1")
    older = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz).record
    offered = []

    def refuse(record, evaluation):
        offered.append((record.key, record.folder.is_dir(), evaluation.accuracy))
        return False

    outcome = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz, keep=refuse)
    assert outcome.result.stopped and outcome.record is None and outcome.evaluation is None
    assert len(offered) == 1 and offered[0][1] and offered[0][0] != older.key
    assert [r.key for r in trained_records()] == [older.key]


def test_missing_data_fails_with_the_loaders_message(tmp_path):
    job = TrainingRegistry(data_path=tmp_path / "missing.npz").start(TrainConfig(epochs=1))
    job.join(timeout=60)
    snapshot = job.snapshot()
    assert snapshot.status == "failed"
    assert "MNIST file not found" in snapshot.message and "MNIST_NPZ" in snapshot.message


class StopAfterLastBatch:
    """A listener that presses Stop when the last epoch ends: after the last batch, before the
    model is scored and saved."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event

    def on_batch(self, progress) -> None:
        pass

    def on_epoch(self, progress) -> None:
        if progress.epoch == progress.epochs:
            self.stop_event.set()


def test_stop_after_the_last_batch_discards_the_run(sample_npz, isolated_models_dir):
    stop = threading.Event()
    outcome = train_evaluate_save(
        TrainConfig(epochs=1), StopAfterLastBatch(stop), stop, data_path=sample_npz
    )
    assert outcome.result.stopped and outcome.record is None and outcome.evaluation is None
    assert trained_records() == [] and active_record().bundled
    assert [p.name for p in isolated_models_dir.iterdir()] == []  # not even a partial save


def test_unwritable_models_folder_refuses_the_run_before_training(sample_npz, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    registry = TrainingRegistry(data_path=sample_npz, models_directory=blocker / "models")
    with pytest.raises(ModelsDirError, match="MNIST_CNN_MODELS_DIR"):
        registry.start(TrainConfig(epochs=1))
    assert registry.latest is None
    with pytest.raises(ModelsDirError):
        train_evaluate_save(TrainConfig(epochs=1), models_directory=blocker / "models")


def test_public_mode_caps_epochs_and_remembers_who_started_a_run(sample_npz, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    monkeypatch.setenv("MNIST_CNN_MAX_EPOCHS", "2")
    registry = TrainingRegistry(data_path=sample_npz)
    with pytest.raises(ValueError, match="3 epochs is more than this server allows"):
        registry.start(TrainConfig(epochs=3), owner="a")
    job = registry.start(TrainConfig(epochs=1), owner="a")
    job.join(timeout=300)
    later = registry.start(TrainConfig(epochs=1), owner="b")
    assert registry.run_of("a") is job and registry.run_of("b") is later
    assert registry.run_of("c") is None and job.owner == "a"
    later.stop()
    later.join(timeout=300)


def test_a_save_prunes_old_models_but_spares_those_in_use(sample_npz, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_KEEP_MODELS", "1")
    first = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz).record
    second = train_evaluate_save(
        TrainConfig(epochs=1), data_path=sample_npz, in_use=lambda: {first.key}
    ).record
    assert {r.key for r in trained_records()} == {first.key, second.key}
    third = train_evaluate_save(TrainConfig(epochs=1), data_path=sample_npz).record
    assert [r.key for r in trained_records()] == [third.key]
