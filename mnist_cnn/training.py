"""Train the CNN with progress reports and a stop switch.

``train`` is ``model.fit`` on a recipe (``TrainConfig``), fed by a ``tf.data`` pipeline and
running several batches per compiled call (both faster on a CPU, same maths). It
reports to a listener after every compiled call and after every epoch, and stops
between batches when another thread sets ``stop_event``: what the web app needs to
run it in a background thread and draw live charts.

Two named recipes train the same network (the 121,930-parameter seed CNN unless another
``ModelSpec`` is given) for the same 5 epochs:

* **seed** (``TrainConfig()``, the default): Adam at a constant 1e-3, no augmentation.
  The product's reference recipe.
* **tuned** (``TrainConfig.tuned()``): batches of 64, and Adam on a schedule that warms up
  linearly to a higher peak (5e-3) over half an epoch and then decays along a cosine to zero,
  plus light random shifts and rotations. The warm-up lets Adam settle before the large steps;
  the decay ends training with small, precise steps instead of bouncing around the minimum;
  the distortions stop the model from memorising exact pixel positions. Batches of 64 halve
  the train steps, each cheaper per image on a CPU, which more than pays for the distortions
  (they run in the input pipeline): the tuned recipe trains faster than the seed recipe (the
  README's recipe section has the figures, and those of the batch-32 recipe it replaced).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf

from mnist_cnn.architecture import SEED, ModelSpec
from mnist_cnn.augment import AUGMENTATIONS, augment_dataset
from mnist_cnn.coarse_scans import coarse_scans
from mnist_cnn.describe import CUSTOM_RECIPE
from mnist_cnn.memory import give_back_freed_memory
from mnist_cnn.model import build_model
from mnist_cnn.shapes import INPUT_SHAPE
from mnist_cnn.traced_steps import quiet_new_model_retracing, releasing_traced_steps

# Small, as inference.BATCH_SIZE and for the same reason: a server keeps the buffers of the
# largest batch it has validated (1,024 left ~50 MB more after a 1-epoch run than 128).
VALIDATION_BATCH_SIZE = 128
# Batches made ahead of the train step, by a background thread of tf.data's.
PREFETCH_BATCHES = 4
SCHEDULES = ("constant", "warmup_cosine")
BATCH_SIZES = (16, 32, 64, 128, 256)  # what the Train page offers
RECIPES = ("seed", "tuned")
# The tuned recipe's settings (see the module docstring); measured in benchmarks/bench_training.py.
TUNED_BATCH_SIZE = 64
TUNED_PEAK_LEARNING_RATE = 5e-3
TUNED_WARMUP_EPOCHS = 0.5
# Fields that make a recipe: the seed and the batches per call do not change what is trained,
# and a recipe run for more or fewer epochs is still that recipe (its schedule stretches).
_NOT_RECIPE = ("epochs", "seed", "steps_per_execution")


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe. The defaults are the project's seed recipe: 5 epochs, 10% validation.

    ``TrainConfig.tuned()`` is the tuned recipe; ``TrainConfig.from_recipe(name, **changes)``
    picks one by name. Any field can still be set by hand (``recipe`` then says "custom").
    """

    epochs: int = 5
    batch_size: int = 32
    # The constant learning rate, or the peak of the "warmup_cosine" schedule.
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    seed: int = 42
    augment: bool = False
    # Batches per compiled call: a speed setting that does not change the result.
    steps_per_execution: int = 16
    # "constant", or "warmup_cosine": linear warm-up from 0 to learning_rate over
    # warmup_epochs, then cosine decay to 0 at the end of the last epoch.
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    # Which distortions augment=True applies: see mnist_cnn.augment.AUGMENTATIONS.
    augmentation: str = "standard"
    # Coarse scans of training digits added to the training images (mnist_cnn.coarse_scans).
    coarse_scans: int = 0

    def __post_init__(self) -> None:
        checks = {
            "epochs must be at least 1": self.epochs >= 1,
            "batch_size must be at least 1": self.batch_size >= 1,
            "learning_rate must be positive": self.learning_rate > 0,
            "validation_split must be in [0, 0.5]": 0 <= self.validation_split <= 0.5,
            "steps_per_execution must be at least 1": self.steps_per_execution >= 1,
            f"schedule must be one of {', '.join(SCHEDULES)}": self.schedule in SCHEDULES,
            "warmup_epochs must be in [0, epochs)": 0 <= self.warmup_epochs < self.epochs,
            f"augmentation must be one of {', '.join(AUGMENTATIONS)}": (
                self.augmentation in AUGMENTATIONS
            ),
            "coarse_scans must be at least 0": self.coarse_scans >= 0,
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def tuned(cls, **changes) -> TrainConfig:
        """The tuned recipe: batch 64, warm-up + cosine to a 5e-3 peak, light augmentation."""
        settings = {
            "batch_size": TUNED_BATCH_SIZE,
            "learning_rate": TUNED_PEAK_LEARNING_RATE,
            "schedule": "warmup_cosine",
            "warmup_epochs": TUNED_WARMUP_EPOCHS,
            "augment": True,
            "augmentation": "light",
        }
        return cls(**{**settings, **changes})

    @classmethod
    def from_recipe(cls, name: str, **changes) -> TrainConfig:
        """``"seed"`` (the default recipe) or ``"tuned"``, with any field changed."""
        if name not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {name!r}")
        return cls.tuned(**changes) if name == "tuned" else cls(**changes)

    @property
    def recipe(self) -> str:
        """The recipe's name: "seed" or "tuned" when every recipe field matches, else "custom"."""
        mine = _recipe_fields(self)
        for name in RECIPES:
            if mine == _recipe_fields(TrainConfig.from_recipe(name)):
                return name
        return CUSTOM_RECIPE

    def learning_rate_schedule(
        self, batches_per_epoch: int
    ) -> float | keras.optimizers.schedules.LearningRateSchedule:
        """What the optimizer gets: the constant rate, or the schedule over this run's steps."""
        if self.schedule == "constant":
            return self.learning_rate
        total_steps = self.epochs * batches_per_epoch
        warmup_steps = round(self.warmup_epochs * batches_per_epoch)
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(total_steps - warmup_steps, 1),
            warmup_target=self.learning_rate,
            warmup_steps=warmup_steps,
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "recipe": self.recipe}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Back from ``to_dict`` (or older metadata): unknown keys such as "recipe" are ignored."""
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def _recipe_fields(config: TrainConfig) -> dict:
    values = asdict(config)
    for name in _NOT_RECIPE:
        values.pop(name)
    if not values["augment"]:
        values.pop("augmentation")  # which distortions does not matter when there are none
    if values["schedule"] == "constant":
        values.pop("warmup_epochs")
    if not values["coarse_scans"]:
        values.pop("coarse_scans")  # a recipe saved before the field existed had none
    return values


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
    learning_rate: float | None = None  # the optimizer's rate after this report's last batch


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
                    learning_rate=float(self.model.optimizer.learning_rate),
                )
            )
        self.last_batch, self.last_time = done, now
        self.last_loss_sum, self.last_correct = loss_sum, correct

    def on_test_batch_end(self, batch, logs=None):
        # The validation pass at an epoch's end takes seconds on the full MNIST: stop in it too.
        if self.stop_event is not None and self.stop_event.is_set():
            raise _Stopped

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
    if config.coarse_scans:
        scanned, scanned_labels = coarse_scans(
            x_train[..., 0], y_train, config.coarse_scans, config.seed
        )
        if np.issubdtype(x_train.dtype, np.floating):  # float images are in [0, 1]
            scanned = scanned / np.float32(255)
        x_train = np.concatenate([x_train, scanned[..., np.newaxis].astype(x_train.dtype)])
        y_train = np.concatenate([y_train, scanned_labels])
    train = shuffled_batches(x_train, y_train, config.batch_size, config.seed)
    if config.augment:
        train = augment_dataset(train, seed=config.seed, kind=config.augmentation)
    validation = None
    if len(x_val):
        validation = (
            tf.data.Dataset.from_tensor_slices((x_val, y_val))
            .batch(VALIDATION_BATCH_SIZE)
            .map(_scaled)
            .prefetch(PREFETCH_BATCHES)
            .with_options(WITHOUT_AUTOTUNE)
        )
    batches_per_epoch = -(-len(x_train) // config.batch_size)
    train = train.prefetch(PREFETCH_BATCHES).with_options(WITHOUT_AUTOTUNE)
    return train, validation, batches_per_epoch


def shuffled_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, whole: bool = False
) -> tf.data.Dataset:
    """Batches of (images scaled to [0, 1], labels) in a new order each epoch, every image once.

    A batch is one gather from the tensors by a slice of the epoch's permutation, rather than
    ``shuffle`` and ``batch`` over single images: those cost tf.data about 0.4 ms of CPU per
    batch of 32 (this, about 0.2 ms), which the train step, on the same two cores, then lacks.
    The permutation comes from a generator whose state lives outside the pipeline, so each
    epoch (each new iterator) draws a new one, the same ones for the same seed. ``whole``
    drops an epoch's last, short batch, so that every batch has ``batch_size`` images.

    Unlike ``shuffle``, which fills a buffer with copies of the images, this holds only the
    one copy in TensorFlow's memory.
    """
    images, labels = tf.constant(images), tf.constant(labels)
    count = len(images)
    end = count - batch_size + 1 if whole else count
    generator = tf.random.Generator.from_seed(seed)

    @tf.autograph.experimental.do_not_convert
    def epoch(_) -> tf.data.Dataset:
        order = tf.argsort(generator.uniform([count]))

        @tf.autograph.experimental.do_not_convert
        def batch(start: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            indices = order[start : start + batch_size]
            return _scaled(tf.gather(images, indices), tf.gather(labels, indices))

        return tf.data.Dataset.range(0, end, batch_size).map(batch)

    # flat_map hides the length: stated, Keras knows an epoch's steps and ends it without a
    # "ran out of data" warning.
    batches = count // batch_size if whole else -(-count // batch_size)
    return (
        tf.data.Dataset.range(1)
        .flat_map(epoch)
        .apply(tf.data.experimental.assert_cardinality(batches))
    )


def _without_autotune() -> tf.data.Options:
    """Options that turn tf.data's autotuning off, with fixed parallelism and buffers instead.

    An autotuned pipeline runs a model thread that sleeps between its optimisation passes, and
    an iterator's destructor waits for that sleep to end: at the end of a run (and after a
    Stop) ``fit`` sat idle for 6-8 s in many runs on a 2-core CPU before it returned. Fixed
    values do as well here: ``augment.PARALLEL_CALLS`` and ``PREFETCH_BATCHES``.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


