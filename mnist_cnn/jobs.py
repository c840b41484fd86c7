"""Training as a job: load data, train, evaluate, save, with state others can watch.

The command line runs ``train_evaluate_save`` directly. The web app runs it as a
``TrainingJob`` held by a ``TrainingRegistry``, which allows one training run per server:
pages poll ``snapshot()`` to draw live progress. The thread, the lock, Stop, the owner and
settling the run after its model is saved are ``background.py``'s, as for teaching: a Stop
that arrives any time before the run is settled discards it, and the models folder and every
session's model stay as they were.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from mnist_cnn import memory_budget, settings
from mnist_cnn.architecture import SEED, ModelSpec
from mnist_cnn.background import Job, Registry, Snapshot, save_and_settle
from mnist_cnn.calibration import Calibration, calibrate
from mnist_cnn.data import shared_mnist
from mnist_cnn.evaluation import Evaluation, evaluate
from mnist_cnn.memory_budget import MemoryBudget
from mnist_cnn.store import ModelRecord, check_writable
from mnist_cnn.training import (
    BatchProgress,
    EpochProgress,
    TrainConfig,
    TrainingListener,
    TrainingResult,
    split_validation,
    train,
)

if TYPE_CHECKING:
    import keras


@dataclass
class TrainingOutcome:
    result: TrainingResult
    evaluation: Evaluation | None  # None when the run was stopped
    record: ModelRecord | None  # the saved model; None when the run was stopped


def train_evaluate_save(
    config: TrainConfig,
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
    data_path: str | os.PathLike | None = None,
    models_directory: str | os.PathLike | None = None,
    made_with: str = "mnist_cnn.jobs.train_evaluate_save",
    in_use: Callable[[], Iterable[str]] = tuple,
    keep: Callable[[ModelRecord, Evaluation], bool] | None = None,
    spec: ModelSpec = SEED,
) -> TrainingOutcome:
    """Train on MNIST, score on its test set, save, then prune old models.

    The models folder is checked before any work (``ModelsDirError``). A stopped run saves
    nothing, even when the stop arrives after the last batch. Once the model is written,
    ``keep(record, evaluation)`` settles the run: False deletes the model and reports a stop
    (by default it is False when ``stop_event`` is set; a job passes a check that is atomic
    with its Stop button). Only a kept run prunes: that keeps the models whose ids ``in_use``
    returns (those live sessions use) and the new one.
    """
    check_writable(models_directory)
    (x_train, y_train), (x_test, y_test) = shared_mnist(data_path)
    result = train(x_train, y_train, config, listener, stop_event, spec)
    if result.stopped:
        return TrainingOutcome(result, None, None)
    calibration = calibrate_on_validation(result.model, x_train, y_train, config)
    evaluation = evaluate(result.model, x_test, y_test)
    if stop_event is not None and stop_event.is_set():  # stopped while scoring: still a stop
        return TrainingOutcome(replace(result, stopped=True), None, None)
    metadata = {
        "made_with": made_with,
        "config": config.to_dict(),
        "architecture": spec.to_dict(),
        "history": [vars(epoch) for epoch in result.history],
        "training_seconds": round(result.seconds, 1),
        "training_images": len(x_train),
        "test_images": len(x_test),
        "test_accuracy": evaluation.accuracy,
    }
    if calibration is not None:
        metadata["calibration"] = calibration.to_dict()

    def kept(record: ModelRecord) -> bool:
        if keep is None:
            return stop_event is None or not stop_event.is_set()
        return keep(record, evaluation)

    record = save_and_settle(result.model, metadata, kept, models_directory, in_use)
    if record is None:
        return TrainingOutcome(replace(result, stopped=True), None, None)
    return TrainingOutcome(result, evaluation, record)


def calibrate_on_validation(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, config: TrainConfig
) -> Calibration | None:
    """Fit the model's temperature on the run's validation split, the digits it did not train
    on; None for a run without one (its probabilities stay the network's own)."""
    _, (x_val, y_val) = split_validation(images, labels, config.validation_split)
    return calibrate(model, x_val, y_val) if len(y_val) else None


@dataclass(frozen=True)
class TrainingSnapshot(Snapshot):
    """A training run's state for a page to draw: its reports so far and, once finished, its
    saved model and test accuracy."""

    config: TrainConfig
    spec: ModelSpec = SEED
    batches: tuple[BatchProgress, ...] = ()
    epochs: tuple[EpochProgress, ...] = ()
    record: ModelRecord | None = None
    test_accuracy: float | None = None

    @property
    def fraction_done(self) -> float:
        if self.status == "finished":
            return 1.0
        if not self.batches:
            return 0.0
        last = self.batches[-1]
        done = (last.epoch - 1) * last.batches_per_epoch + last.batch
        return min(done / (last.epochs * last.batches_per_epoch), 1.0)

    @property
    def samples_per_second(self) -> float | None:
        """Mean speed over the last few reports (single reports are noisy)."""
        recent = self.batches[-10:]
        if not recent:
            return None
        return sum(b.samples_per_second for b in recent) / len(recent)


class TrainingJob(Job[TrainingSnapshot]):
    """One training run in the background; its listener reports go into its snapshot.

    The thread ends at its next check after a Stop: every compiled call of 16 batches, every
    validation batch, before scoring, before saving, once saved.
    """

    need = memory_budget.TRAINING

    def __init__(
        self,
        config: TrainConfig,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        owner: str | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
        spec: ModelSpec = SEED,
    ) -> None:
        super().__init__(
            TrainingSnapshot("running", time.time(), config, spec),
            owner,
            name="mnist-training",
            failure="Training failed",
        )
        self._data_path = data_path
        self._models_directory = models_directory
        self._in_use = in_use
        self.need = memory_budget.training_need(spec, config.batch_size)

    def on_batch(self, progress: BatchProgress) -> None:
        self.report(lambda state: replace(state, batches=(*state.batches, progress)))

    def on_epoch(self, progress: EpochProgress) -> None:
        self.report(lambda state: replace(state, epochs=(*state.epochs, progress)))

    def work(self) -> None:
        snapshot = self.snapshot()
        train_evaluate_save(
            snapshot.config,
            listener=self,
            stop_event=self.stop_event,
            data_path=self._data_path,
            models_directory=self._models_directory,
            made_with="web app Train page",
            in_use=self._in_use,
            keep=lambda record, evaluation: self.settle(
                record=record, test_accuracy=evaluation.accuracy
            ),
            spec=snapshot.spec,
        )


class TrainingRegistry(Registry[TrainingJob]):
    """The server's training runs: at most one active at a time."""

    def __init__(
        self,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
        budget: MemoryBudget | None = None,
    ) -> None:
        super().__init__(
            "A training run is already in progress on this server; watch it below or wait "
            "for it to finish.",
            budget,
        )
        self._data_path = data_path
        self._models_directory = models_directory
        self._in_use = in_use

    def start(
        self, config: TrainConfig, owner: str | None = None, spec: ModelSpec = SEED
    ) -> TrainingJob:
        """Start a run of ``spec``'s network, or raise ``BusyError``, ``ModelsDirError`` or
        ``ValueError``.

        Checked first: the public caps (``settings.max_epochs``, ``settings.network_problem``),
        and that the models folder takes a new model (rather than failing at the end of the run).
        """
        limit = settings.max_epochs()
        if settings.public_mode() and config.epochs > limit:
            raise ValueError(
                f"{config.epochs} epochs is more than this server allows ({limit}; "
                f"{settings.MAX_EPOCHS_ENV} sets it)."
            )
        problem = settings.network_problem(spec)
        if problem is not None:
            raise ValueError(problem)
        check_writable(self._models_directory)
        return self.launch(
            TrainingJob(config, self._data_path, self._models_directory, owner, self._in_use, spec)
        )
