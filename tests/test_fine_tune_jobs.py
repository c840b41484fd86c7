"""Fine-tuning in the background: progress snapshots, a saved model that names its parent."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn import canvas_to_mnist, load_model
from mnist_cnn.fine_tune_jobs import FineTuneBusyError, FineTuneRegistry
from mnist_cnn.fine_tuning import FineTuneConfig
from mnist_cnn.store import bundled_record, load_record, trained_records
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
    metadata = saved.metadata
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
        with pytest.raises(FineTuneBusyError, match="try again"):
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
