"""The "not a digit" check: digits pass; blank-ish, noisy, filled, gridded, scribbled and
lettered inputs do not. The rates themselves are measured by benchmarks/bench_not_a_digit.py."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn import digit_check
from mnist_cnn.data import load_mnist
from mnist_cnn.digit_check import digit_likeness, looks_like_digit, not_digit_score
from mnist_cnn.drawing import canvas_to_mnist
from sketchbook.detector import cnn_features, detector_inputs, detector_metadata, features
from sketchbook.sketches import (
    NON_DIGIT_KINDS,
    drawn_digit_set,
    pen_digit_set,
    render_non_digit,
)


def prepared(canvas: np.ndarray):
    return canvas_to_mnist(canvas, return_stages=True)


def test_mnist_digits_pass(sample_mnist) -> None:
    (_, _), (x_test, _) = sample_mnist
    passed = [looks_like_digit(image) for image in x_test]
    assert np.mean(passed) >= 0.99


def test_full_mnist_test_set_is_refused_at_most_one_percent(full_mnist_npz) -> None:
    _, (x_test, _) = load_mnist(full_mnist_npz)
    assert np.mean([not looks_like_digit(image) for image in x_test]) <= 0.01


@pytest.mark.parametrize("digit_set", [drawn_digit_set, pen_digit_set])
def test_drawn_digits_pass(digit_set) -> None:
    canvases, _ = digit_set(n_per_digit=3, seed=5)
    for canvas in canvases:
        stages = prepared(canvas)
        assert looks_like_digit(stages.centred, stages.ink)


@pytest.mark.parametrize("kind", ["scribble", "letter", "mess"])
def test_scribbles_and_letters_are_refused(kind: str) -> None:
    """The kinds the measured limits alone let through: the learned detector catches them."""
    refusals = []
    for seed in range(40, 60):
        stages = prepared(render_non_digit(kind, seed=seed))
        refusals.append(not looks_like_digit(stages.centred, stages.ink))
    assert np.mean(refusals) >= 0.8


def test_the_score_is_above_one_exactly_when_refused() -> None:
    digit = prepared(drawn_digit_set(n_per_digit=1, seed=3)[0][4])
    letter = prepared(render_non_digit("letter", seed=3))
    for stages in (digit, letter):
        score = not_digit_score(stages.centred, stages.ink)
        assert (score > 1.0) == (not looks_like_digit(stages.centred, stages.ink))
    assert not_digit_score(digit.centred, digit.ink) < not_digit_score(letter.centred, letter.ink)


def test_the_detector_is_loaded_without_pickle_and_says_how_it_was_made() -> None:
    with np.load(digit_check.WEIGHTS_PATH, allow_pickle=False) as saved:
        assert saved["w1"].shape[0] == 1600 + 5 and saved["w1"].dtype == np.float32  # CNN, logs
    assert detector_metadata()["script"] == "scripts/train_digit_check.py"
    assert np.isfinite(digit_likeness(np.zeros((28, 28), np.float32)).margin)


def test_the_detector_is_trained_on_what_it_sees() -> None:
    """sketchbook.detector's training inputs are the engine's own input to it."""
    stages = prepared(render_non_digit("letter", seed=3))
    kept = features(stages.centred, stages.ink)
    assert kept.shape == (28 * 28 + 5,) and kept.dtype == np.float32
    seen = detector_inputs(kept[np.newaxis], cnn_features(kept[np.newaxis]))[0]
    assert seen.shape == (1600 + 5,) and seen.dtype == np.float32
    margin = digit_likeness(stages.centred, stages.ink).margin
    assert digit_check._detector().margin(seen) == pytest.approx(margin, abs=1e-5)


def test_without_a_detector_file_the_measured_limits_still_judge(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(digit_check, "WEIGHTS_PATH", tmp_path / "missing.npz")
    digit_check._detector.cache_clear()
    try:
        assert not looks_like_digit(np.zeros((28, 28), np.float32))
        assert digit_likeness(np.zeros((28, 28), np.float32)).margin == -np.inf
    finally:
        monkeypatch.undo()
        digit_check._detector.cache_clear()


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
    assert likeness.score > 1.0 and likeness.ratios()[reason] > 1.0  # the limit alone refuses


@pytest.mark.parametrize(("kind", "reason"), [("noise", "coverage"), ("blob", "stroke ratio")])
def test_noise_and_blob_canvases_are_refused_for_the_right_reason(kind: str, reason: str) -> None:
    stages = prepared(render_non_digit(kind, seed=11))
    assert not looks_like_digit(stages.centred, stages.ink)
    assert digit_likeness(stages.centred, stages.ink).ratios()[reason] > 1.0


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
