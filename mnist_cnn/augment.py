"""Random distortions that make MNIST look more like digits drawn with a mouse.

Drawn digits are shifted, scaled, tilted and written with thicker or thinner
strokes than MNIST's pen; showing the model such variants during training makes
it robust to them. Applied per batch inside the ``tf.data`` pipeline.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Small enough that a 6 stays a 6 and a 1 stays a 1.
ROTATION_FACTOR = 0.03  # fraction of a full turn: about +-11 degrees
ZOOM_FACTOR = 0.1
SHIFT_FACTOR = 0.08  # fraction of the image: about +-2 px
STROKE_CHANGE_PROBABILITY = 0.3  # chance each of thinner and thicker strokes


def make_augmenter(seed: int) -> keras.Sequential:
    """Random rotation, zoom and shift, seeded so a run can be repeated."""
    return keras.Sequential(
        [
            keras.layers.RandomRotation(ROTATION_FACTOR, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom(ZOOM_FACTOR, fill_mode="constant", seed=seed + 1),
            keras.layers.RandomTranslation(
                SHIFT_FACTOR, SHIFT_FACTOR, fill_mode="constant", seed=seed + 2
            ),
        ],
        name="augmenter",
    )


def vary_stroke_width(images: tf.Tensor, seed: int) -> tf.Tensor:
    """Thin or thicken some strokes by a pixel (grey erosion / dilation)."""
    thicker = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    draw = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], seed=seed)
    return tf.where(
        draw < STROKE_CHANGE_PROBABILITY,
        thinner,
        tf.where(draw > 1 - STROKE_CHANGE_PROBABILITY, thicker, images),
    )


def augment_dataset(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Distort each batch of ``(images, labels)`` of a batched dataset."""
    augmenter = make_augmenter(seed)

    def distort(images, labels):
        images = vary_stroke_width(augmenter(images, training=True), seed=seed)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return dataset.map(distort, num_parallel_calls=tf.data.AUTOTUNE)
