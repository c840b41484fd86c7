import threading

import numpy as np
import pytest
import tensorflow as tf

from mnist_cnn.augment import augment_dataset
from mnist_cnn.data import load_mnist
from mnist_cnn.evaluation import evaluate
from mnist_cnn.training import TrainConfig, split_validation, train


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


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"learning_rate": -1}, "learning_rate must be positive"),
        ({"validation_split": 0.9}, "validation_split"),
        ({"batch_size": 0}, "batch_size"),
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


def test_stop_event_ends_training_between_batches(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    stop = threading.Event()
    recorder = Recorder(stop_after_batches=2, stop_event=stop)
    config = TrainConfig(epochs=3, steps_per_execution=1)
    result = train(x_train, y_train, config, recorder, stop_event=stop)
    assert result.stopped
    assert result.history == []  # stopped inside the first epoch: no epoch completed
    assert len(recorder.batches) == 2


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


def test_augmented_training_learns(sample_mnist):
    (x_train, y_train), (x_test, y_test) = sample_mnist
    result = train(x_train, y_train, TrainConfig(epochs=3, augment=True))
    assert evaluate(result.model, x_test, y_test).accuracy > 0.5


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
