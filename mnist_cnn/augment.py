"""Random distortions that make MNIST look more like digits drawn with a mouse.

Drawn digits are shifted, scaled, tilted and written with thicker or thinner
strokes than MNIST's pen; showing the model such variants during training makes
it robust to them. Applied per batch inside the ``tf.data`` pipeline, in one of three
strengths (``AUGMENTATIONS``):

* ``"standard"``: rotation, zoom, shift and stroke width (``TrainConfig(augment=True)``).
* ``"light"``: small shifts and rotations only, as one affine warp per image. Enough to stop
  the model from memorising exact pixel positions without making MNIST's own test digits
  harder to read: the tuned recipe's augmentation.
* ``"drawn"``: aimed at digits drawn in the app. A wider affine warp with slant (people tilt
  their digits by up to about 20 degrees, and MNIST is mostly upright), separate horizontal
  and vertical scale (narrow 1s and wide 0s), a smooth random "elastic" wobble (Simard et al.,
  2003: shaky strokes, uneven loops) and thinner or thicker strokes. MNIST's 1s are mostly
  plain sticks (American schools teach them so), while many people write a 1 with a flag and
  often a base; a model that never saw one reads a flagged 1 as a 7 or a 4. So half of the 1s
  get a pen stroke added: a flag from the top, sometimes a base too. The bundled model.
* ``"hands"``: ``"drawn"`` and what separates other writers and other captures from MNIST's:
  a bar across the stem of half the 7s (as much of the world writes them), strokes broken by
  small gaps (a pen that skips, a faint scan), and low resolution: some batches sampled down
  so that the digit spans 7 to 12 pixels, in 16 grey levels, and enlarged back, as a scanned
  form or a phone photo of one gives it.
"""

from __future__ import annotations

import math
import os

import keras
import tensorflow as tf

AUGMENTATIONS = ("standard", "light", "drawn", "hands")

# Batches the heavier augmentations work on at once: one per core, what tf.data's autotuning
# settles on here (the training pipeline turns autotuning off: see training.WITHOUT_AUTOTUNE).
PARALLEL_CALLS = os.cpu_count() or 1
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
    draw = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], seed=seed)
    return _thinner_or_thicker(images, draw, STROKE_CHANGE_PROBABILITY)


def _thinner_or_thicker(images: tf.Tensor, draw: tf.Tensor, probability: float) -> tf.Tensor:
    """Erode images whose ``draw`` (uniform in [0, 1)) is below ``probability``, dilate those
    above ``1 - probability`` and keep the rest."""
    thicker = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    return tf.where(draw < probability, thinner, tf.where(draw > 1 - probability, thicker, images))


# "light": about +-2 px and +-10 degrees, as in the tuned recipe.
LIGHT_SHIFT_PX = 2.0
LIGHT_ROTATION_DEG = 10.0
# "drawn": wider ranges, still small enough that a 6 stays a 6 and a 1 stays a 1.
DRAWN_SHIFT_PX = 2.0
DRAWN_ROTATION_DEG = 12.0
DRAWN_SLANT = 0.35  # horizontal shear, x += slant * y: about +-20 degrees
DRAWN_SCALE_RANGE = (0.8, 1.15)  # per axis
ELASTIC_PX = 0.8  # standard deviation of the smooth displacement, in pixels
ELASTIC_GRID = 4  # the displacement is random on a 4x4 grid and smooth in between
DRAWN_STROKE_CHANGE_PROBABILITY = 0.35
FLAG_PROBABILITY = 0.5  # of a 1 getting a flag; a flagged 1 also gets a base with:
BASE_PROBABILITY = 0.4
FLAG_LENGTH_PX = (4.0, 8.0)
FLAG_ANGLE_DEG = (20.0, 60.0)  # below the horizontal, pointing left and down from the top
BASE_HALF_WIDTH_PX = (3.0, 5.5)
PEN_WIDTH_PX = 2.2  # MNIST's strokes are about 2.5 px wide, with soft edges
ONE, SEVEN = 1, 7
# "hands": barred 7s, broken strokes, low resolution.
BAR_PROBABILITY = 0.5  # of a 7 getting a bar across its stem
BAR_HALF_WIDTH_PX = (2.5, 4.5)
BREAK_PROBABILITY = 0.2  # of an image getting gaps in its strokes
BREAKS = 2  # gaps per broken image, each a disc cut out of the ink
BREAK_RADIUS_PX = 1.3
BREAK_AREA = (6.0, 22.0)  # rows and columns where gaps fall: MNIST's digit box
LOW_RES_PROBABILITY = 0.3  # of an image being sampled down and back
# The whole 28x28 image's side when sampled down: MNIST's 20-pixel digit then spans 7-12 px.
LOW_RES_SIDES = (10, 17)
LOW_RES_LEVELS = 16

