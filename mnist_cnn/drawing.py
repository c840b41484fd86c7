"""Turn a drawing from a browser canvas into a 28x28 input that looks like an MNIST digit.

The model only ever saw MNIST, so a drawing is prepared the way MNIST itself was made
(LeCun et al.): the digit is cropped to its bounding box, scaled with anti-aliasing so that its
longer side is 20 px (keeping the aspect ratio) and placed in a 28x28 field so that its centre of
mass sits at the centre. Two further steps undo what a canvas adds and MNIST lacks: the colour
convention (any background, any ink colour, opaque or transparent) and the brush width, which
would otherwise turn small digits into blobs and large ones into faint hairlines.

A picture that is already grey, not drawn with a brush (a low-resolution scan enlarged, a
soft phone photo, an MNIST digit saved as a PNG), keeps its own grey strokes: binarising and
re-stroking its blur would fill a 9's loop and break thin joins (8x8 scans of MNIST's test
digits were read at 94.0% that way and at 96.4% kept soft by the bundled model:
benchmarks/bench_other_hands.py).

Deliberately free of TensorFlow and Streamlit, and fast (about 1 ms for a 280x280 canvas), since
it runs on every stroke.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from mnist_cnn.shapes import IMAGE_SIDE

BOX_SIZE = 20  # MNIST digits fill a 20x20 box inside the 28x28 field
# Stroke width of the output in pixels, as measured by `_stroke_width`; MNIST's median is 2.5.
TARGET_STROKE_WIDTH = 2.5
# A canvas holds no digit when its ink adds up to less than this fraction of its area (about
# 16 fully inked pixels on a 280x280 canvas) or to fewer than MIN_INK_PIXELS: the shortest
# mouse stroke is far above that, a few stray pixels are below it.
MIN_INK_FRACTION = 2e-4
MIN_INK_PIXELS = 8.0
# Differences from the background smaller than this (on a 0..1 scale) are noise, not ink.
MIN_CONTRAST = 0.1
# The border's shades are sorted into this many bins to find the background's (`_background`).
SHADE_BINS = 16
_BOX_THRESHOLD = 0.1  # ink weaker than this (faint anti-aliasing) does not widen the box
_OVERSAMPLE = 3  # the brush is normalised at 3x the final resolution, for smooth edges
_MAX_THINNING = 0.8  # never thin a stroke to less than a fifth of its width
# Ink at least FIRM_INK of full strength is firm. A brush stroke is firm but for its
# anti-aliased rim (at least 69% of a drawn digit's ink pixels are firm); a blurred picture is
# mostly soft (under 27% for 95% of 8x8-12x12 scans; MNIST's digits: 23-64%, 1st-95th
# percentile). Below SOFT_INK_SHARE firm, ink whose strokes are about MNIST's width once its box
# is 20 px (SOFT_STROKE_WIDTHS, MNIST's 1st-99th percentile 1.6-4.0 widened) is scaled as is.
FIRM_INK = 0.9
SOFT_INK_SHARE = 0.5
SOFT_STROKE_WIDTHS = (1.5, 5.5)


@dataclass(frozen=True)
class DrawingStages:
    """Every intermediate image of `canvas_to_mnist`, for showing the user what happened."""

    ink: np.ndarray  # (H, W) float32 in [0, 1]: ink mask of the original canvas (1 = ink)
    cropped: np.ndarray  # ink cropped to its bounding box (float32 [0, 1])
    scaled: np.ndarray  # brush width normalised, longer side 20 px, anti-aliased (float32 [0, 1])
    centred: np.ndarray  # (28, 28) float32 [0, 1], placed by centre of mass: the model input


def canvas_to_mnist(
    image: np.ndarray, *, return_stages: bool = False
) -> np.ndarray | DrawingStages | None:
    """Convert a canvas drawing into a (28, 28) float32 image in [0, 1], white digit on black.

    ``image`` is what a browser canvas returns, an (H, W, 4) RGBA uint8 array of any size; (H, W, 3)
    RGB and (H, W) grayscale arrays are accepted too, as uint8 or as floats in [0, 1]. Returns
    ``None`` when the canvas holds no ink (see `MIN_INK_FRACTION`), and all stages as
    `DrawingStages` when ``return_stages`` is true.
    """
    ink = _ink(_channels_first(image))
    if ink is None:
        return None
    rows, cols = _bounding_box(ink > _BOX_THRESHOLD)
    cropped = ink[rows, cols]
    if _is_soft_picture(cropped):
        scaled = _scale_as_it_is(cropped)
    else:
        scaled = _scale_with_mnist_stroke(cropped)
    centred = _centre_by_mass(scaled)
    if return_stages:
        return DrawingStages(ink=ink, cropped=cropped, scaled=scaled, centred=centred)
    return centred


def _channels_first(image: np.ndarray) -> np.ndarray:
    """Validate the input and return it as (C, H, W), so per-channel work runs on whole planes."""
    array = np.asarray(image)
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"expected a uint8 array or a float array in [0, 1], got dtype {array.dtype}"
        )
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"expected a non-empty image, got shape {array.shape}")
    if array.dtype != np.uint8:
        if not np.isfinite(array).all():
            raise ValueError("expected finite pixel values, got NaN or infinity")
        if array.min() < 0.0 or array.max() > 1.0:
            raise ValueError("expected float pixel values in [0, 1]")
    if array.ndim == 2:
        return array[np.newaxis]
    return np.ascontiguousarray(np.moveaxis(array, 2, 0))


def _ink(planes: np.ndarray) -> np.ndarray | None:
    """Ink in [0, 1] as the distance from the background colour, or None if there is no ink.

    Estimating the background from the border, rather than assuming a convention, makes white on
    black, black on white, coloured ink and a transparent canvas (ink only in alpha) all work;
    the largest per-channel difference keeps anti-aliased edges grey, as in MNIST.
    """
    background = _background(planes)
    if planes.dtype == np.uint8:
        offset = np.round(background).astype(np.int16)[:, np.newaxis, np.newaxis]
        difference = np.abs(planes.astype(np.int16) - offset).max(axis=0)
        ink = difference.astype(np.float32) / np.float32(255.0)
    else:
        offset = background.astype(np.float32)[:, np.newaxis, np.newaxis]
        ink = np.abs(planes.astype(np.float32) - offset).max(axis=0)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return None
    ink /= np.float32(peak)  # a faint pen still gives full-strength ink
    if float(ink.sum()) < max(MIN_INK_PIXELS, MIN_INK_FRACTION * ink.size):
        return None
    return ink


def _background(planes: np.ndarray) -> np.ndarray:
    """Each channel's background value: the border's most common shade.

    A picture cropped tight to its digit has ink on its border: an 8x8 scan of a round 0,
    enlarged, runs along all four edges. The border's median, used before, then landed on the
    ring's grey, and the ink came out inverted, the inside of the 0 a filled grey box: the "not a
    digit" check refused 10% of MNIST's test 0s scanned so. The background is flat and the ink's
    anti-aliased shades are spread, so the border's most common shade is the background's even
    where ink covers more than half of it. Taking the median of the border pixels in that
    shade's bin and its neighbours keeps paper's noise from pulling the value, as the median of
    the whole border did. A flat background (every canvas) gives the same value as that median.
    """
    border = np.concatenate(
        (planes[:, 0, :], planes[:, -1, :], planes[:, :, 0], planes[:, :, -1]), axis=1
    )
    full = 255.0 if planes.dtype == np.uint8 else 1.0
    shades = border.astype(np.float32).mean(axis=0) / np.float32(full)
    bins = np.minimum((shades * SHADE_BINS).astype(np.intp), SHADE_BINS - 1)
    common = int(np.bincount(bins, minlength=SHADE_BINS).argmax())
    return np.median(border[:, np.abs(bins - common) <= 1], axis=1)


def _bounding_box(mask: np.ndarray) -> tuple[slice, slice]:
    """Row and column slices of the smallest box holding every True pixel of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: ink mass divided by stroke length.

    A stroke of length L crosses each axis-aligned edge detector twice, so the total variation is
    about 2 L (|cos| + |sin|), or 8 L / pi on average over directions. Cheap and independent of
    the brush, unlike a skeleton. Edges against the image border count as steps from zero.
    """
    variation = (
        np.abs(np.diff(ink, axis=0)).sum()
        + np.abs(np.diff(ink, axis=1)).sum()
        + ink[[0, -1], :].sum()
        + ink[:, [0, -1]].sum()
    )
    return float(8.0 * ink.sum() / (np.pi * variation))


def _is_soft_picture(cropped: np.ndarray) -> bool:
    """Whether the ink is a grey picture with MNIST-wide strokes rather than brush strokes."""
    firm_share = float((cropped >= FIRM_INK).sum()) / float((cropped > _BOX_THRESHOLD).sum())
    width_in_box = _stroke_width(cropped) * BOX_SIZE / max(cropped.shape)
    narrowest, widest = SOFT_STROKE_WIDTHS
    return firm_share < SOFT_INK_SHARE and narrowest <= width_in_box <= widest


def _scale_as_it_is(cropped: np.ndarray) -> np.ndarray:
    """Scale grey ink so its longer side is 20 px, anti-aliased, strokes left as they are."""
    scaled = _resize_by(cropped, BOX_SIZE / max(cropped.shape), Image.Resampling.LANCZOS)
    scaled = np.clip(scaled, 0.0, 1.0)
    return scaled / scaled.max()


def _scale_with_mnist_stroke(cropped: np.ndarray) -> np.ndarray:
    """Scale the cropped ink so its longer side is 20 px and its strokes are as wide as MNIST's.

    A canvas brush has a fixed width in canvas pixels, so after scaling to 20 px a small digit
    would be a blob and a large one a faint hairline. The strokes are therefore grown or shrunk
    first, by a signed distance offset at 3x the final resolution, chosen so that the stroke is
    `TARGET_STROKE_WIDTH` px wide once the (changed) bounding box is scaled to 20 px.
    """
    width = _stroke_width(cropped)
    longer = max(cropped.shape)
    target = TARGET_STROKE_WIDTH / BOX_SIZE  # stroke width as a fraction of the box
    # Growing strokes by `change` grows the box by as much: solve (w + c) / (L + c) = target.
    change = max((target * longer - width) / (1.0 - target), -_MAX_THINNING * width)
    factor = _OVERSAMPLE * BOX_SIZE / (longer + change)  # fine pixels per canvas pixel
    fine = _resize_by(cropped, factor, Image.Resampling.BILINEAR, margin=max(change, 0.0) / 2 + 1)

    # Binarise at a threshold that a hairline thinner than a fine pixel still reaches (its peak
    # is at least half its width) and the brightest pixel always does, then move the outline by
    # `offset` fine pixels using distances. A hairline's mask is 1-2 fine pixels wide.
    fine_width = width * factor
    mask = fine >= min(0.4 * min(1.0, fine_width), 0.5 * float(fine.max()))
    offset = ((width + change) * factor - max(fine_width, 1.5)) / 2.0
    if offset >= 0.0:
        stroke = np.clip(offset + 1.0 - ndimage.distance_transform_edt(~mask), 0.0, 1.0)
    else:
        depth = ndimage.distance_transform_edt(mask)
        offset = max(offset, 1.0 - float(depth.max()))  # keep the thickest part
        stroke = np.clip(depth + offset, 0.0, 1.0)

    rows, cols = _bounding_box(stroke > 0.0)
    stroke = stroke[rows, cols]
    scaled = _resize_by(stroke, BOX_SIZE / max(stroke.shape), Image.Resampling.LANCZOS)
    scaled = np.clip(scaled, 0.0, 1.0)
    return scaled / scaled.max()  # MNIST strokes reach full intensity


def _resize_by(
    image: np.ndarray, scale: float, resample: Image.Resampling, margin: float = 0.0
) -> np.ndarray:
    """Anti-aliased resize by exactly ``scale``, keeping at least ``margin`` pixels of zeros.

    Resizing to a whole number of pixels would stretch narrow images (a "1" two pixels wide
    could become three); instead the output covers a slightly larger source region, centred.
    """
    height, width = image.shape
    # The epsilon keeps a side scaled to exactly 20 px from rounding up to 21.
    size = (
        math.ceil((width + 2 * margin) * scale - 1e-6),
        math.ceil((height + 2 * margin) * scale - 1e-6),
    )
    pad = math.ceil(margin + 1.0 / scale) + 1
    source_width, source_height = size[0] / scale, size[1] / scale
    left = pad + (width - source_width) / 2
    top = pad + (height - source_height) / 2
    padded = np.zeros((height + 2 * pad, width + 2 * pad), dtype=np.float32)
    padded[pad : pad + height, pad : pad + width] = image
    box = (left, top, left + source_width, top + source_height)
    return np.asarray(Image.fromarray(padded).resize(size, resample, box=box), dtype=np.float32)


def _centre_by_mass(scaled: np.ndarray) -> np.ndarray:
    """Paste into a 28x28 field with the centre of mass at pixel (14, 14), as MNIST does.

    MNIST moved digits by whole pixels (its centres of mass scatter by +-0.5 px), so an integer
    offset is both faithful and free of the blur a sub-pixel shift adds. The offset is clamped
    to keep the whole digit inside the field.
    """
    height, width = scaled.shape
    centre_row, centre_col = ndimage.center_of_mass(scaled)
    top = int(np.clip(round(IMAGE_SIDE / 2 - centre_row), 0, IMAGE_SIDE - height))
    left = int(np.clip(round(IMAGE_SIDE / 2 - centre_col), 0, IMAGE_SIDE - width))
    centred = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    centred[top : top + height, left : left + width] = scaled
    return centred
