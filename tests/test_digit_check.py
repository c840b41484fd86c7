"""The "not a digit" check: digits pass, blank-ish, noisy, filled and gridded inputs do not."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn.digit_check import digit_likeness, looks_like_digit
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.sketches import NON_DIGIT_KINDS, drawn_digit_set, render_non_digit


def prepared(canvas: np.ndarray):
    return canvas_to_mnist(canvas, return_stages=True)


def test_mnist_digits_pass(sample_mnist) -> None:
    (_, _), (x_test, _) = sample_mnist
    passed = [looks_like_digit(image) for image in x_test]
    assert np.mean(passed) >= 0.99


def test_drawn_digits_pass() -> None:
    canvases, _ = drawn_digit_set(n_per_digit=3, seed=5)
    for canvas in canvases:
        stages = prepared(canvas)
        assert looks_like_digit(stages.centred, stages.ink)


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (np.zeros((28, 28), np.float32), "short strokes"),
        (np.pad(np.ones((2, 2), np.float32), 13), "short strokes"),
        (np.random.default_rng(0).random((28, 28)).astype(np.float32), "holes"),
        (np.ones((28, 28), np.uint8) * 255, "short strokes"),  # filled: no edges, no strokes
    ],
)
def test_blank_ish_and_noisy_inputs_are_refused(image: np.ndarray, reason: str) -> None:
    likeness = digit_likeness(image)
    assert not looks_like_digit(image)
    assert likeness.score > 1.0 and likeness.reason == reason


@pytest.mark.parametrize(("kind", "reason"), [("noise", "coverage"), ("blob", "stroke ratio")])
def test_noise_and_blob_canvases_are_refused_for_the_right_reason(kind: str, reason: str) -> None:
    stages = prepared(render_non_digit(kind, seed=11))
    assert not looks_like_digit(stages.centred, stages.ink)
    assert digit_likeness(stages.centred, stages.ink).reason == reason


def test_a_many_lined_grid_is_refused() -> None:
    grid = np.zeros((28, 28), np.float32)
    grid[4:24:4, 4:24] = 1.0
    grid[4:24, 4:24:4] = 1.0
    assert digit_likeness(grid).holes == 16
    assert not looks_like_digit(grid)


def test_every_non_digit_kind_renders_a_canvas() -> None:
    for kind in NON_DIGIT_KINDS:
        canvas = render_non_digit(kind, seed=1)
        assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
        assert prepared(canvas) is not None


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="28, 28"):
        looks_like_digit(np.zeros((27, 28)))
