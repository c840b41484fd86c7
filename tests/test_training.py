import ast
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from mnist_cnn.augment import add_flags_to_ones, augment_dataset
from mnist_cnn.data import load_mnist
from mnist_cnn.evaluation import evaluate
from mnist_cnn.model import build_model
from mnist_cnn.training import (
    BATCH_SIZES,
    TrainConfig,
    build_training_state,
    make_datasets,
    shuffled_batches,
    split_validation,
    train,
)


class Recorder:
    def __init__(self, stop_after_batches=None, stop_event=None):
        self.batches, self.epochs = [], []
        self.stop_after_batches = stop_after_batches
        self.stop_event = stop_event

    def on_batch(self, progress):
        self.batches.append(progress)
        if self.stop_after_batches and len(self.batches) >= self.stop_after_batches:
            self.stop_event.set()

    def on_epoch(self, progress):
        self.epochs.append(progress)


def test_default_config_is_the_seed_recipe():
    config = TrainConfig()
    assert (config.epochs, config.validation_split, config.batch_size) == (5, 0.1, 32)
    assert config.learning_rate == 1e-3 and config.augment is False
    assert config.schedule == "constant" and config.recipe == "seed"
    assert TrainConfig.from_recipe("seed") == config


def test_tuned_recipe_changes_only_the_batches_schedule_and_augmentation():
    seed, tuned = TrainConfig(), TrainConfig.tuned()
    assert tuned.recipe == "tuned" and TrainConfig.from_recipe("tuned") == tuned
    # Same model, data and epochs: what is trained and for how many epochs stay the same.
    assert (tuned.epochs, tuned.validation_split, tuned.seed) == (
        seed.epochs,
        seed.validation_split,
        seed.seed,
    )
    assert (tuned.batch_size, tuned.schedule, tuned.learning_rate, tuned.warmup_epochs) == (
        64,
        "warmup_cosine",
        5e-3,
        0.5,
    )
    assert tuned.augment and tuned.augmentation == "light"


def test_recipe_names_survive_the_seed_epochs_and_speed_settings_but_not_other_changes():
    assert TrainConfig.tuned(seed=7, epochs=10, steps_per_execution=1).recipe == "tuned"
    assert TrainConfig(seed=7, epochs=1).recipe == "seed"
    assert TrainConfig(augment=True).recipe == "custom"
    assert TrainConfig.tuned(learning_rate=1e-3).recipe == "custom"
    # Unused settings do not make a recipe custom: no schedule, no warm-up to speak of.
    assert TrainConfig(augmentation="drawn").recipe == "seed"


def test_config_round_trips_through_its_metadata_and_reads_old_metadata():
    tuned = TrainConfig.tuned(seed=3)
    saved = tuned.to_dict()
    assert saved["recipe"] == "tuned"
    assert TrainConfig.from_dict(saved) == tuned
    old = {"epochs": 10, "batch_size": 32, "learning_rate": 0.001, "validation_split": 0.1}
    assert TrainConfig.from_dict({**old, "augment": True}).schedule == "constant"


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(ValueError, match="recipe must be one of seed, tuned"):
        TrainConfig.from_recipe("fast")


def test_constant_schedule_is_the_plain_learning_rate():
    assert TrainConfig().learning_rate_schedule(batches_per_epoch=100) == 1e-3


