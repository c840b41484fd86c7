"""The Inside page's pictures (studio/pictures.py) and layer titles: pure functions."""

from __future__ import annotations

import numpy as np

from mnist_cnn.model import build_model
from studio import pictures
from studio.inside_view import layer_titles


def test_mosaic_lays_tiles_out_in_rows_with_gaps() -> None:
    tiles = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = pictures.mosaic(tiles, columns=2)
    assert grid.shape == (3 * 2 + 2 * pictures.GAP, 2 * 3 + pictures.GAP)
    np.testing.assert_array_equal(grid[:2, :3], tiles[0])
    np.testing.assert_array_equal(grid[3:5, 4:7], tiles[3])
    assert np.isnan(grid[2]).all() and np.isnan(grid[6:, 4:]).all()  # gaps and the empty slot


def test_feature_maps_share_one_scale_per_layer() -> None:
    maps = np.zeros((4, 4, 2))
    maps[..., 0], maps[..., 1] = 1.0, 0.5
    picture = pictures.feature_maps(maps, columns=2, factor=3)
    assert picture.shape == (12, (4 + 4 + pictures.GAP) * 3, 3) and picture.dtype == np.uint8
    strong, weak = picture[0, 0].astype(int), picture[0, -1].astype(int)
    assert strong.sum() > weak.sum(), "the half-strength map must look dimmer"
    assert tuple(picture[0, 4 * 3]) == pictures.GAP_COLOUR


def test_signed_colours_and_the_saliency_overlay() -> None:
    red, white, blue = pictures.colourise_signed(np.array([1.0, 0.0, -1.0]), limit=1.0)
    assert red[0] > red[2] and blue[2] > blue[0]
    assert white.min() > 240
    image = np.zeros((28, 28), np.float32)
    image[10, 10] = 1.0
    heat = np.zeros((28, 28), np.float32)
    heat[5, 5], heat[20, 20] = 0.2, -0.2
    overlay = pictures.saliency_overlay(image, heat, limit=0.1, factor=2)
    assert overlay.shape == (56, 56, 3)
    assert overlay[10, 10, 0] > overlay[10, 10, 2]  # pushed up: red
    assert overlay[40, 40, 2] > overlay[40, 40, 0]  # pushed down: blue
    assert tuple(overlay[0, 0]) == (255, 255, 255)  # no ink, no saliency: white
    assert overlay[20, 20].max() < 200  # ink without saliency: grey


def test_outline_boxes_a_region() -> None:
    picture = np.zeros((20, 20, 3), np.uint8)
    boxed = pictures.outline(picture, slice(1, 3), slice(2, 4), factor=5)
    assert boxed[5, 10:20].any() and boxed[14, 10:20].any() and not boxed[8, 12].any()
    assert not picture.any(), "the original is left alone"


def test_layer_titles_number_the_blocks() -> None:
    titles = list(layer_titles(build_model()).values())
    assert titles == ["Conv 1", "Pool 1", "Conv 2", "Pool 2", "Flatten", "Dense", "Output"]
