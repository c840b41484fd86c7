"""Fine-tune a trained model on one person's drawings, without forgetting MNIST.

A model that learnt from MNIST reads most handwriting, but a writer with a consistent quirk (a
1 with a long flag, a 4 left open, a 7 crossed) can be misread every time. A few dozen of their
own drawings fix that in seconds, if training on them is done with care:

- **Many variants of each drawing.** A person draws each digit only a few times, so every
  batch shows their drawings shifted, turned, scaled and with thinner or thicker strokes
  (``augment.py``, as in training): the model learns the shape, not the pixels.
- **MNIST replayed.** Half of every batch is MNIST training digits. Trained on the drawings
  alone, the network would drift towards them and forget what it knew ("catastrophic
  forgetting"); rehearsing the old data alongside the new is the simplest remedy.
- **Small steps, fixed budget.** A low learning rate from the trained weights, and a fixed
  number of batches, so that the time it takes does not grow with the number of drawings.
- **Measured, not assumed.** A part of each digit's drawings is held out: accuracy on it and on
  the MNIST test set, before and after, says whether it helped and what it cost.

The given model is never changed: training runs on a copy, and a fine-tune stopped half-way
(``stop_event``, the web app's Stop button) returns no model at all.
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
from mnist_cnn.data import Split, load_mnist, prepare_images
from mnist_cnn.evaluation import evaluate
from mnist_cnn.inference import predict
from mnist_cnn.model import compile_model
from mnist_cnn.shapes import NUM_CLASSES
from mnist_cnn.traced_steps import releasing_traced_steps
from mnist_cnn.training import PREFETCH_BATCHES, WITHOUT_AUTOTUNE, shuffled_batches


@dataclass(frozen=True)
class FineTuneConfig:
    """How to fine-tune. The defaults take well under a minute on a 2-core CPU."""

    steps: int = 320  # batches, whatever the number of drawings
    batch_size: int = 64  # half drawings (augmented), half MNIST
    learning_rate: float = 5e-4
    holdout_fraction: float = 0.2  # of each digit's drawings, kept out to measure
    replay_images: int = 20_000  # MNIST training digits to replay from
    seed: int = 0
    steps_per_execution: int = 8  # batches per compiled call: speed, not maths

    def __post_init__(self) -> None:
        checks = {
            "steps must be at least 1": self.steps >= 1,
            "batch_size must be an even number of at least 2": (
                self.batch_size >= 2 and self.batch_size % 2 == 0
            ),
            "learning_rate must be positive": self.learning_rate > 0,
            "holdout_fraction must be in [0, 0.5]": 0 <= self.holdout_fraction <= 0.5,
            "replay_images must be at least 1": self.replay_images >= 1,
            "steps_per_execution must be at least 1": self.steps_per_execution >= 1,
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FineTuneProgress:
    """Where fine-tuning stands after a compiled call (several batches)."""

    step: int  # batches done
    steps: int
    loss: float  # mean over the run so far
    accuracy: float


class FineTuneListener(Protocol):
    def on_step(self, progress: FineTuneProgress) -> None: ...


@dataclass(frozen=True)
class FineTuneResult:
    """The new model and what it gained and cost, measured before and after."""

    model: keras.Model | None  # None in a finished job's snapshot: the model is saved, not kept
    config: FineTuneConfig
    drawings_trained: int  # drawings the model learnt from
    drawings_held_out: int  # drawings kept out to measure (0: no held-out accuracy)
    held_out_before: float | None
    held_out_after: float | None
    mnist_test_before: float
    mnist_test_after: float
    seconds: float

    def summary(self) -> dict:
        """The figures, JSON-ready, for a saved model's metadata."""
        figures = asdict(self)
        del figures["model"]
        figures["config"] = self.config.to_dict()
        return figures


class _Reporter(keras.callbacks.Callback):
    def __init__(self, steps: int, listener: FineTuneListener) -> None:
        super().__init__()
        self.steps = steps
        self.listener = listener

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.listener.on_step(
            FineTuneProgress(
                step=min(batch + 1, self.steps),
                steps=self.steps,
                loss=float(logs.get("loss", float("nan"))),
                accuracy=float(logs.get("accuracy", float("nan"))),
            )
        )


class _StopOnEvent(keras.callbacks.Callback):
    """Ends ``fit`` after the compiled call in progress once ``stop_event`` is set."""

    def __init__(self, stop_event: threading.Event) -> None:
        super().__init__()
        self.stop_event = stop_event

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            self.model.stop_training = True  # Keras checks it after every compiled call


def held_out_size(counts: np.ndarray, fraction: float = FineTuneConfig.holdout_fraction) -> int:
    """How many drawings `split_held_out` keeps out, given how many there are of each digit."""
    return sum(_held_out_of(count, fraction) for count in counts)


def _held_out_of(count: int, fraction: float) -> int:
    """Drawings of one digit held out: ``fraction`` of them, rounded down."""
    return int(count * fraction)