WITHOUT_AUTOTUNE = _without_autotune()
quiet_new_model_retracing()  # every run traces a new model's train step, by design


@tf.autograph.experimental.do_not_convert
def _scaled(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """uint8 pixels to float32 in [0, 1]; float images are taken to be in [0, 1] already."""
    return tf.image.convert_image_dtype(images, tf.float32), labels


def build_training_state(model: keras.Model, labels_dtype: np.dtype) -> None:
    """Create the optimizer's and the metrics' variables before ``fit`` traces its train step.

    Without a distribution strategy, Keras 3 creates them while it traces the first train step,
    and ``tf.function``, having seen variables created, then traces the whole step a second
    time: the costliest part of a run's set-up. Computing the loss and the metrics once, eagerly,
    on one blank example creates them here instead, so the step is traced once. Nothing that is
    trained changes: the model is not run, no weight moves, and ``fit`` resets the metrics before
    its first batch.
    """
    image = tf.zeros((1, *INPUT_SHAPE))
    label = tf.zeros((1,), tf.as_dtype(labels_dtype))
    prediction = tf.zeros((1, *model.output_shape[1:]))
    model.compute_loss(image, label, prediction, training=False)
    model.compute_metrics(image, label, prediction)
    model.optimizer.build(model.trainable_variables)


def train(
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig = TrainConfig(),
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
    spec: ModelSpec = SEED,
) -> TrainingResult:
    """Train a fresh network (``spec``'s, the seed CNN by default) on uint8 ``images``
    (N, 28, 28) and their ``labels``.

    Safe to run in a background thread. If ``stop_event`` is set, training stops
    before the next batch and the result has ``stopped=True``.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    train_data, validation_data, batches_per_epoch = make_datasets(images, labels, config)
    model = build_model(
        config.learning_rate_schedule(batches_per_epoch), config.steps_per_execution, spec
    )
    build_training_state(model, labels.dtype)
    reporter = _Reporter(config, batches_per_epoch, listener, stop_event)
    # A stop pressed while the data and model were being prepared ends the run here.
    stopped = stop_event is not None and stop_event.is_set()
    try:
        if not stopped:
            with releasing_traced_steps():  # else each run keeps ~10 MB for good
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
    del train_data, validation_data  # the run's copy of the data and its buffers, then
    give_back_freed_memory()  # ~80 MB that would otherwise stay with the process
    return TrainingResult(
        model=model,
        config=config,
        history=reporter.history,
        stopped=stopped,
        seconds=time.perf_counter() - started,
    )
