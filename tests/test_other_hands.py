"""Other hands: the "hands" distortions, coarse scans for training, and the held-out scans."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from mnist_cnn import augment, canvas_to_mnist, predict
from mnist_cnn.coarse_scans import TRAINING_SIDES, coarse_scan, coarse_scans
from mnist_cnn.drawing import (
    _centre_by_mass,
    _is_soft_picture,
    _scale_as_it_is,
    _scale_with_mnist_stroke,
)
from mnist_cnn.store import bundled_record, load_record
from mnist_cnn.training import TrainConfig, make_datasets
from sketchbook.scans import HELD_OUT_SIDES, SCAN_LEVELS, low_resolution_scan, low_resolution_scans
from sketchbook.sketches import render_sketch


def _float_images(images: np.ndarray) -> tf.Tensor:
    return tf.constant((images[..., np.newaxis] / 255.0).astype(np.float32))


def test_sevens_get_a_bar_across_their_stem_and_nothing_else_changes(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    images = _float_images(x_train)
    barred = augment.add_bars_to_sevens(
        images, tf.constant(y_train), tf.random.Generator.from_seed(0)
    )
    added = (barred.numpy() - images.numpy())[..., 0]
    changed = np.abs(added).reshape(len(added), -1).max(axis=1) > 0.5
    assert not changed[y_train != 7].any()
    sevens = changed[y_train == 7]
    assert 0.3 < sevens.mean() < 0.7  # about half, BAR_PROBABILITY
    # A bar is a horizontal stroke: its new ink spans more columns than rows.
    first = np.flatnonzero(changed)[0]
    rows, cols = np.nonzero(added[first] > 0.5)
    assert np.ptp(cols) > np.ptp(rows)


def test_broken_strokes_only_remove_ink_and_low_resolution_blurs_in_sixteen_levels(
    sample_mnist,
):
    (x_train, _), _ = sample_mnist
    images = _float_images(x_train[:256])
    broken = augment.break_strokes(images, tf.random.Generator.from_seed(1)).numpy()
    assert (broken <= images.numpy() + 1e-6).all()
    lost = (images.numpy() - broken).reshape(256, -1).max(axis=1) > 0.5
    assert 0.05 < lost.mean() < 0.4  # BREAK_PROBABILITY of the images, where a gap met ink
    coarse = augment.low_resolution(images, tf.random.Generator.from_seed(2)).numpy()
    assert coarse.min() >= 0 and coarse.max() <= 1 + 1e-6
    changed = np.abs(coarse - images.numpy()).reshape(256, -1).max(axis=1) > 0.1
    assert 0.15 < changed.mean() < 0.45  # LOW_RES_PROBABILITY
    assert np.allclose(coarse[changed].max(axis=(1, 2, 3)), 1.0)  # full ink at its peak
    again = augment.low_resolution(images, tf.random.Generator.from_seed(2)).numpy()
    assert np.array_equal(coarse, again)


def test_a_held_out_scan_is_blocky_in_sixteen_levels_at_its_side(sample_mnist):
    (x_train, _), _ = sample_mnist
    picture = low_resolution_scan(x_train[0], side=8)
    assert picture.shape == (224, 224) and picture.dtype == np.uint8
    # Not enlarged, the scan itself: 8x8 cells, each one of the 16 levels.
    scan = low_resolution_scan(x_train[0], side=8, shown=8)
    levels = np.round(np.arange(SCAN_LEVELS) * 255 / (SCAN_LEVELS - 1)).astype(np.uint8)
    assert scan.shape == (8, 8) and set(np.unique(scan)) <= set(levels)
    assert len(np.unique(scan)) > 4  # grey edges, not a black-and-white stencil
    assert low_resolution_scan(np.zeros((28, 28), np.uint8)).max() == 0


def test_training_scans_are_model_inputs_made_at_sides_the_test_never_uses(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    assert set(TRAINING_SIDES).isdisjoint(HELD_OUT_SIDES)
    one = coarse_scan(x_train[0], side=9)
    assert one.shape == (28, 28) and one.dtype == np.float32 and one.max() == pytest.approx(1)
    assert coarse_scan(np.zeros((28, 28), np.uint8), side=9) is None
    scans, labels = coarse_scans(x_train, y_train, 50, seed=3)
    again, _ = coarse_scans(x_train, y_train, 50, seed=3)
    assert scans.dtype == np.uint8 and scans.shape == (50, 28, 28)
    assert np.array_equal(scans, again)
    assert set(labels) <= set(y_train)


def test_coarse_scans_join_the_training_images_and_never_the_validation_split(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    plain, scanned = TrainConfig(), TrainConfig(coarse_scans=200)
    assert scanned.recipe == "custom" and plain.recipe == "seed"
    assert TrainConfig.from_dict(scanned.to_dict()) == scanned
    _, plain_validation, plain_batches = make_datasets(x_train, y_train, plain)
    _, validation, batches = make_datasets(x_train, y_train, scanned)
    trained_on = len(x_train) - int(len(x_train) * plain.validation_split)
    assert plain_batches == -(-trained_on // plain.batch_size)
    assert batches == -(-(trained_on + 200) // plain.batch_size)
    assert validation.cardinality() == plain_validation.cardinality()
    with pytest.raises(ValueError, match="coarse_scans must be at least 0"):
        TrainConfig(coarse_scans=-1)


def test_a_scan_is_read_as_a_grey_picture_and_a_drawing_as_brush_strokes(sample_mnist):
    (x_train, _), _ = sample_mnist
    scan = canvas_to_mnist(low_resolution_scan(x_train[0], side=8), return_stages=True)
    assert _is_soft_picture(scan.cropped)
    assert np.array_equal(scan.scaled, _scale_as_it_is(scan.cropped))
    drawing = canvas_to_mnist(render_sketch(9, brush=8.0), return_stages=True)
    assert not _is_soft_picture(drawing.cropped)


def test_the_bundled_model_reads_coarse_scans_better_kept_grey_than_re_stroked(sample_mnist):
    _, (x_test, y_test) = sample_mnist
    model = load_record(bundled_record())
    pictures = low_resolution_scans(x_test, side=8)
    kept_grey = np.stack([canvas_to_mnist(p) for p in pictures])
    re_stroked = []
    for picture in pictures:
        stages = canvas_to_mnist(picture, return_stages=True)
        re_stroked.append(_centre_by_mass(_scale_with_mnist_stroke(stages.cropped)))
    read_grey = (predict(model, kept_grey).argmax(axis=1) == y_test).mean()
    read_re_stroked = (predict(model, np.stack(re_stroked)).argmax(axis=1) == y_test).mean()
    assert read_grey > read_re_stroked