def split_held_out(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices to train on and to hold out: ``fraction`` of each digit's drawings, rounded down.

    Per digit, so a digit drawn only a few times is not held out entirely.
    """
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for digit in range(NUM_CLASSES):
        indices = rng.permutation(np.flatnonzero(labels == digit))
        n_held_out = _held_out_of(len(indices), fraction)
        held_out.extend(indices[:n_held_out])
        train.extend(indices[n_held_out:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(held_out, dtype=np.int64))


def copy_model(model: keras.Model, learning_rate: float, steps_per_execution: int) -> keras.Model:
    """A compiled copy with the same weights: training it leaves ``model`` as it was."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return compile_model(copy, learning_rate, steps_per_execution)


def _mixed_batches(
    drawings: np.ndarray,
    labels: np.ndarray,
    replay: tuple[np.ndarray, np.ndarray],
    config: FineTuneConfig,
) -> tf.data.Dataset:
    """Endless batches: half augmented drawings, half MNIST digits, both reshuffled (the
    digits by index, holding them once: ``training.shuffled_batches``)."""
    half = config.batch_size // 2
    yours = (
        tf.data.Dataset.from_tensor_slices((drawings, labels.astype(np.int32)))
        .shuffle(len(drawings), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(half, drop_remainder=True)
    )
    yours = augment_dataset(yours, seed=config.seed)
    replay_images, replay_labels = replay
    mnist = shuffled_batches(
        replay_images[..., np.newaxis],
        replay_labels.astype(np.int32),
        half,
        seed=config.seed + 1,
        whole=True,
    ).repeat()
    return (
        tf.data.Dataset.zip(yours, mnist)
        .map(lambda a, b: (tf.concat([a[0], b[0]], 0), tf.concat([a[1], b[1]], 0)))
        .prefetch(PREFETCH_BATCHES)
        .with_options(WITHOUT_AUTOTUNE)  # no idle wait for an autotuning thread at the end
    )


def _accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float | None:
    if len(images) == 0:
        return None
    return float(np.mean(predict(model, images).argmax(axis=1) == labels))


def fine_tune(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    config: FineTuneConfig = FineTuneConfig(),
    listener: FineTuneListener | None = None,
    mnist: tuple[Split, Split] | None = None,
    stop_event: threading.Event | None = None,
) -> FineTuneResult | None:
    """Fine-tune a copy of ``model`` on drawings and their labels; ``model`` stays unchanged.

    ``images`` are (N, 28, 28) model inputs, floats in [0, 1] as ``canvas_to_mnist`` returns
    them (uint8 0..255 works too), ``labels`` their digits. ``mnist`` is
    ``load_mnist()``'s result; by default it is loaded (honouring ``$MNIST_NPZ``).

    Safe to run in a background thread. Once ``stop_event`` is set it ends at its next check
    (before training, after each compiled call, before the final scores) and returns None.
    """
    started = time.perf_counter()
    images = prepare_images(images)
    labels = np.asarray(labels).astype(np.int64)
    if labels.shape != (len(images),):
        raise ValueError(f"expected one label per image ({len(images)}), got {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError("labels must be digits 0..9")
    train_indices, held_out_indices = split_held_out(labels, config.holdout_fraction, config.seed)
    if len(train_indices) == 0:
        raise ValueError("no drawings to learn from: draw and label some first")
    (x_train, y_train), (x_test, y_test) = mnist if mnist is not None else load_mnist()

    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    replay = rng.choice(len(x_train), min(config.replay_images, len(x_train)), replace=False)
    held_out = (images[held_out_indices], labels[held_out_indices])
    held_out_before = _accuracy(model, *held_out)
    mnist_before = evaluate(model, x_test, y_test).accuracy

    stop_event = stop_event or threading.Event()  # without one, nothing stops it
    if stop_event.is_set():
        return None
    tuned = copy_model(model, config.learning_rate, config.steps_per_execution)
    batches = _mixed_batches(
        images[train_indices], labels[train_indices], (x_train[replay], y_train[replay]), config
    )
    callbacks = [_Reporter(config.steps, listener)] if listener is not None else []
    callbacks.append(_StopOnEvent(stop_event))  # after the report, so a Stop it sees counts
    with releasing_traced_steps():  # else each fine-tune keeps ~10 MB for good
        tuned.fit(
            batches, steps_per_epoch=config.steps, callbacks=callbacks, shuffle=False, verbose=0
        )
    if stop_event.is_set():
        return None

    return FineTuneResult(
        model=tuned,
        config=config,
        drawings_trained=len(train_indices),
        drawings_held_out=len(held_out_indices),
        held_out_before=held_out_before,
        held_out_after=_accuracy(tuned, *held_out),
        mnist_test_before=mnist_before,
        mnist_test_after=evaluate(tuned, x_test, y_test).accuracy,
        seconds=time.perf_counter() - started,
    )