_CENTRE = 13.5  # centre of a 28x28 image in pixel coordinates


def random_affine(
    images: tf.Tensor,
    seed: tf.Tensor,
    *,
    shift_px: float,
    rotation_deg: float,
) -> tf.Tensor:
    """One random rotation and shift per image, in a single op.

    Composing the distortions into one matrix samples each image once, which is both
    sharper and cheaper than chaining Keras' RandomRotation and RandomTranslation. All the
    batch's random numbers come from one stateless draw from ``seed`` (a pair of integers): in
    tf.data each small op has a fixed cost, and this map runs on the cores the train step needs.
    """
    n = tf.shape(images)[0]
    draws = tf.random.stateless_uniform([n, 3], seed, -1.0, 1.0)  # angle, column, row shift
    angle = draws[:, 0] * math.radians(rotation_deg)
    cos, sin = tf.cos(angle), tf.sin(angle)
    shift = draws[:, 1:] * shift_px
    # input = R(angle) @ (output - centre) + centre + shift, as _affine without slant or scale
    a2 = _CENTRE - (cos - sin) * _CENTRE + shift[:, 0]
    b2 = _CENTRE - (sin + cos) * _CENTRE + shift[:, 1]
    zeros = tf.zeros([n])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1),
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def random_drawn_warp(images: tf.Tensor, generator: tf.random.Generator) -> tf.Tensor:
    """An affine warp with slant and scale plus a smooth elastic wobble, sampled once.

    The wobble moves every pixel by a smooth random displacement of about ``ELASTIC_PX``
    pixels: random on a coarse grid, bicubic in between. Adding it to the affine map before
    sampling keeps strokes as sharp as a single warp would.
    """
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    a0, a1, a2, b0, b1, b2 = (
        value[:, None, None]
        for value in _affine(
            n, generator, DRAWN_SHIFT_PX, DRAWN_ROTATION_DEG, DRAWN_SLANT, DRAWN_SCALE_RANGE
        )
    )
    coarse = generator.normal([n, ELASTIC_GRID, ELASTIC_GRID, 2], stddev=ELASTIC_PX)
    flow = tf.image.resize(coarse, [height, width], method="bicubic")
    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )
    source_cols = a0 * cols + a1 * rows + a2 + flow[..., 1]
    source_rows = b0 * cols + b1 * rows + b2 + flow[..., 0]
    return _bilinear_sample(images, source_rows, source_cols)


def _affine(
    n: tf.Tensor,
    generator: tf.random.Generator,
    shift_px: float,
    rotation_deg: float,
    slant: float,
    scale_range: tuple[float, float],
) -> tuple[tf.Tensor, ...]:
    """Random output-to-input maps, (col, row) -> (a0 col + a1 row + a2, b0 col + b1 row + b2)."""
    angle = generator.uniform([n], -1.0, 1.0) * math.radians(rotation_deg)
    shear = generator.uniform([n], -slant, slant)
    scale_x = 1.0 / generator.uniform([n], *scale_range)  # output -> input: inverse scale
    scale_y = 1.0 / generator.uniform([n], *scale_range)
    shift = generator.uniform([n, 2], -shift_px, shift_px)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # input = R(angle) @ Shear @ S @ (output - centre) + centre + shift
    a0, a1 = cos * scale_x, (cos * shear - sin) * scale_y
    b0, b1 = sin * scale_x, (sin * shear + cos) * scale_y
    a2 = _CENTRE - a0 * _CENTRE - a1 * _CENTRE + shift[:, 0]
    b2 = _CENTRE - b0 * _CENTRE - b1 * _CENTRE + shift[:, 1]
    return a0, a1, a2, b0, b1, b2


