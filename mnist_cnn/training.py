"""Train the CNN with progress reports and a stop switch.

``train`` is ``model.fit`` on the default recipe, fed by a ``tf.data`` pipeline and
running several batches per compiled call (both faster on a CPU, same maths). It
reports to a listener after every compiled call and after every epoch, and stops
between batches when another thread sets ``stop_event``: what the web app needs to
run it in a background thread and draw live charts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.augment import augment_dataset
from mnist_cnn.model import INPUT_SHAPE, build_model

VALIDATION_BATCH_SIZE = 1024


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe. The defaults are the project's: 5 epochs, 10% validation."""

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    seed: int = 42
    augment: bool = False
    # Batches per compiled call: a speed setting that does not change the result.
    steps_per_execution: int = 16

    def __post_init__(self) -> None:
        checks = {
            "epochs must be at least 1": self.epochs >= 1,
            "batch_size must be at least 1": self.batch_size >= 1,
            "learning_rate must be positive": self.learning_rate > 0,
            "validation_split must be in [0, 0.5]": 0 <= self.validation_split <= 0.5,
            "steps_per_execution must be at least 1": self.steps_per_execution >= 1,
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BatchProgress:
    """Where training stands after a compiled call (one or more batches)."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # batches done in this epoch
    batches_per_epoch: int
    loss: float  # mean over the batches since the last report
    accuracy: float
    samples_per_second: float


@dataclass(frozen=True)
class EpochProgress:
    epoch: int  # 1-based
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


class TrainingListener(Protocol):
    def on_batch(self, progress: BatchProgress) -> None: ...

    def on_epoch(self, progress: EpochProgress) -> None: ...


@dataclass
class TrainingResult:
    model: keras.Model
    config: TrainConfig
    history: list[EpochProgress]
    stopped: bool  # True when stop_event ended the run early
    seconds: float


class _Stopped(Exception):
    """Raised inside fit to leave it at once, skipping the epoch's validation pass."""


class _Reporter(keras.callbacks.Callback):
    """Turns Keras' running epoch averages into per-report figures for a listener."""

    def __init__(self, config, batches_per_epoch, listener, stop_event):
        super().__init__()
        self.config = config
        self.batches_per_epoch = batches_per_epoch
        self.listener = listener
        self.stop_event = stop_event
        self.history: list[EpochProgress] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.epoch_start = self.last_time = time.perf_counter()
        self.last_batch = 0
        self.last_loss_sum = self.last_correct = 0.0

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_event is not None and self.stop_event.is_set():
            raise _Stopped
        # With several batches per call Keras may report an end step past the epoch's last.
        done = min(batch + 1, self.batches_per_epoch)
        now = time.perf_counter()
        loss_sum, correct = logs["loss"] * done, logs["accuracy"] * done
        batches = done - self.last_batch
        if self.listener is not None and batches > 0:
            self.listener.on_batch(
                BatchProgress(
                    epoch=self.epoch,
                    epochs=self.config.epochs,
                    batch=done,
                    batches_per_epoch=self.batches_per_epoch,
                    loss=(loss_sum - self.last_loss_sum) / batches,
                    accuracy=(correct - self.last_correct) / batches,
                    samples_per_second=batches
                    * self.config.batch_size
                    / max(now - self.last_time, 1e-9),
                )
            )
        self.last_batch, self.last_time = done, now
        self.last_loss_sum, self.last_correct = loss_sum, correct

    def on_epoch_end(self, epoch, logs=None):
        progress = EpochProgress(
            epoch=epoch + 1,
            epochs=self.config.epochs,
            loss=float(logs["loss"]),
            accuracy=float(logs["accuracy"]),
            val_loss=_optional_float(logs.get("val_loss")),
            val_accuracy=_optional_float(logs.get("val_accuracy")),
            seconds=time.perf_counter() - self.epoch_start,
        )
        self.history.append(progress)
        if self.listener is not None:
            self.listener.on_epoch(progress)


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def split_validation(
    images: np.ndarray, labels: np.ndarray, fraction: float
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out the last ``fraction`` of the data, as ``fit(validation_split=...)`` does."""
    n_validation = int(len(images) * fraction)
    n_train = len(images) - n_validation
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])


def make_datasets(
    images: np.ndarray, labels: np.ndarray, config: TrainConfig
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, int]:
    """Shuffled training batches (augmented if asked), validation batches, batches per epoch.

    Images stay in their own dtype (uint8 for MNIST: a quarter of float32's memory) and are
    scaled to [0, 1] a batch at a time, which keeps a full-MNIST run a few hundred MB lighter.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"expected images shaped (N, 28, 28), not {images.shape}")
    (x_train, y_train), (x_val, y_val) = split_validation(images, labels, config.validation_split)
    if len(x_train) == 0:
        raise ValueError("no training images left after the validation split")
    train = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(_scaled, num_parallel_calls=tf.data.AUTOTUNE)
    )
    if config.augment:
        train = augment_dataset(train, seed=config.seed)
    validation = None
    if len(x_val):
        validation = (
            tf.data.Dataset.from_tensor_slices((x_val, y_val))
            .batch(VALIDATION_BATCH_SIZE)
            .map(_scaled)
            .prefetch(tf.data.AUTOTUNE)
        )
    batches_per_epoch = -(-len(x_train) // config.batch_size)
    return train.prefetch(tf.data.AUTOTUNE), validation, batches_per_epoch


def _scaled(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """uint8 pixels to float32 in [0, 1]; float images are taken to be in [0, 1] already."""
    return tf.image.convert_image_dtype(images, tf.float32), labels


def train(
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig = TrainConfig(),
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
) -> TrainingResult:
    """Train a fresh default CNN on uint8 ``images`` (N, 28, 28) and their ``labels``.

    Safe to run in a background thread. If ``stop_event`` is set, training stops
    before the next batch and the result has ``stopped=True``.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    train_data, validation_data, batches_per_epoch = make_datasets(images, labels, config)
    model = build_model(config.learning_rate, config.steps_per_execution)
    reporter = _Reporter(config, batches_per_epoch, listener, stop_event)
    # A stop pressed while the data and model were being prepared ends the run here.
    stopped = stop_event is not None and stop_event.is_set()
    try:
        if not stopped:
            model.fit(
                train_data,
                epochs=config.epochs,
                validation_data=validation_data,
                callbacks=[reporter],
                shuffle=False,  # the dataset reshuffles itself each epoch
                verbose=0,
            )
    except _Stopped:
        stopped = True
    # A stop that arrives after the last batch (during the last validation pass) still counts.
    stopped = stopped or (stop_event is not None and stop_event.is_set())
    return TrainingResult(
        model=model,
        config=config,
        history=reporter.history,
        stopped=stopped,
        seconds=time.perf_counter() - started,
    )
