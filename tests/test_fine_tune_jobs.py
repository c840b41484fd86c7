"""Fine-tuning in the background: progress snapshots, a saved model that names its parent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_cnn import background, canvas_to_mnist, load_model
from mnist_cnn.background import BusyError
from mnist_cnn.fine_tune_jobs import FineTuneJob, FineTuneRegistry
from mnist_cnn.fine_tuning import FineTuneConfig
from mnist_cnn.store import METADATA_FILE, bundled_record, load_record, trained_records
from sketchbook.sketches import quirky_writer_set

QUICK = FineTuneConfig(steps=8, holdout_fraction=0.25)


@pytest.fixture(scope="module")
def drawings() -> tuple[np.ndarray, np.ndarray]:
    canvases, labels = quirky_writer_set(n_per_digit=4, seed=2)
    return np.stack([canvas_to_mnist(canvas) for canvas in canvases]), labels


def test_a_finished_job_saves_a_model_that_names_its_parent(
    drawings, sample_npz, isolated_models_dir
) -> None:
    images, labels = drawings
    parent = bundled_record()
    registry = FineTuneRegistry(data_path=sample_npz, models_directory=isolated_models_dir)
    job = registry.start(load_model(), parent, images, labels, QUICK)
    assert job.snapshot().drawings == len(labels)
    job.join(timeout=600)

    snapshot = job.snapshot()
    assert snapshot.status == "finished", snapshot.message
    assert snapshot.fraction_done == 1.0 and not snapshot.active
    assert snapshot.progress is not None and snapshot.progress.step == QUICK.steps
    [saved] = trained_records(isolated_models_dir)
    assert snapshot.record.key == saved.key
    metadata = json.loads((saved.folder / METADATA_FILE).read_text())
    assert metadata["parent_model"] == parent.key and metadata["parent_bundled"] is True
    assert metadata["drawings"] == len(labels) and metadata["parent_name"] == "Bundled model"
    # It says what it is, and does not pass its parent's training recipe off as its own.
    assert saved.name == f"Taught on {len(labels)} drawings (from Bundled model)"
    assert saved.taught_from == f"Taught from Bundled model on {len(labels)} drawings"
    assert "config" not in metadata and metadata["fine_tune"]["config"]["steps"] == QUICK.steps
    assert metadata["fine_tune"]["drawings_held_out"] == 10
    assert metadata["test_accuracy"] == snapshot.result.mnist_test_after
    assert load_record(saved).output_shape == (None, 10)


def test_a_second_job_waits_for_the_first(drawings, sample_npz, isolated_models_dir) -> None:
    images, labels = drawings
    registry = FineTuneRegistry(data_path=sample_npz, models_directory=isolated_models_dir)
    model = load_model()
    first = registry.start(model, bundled_record(), images, labels, FineTuneConfig(steps=400))
    try:
        with pytest.raises(BusyError, match="try again"):
            registry.start(model, bundled_record(), images, labels, QUICK)
    finally:
        first.join(timeout=600)
    assert first.snapshot().status == "finished"
    again = registry.start(model, bundled_record(), images, labels, QUICK)
    again.join(timeout=600)
    assert again.snapshot().status == "finished"


def test_a_failure_is_reported_not_raised(drawings, tmp_path, isolated_models_dir) -> None:
    images, labels = drawings
    registry = FineTuneRegistry(
        data_path=tmp_path / "missing.npz", models_directory=isolated_models_dir
    )
    job = registry.start(load_model(), bundled_record(), images, labels, QUICK)
    job.join(timeout=600)
    snapshot = job.snapshot()
    assert snapshot.status == "failed" and "MNIST file not found" in snapshot.message
    assert trained_records(isolated_models_dir) == []


def test_a_stop_while_teaching_saves_nothing(drawings, sample_npz, isolated_models_dir) -> None:
    images, labels = drawings
    job = FineTuneJob(
        load_model(),
        bundled_record(),
        images,
        labels,
        FineTuneConfig(steps=400),
        data_path=sample_npz,
        models_directory=isolated_models_dir,
        owner="a",
    )
    report = job.on_step
    stops = []

    def stop_at_the_first_report(progress) -> None:
        report(progress)
        stops.append(job.stop())

    job.on_step = stop_at_the_first_report
    job.start().join(timeout=600)
    snapshot = job.snapshot()
    assert stops == [True]  # no report after the compiled call of the Stop
    assert snapshot.status == "stopped" and not snapshot.active and job.owner == "a"
    assert snapshot.progress.step < 400  # the progress stays as it was at the Stop
    assert snapshot.record is None and snapshot.result is None
    assert trained_records(isolated_models_dir) == []


def teach_with_a_stop_during(name: str, drawings, sample_npz, models_dir, monkeypatch):
    """Teach, pressing Stop just before ``background.<name>`` does its work; the job, and what
    each Stop returned."""
    images, labels = drawings
    registry = FineTuneRegistry(data_path=sample_npz, models_directory=models_dir)
    original = getattr(background, name)
    stops = []

    def stop_then_work(*args, **kwargs):
        stops.append(registry.latest.stop())
        return original(*args, **kwargs)

    monkeypatch.setattr(background, name, stop_then_work)
    job = registry.start(load_model(), bundled_record(), images, labels, QUICK)
    job.join(timeout=600)
    return job, stops


def test_a_stop_while_the_taught_model_is_written_discards_it(
    drawings, sample_npz, isolated_models_dir, monkeypatch
) -> None:
    job, stops = teach_with_a_stop_during(
        "save_model", drawings, sample_npz, isolated_models_dir, monkeypatch
    )
    assert stops == [True]
    assert job.snapshot().status == "stopped" and job.snapshot().record is None
    assert trained_records(isolated_models_dir) == []
    assert [p.name for p in isolated_models_dir.iterdir()] == []  # not even a partial save


def test_a_stop_once_teaching_is_settled_is_too_late(
    drawings, sample_npz, isolated_models_dir, monkeypatch
) -> None:
    job, stops = teach_with_a_stop_during(
        "prune_models", drawings, sample_npz, isolated_models_dir, monkeypatch
    )
    snapshot = job.snapshot()
    assert stops == [False]
    assert snapshot.status == "finished" and snapshot.record is not None
    assert [r.key for r in trained_records(isolated_models_dir)] == [snapshot.record.key]
