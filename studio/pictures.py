"""Arrays into pictures for the Inside page: feature-map mosaics, colour scales, saliency overlays.

Pure numpy (Plotly only lends its colour scales), so they are cheap to test. Everything comes
back as an RGB uint8 array enlarged by whole pixels: browsers blur small images they scale up.
"""

from __future__ import annotations

import numpy as np
from plotly.colors import sample_colorscale

# Activations are >= 0 after ReLU: a sequential scale from black (0) to bright (the layer's max).
ACTIVATION_SCALE = "Magma"
# Weights and saliency have a sign: blue (negative), white (0), red (positive).
SIGNED_SCALE = "RdBu_r"
GAP = 1  # pixels of background between the maps of a mosaic, before enlarging
GAP_COLOUR = (255, 255, 255)
_LEVELS = 256
# A saliency overlay shows the digit's ink as grey this dark, under the colour.
INK_GREY = 0.55


def _lookup_table(scale: str) -> np.ndarray:
    colours = sample_colorscale(scale, np.linspace(0, 1, _LEVELS).tolist(), colortype="tuple")
    return (np.array(colours) * 255).round().astype(np.uint8)


_ACTIVATION_COLOURS = _lookup_table(ACTIVATION_SCALE)
_SIGNED_COLOURS = _lookup_table(SIGNED_SCALE)


def enlarge(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every pixel ``factor`` times each way (an (H, W[, C]) array)."""
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def colourise(values: np.ndarray, top: float) -> np.ndarray:
    """Non-negative values as RGB on the activation scale, ``top`` and above brightest."""
    levels = np.clip(np.asarray(values, np.float64) / max(top, 1e-12), 0.0, 1.0)
    return _ACTIVATION_COLOURS[(levels * (_LEVELS - 1)).round().astype(int)]


def colourise_signed(values: np.ndarray, limit: float) -> np.ndarray:
    """Signed values as RGB, blue at -``limit``, white at 0, red at +``limit``."""
    levels = np.clip(np.asarray(values, np.float64) / max(limit, 1e-12), -1.0, 1.0)
    return _SIGNED_COLOURS[((levels + 1) / 2 * (_LEVELS - 1)).round().astype(int)]


def mosaic(tiles: np.ndarray, columns: int, background: float = np.nan) -> np.ndarray:
    """(N, H, W[, C]) tiles as one (rows x columns) grid with `GAP` pixels between them.

    Gaps hold ``background`` (NaN by default, for the caller's colouring to paint).
    """
    tiles = np.asarray(tiles, np.float64)
    count, height, width = tiles.shape[:3]
    rows = -(-count // columns)
    grid = np.full(
        (rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, *tiles.shape[3:]),
        background,
    )
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        top, left = row * (height + GAP), col * (width + GAP)
        grid[top : top + height, left : left + width] = tile
    return grid


def feature_maps(maps: np.ndarray, columns: int, factor: int) -> np.ndarray:
    """A layer's (H, W, maps) output as a mosaic on one colour scale: the layer's own maximum.

    One scale for the whole layer keeps a weak map weak next to a strong one.
    """
    tiles = np.moveaxis(maps, -1, 0)
    grid = mosaic(tiles, columns)
    picture = colourise(np.nan_to_num(grid), float(tiles.max()))
    picture[np.isnan(grid)] = GAP_COLOUR
    return enlarge(picture, factor)


def signed_mosaic(tiles: np.ndarray, columns: int, factor: int) -> np.ndarray:
    """Signed (N, H, W) tiles (kernels) as a mosaic on one symmetric blue-white-red scale."""
    grid = mosaic(tiles, columns)
    picture = colourise_signed(np.nan_to_num(grid), float(np.abs(tiles).max()))
    picture[np.isnan(grid)] = GAP_COLOUR
    return enlarge(picture, factor)


def outline(picture: np.ndarray, rows: slice, cols: slice, factor: int) -> np.ndarray:
    """A copy of an enlarged RGB picture with a one-pixel box around the (unenlarged) region."""
    boxed = picture.copy()
    top, bottom = rows.start * factor, rows.stop * factor - 1
    left, right = cols.start * factor, cols.stop * factor - 1
    colour = np.array([0, 200, 255], np.uint8)
    boxed[top, left : right + 1] = boxed[bottom, left : right + 1] = colour
    boxed[top : bottom + 1, left] = boxed[top : bottom + 1, right] = colour
    return boxed


def grey(image: np.ndarray, factor: int) -> np.ndarray:
    """A (28, 28) image in [0, 1] as enlarged RGB, white ink on black."""
    level = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    return enlarge(np.repeat(level[..., np.newaxis], 3, axis=-1), factor)


def saliency_overlay(image: np.ndarray, heat: np.ndarray, limit: float, factor: int) -> np.ndarray:
    """Saliency over the digit: red and blue as strong as the value, the ink in grey beneath.

    On a white ground: the digit's ink shows as grey, and each pixel's colour (red positive,
    blue negative) covers it in proportion to ``abs(heat) / limit``.
    """
    ink = np.clip(image, 0.0, 1.0)[..., np.newaxis]
    base = 255 * (1 - INK_GREY * ink) * np.ones(3)
    colour = colourise_signed(heat, limit).astype(np.float64)
    strength = np.clip(np.abs(heat) / max(limit, 1e-12), 0.0, 1.0)[..., np.newaxis]
    mixed = (1 - strength) * base + strength * colour
    return enlarge(mixed.round().astype(np.uint8), factor)


def signed_legend(width: int, height: int) -> np.ndarray:
    """A horizontal bar of the signed scale, blue on the left to red on the right."""
    row = colourise_signed(np.linspace(-1, 1, width), 1.0)
    return np.repeat(row[np.newaxis], height, axis=0)
