"""Fine-tuning on a writer's drawings: a new model that reads them better, the old one untouched."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mnist_cnn import canvas_to_mnist, load_model, predict
from mnist_cnn.fine_tuning import (
    FineTuneConfig,
    FineTuneProgress,
    fine_tune,
    held_out_size,
    split_held_out,
)
from sketchbook.sketches import QUIRKY_WRITER_STROKES, quirky_writer_set

# Enough batches for the quirky writer's misread digits to be learnt, few enough for a test.
TEST_STEPS = 160


@pytest.fixture(scope="module")
def writer() -> tuple[np.ndarray, np.ndarray]:
    """Six drawings of each digit by the quirky writer, as the Draw page prepares them."""
    canvases, labels = quirky_writer_set(n_per_digit=6, seed=3)
    return np.stack([canvas_to_mnist(canvas) for canvas in canvases]), labels


class Recorder:
    def __init__(self) -> None:
        self.reports: list[FineTuneProgress] = []

    def on_step(self, progress: FineTuneProgress) -> None:
        self.reports.append(progress)


def test_held_out_split_takes_a_share_of_each_digit() -> None:
    labels = np.array([0] * 10 + [1] * 4 + [2] * 1)
    train, held_out = split_held_out(labels, 0.25, seed=0)
    assert np.bincount(labels[held_out], minlength=3).tolist() == [2, 1, 0]
    assert sorted([*train, *held_out]) == list(range(len(labels)))
    again = split_held_out(labels, 0.25, seed=0)
    assert np.array_equal(again[1], held_out)
    assert held_out_size(np.bincount(labels), 0.25) == len(held_out) == 3


def test_no_drawing_is_held_out_until_a_digit_has_five() -> None:
    assert held_out_size(np.array([4] * 10)) == 0
    assert held_out_size(np.array([5, 9, 0, 0, 0, 0, 0, 0, 0, 0])) == 2


def test_a_quirky_writer_is_read_better_and_the_given_model_is_unchanged(
    writer, sample_mnist
) -> None:
    images, labels = writer
    model = load_model()
    weights_before = [w.copy() for w in model.get_weights()]
    first_half = np.arange(len(labels)) < len(labels) // 2  # labels cycle: 3 of each digit
    recorder = Recorder()

    result = fine_tune(
        model,
        images[first_half],
        labels[first_half],
        FineTuneConfig(steps=TEST_STEPS, holdout_fraction=0.0),
        listener=recorder,
        mnist=sample_mnist,
    )

    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), weights_before, strict=True)
    )
    assert result.model is not model
    assert result.model.input_shape == (None, 28, 28, 1)
    assert result.model.output_shape == (None, 10)
    assert result.drawings_trained == first_half.sum() and result.drawings_held_out == 0
    assert result.held_out_before is None and result.held_out_after is None
    assert 0.0 <= result.mnist_test_after <= 1.0

    unseen, truth = images[~first_half], labels[~first_half]
    before = np.mean(predict(model, unseen).argmax(axis=1) == truth)
    after = np.mean(predict(result.model, unseen).argmax(axis=1) == truth)
    assert before < 1.0, "the writer should be misread by the bundled model"
    assert after > before

    assert recorder.reports and recorder.reports[-1].step == TEST_STEPS
    assert [r.step for r in recorder.reports] == sorted(r.step for r in recorder.reports)


class StopAtFirstReport(Recorder):
    """Presses Stop when the first compiled call reports."""

    def __init__(self, stop_event: threading.Event) -> None:
        super().__init__()
        self.stop_event = stop_event

    def on_step(self, progress: FineTuneProgress) -> None:
        super().on_step(progress)
        self.stop_event.set()


def test_a_stop_ends_fine_tuning_after_the_call_in_progress_with_no_model(
    writer, sample_mnist
) -> None:
    images, labels = writer
    stop = threading.Event()
    listener = StopAtFirstReport(stop)
    result = fine_tune(
        load_model(),
        images,
        labels,
        FineTuneConfig(steps=TEST_STEPS),
        listener=listener,
        mnist=sample_mnist,
        stop_event=stop,
    )
    assert result is None
    assert len(listener.reports) == 1 and listener.reports[0].step < TEST_STEPS


def test_a_stop_before_training_trains_nothing(writer, sample_mnist) -> None:
    images, labels = writer
    stop = threading.Event()
    stop.set()
    recorder = Recorder()
    result = fine_tune(
        load_model(), images, labels, listener=recorder, mnist=sample_mnist, stop_event=stop
    )
    assert result is None and recorder.reports == []


def test_held_out_drawings_are_scored_before_and_after(writer, sample_mnist) -> None:
    images, labels = writer
    result = fine_tune(
        load_model(),
        images,
        labels,
        FineTuneConfig(steps=8, holdout_fraction=0.34),
        mnist=sample_mnist,
    )
    assert result.drawings_held_out == 2 * len(QUIRKY_WRITER_STROKES)
    assert result.drawings_trained + result.drawings_held_out == len(labels)
    assert 0.0 <= result.held_out_before <= 1.0 and 0.0 <= result.held_out_after <= 1.0
    assert set(result.summary()) >= {"held_out_before", "mnist_test_after", "config"}
    assert "model" not in result.summary()


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([1, 2]), "one label per image"),
        (np.array([1, 2, 10]), "digits 0..9"),
    ],
)
def test_bad_labels_are_refused(labels, message, writer, sample_mnist) -> None:
    images, _ = writer
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        fine_tune(load_model(), images[:3], labels, mnist=sample_mnist)


def test_uint8_inputs_are_accepted(writer, sample_mnist) -> None:
    images, labels = writer
    pixels = np.round(images * 255).astype(np.uint8)
    result = fine_tune(
        load_model(), pixels, labels, FineTuneConfig(steps=2, holdout_fraction=0.0),
        mnist=sample_mnist,
    )  # fmt: skip
    assert result.drawings_trained == len(labels)


@pytest.mark.parametrize(
    "changes", [{"steps": 0}, {"batch_size": 3}, {"holdout_fraction": 0.9}, {"learning_rate": 0}]
)
def test_config_is_checked(changes) -> None:
    with pytest.raises(ValueError):
        FineTuneConfig(**changes)