def _bilinear_sample(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """``images`` (N, H, W, 1) read at fractional (N, H, W) positions; outside is black."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # a black border to read from
    rows = tf.clip_by_value(rows, -1.0, tf.cast(height, tf.float32))
    cols = tf.clip_by_value(cols, -1.0, tf.cast(width, tf.float32))
    top, left = tf.floor(rows), tf.floor(cols)
    down, right = rows - top, cols - left

    def read(r: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
        r = tf.clip_by_value(tf.cast(r, tf.int32) + 1, 0, height + 1)
        c = tf.clip_by_value(tf.cast(c, tf.int32) + 1, 0, width + 1)
        return tf.gather_nd(padded, tf.stack([r, c], axis=-1), batch_dims=1)

    sampled = (
        read(top, left) * (1 - down) * (1 - right)
        + read(top, left + 1) * (1 - down) * right
        + read(top + 1, left) * down * (1 - right)
        + read(top + 1, left + 1) * down * right
    )
    return sampled[..., tf.newaxis]


def add_flags_to_ones(
    images: tf.Tensor, labels: tf.Tensor, generator: tf.random.Generator
) -> tf.Tensor:
    """Draw a flag (and sometimes a base) onto some of the 1s in a batch, with MNIST's pen.

    The flag starts at the top of the 1's stroke and runs left and down; the base is a short
    horizontal stroke centred under the bottom of the stroke.
    """
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    pixels = images[..., 0]
    rows_with_ink = tf.reduce_max(pixels, axis=2) > 0.5  # (N, H)
    top = tf.cast(tf.argmax(tf.cast(rows_with_ink, tf.int32), axis=1), tf.float32)
    bottom = tf.cast(height - 1, tf.float32) - tf.cast(
        tf.argmax(tf.cast(rows_with_ink[:, ::-1], tf.int32), axis=1), tf.float32
    )
    top_col = _ink_column(pixels, tf.cast(top, tf.int32))
    bottom_col = _ink_column(pixels, tf.cast(bottom, tf.int32))

    is_one = tf.equal(tf.cast(labels, tf.int32), ONE) & tf.reduce_any(rows_with_ink, axis=1)
    flagged = is_one & (generator.uniform([n]) < FLAG_PROBABILITY)
    based = flagged & (generator.uniform([n]) < BASE_PROBABILITY)
    length = generator.uniform([n], *FLAG_LENGTH_PX)
    angle = tf.math.multiply(generator.uniform([n], *FLAG_ANGLE_DEG), math.pi / 180.0)
    flag = _segment_ink(
        height,
        width,
        start=(top, top_col),
        end=(top + length * tf.sin(angle), top_col - length * tf.cos(angle)),
    )
    half = generator.uniform([n], *BASE_HALF_WIDTH_PX)
    base = _segment_ink(
        height, width, start=(bottom, bottom_col - half), end=(bottom, bottom_col + half)
    )
    added = tf.maximum(
        flag * tf.cast(flagged, tf.float32)[:, None, None],
        base * tf.cast(based, tf.float32)[:, None, None],
    )
    return tf.maximum(images, added[..., tf.newaxis])


def add_bars_to_sevens(
    images: tf.Tensor, labels: tf.Tensor, generator: tf.random.Generator
) -> tf.Tensor:
    """Draw a short bar across the stem of some of the 7s, halfway down the digit."""
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    pixels = images[..., 0]
    rows_with_ink = tf.reduce_max(pixels, axis=2) > 0.5
    top = tf.cast(tf.argmax(tf.cast(rows_with_ink, tf.int32), axis=1), tf.float32)
    bottom = tf.cast(height - 1, tf.float32) - tf.cast(
        tf.argmax(tf.cast(rows_with_ink[:, ::-1], tf.int32), axis=1), tf.float32
    )
    middle = tf.round((top + bottom) / 2)
    stem = _ink_column(pixels, tf.cast(middle, tf.int32))
    is_seven = tf.equal(tf.cast(labels, tf.int32), SEVEN) & tf.reduce_any(rows_with_ink, axis=1)
    barred = is_seven & (generator.uniform([n]) < BAR_PROBABILITY)
    half = generator.uniform([n], *BAR_HALF_WIDTH_PX)
    bar = _segment_ink(height, width, start=(middle, stem - half), end=(middle, stem + half))
    return tf.maximum(images, (bar * tf.cast(barred, tf.float32)[:, None, None])[..., tf.newaxis])


def break_strokes(images: tf.Tensor, generator: tf.random.Generator) -> tf.Tensor:
    """Cut ``BREAKS`` small discs out of the strokes of some images: a pen that skips."""
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )
    centres = generator.uniform([n, BREAKS, 2], *BREAK_AREA)
    distance = tf.sqrt(
        (rows[None, None] - centres[..., 0, None, None]) ** 2
        + (cols[None, None] - centres[..., 1, None, None]) ** 2
    )  # (N, BREAKS, H, W)
    kept = tf.reduce_min(tf.clip_by_value(distance - BREAK_RADIUS_PX, 0.0, 1.0), axis=1)
    broken = generator.uniform([n, 1, 1]) < BREAK_PROBABILITY
    return images * tf.where(broken, kept, 1.0)[..., tf.newaxis]


def low_resolution(images: tf.Tensor, generator: tf.random.Generator) -> tf.Tensor:
    """Sample some images down to a side of ``LOW_RES_SIDES`` pixels (one side a batch), in
    ``LOW_RES_LEVELS`` grey levels, and enlarge them back, their strongest pixel at full ink: a
    coarse scan's blur, as the app's preprocessing hands it to the model."""
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    side = tf.cast(generator.uniform([], *LOW_RES_SIDES), tf.int32)
    small = tf.image.resize(images, tf.stack([side, side]), method="area")
    levels = LOW_RES_LEVELS - 1
    small = tf.round(tf.clip_by_value(small, 0.0, 1.0) * levels) / levels
    coarse = tf.image.resize(small, tf.stack([height, width]), method="bilinear")
    # Full ink at the strongest pixel, as the app's preprocessing (and a scanner) stretches it.
    coarse = coarse / tf.maximum(tf.reduce_max(coarse, axis=[1, 2, 3], keepdims=True), 1e-6)
    chosen = generator.uniform([n, 1, 1, 1]) < LOW_RES_PROBABILITY
    return tf.where(chosen, coarse, images)


def _ink_column(pixels: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
    """The ink-weighted mean column of each image's given row."""
    row = tf.gather(pixels, rows, axis=1, batch_dims=1)  # (N, W)
    columns = tf.range(tf.shape(pixels)[2], dtype=tf.float32)
    return tf.reduce_sum(row * columns, axis=1) / tf.maximum(tf.reduce_sum(row, axis=1), 1e-6)


def _segment_ink(
    height: tf.Tensor,
    width: tf.Tensor,
    start: tuple[tf.Tensor, tf.Tensor],
    end: tuple[tf.Tensor, tf.Tensor],
) -> tf.Tensor:
    """(N, H, W) ink of one straight pen stroke per image, from (row, col) start to end."""
    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )
    r0, c0 = (value[:, None, None] for value in start)
    r1, c1 = (value[:, None, None] for value in end)
    dr, dc = r1 - r0, c1 - c0
    along = ((rows - r0) * dr + (cols - c0) * dc) / tf.maximum(dr * dr + dc * dc, 1e-6)
    along = tf.clip_by_value(along, 0.0, 1.0)
    distance = tf.sqrt((rows - r0 - along * dr) ** 2 + (cols - c0 - along * dc) ** 2)
    return tf.clip_by_value(PEN_WIDTH_PX / 2 + 0.5 - distance, 0.0, 1.0)


