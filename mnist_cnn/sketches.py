"""Hand-made digit sketches: canvases that look like digits drawn with a mouse.

There is no data set of digits drawn in the app, so tests, benchmarks, the notebook and the
browser tests draw their own from stroke templates. Each template is a list of polylines in a
unit box (x, y in [0, 1], y pointing down, as on a canvas), with several variants per digit where
people write it differently. Rendering mimics a browser canvas: a round brush, anti-aliased edges
and un-premultiplied RGBA pixels as ``getImageData`` returns them.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]

_SUPERSAMPLE = 4  # draw at 4x and downsample: PIL draws aliased lines, canvases anti-alias
_COLOUR_CONVENTIONS: tuple[tuple[tuple[int, int, int, int], tuple[int, int, int, int]], ...] = (
    ((255, 255, 255, 255), (0, 0, 0, 255)),  # white on black, like MNIST
    ((0, 0, 0, 255), (255, 255, 255, 255)),  # black on white, like paper
    ((20, 20, 20, 255), (0, 0, 0, 0)),  # dark ink on a transparent canvas
)


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float) -> Stroke:
    """Points along an elliptical arc; angles grow clockwise on screen (y points down)."""
    n = max(2, math.ceil(abs(end_deg - start_deg) / 10.0) + 1)  # a point every <= 10 degrees
    angles = np.radians(np.linspace(start_deg, end_deg, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# digit -> variants -> strokes -> points. Strokes run in the direction people usually draw them.
DIGIT_STROKES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.45, 0.5, -90, -450)],  # oval from the top, anticlockwise
        [_arc(0.5, 0.5, 0.35, 0.5, -80, -440)],  # narrow, slightly overshooting the top
        [_arc(0.5, 0.5, 0.5, 0.5, -100, 250)],  # round, clockwise, not quite closed
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],  # plain stick
        [[(0.15, 0.25), (0.55, 0.0), (0.55, 1.0)]],  # with a flag
        [[(0.15, 0.25), (0.5, 0.0), (0.5, 1.0)], [(0.1, 1.0), (0.9, 1.0)]],  # flag and base
        [[(0.65, 0.0), (0.35, 1.0)]],  # slanted stick
    ],
    2: [
        [[*_arc(0.5, 0.3, 0.45, 0.3, 200, 380), (0.0, 1.0), (1.0, 1.0)]],  # swan neck and base
        [  # with a small loop at the foot
            [
                *_arc(0.5, 0.3, 0.45, 0.3, 200, 380),
                *_arc(0.2, 0.86, 0.13, 0.14, 170, -270),
                (1.0, 1.0),
            ]
        ],
        [[*_arc(0.5, 0.35, 0.5, 0.35, 190, 340), (0.05, 1.0), (1.0, 0.95)]],  # rounder neck
    ],
    3: [
        [[*_arc(0.5, 0.25, 0.45, 0.25, -160, 90), *_arc(0.5, 0.75, 0.5, 0.25, -90, 160)]],
        [[(0.0, 0.0), (0.95, 0.0), (0.4, 0.4), *_arc(0.5, 0.7, 0.5, 0.3, -110, 150)]],  # flat top
    ],
    4: [
        [[(0.65, 0.0), (0.0, 0.65), (1.0, 0.65)], [(0.65, 0.0), (0.65, 1.0)]],  # closed
        [[(0.1, 0.0), (0.05, 0.6), (1.0, 0.6)], [(0.72, 0.05), (0.72, 1.0)]],  # open top
        [[(0.2, 0.0), (0.0, 0.55), (0.9, 0.55)], [(0.75, 0.0), (0.7, 1.0)]],  # open, slanted
    ],
    5: [
        [
            [(0.25, 0.0), (0.2, 0.45), *_arc(0.5, 0.7, 0.45, 0.3, -135, 145)],
            [(0.25, 0.0), (0.95, 0.0)],
        ],
        [[(0.9, 0.0), (0.2, 0.0), (0.15, 0.45), *_arc(0.5, 0.7, 0.45, 0.3, -135, 150)]],  # one go
    ],
    6: [
        [[*_arc(0.9, 0.7, 0.8, 0.7, -100, -180), *_arc(0.5, 0.72, 0.4, 0.28, 180, -180)]],
        [[(0.75, 0.0), (0.1, 0.7), *_arc(0.5, 0.72, 0.4, 0.28, 160, -200)]],  # straight stem
    ],
    7: [
        [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],  # plain
        [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)], [(0.3, 0.5), (0.9, 0.5)]],  # with a crossbar
        [[(0.0, 0.15), (0.0, 0.0), (1.0, 0.0), (0.8, 0.3), (0.6, 0.6), (0.45, 0.85), (0.4, 1.0)]],
    ],
    8: [
        [  # the usual one-stroke S and back up
            [
                *_arc(0.5, 0.25, 0.35, 0.25, -30, -270),
                *_arc(0.5, 0.74, 0.45, 0.26, -90, 270),
                *_arc(0.5, 0.25, 0.35, 0.25, 90, -30),
            ]
        ],
        [_arc(0.5, 0.24, 0.36, 0.24, 90, -270), _arc(0.5, 0.74, 0.46, 0.26, -90, 270)],  # snowman
    ],
    9: [
        [[*_arc(0.5, 0.3, 0.45, 0.3, 0, -360), (0.9, 1.0)]],  # loop and straight tail
        [[*_arc(0.5, 0.3, 0.45, 0.3, 0, -360), *_arc(0.35, 0.3, 0.6, 0.7, 0, 100)]],  # curved tail
        [[*_arc(0.45, 0.3, 0.4, 0.3, -20, -370), (0.75, 1.0)]],  # slanted tail
    ],
}


def sketch_strokes(
    digit: int,
    *,
    variant: int = 0,
    size: int = 280,
    box: tuple[float, float, float, float] = (0.2, 0.1, 0.8, 0.9),
    rotation_deg: float = 0.0,
    jitter: float = 0.0,
    rng: np.random.Generator | None = None,
) -> list[Stroke]:
    """The strokes of a digit in canvas pixel coordinates, e.g. to drive a mouse in a browser.

    ``box`` is (left, top, right, bottom) as fractions of ``size``; the template's unit box is
    stretched onto it. ``rotation_deg`` turns the digit clockwise about the box centre and
    ``jitter`` moves each point by Gaussian noise with that standard deviation, as a fraction of
    the box's longer side (a shaky hand). Points are clipped to the canvas.
    """
    variants = DIGIT_STROKES[digit]
    if not 0 <= variant < len(variants):
        raise ValueError(f"digit {digit} has variants 0..{len(variants) - 1}, got {variant}")
    left, top, right, bottom = (size * f for f in box)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    turn = math.radians(rotation_deg)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    noise_scale = jitter * max(right - left, bottom - top)
    rng = rng if rng is not None else np.random.default_rng()
    strokes = []
    for template in variants[variant]:
        unit = np.asarray(template, dtype=np.float64)
        points = np.column_stack(
            (left + unit[:, 0] * (right - left) - cx, top + unit[:, 1] * (bottom - top) - cy)
        )
        points = points @ rotation.T + (cx, cy)
        if noise_scale > 0:
            points += rng.normal(0.0, noise_scale, points.shape)
        points = np.clip(points, 0.0, size - 1.0)
        strokes.append([(float(x), float(y)) for x, y in points])
    return strokes


def render_sketch(
    digit: int,
    *,
    variant: int = 0,
    size: int = 280,
    brush: float = 18.0,
    box: tuple[float, float, float, float] = (0.2, 0.1, 0.8, 0.9),
    ink: tuple[int, int, int, int] = (255, 255, 255, 255),
    background: tuple[int, int, int, int] = (0, 0, 0, 255),
    rotation_deg: float = 0.0,
    jitter: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Draw a digit as a browser canvas would: a (size, size, 4) uint8 RGBA array.

    The brush is round (``brush`` px wide) with anti-aliased edges; ink is composited over the
    background with "source-over", so on a transparent background the stroke edges keep the ink
    colour and carry their coverage in alpha, as ``getImageData`` reports them.
    """
    strokes = sketch_strokes(
        digit,
        variant=variant,
        size=size,
        box=box,
        rotation_deg=rotation_deg,
        jitter=jitter,
        rng=rng,
    )
    big = size * _SUPERSAMPLE
    radius = brush * _SUPERSAMPLE / 2
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        points = [(x * _SUPERSAMPLE, y * _SUPERSAMPLE) for x, y in stroke]
        draw.line(points, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for x, y in points:  # round caps and smooth joints, like lineCap = lineJoin = "round"
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    coverage = np.asarray(mask.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    return _source_over(coverage / 255.0, ink, background)


def _source_over(
    coverage: np.ndarray, ink: tuple[int, int, int, int], background: tuple[int, int, int, int]
) -> np.ndarray:
    """Composite ink with per-pixel coverage over a background; un-premultiplied RGBA uint8."""
    ink_rgba = np.asarray(ink, dtype=np.float32) / 255.0
    bg_rgba = np.asarray(background, dtype=np.float32) / 255.0
    src_alpha = coverage[..., None] * ink_rgba[3]
    dst_alpha = bg_rgba[3] * (1.0 - src_alpha)
    alpha = src_alpha + dst_alpha
    rgb = ink_rgba[:3] * src_alpha + bg_rgba[:3] * dst_alpha
    rgb = np.where(alpha > 0, rgb / np.maximum(alpha, 1e-6), bg_rgba[:3])
    rgba = np.concatenate((rgb, alpha), axis=-1)
    return np.round(rgba * 255.0).astype(np.uint8)


def drawn_digit_set(n_per_digit: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A varied, deterministic set of drawn digits: (N, 280, 280, 4) uint8 canvases and labels.

    Each canvas picks a random variant, size, position, aspect, brush (4..40 px, but at most a
    quarter of the digit's height so it stays legible), rotation (+-15 degrees), a slight jitter
    and one of three colour conventions: white on black, black on white, dark on transparent.
    Labels cycle 0..9, so every digit appears ``n_per_digit`` times.
    """
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(10, dtype=np.int64), n_per_digit)
    canvases = np.empty((labels.size, 280, 280, 4), dtype=np.uint8)
    for i, digit in enumerate(labels):
        height = rng.uniform(0.3, 0.9)
        width = min(height * rng.uniform(0.55, 0.95), 0.9)
        left = rng.uniform(0.05, 0.95 - width)
        top = rng.uniform(0.05, 0.95 - height)
        ink, background = _COLOUR_CONVENTIONS[rng.integers(len(_COLOUR_CONVENTIONS))]
        canvases[i] = render_sketch(
            int(digit),
            variant=int(rng.integers(len(DIGIT_STROKES[digit]))),
            brush=min(rng.uniform(4.0, 40.0), 0.25 * height * 280),
            box=(left, top, left + width, top + height),
            ink=ink,
            background=background,
            rotation_deg=rng.uniform(-15.0, 15.0),
            jitter=rng.uniform(0.0, 0.01),
            rng=rng,
        )
    return canvases, labels
