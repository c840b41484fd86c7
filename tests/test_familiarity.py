"""The familiarity check: learnt from digits alone, it refuses what no digit looks like, and
the "not a digit" check goes on without it when it cannot be made."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mnist_cnn import digit_check, familiarity, settings
from mnist_cnn.conv_features import bundled_features, fingerprint
from mnist_cnn.data import DataError, shared_mnist
from mnist_cnn.digit_check import digit_likeness
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.store import bundled_record
from sketchbook.detector import detector_metadata
from sketchbook.sketches import NON_DIGIT_KINDS
from sketchbook.unseen_kinds import UNSEEN_KINDS, render_unseen


def unfamiliarity(canvas_or_image: np.ndarray) -> float:
    image = canvas_or_image
    if image.ndim == 3:
        image = canvas_to_mnist(image)
    return digit_likeness(image).unfamiliarity


def test_its_limit_was_set_for_the_bundled_model_and_kinds_it_never_trained_on() -> None:
    with np.load(digit_check.WEIGHTS_PATH, allow_pickle=False) as saved:
        assert str(saved["features_model"]) == fingerprint(bundled_record().model_file)
        assert 0.0 < float(saved["familiarity_limit"]) < 2.0  # distances of unit vectors
    made = detector_metadata()
    assert set(made["unseen_kinds"]) == set(UNSEEN_KINDS)
    assert set(made["unseen_kinds"]).isdisjoint(made["families"])
    assert set(NON_DIGIT_KINDS) <= set(made["families"])


def test_digits_are_familiar_and_the_nearest_reference_is_the_digit_itself(sample_mnist) -> None:
    (_, _), (x_test, _) = sample_mnist
    assert np.mean([unfamiliarity(image) > 1.0 for image in x_test]) <= 0.01
    shared = familiarity.references()
    assert shared.rows.shape == (familiarity.REFERENCE_DIGITS, familiarity.PRINCIPAL_DIRECTIONS)
    (x_train, _), _ = shared_mnist()
    # Nearest to its own projection: as far as what the directions leave out of it.
    left_out = np.sqrt(1.0 - np.square(shared.rows[:5]).sum(axis=1))
    assert shared.distances(x_train[:5]) == pytest.approx(left_out, abs=1e-3)
    # The rows of the digits that gave the directions are made as any other's.
    either_side = [0, familiarity.DIRECTION_DIGITS - 1, familiarity.DIRECTION_DIGITS]
    either_side.append(familiarity.REFERENCE_DIGITS - 1)
    assert shared.features(x_train[either_side]) == pytest.approx(
        shared.rows[either_side], abs=1e-5
    )


def test_distances_of_features_made_once_are_the_distances_of_the_images(sample_mnist) -> None:
    """digit_check makes the CNN's features once and hands them to both learned parts."""
    (_, _), (x_test, _) = sample_mnist
    unit = bundled_features().unit_features(x_test[:8])
    assert unit.shape == (8, 1600)
    assert np.linalg.norm(unit, axis=1) == pytest.approx(np.ones(8), abs=1e-5)
    shared = familiarity.references()
    assert shared.distances_of(unit) == pytest.approx(shared.distances(x_test[:8]), abs=1e-5)


@pytest.mark.parametrize("kind", ["hatching", "signature"])
def test_kinds_no_part_of_the_check_saw_are_refused(kind: str) -> None:
    refused = [not digit_check.looks_like_digit(canvas_to_mnist(render_unseen(kind, seed=s)))
               for s in range(10)]  # fmt: skip
    assert np.mean(refused) >= 0.8


def test_noise_is_unlike_any_digit_seen() -> None:
    rng = np.random.default_rng(0)
    assert unfamiliarity(rng.random((28, 28)).astype(np.float32)) > 1.0


def test_without_mnist_the_check_goes_on_without_familiarity(monkeypatch) -> None:
    def no_mnist(*_args, **_kwargs):
        raise DataError("no network")

    monkeypatch.setattr("mnist_cnn.data.shared_mnist", no_mnist)
    familiarity._shared_references.cache_clear()
    try:
        assert familiarity.references() is None
        image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
        likeness = digit_likeness(image)
        assert likeness.unfamiliarity == 0.0 and likeness.score > 1.0  # the limits still refuse
        assert np.isfinite(likeness.margin)  # the detector needs the CNN only, not MNIST
    finally:
        monkeypatch.undo()
        familiarity._shared_references.cache_clear()


def test_learned_parts_set_for_another_model_are_not_used_and_the_log_says_so(
    monkeypatch, caplog
) -> None:
    """Another bundled model's features mean nothing to this detector or limit: the measured
    limits judge alone."""
    detector = digit_check._detector()
    other = replace(detector, features_model="another model")
    monkeypatch.setattr(digit_check, "_detector", lambda: other)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    digit_check._warn_of_another_model.cache_clear()
    likeness = digit_likeness(image)
    assert likeness.unfamiliarity == 0.0 and likeness.margin == -np.inf
    assert likeness.score > 1.0  # noise: the measured limits still refuse it
    assert "set for bundled model another model" in caplog.text


@pytest.mark.parametrize(
    ("setting", "memory_mb", "asked"),
    [("", "690", False), ("", "1024", True), ("", "unlimited", True), ("1", "690", True),
     ("off", "4096", False)],
)  # fmt: skip
def test_the_familiarity_part_is_off_on_a_small_box_unless_asked_for(
    monkeypatch, setting: str, memory_mb: str, asked: bool
) -> None:
    monkeypatch.setenv(settings.FAMILIARITY_ENV, setting)
    monkeypatch.setenv(settings.MEMORY_MB_ENV, memory_mb)
    assert settings.familiarity_check() is asked
    if not asked:
        familiarity._shared_references.cache_clear()  # then off must not make them
    noise = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    assert (digit_likeness(noise).unfamiliarity > 1.0) is asked
    assert not digit_check.looks_like_digit(noise)  # refused either way: the limits see noise
    if not asked:
        assert familiarity._shared_references.cache_info().currsize == 0


def test_a_familiarity_setting_that_cannot_be_used_is_named(monkeypatch) -> None:
    monkeypatch.setenv(settings.FAMILIARITY_ENV, "sometimes")
    with pytest.raises(settings.SettingError, match="MNIST_CNN_FAMILIARITY"):
        settings.familiarity_check()
