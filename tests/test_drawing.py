"""canvas_to_mnist turns any canvas drawing into an MNIST-like 28x28 digit; sketches draws them."""

import numpy as np
import pytest
from PIL import Image

from mnist_cnn.drawing import DrawingStages, canvas_to_mnist
from sketchbook.sketches import (
    DIGIT_STROKES,
    PEN_STROKES,
    drawn_digit_set,
    pen_digit_set,
    render_pen_digit,
    render_sketch,
    sketch_strokes,
)

WHITE_ON_BLACK = {"ink": (255, 255, 255, 255), "background": (0, 0, 0, 255)}
BLACK_ON_WHITE = {"ink": (0, 0, 0, 255), "background": (255, 255, 255, 255)}
DARK_ON_TRANSPARENT = {"ink": (20, 20, 20, 255), "background": (0, 0, 0, 0)}
CONVENTIONS = [WHITE_ON_BLACK, BLACK_ON_WHITE, DARK_ON_TRANSPARENT]


def stroke_width(image: np.ndarray) -> float:
    """Ink mass over stroke length, the measure MNIST's median of 2.5 px was taken with."""
    variation = np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()
    return float(8.0 * image.sum() / (np.pi * variation))


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Height and width of the bounding box of the non-zero pixels."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def aligned_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest pixel difference, allowing a one-pixel shift: centring moves digits by whole
    pixels, as in MNIST, so a centre of mass halfway between two pixels may round either way."""
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return min(float(np.abs(np.roll(a, shift, axis=(0, 1)) - b).max()) for shift in shifts)


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


@pytest.mark.parametrize("convention", CONVENTIONS, ids=["white", "black", "transparent"])
def test_blank_canvas_has_no_digit(convention: dict) -> None:
    canvas = np.broadcast_to(np.array(convention["background"], np.uint8), (280, 280, 4))
    assert canvas_to_mnist(canvas) is None
    assert canvas_to_mnist(canvas, return_stages=True) is None


def test_a_few_stray_pixels_are_not_a_digit() -> None:
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[[10, 140, 250], [20, 90, 270]] = 255
    assert canvas_to_mnist(canvas) is None


@pytest.mark.parametrize("digit", range(10))
def test_colour_conventions_give_the_same_digit(digit: int) -> None:
    outputs = [canvas_to_mnist(render_sketch(digit, **c)) for c in CONVENTIONS]
    colourful = render_sketch(digit, ink=(30, 60, 200, 255), background=(250, 230, 80, 255))
    outputs.append(canvas_to_mnist(colourful))
    for output in outputs[1:]:
        assert aligned_difference(output, outputs[0]) < 0.1


@pytest.mark.parametrize("digit", range(10))
def test_output_is_shaped_like_mnist(digit: int) -> None:
    output = canvas_to_mnist(render_sketch(digit, variant=len(DIGIT_STROKES[digit]) - 1))
    assert output.shape == (28, 28)
    assert output.dtype == np.float32
    assert output.min() >= 0.0
    assert output.max() == pytest.approx(1.0)
    assert 19 <= max(ink_box(output)) <= 21
    assert np.abs(centre_of_mass(output) - 14.0).max() <= 1.0


# All with the default box's 3:4 aspect ratio, which decides how much of the 20x20 box is inked.
SIZES_AND_BRUSHES = {
    "small": {"box": (0.4625, 0.45, 0.5375, 0.55), "brush": 5.0},
    "whole canvas": {"box": (0.125, 0.0, 0.875, 1.0)},
    "corner": {"box": (0.0, 0.0, 0.3, 0.4)},
    "3 px brush": {"brush": 3.0},
    "45 px brush": {"brush": 45.0},
}


@pytest.mark.parametrize("digit", [2, 3, 8])
def test_size_and_brush_do_not_change_the_stroke(digit: int) -> None:
    outputs = {
        name: canvas_to_mnist(render_sketch(digit, **kw)) for name, kw in SIZES_AND_BRUSHES.items()
    }
    widths = [stroke_width(output) for output in outputs.values()]
    means = [float(output.mean()) for output in outputs.values()]
    # MNIST: mean pixel value 0.06-0.25, stroke width 1.7-3.9 px (5th-95th percentiles).
    assert all(0.06 <= mean <= 0.25 for mean in means), dict(zip(outputs, means, strict=True))
    assert all(2.0 <= width <= 3.2 for width in widths), dict(zip(outputs, widths, strict=True))
    assert max(widths) / min(widths) < 1.3
    assert max(means) / min(means) < 1.4
    for output in outputs.values():
        assert 19 <= max(ink_box(output)) <= 21


def test_thick_brush_on_a_small_digit_and_thin_brush_on_a_large_one_look_alike() -> None:
    # Scaled to 20 px without normalising, these strokes would be 8 px and 0.15 px wide.
    thick = canvas_to_mnist(render_sketch(3, box=(0.3, 0.3, 0.6, 0.7), brush=30.0))
    thin = canvas_to_mnist(render_sketch(3, box=(0.0, 0.0, 1.0, 1.0), brush=2.0))
    assert abs(stroke_width(thick) - stroke_width(thin)) < 0.5


def test_non_square_canvas() -> None:
    canvas = np.zeros((200, 400, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[:, 100:300] = render_sketch(5, size=200)
    output = canvas_to_mnist(canvas)
    square = canvas_to_mnist(render_sketch(5, size=200))
    assert output.shape == (28, 28)
    np.testing.assert_allclose(output, square, atol=1e-6)


def test_a_one_is_not_stretched_sideways() -> None:
    canvas = np.zeros((200, 400, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[:, 100:300] = render_sketch(1, size=200)
    height, width = ink_box(canvas_to_mnist(canvas))
    assert height == 20
    assert width <= 5


def test_rgb_and_grayscale_inputs() -> None:
    rgba = render_sketch(6)
    expected = canvas_to_mnist(rgba)
    np.testing.assert_allclose(canvas_to_mnist(rgba[..., :3]), expected, atol=1e-6)
    np.testing.assert_allclose(canvas_to_mnist(rgba[..., 0]), expected, atol=1e-6)
    as_float = rgba[..., 0].astype(np.float64) / 255.0
    np.testing.assert_allclose(canvas_to_mnist(as_float), expected, atol=1e-4)
    paper = render_sketch(6, **BLACK_ON_WHITE)[..., 0].astype(np.float32) / 255.0
    np.testing.assert_allclose(canvas_to_mnist(paper), expected, atol=1e-4)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros(28, np.uint8), r"shape \(H, W\), \(H, W, 3\) or \(H, W, 4\), got \(28,\)"),
        (np.zeros((10, 10, 5), np.uint8), r"shape .* got \(10, 10, 5\)"),
        (np.zeros((2, 10, 10, 4), np.uint8), r"shape .* got \(2, 10, 10, 4\)"),
        (np.zeros((0, 280, 4), np.uint8), r"non-empty"),
        (np.zeros((10, 10), object), r"uint8 array or a float array in \[0, 1\], got dtype object"),
        (np.zeros((10, 10), np.int64), r"got dtype int64"),
        (np.full((10, 10), np.nan), r"NaN"),
        (np.full((10, 10), 2.0), r"float pixel values in \[0, 1\]"),
    ],
)
def test_bad_input_is_rejected(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canvas_to_mnist(image)


def test_stages() -> None:
    canvas = render_sketch(9, **BLACK_ON_WHITE)
    stages = canvas_to_mnist(canvas, return_stages=True)
    assert isinstance(stages, DrawingStages)
    np.testing.assert_array_equal(stages.centred, canvas_to_mnist(canvas))
    assert stages.ink.shape == (280, 280)
    assert stages.ink[0, 0] == 0.0 and stages.ink.max() == 1.0
    assert stages.cropped.shape < stages.ink.shape
    assert max(stages.scaled.shape) == 20
    for image in (stages.ink, stages.cropped, stages.scaled, stages.centred):
        assert image.dtype == np.float32


def test_drawn_digit_set_is_deterministic_and_balanced() -> None:
    canvases, labels = drawn_digit_set(2, seed=3)
    again, _ = drawn_digit_set(2, seed=3)
    other, _ = drawn_digit_set(2, seed=4)
    assert canvases.shape == (20, 280, 280, 4) and canvases.dtype == np.uint8
    np.testing.assert_array_equal(canvases, again)
    assert not np.array_equal(canvases, other)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 2))
    assert all(canvas_to_mnist(canvas) is not None for canvas in canvases)


def test_pen_digit_set_is_deterministic_balanced_and_readable() -> None:
    canvases, labels = pen_digit_set(2, seed=3)
    again, _ = pen_digit_set(2, seed=3)
    other, _ = pen_digit_set(2, seed=4)
    assert canvases.shape == (20, 280, 280, 4) and canvases.dtype == np.uint8
    np.testing.assert_array_equal(canvases, again)
    assert not np.array_equal(canvases, other)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 2))
    assert all(canvas_to_mnist(canvas) is not None for canvas in canvases)


def test_every_pen_style_draws_a_digit_that_fills_its_box() -> None:
    rng = np.random.default_rng(0)
    box = (0.2, 0.1, 0.8, 0.9)
    for digit, styles in PEN_STROKES.items():
        for style in range(len(styles)):
            canvas = render_pen_digit(digit, rng, style=style, box=box, pen=10.0)
            rows, cols = np.nonzero(canvas[..., :3].min(axis=2) < 128)  # ink on white paper
            assert np.ptp(rows) > 0.7 * 224, (digit, style)  # about the box's 224 px height
            if digit != 1:
                assert np.ptp(cols) > 0.4 * 168, (digit, style)


def test_sketch_strokes_are_pixel_coordinates_inside_the_canvas() -> None:
    for digit, variants in DIGIT_STROKES.items():
        for variant in range(len(variants)):
            strokes = sketch_strokes(digit, variant=variant, size=200, rotation_deg=15.0)
            points = np.concatenate([np.asarray(stroke) for stroke in strokes])
            assert len(strokes) == len(variants[variant])
            assert points.min() >= 0.0 and points.max() <= 199.0
            assert np.ptp(points[:, 1]) > 100  # spans most of the default box (0.1-0.9)
    with pytest.raises(ValueError, match="variants"):
        sketch_strokes(1, variant=99)


def _tight_ring_picture(black_on_white: bool) -> np.ndarray:
    """A 0 as an 8x8 scan gives it, cropped tight and enlarged: its ring runs along all four
    edges, in graded greys, over more than half of the border."""
    edge = np.array([0.0, 0.0, 0.4, 0.9, 0.9, 0.4, 0.0, 0.0])
    scan = np.zeros((8, 8))
    scan[0], scan[-1], scan[:, 0], scan[:, -1] = edge, edge, edge, edge
    scan[1, 1:-1] = scan[-2, 1:-1] = scan[1:-1, 1] = scan[1:-1, -2] = 0.6 * edge[1:-1] + 0.3
    scan[2:-2, 2:-2] = 0.0
    picture = np.asarray(Image.fromarray((scan * 255).astype(np.uint8)).resize((224, 224)))
    return 255 - picture if black_on_white else picture


@pytest.mark.parametrize("black_on_white", [False, True], ids=["white on black", "black on white"])
def test_a_picture_cropped_tight_to_its_digit_reads_as_with_a_margin(black_on_white: bool) -> None:
    picture = _tight_ring_picture(black_on_white)
    border = np.concatenate((picture[0], picture[-1], picture[:, 0], picture[:, -1]))
    background = 255 if black_on_white else 0
    assert np.mean(np.abs(border.astype(int) - background) > 25) > 0.5  # ink on most of it
    with_margin = np.pad(picture, 56, constant_values=background)
    tight, margin = canvas_to_mnist(picture), canvas_to_mnist(with_margin)
    assert aligned_difference(tight, margin) < 0.1
    assert tight[14, 14] < 0.1 < tight.max()  # the ring's inside stays background
