"""Distorting a digit and sweeping its rotation (mnist_cnn/probe.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mnist_cnn.inference import predict
from mnist_cnn.probe import SWEEP_ANGLES, Distortion, answer_flips, distort, rotation_sweep
from mnist_cnn.store import bundled_record, load_record


@pytest.fixture(scope="module")
def digit(sample_mnist) -> np.ndarray:
    _, (images, _) = sample_mnist
    return images[0].astype(np.float32) / 255.0  # a 7


def centre_of_ink(image: np.ndarray) -> np.ndarray:
    return np.array(ndimage.center_of_mass(image))


def test_no_distortion_changes_nothing(digit) -> None:
    np.testing.assert_allclose(distort(digit, Distortion()), digit, atol=1e-6)
    np.testing.assert_allclose(distort((digit * 255).round().astype(np.uint8), Distortion()),
                               digit, atol=1 / 255)  # fmt: skip


def test_shift_moves_the_ink_right_and_down(digit) -> None:
    moved = distort(digit, Distortion(right=4, down=-3))
    np.testing.assert_allclose(centre_of_ink(moved) - centre_of_ink(digit), [-3, 4], atol=0.2)


def test_rotation_turns_counter_clockwise_about_the_centre(digit) -> None:
    turned = distort(digit, Distortion(angle=30))
    expected = ndimage.rotate(digit, 30, reshape=False, order=1)
    np.testing.assert_allclose(turned, np.clip(expected, 0, 1), atol=1e-4)


def test_scale_and_stroke_change_the_amount_of_ink(digit) -> None:
    ink = digit.sum()
    assert distort(digit, Distortion(scale=0.5)).sum() == pytest.approx(ink / 4, rel=0.1)
    assert distort(digit, Distortion(scale=1.5)).sum() > 1.5 * ink  # some leaves the frame
    thicker = [distort(digit, Distortion(stroke=s)).sum() for s in (0.5, 1.0, 2.0)]
    assert ink < thicker[0] < thicker[1] < thicker[2]
    assert distort(digit, Distortion(stroke=-0.5)).sum() < ink
    assert (
        distort(digit, Distortion(stroke=-1.0)).sum()
        < distort(digit, Distortion(stroke=-0.5)).sum()
    )


def test_values_stay_in_range(digit) -> None:
    for distortion in (Distortion(stroke=2, scale=1.5), Distortion(angle=-45, right=6, down=6)):
        changed = distort(digit, distortion)
        assert changed.shape == (28, 28) and changed.dtype == np.float32
        assert changed.min() >= 0 and changed.max() <= 1
    with pytest.raises(ValueError, match="scale must be positive"):
        Distortion(scale=0)


def test_rotation_sweep_predicts_each_angle(digit) -> None:
    model = load_record(bundled_record())
    distortion = Distortion(right=1, stroke=0.5)
    probabilities = rotation_sweep(model, digit, distortion)
    assert probabilities.shape == (len(SWEEP_ANGLES), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    upright = int(np.flatnonzero(SWEEP_ANGLES == 0)[0])
    np.testing.assert_allclose(
        probabilities[upright], predict(model, distort(digit, distortion)[None])[0], atol=1e-6
    )
    assert probabilities[upright].argmax() == 7
    # A 7 on its side is no longer read as a 7.
    assert probabilities[0].argmax() != 7 or probabilities[-1].argmax() != 7


def test_answer_flips_marks_where_the_winner_changes() -> None:
    angles = np.array([-10, 0, 10, 20])
    probabilities = np.eye(10)[[4, 7, 7, 1]]
    assert answer_flips(angles, probabilities) == [(0.0, 4, 7), (20.0, 7, 1)]
    assert answer_flips(angles, np.eye(10)[[7, 7, 7, 7]]) == []
