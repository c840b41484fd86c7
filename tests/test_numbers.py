"""read_number: whole numbers from composed canvases and photos of paper."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.inference import predict
from mnist_cnn.numbers import (
    _UNLIKE_COST,
    NO_INK,
    ONLY_SPECKS,
    _best_runs,
    _seams,
    _shape_cost,
    _straight_cuts,
    best_pieces,
    candidate_pieces,
    digit_groups,
    ink_map,
    read_number,
)
from mnist_cnn.store import bundled_record, load_record
from sketchbook.composed_numbers import compose, on_canvas, on_paper, sketch_digit_ink
from sketchbook.sketches import render_sketch, render_strokes, sketch_strokes


@pytest.fixture(scope="module")
def model():
    return load_record(bundled_record())


def number_ink(text: str, spacing: str, seed: int = 0) -> np.ndarray:
    inks = [sketch_digit_ink(int(digit)) for digit in text]
    return compose(inks, spacing, np.random.default_rng(seed), height=80)


@pytest.mark.parametrize("spacing", ["apart", "close"])
def test_reads_a_number_drawn_on_a_canvas(model, spacing):
    reading = read_number(on_canvas(number_ink("2026", spacing)), model)
    assert reading.text == "2026"
    assert reading.reason == ""
    assert all(digit.image.shape == (28, 28) for digit in reading.digits)
    assert all(np.isclose(digit.probabilities.sum(), 1.0, atol=1e-4) for digit in reading.digits)


def test_boxes_go_left_to_right_and_hold_their_digit(model):
    ink = number_ink("4817", "apart")
    reading = read_number(on_canvas(ink), model)
    assert reading.text == "4817"
    lefts = [digit.box[0] for digit in reading.digits]
    assert lefts == sorted(lefts)
    for digit, following in zip(reading.digits, reading.digits[1:], strict=False):
        assert digit.box[2] <= following.box[0]  # apart: the boxes do not overlap
    inked = ink > 0.5
    covered = np.zeros_like(inked)
    for x0, y0, x1, y1 in (digit.box for digit in reading.digits):
        covered[y0:y1, x0:x1] = True
    assert not (inked & ~covered).any()  # every stroke is inside some digit's box


def test_touching_digits_are_parted(model):
    ink = number_ink("40", "touching", seed=3)
    _, count = ndimage.label(ink_map(on_canvas(ink)).mask, structure=np.ones((3, 3)))
    assert count == 1  # the strokes touch: connected components alone see one digit
    assert read_number(on_canvas(ink), model).text == "40"


def test_a_five_drawn_in_two_strokes_that_do_not_touch_is_one_digit(model):
    body, flag = sketch_strokes(5, variant=0)
    # The flag lifted and the body lowered, clear of each other by more than the brush (18 px).
    lowered = [(x, y + 20.0) for x, y in body]
    lifted = [(x + 10.0, y - 10.0) for x, y in flag]
    five = render_strokes([lowered, lifted])
    assert ndimage.label(ink_map(five).mask, structure=np.ones((3, 3)))[1] == 2
    three = render_sketch(3)
    reading = read_number(np.concatenate([three, five], axis=1), model)
    assert reading.text == "35"


def test_specks_are_ignored(model):
    canvas = on_canvas(number_ink("72", "apart"))
    rng = np.random.default_rng(1)
    for y, x in zip(
        rng.integers(0, canvas.shape[0] - 3, 6),
        rng.integers(0, canvas.shape[1] - 3, 6),
        strict=True,
    ):
        canvas[y : y + 3, x : x + 3, :3] = 255
    assert read_number(canvas, model).text == "72"


def test_blank_canvas_and_blank_paper_read_nothing_and_say_why(model):
    blank = read_number(np.zeros((280, 840, 4), np.uint8), model)
    assert (blank.text, blank.digits, blank.reason) == ("", (), NO_INK)
    paper = on_paper(np.zeros((200, 500), np.float32), np.random.default_rng(0))
    reading = read_number(paper, model)
    assert reading.text == ""
    assert reading.reason in (NO_INK, ONLY_SPECKS)


def test_dark_ink_on_unevenly_lit_paper(model):
    photo = on_paper(number_ink("3059", "apart", seed=2), np.random.default_rng(2))
    assert photo.shape[2] == 3 and photo.mean() > 128  # light paper, dark ink
    assert read_number(photo, model).text == "3059"


def test_a_digit_reads_the_same_alone_and_in_a_number(model):
    three, seven = render_sketch(3), render_sketch(7, variant=1)
    alone = canvas_to_mnist(three)
    reading = read_number(np.concatenate([three, seven], axis=1), model)
    assert reading.text == "37"
    np.testing.assert_allclose(reading.digits[0].image, alone, atol=1e-5)
    np.testing.assert_allclose(reading.digits[1].image, canvas_to_mnist(seven), atol=1e-5)


def test_unsure_when_a_digit_is_not_confident(model):
    reading = read_number(on_canvas(number_ink("2026", "apart")), model)
    assert reading.unsure == any(
        not (digit.confident and digit.looks_like_digit) for digit in reading.digits
    )
    digit = reading.digits[0]
    assert digit.runner_up != digit.digit
    assert digit.confidence == pytest.approx(float(digit.probabilities.max()))


def test_specks_alone_are_no_number(model):
    canvas = np.zeros((280, 840, 4), np.uint8)
    canvas[..., 3] = 255
    for x in (100, 400, 700):
        canvas[140:143, x : x + 3, :3] = 255
    reading = read_number(canvas, model)
    assert (reading.text, reading.reason) == ("", ONLY_SPECKS)


def interlocking_shapes() -> tuple[np.ndarray, np.ndarray]:
    """Two shapes whose columns overlap but whose ink does not: the left one's foot reaches
    under the right one's arm, as touching digits' strokes reach into each other."""
    left, right = np.zeros((60, 50), bool), np.zeros((60, 50), bool)
    left[:, 0:6] = True
    left[56:, 0:35] = True  # the foot, along the bottom
    right[:, 40:46] = True
    right[:4, 12:46] = True  # the arm, along the top
    return left, right


def test_a_seam_parts_shapes_that_no_straight_line_can():
    left, right = interlocking_shapes()
    region = left | right
    reach = 2
    assert all(ink > 0 for ink, cut in _straight_cuts(region, reach) if 6 <= cut.mean() < 40)
    columns = np.arange(region.shape[1])[np.newaxis, :]
    parted = [
        cut
        for _, cut in _seams(region, reach)
        if not (left & (columns >= cut[:, np.newaxis])).any()
        and not (right & (columns < cut[:, np.newaxis])).any()
    ]
    assert parted


def test_digit_check_is_worked_out_only_where_it_can_change_the_reading(model):
    ink = ink_map(on_canvas(number_ink("4817", "touching", seed=1)))
    pieces = [p for i, g in enumerate(digit_groups(ink)) for p in candidate_pieces(ink, g, i)]
    probabilities = predict(model, np.stack([piece.stages.centred for piece in pieces]))
    lazily = best_pieces(pieces, probabilities)
    worked_out = sum("unlike_digit" in vars(piece) for piece in pieces)
    assert worked_out < len(pieces)
    every_cost = np.log(probabilities.max(axis=1) + 1e-6) - [
        _shape_cost(p) + _UNLIKE_COST * p.unlike_digit for p in pieces
    ]
    assert [i for i, _ in lazily] == [i for i, _ in _best_runs(pieces, every_cost)]