def test_tuned_schedule_warms_up_then_decays_to_zero():
    batches_per_epoch = 100
    schedule = TrainConfig.tuned().learning_rate_schedule(batches_per_epoch)
    steps = np.arange(0, 501, 5)
    rates = np.array([float(schedule(step)) for step in steps])
    warmup_end = 50  # half an epoch
    assert rates[0] == pytest.approx(0.0)
    # Linear warm-up to the peak...
    assert rates[steps == 25][0] == pytest.approx(2.5e-3, rel=1e-4)
    assert rates[steps == warmup_end][0] == pytest.approx(5e-3, rel=1e-4)
    assert np.all(np.diff(rates[steps <= warmup_end]) > 0)
    # ...then a cosine down to zero at the end of the last epoch, halfway at its middle.
    assert np.all(np.diff(rates[steps >= warmup_end]) < 0)
    assert rates[steps == 275][0] == pytest.approx(2.5e-3, rel=1e-3)
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)
    assert rates.max() == pytest.approx(5e-3, rel=1e-4)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"learning_rate": -1}, "learning_rate must be positive"),
        ({"validation_split": 0.9}, "validation_split"),
        ({"batch_size": 0}, "batch_size"),
        ({"schedule": "step"}, "schedule must be one of constant, warmup_cosine"),
        ({"warmup_epochs": 5}, r"warmup_epochs must be in \[0, epochs\)"),
        ({"augmentation": "heavy"}, "augmentation must be one of standard, light, drawn"),
    ],
)
def test_config_rejects_nonsense(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_validation_split_holds_out_the_last_tenth_like_keras():
    images, labels = np.arange(100), np.arange(100)
    (x_train, _), (x_val, y_val) = split_validation(images, labels, 0.1)
    assert len(x_train) == 90 and x_val.tolist() == list(range(90, 100))
    assert y_val.tolist() == x_val.tolist()


def test_train_reports_batches_and_epochs(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    recorder = Recorder()
    result = train(x_train, y_train, TrainConfig(epochs=2, steps_per_execution=4), recorder)
    assert not result.stopped
    assert [e.epoch for e in recorder.epochs] == [1, 2] == [e.epoch for e in result.history]
    batches_per_epoch = -(-1080 // 32)
    first_epoch = [b for b in recorder.batches if b.epoch == 1]
    assert first_epoch[-1].batch == batches_per_epoch == first_epoch[-1].batches_per_epoch
    assert all(b.samples_per_second > 0 and 0 <= b.accuracy <= 1 for b in recorder.batches)
    assert all(e.val_loss is not None and 0 <= e.val_accuracy <= 1 for e in recorder.epochs)
    # Learning happens: the second epoch's training loss is lower than the first's.
    assert recorder.epochs[1].loss < recorder.epochs[0].loss
    assert result.model.count_params() == 121_930


def test_no_variable_is_created_while_the_train_step_is_traced(sample_mnist):
    """A variable made during a trace makes tf.function trace the whole train step again."""
    (x_train, y_train), _ = sample_mnist
    made_while_tracing = []

    def record(next_creator, **kwargs):
        if tf.inside_function():
            made_while_tracing.append(kwargs.get("name"))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(record):
        result = train(x_train, y_train, TrainConfig(epochs=1))
    assert result.history[0].val_accuracy is not None  # the validation pass was traced too
    assert made_while_tracing == []


def test_building_the_training_state_moves_no_weight():
    model = build_model(1e-3)
    weights = [w.copy() for w in model.get_weights()]
    build_training_state(model, np.dtype(np.uint8))
    assert model.optimizer.built and len(model.optimizer.variables) > 1
    assert all(metric.variables for metric in model.metrics)  # loss and accuracy
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_progress_reports_the_learning_rate_as_the_schedule_moves(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    recorder = Recorder()
    config = TrainConfig.tuned(epochs=2, steps_per_execution=4)
    train(x_train, y_train, config, recorder)
    rates = [b.learning_rate for b in recorder.batches]
    batches_per_epoch = recorder.batches[0].batches_per_epoch
    schedule = config.learning_rate_schedule(batches_per_epoch)
    for report in recorder.batches:
        step = (report.epoch - 1) * batches_per_epoch + report.batch
        assert report.learning_rate == pytest.approx(float(schedule(step)), abs=1e-7)
    assert max(rates) == pytest.approx(5e-3, rel=0.1)  # reached the peak (give or take a step)
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)  # and decayed to zero


def test_seed_recipe_reports_its_constant_learning_rate(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    recorder = Recorder()
    train(x_train, y_train, TrainConfig(epochs=1, steps_per_execution=8), recorder)
    assert [b.learning_rate for b in recorder.batches] == pytest.approx(
        [1e-3] * len(recorder.batches)
    )


def test_stop_event_ends_training_between_batches(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    stop = threading.Event()
    recorder = Recorder(stop_after_batches=2, stop_event=stop)
    config = TrainConfig(epochs=3, steps_per_execution=1)
    result = train(x_train, y_train, config, recorder, stop_event=stop)
    assert result.stopped
    assert result.history == []  # stopped inside the first epoch: no epoch completed
    assert len(recorder.batches) == 2


class StopAtFirstEpochEnd(Recorder):
    """Presses Stop as the last batch of the first epoch is reported, before validation."""

    def on_batch(self, progress):
        super().on_batch(progress)
        if progress.batch == progress.batches_per_epoch:
            self.stop_event.set()


def test_stop_during_the_validation_pass_ends_training_there(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    stop = threading.Event()
    recorder = StopAtFirstEpochEnd(stop_event=stop)
    result = train(x_train, y_train, TrainConfig(epochs=2), recorder, stop_event=stop)
    assert result.stopped
    # The validation pass was cut short, so the first epoch never ended.
    assert result.history == [] and recorder.epochs == []
    assert recorder.batches[-1].batch == recorder.batches[-1].batches_per_epoch


def test_training_runs_in_a_background_thread(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(result=train(x_train, y_train, TrainConfig(epochs=1)))
    )
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert len(outcome["result"].history) == 1


def test_augmentation_keeps_images_valid_but_changes_them(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    images = (x_train[:64, ..., np.newaxis] / 255.0).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices((images, y_train[:64])).batch(64)
    augmented, labels = next(iter(augment_dataset(batches, seed=0)))
    augmented = augmented.numpy()
    assert augmented.shape == images.shape
    assert augmented.min() >= 0 and augmented.max() <= 1
    assert np.array_equal(labels.numpy(), y_train[:64])
    changed = np.abs(augmented - images).reshape(64, -1).max(axis=1) > 0.1
    assert changed.mean() > 0.5


@pytest.mark.parametrize("kind", ["light", "drawn", "hands"])
def test_affine_augmentations_keep_the_ink_and_differ_each_epoch(sample_mnist, kind):
    (x_train, y_train), _ = sample_mnist
    images = (x_train[:64, ..., np.newaxis] / 255.0).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices((images, y_train[:64])).batch(64)
    augmented = augment_dataset(batches, seed=0, kind=kind)
    first, labels = next(iter(augmented))
    second, _ = next(iter(augmented))  # the next epoch's pass over the same batch
    first, second = first.numpy(), second.numpy()
    assert first.shape == images.shape and first.min() >= 0 and first.max() <= 1
    assert np.array_equal(labels.numpy(), y_train[:64])
    assert (np.abs(first - images).reshape(64, -1).max(axis=1) > 0.1).mean() > 0.9
    assert not np.allclose(first, second)
    # A warp moves ink around, it neither wipes nor doubles it (strokes may thin or thicken).
    ink_ratio = first.reshape(64, -1).sum(axis=1) / images.reshape(64, -1).sum(axis=1)
    assert 0.5 < np.median(ink_ratio) < 1.5


def test_drawn_augmentation_flags_only_the_ones_at_their_top_left(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    images = (x_train[..., np.newaxis] / 255.0).astype(np.float32)
    flagged = add_flags_to_ones(
        tf.constant(images), tf.constant(y_train), tf.random.Generator.from_seed(0)
    ).numpy()
    added = (flagged - images)[..., 0]
    assert added.min() >= 0  # a pen stroke only adds ink
    changed = added.reshape(len(images), -1).max(axis=1) > 0.5
    ones = y_train == 1
    assert not changed[~ones].any()
    assert 0.3 < changed[ones].mean() < 0.7  # about half of the 1s
    # The flag starts at the top of the stroke and runs left of it.
    top_half, bottom_half = added[changed, :14].sum(), added[changed, 14:].sum()
    assert top_half > bottom_half
    ink_columns = np.argwhere(images[changed, ..., 0] > 0.5)[:, 2].mean()
    flag_columns = np.argwhere(added[changed, :14] > 0.5)[:, 2].mean()
    assert flag_columns < ink_columns


def test_augmented_training_learns(sample_mnist):
    (x_train, y_train), (x_test, y_test) = sample_mnist
    result = train(x_train, y_train, TrainConfig(epochs=3, augment=True))
    assert evaluate(result.model, x_test, y_test).accuracy > 0.5


@pytest.mark.full_mnist
def test_tuned_recipe_reaches_99_2_percent_on_full_mnist(full_mnist_npz):
    """One seed of the tuned recipe; benchmarks/bench_training.py reports the 3-seed median."""
    (x_train, y_train), (x_test, y_test) = load_mnist(full_mnist_npz)
    result = train(x_train, y_train, TrainConfig.tuned())
    assert len(result.history) == 5
    accuracy = evaluate(result.model, x_test, y_test).accuracy
    assert accuracy >= 0.992, f"test accuracy {accuracy:.4f}"


@pytest.mark.full_mnist
def test_default_recipe_reaches_98_5_percent_on_full_mnist(full_mnist_npz):
    """The product's promise: 5 epochs of the default recipe give >= 98.5% test accuracy."""
    (x_train, y_train), (x_test, y_test) = load_mnist(full_mnist_npz)
    result = train(x_train, y_train, TrainConfig())
    assert len(result.history) == 5
    accuracy = evaluate(result.model, x_test, y_test).accuracy
    assert accuracy >= 0.985, f"test accuracy {accuracy:.4f}"


def test_stop_pressed_before_the_first_batch_skips_training(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    stop = threading.Event()
    stop.set()
    recorder = Recorder()
    result = train(x_train, y_train, TrainConfig(epochs=5), recorder, stop_event=stop)
    assert result.stopped and result.history == [] and recorder.batches == []


def test_float_images_train_like_uint8_ones(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    config = TrainConfig(epochs=1, validation_split=0.1)
    from_uint8 = train(x_train, y_train, config).history[0]
    from_float = train(x_train / np.float32(255), y_train, config).history[0]
    assert from_float.loss == pytest.approx(from_uint8.loss, rel=1e-3)


def _epoch_labels(dataset: tf.data.Dataset) -> list[np.ndarray]:
    return [labels.numpy() for _, labels in dataset]


def test_shuffled_batches_visit_every_image_once_an_epoch_in_a_new_order():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    labels = np.arange(100)
    dataset = shuffled_batches(images, labels, batch_size=32, seed=1)
    assert len(dataset) == 4  # known to Keras, which then ends an epoch without a warning
    epochs = [_epoch_labels(dataset) for _ in range(3)]
    for batches in epochs:
        assert [len(batch) for batch in batches] == [32, 32, 32, 4]
        assert sorted(np.concatenate(batches)) == list(range(100))
    orders = [tuple(np.concatenate(batches)) for batches in epochs]
    assert len(set(orders)) == 3, "each epoch should be shuffled anew"
    # Images and labels stay paired, and the images are scaled to [0, 1].
    pixels, labels_seen = next(iter(dataset))
    np.testing.assert_allclose(pixels.numpy().ravel() * 255, labels_seen.numpy(), atol=1e-3)
    # The same seed gives the same orders.
    again = shuffled_batches(images, labels, batch_size=32, seed=1)
    assert tuple(np.concatenate(_epoch_labels(again))) == orders[0]


def test_training_datasets_do_not_autotune(sample_mnist):
    """Autotuning's model thread made an iterator's destructor wait seconds at a run's end."""
    (images, labels), _ = sample_mnist
    for recipe in ("seed", "tuned"):
        train_data, validation, _ = make_datasets(images, labels, TrainConfig.from_recipe(recipe))
        assert train_data.options().autotune.enabled is False
        assert validation.options().autotune.enabled is False


def _first_batches(config: TrainConfig, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    train_data, _, _ = make_datasets(images, labels, config)
    return np.concatenate([batch.numpy() for batch, _ in train_data.take(8)])


def test_the_tuned_recipe_feeds_the_same_distorted_batches_for_the_same_seed(sample_mnist):
    (images, labels), _ = sample_mnist
    tuned = TrainConfig.tuned(seed=3)
    first = _first_batches(tuned, images, labels)
    assert np.array_equal(first, _first_batches(tuned, images, labels))
    assert not np.array_equal(first, _first_batches(TrainConfig.tuned(seed=4), images, labels))


def test_the_cloud_box_benchmark_offers_the_batch_sizes_the_train_page_offers():
    """bench_cloud_box.py copies the sizes so that its driver never imports TensorFlow."""
    source = (Path(__file__).parent.parent / "benchmarks" / "bench_cloud_box.py").read_text()
    copied = next(
        node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "BATCH_SIZES"
    )
    assert ast.literal_eval(copied) == BATCH_SIZES