def augment_dataset(dataset: tf.data.Dataset, seed: int, kind: str = "standard") -> tf.data.Dataset:
    """Distort each batch of ``(images, labels)`` of a batched dataset (see ``AUGMENTATIONS``)."""
    if kind not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}, not {kind!r}")
    if kind == "standard":
        augmenter = make_augmenter(seed)

        def distort(images, labels):
            images = vary_stroke_width(augmenter(images, training=True), seed=seed)
            return tf.clip_by_value(images, 0.0, 1.0), labels

        return dataset.map(distort, num_parallel_calls=PARALLEL_CALLS)

    if kind == "light":
        # A seed per batch from a sequential stream, new each epoch and the same for the same
        # ``seed``: the warps then run in parallel and a seed still repeats a run's batches.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

        def distort_light(batch, batch_seed):
            images, labels = batch
            images = random_affine(
                images, batch_seed, shift_px=LIGHT_SHIFT_PX, rotation_deg=LIGHT_ROTATION_DEG
            )
            return images, labels

        return tf.data.Dataset.zip(dataset, seeds).map(
            distort_light, num_parallel_calls=PARALLEL_CALLS
        )

    # A generator whose state lives outside the pipeline, so every epoch draws new distortions.
    generator = tf.random.Generator.from_seed(seed)

    hands = kind == "hands"

    def distort_drawn(images, labels):
        images = add_flags_to_ones(images, labels, generator)
        if hands:
            images = add_bars_to_sevens(images, labels, generator)
        images = random_drawn_warp(images, generator)
        draw = generator.uniform([tf.shape(images)[0], 1, 1, 1])
        images = _thinner_or_thicker(images, draw, DRAWN_STROKE_CHANGE_PROBABILITY)
        if hands:
            images = low_resolution(break_strokes(images, generator), generator)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    # The drawn warp costs about 16 ms a batch, more than a train step: it needs both cores, and
    # its generator's draws then reach the batches in a varying order.
    return dataset.map(distort_drawn, num_parallel_calls=PARALLEL_CALLS)
