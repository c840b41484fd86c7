"""Hand-made digit sketches: canvases that look like digits drawn with a mouse.

There is no data set of digits drawn in the app, so tests, benchmarks, the notebook and the
browser tests draw their own from stroke templates. Each template is a list of polylines in a
unit box (x, y in [0, 1], y pointing down, as on a canvas), with several variants per digit where
people write it differently. Rendering mimics a browser canvas: a round brush, anti-aliased edges
and un-premultiplied RGBA pixels as ``getImageData`` returns them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

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
    return render_strokes(strokes, size=size, brush=brush, ink=ink, background=background)


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


def _digit_set(
    n_per_digit: int, seed: int, draw: Callable[[np.random.Generator, int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Labels cycling 0..9 ``n_per_digit`` times and their canvases, ``draw(rng, digit)`` each."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(10, dtype=np.int64), n_per_digit)
    canvases = np.empty((labels.size, 280, 280, 4), dtype=np.uint8)
    for i, digit in enumerate(labels):
        canvases[i] = draw(rng, int(digit))
    return canvases, labels


def _random_box(
    rng: np.random.Generator,
    heights: tuple[float, float],
    aspects: tuple[float, float],
    max_width: float,
    lefts: tuple[float, float],
) -> tuple[float, tuple[float, float, float, float]]:
    """A digit's height and box (fractions of the canvas): random height, aspect, position."""
    height = rng.uniform(*heights)
    width = min(height * rng.uniform(*aspects), max_width)
    left = rng.uniform(lefts[0], lefts[1] - width)
    top = rng.uniform(0.05, 0.95 - height)
    return height, (left, top, left + width, top + height)


def drawn_digit_set(n_per_digit: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A varied, deterministic set of drawn digits: (N, 280, 280, 4) uint8 canvases and labels.

    Each canvas picks a random variant, size, position, aspect, brush (4..40 px, but at most a
    quarter of the digit's height so it stays legible), rotation (+-15 degrees), a slight jitter
    and one of three colour conventions: white on black, black on white, dark on transparent.
    Labels cycle 0..9, so every digit appears ``n_per_digit`` times.
    """

    def draw(rng: np.random.Generator, digit: int) -> np.ndarray:
        height, box = _random_box(rng, (0.3, 0.9), (0.55, 0.95), 0.9, (0.05, 0.95))
        ink, background = _COLOUR_CONVENTIONS[rng.integers(len(_COLOUR_CONVENTIONS))]
        return render_sketch(
            digit,
            variant=int(rng.integers(len(DIGIT_STROKES[digit]))),
            brush=min(rng.uniform(4.0, 40.0), 0.25 * height * 280),
            box=box,
            ink=ink,
            background=background,
            rotation_deg=rng.uniform(-15.0, 15.0),
            jitter=rng.uniform(0.0, 0.01),
            rng=rng,
        )

    return _digit_set(n_per_digit, seed, draw)


# --- A second, independent generator: pen-style digits -----------------------------------------
#
# The set above is what the bundled model is developed against. To tell whether a model reads
# drawings in general, rather than those templates, this second generator was written apart from
# it and is never used to choose training settings: other shapes (smooth Bezier strokes), other
# styles of the ambiguous digits (long-flagged, serifed and curved 1s, closed and crossed 4s,
# curved 7 and 9 stems, Z-shaped 2s), strokes whose width swells and thins like a pen under
# varying pressure, a slow hand tremor instead of per-point jitter, italic slant, and coloured
# inks on tinted paper.


def _bezier(*points: Point, n: int = 16) -> Stroke:
    """Points along a cubic Bezier curve through p0 and p3, pulled towards p1 and p2."""
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in points)
    t = np.linspace(0.0, 1.0, n)[:, np.newaxis]
    curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    return [(float(x), float(y)) for x, y in curve]


def _join(*parts: Stroke) -> Stroke:
    return [point for part in parts for point in part]


# digit -> styles -> strokes -> points, in a unit box (y down), like DIGIT_STROKES.
PEN_STROKES: dict[int, list[list[Stroke]]] = {
    0: [
        [
            _join(
                _bezier((0.6, 0.0), (0.0, -0.05), (-0.05, 1.0), (0.45, 1.0)),
                _bezier((0.45, 1.0), (1.05, 1.0), (1.0, -0.05), (0.45, 0.05)),
            )
        ],
        [
            _join(
                _bezier((0.5, 0.0), (0.1, 0.0), (0.05, 0.3), (0.05, 0.5)),
                _bezier((0.05, 0.5), (0.05, 0.8), (0.2, 1.0), (0.5, 1.0)),
                _bezier((0.5, 1.0), (0.8, 1.0), (0.95, 0.8), (0.95, 0.5)),
                _bezier((0.95, 0.5), (0.95, 0.2), (0.8, 0.0), (0.5, 0.0)),
            )
        ],
    ],
    1: [
        [[(0.1, 0.35), (0.6, 0.0), (0.6, 1.0)]],  # long flag
        [[(0.35, 0.15), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]],  # short flag, base
        [_bezier((0.45, 0.0), (0.55, 0.3), (0.55, 0.7), (0.5, 1.0))],  # slightly curved stick
        [[(0.25, 0.2), (0.6, 0.0), (0.55, 1.0)], [(0.2, 0.98), (0.95, 1.0)]],  # flag, wide base
    ],
    2: [
        [
            _join(
                _bezier((0.05, 0.25), (0.15, -0.1), (0.95, -0.1), (0.85, 0.3)),
                [(0.85, 0.3), (0.05, 1.0), (1.0, 1.0)],
            )
        ],
        [[(0.05, 0.05), (0.9, 0.05), (0.1, 1.0), (0.95, 1.0)]],  # Z-shaped
    ],
    3: [
        [
            _join(
                _bezier((0.05, 0.1), (0.5, -0.15), (1.0, 0.15), (0.4, 0.48)),
                _bezier((0.4, 0.48), (1.15, 0.55), (0.9, 1.2), (0.05, 0.9)),
            )
        ],
        [  # pointed middle
            _join(
                _bezier((0.1, 0.15), (0.4, -0.1), (1.0, 0.05), (0.35, 0.5)),
                _bezier((0.35, 0.5), (1.1, 0.45), (1.0, 1.1), (0.1, 0.88)),
            )
        ],
    ],
    4: [
        [[(0.7, 1.0), (0.7, 0.0), (0.0, 0.68), (1.0, 0.68)]],  # closed, one stroke
        [[(0.15, 0.0), (0.08, 0.6), (0.95, 0.6)], [(0.72, 0.15), (0.72, 1.0)]],  # open
        [[(0.55, 0.0), (0.0, 0.7), (1.0, 0.7)], [(0.75, 0.3), (0.75, 1.0)]],  # crossed
    ],
    5: [
        [
            _join(
                [(0.9, 0.0), (0.25, 0.0), (0.2, 0.42)],
                _bezier((0.2, 0.42), (0.9, 0.25), (1.1, 0.95), (0.05, 0.92)),
            )
        ],
        [
            _join(
                [(0.25, 0.0), (0.2, 0.45)],
                _bezier((0.2, 0.45), (0.95, 0.3), (1.0, 1.05), (0.1, 0.95)),
            ),
            [(0.25, 0.0), (0.95, 0.02)],
        ],
    ],
    6: [
        [
            _join(
                _bezier((0.8, 0.0), (0.3, 0.1), (0.0, 0.55), (0.15, 0.85)),
                _bezier((0.15, 0.85), (0.35, 1.15), (1.0, 0.95), (0.85, 0.65)),
                _bezier((0.85, 0.65), (0.7, 0.35), (0.2, 0.45), (0.12, 0.7)),
            )
        ],
    ],
    7: [
        [
            _join(
                [(0.0, 0.0), (1.0, 0.0)], _bezier((1.0, 0.0), (0.6, 0.35), (0.45, 0.6), (0.4, 1.0))
            )
        ],
        [[(0.0, 0.12), (0.05, 0.0), (1.0, 0.02), (0.4, 1.0)], [(0.35, 0.55), (0.85, 0.5)]],
        [[(0.05, 0.0), (0.95, 0.0), (0.55, 1.0)]],
    ],
    8: [
        [
            _join(
                _bezier((0.85, 0.1), (0.5, -0.1), (-0.1, 0.2), (0.5, 0.5)),
                _bezier((0.5, 0.5), (1.1, 0.8), (0.6, 1.1), (0.3, 0.95)),
                _bezier((0.3, 0.95), (-0.1, 0.75), (0.3, 0.55), (0.5, 0.5)),
                _bezier((0.5, 0.5), (0.95, 0.35), (0.95, 0.05), (0.6, 0.02)),
            )
        ],
    ],
    9: [
        [
            _join(
                _bezier((0.85, 0.2), (0.6, -0.1), (0.0, 0.0), (0.1, 0.35)),
                _bezier((0.1, 0.35), (0.2, 0.6), (0.8, 0.55), (0.85, 0.2)),
                [(0.85, 0.2), (0.8, 1.0)],
            )
        ],
        [
            _join(
                _bezier((0.85, 0.25), (0.7, -0.1), (0.05, 0.0), (0.12, 0.3)),
                _bezier((0.12, 0.3), (0.2, 0.6), (0.85, 0.55), (0.85, 0.25)),
                _bezier((0.85, 0.25), (0.85, 0.6), (0.7, 0.85), (0.45, 1.0)),
            )
        ],
    ],
}

_PEN_INKS: tuple[tuple[tuple[int, int, int, int], tuple[int, int, int, int]], ...] = (
    ((30, 60, 200, 255), (255, 255, 255, 255)),  # blue ballpoint on white
    ((80, 80, 80, 255), (245, 240, 228, 255)),  # pencil on cream paper
    ((240, 240, 240, 255), (20, 30, 60, 255)),  # chalk on a dark board
    ((200, 30, 30, 255), (0, 0, 0, 0)),  # red ink on a transparent canvas
)


def render_pen_digit(
    digit: int,
    rng: np.random.Generator,
    *,
    style: int,
    size: int = 280,
    box: tuple[float, float, float, float] = (0.2, 0.1, 0.8, 0.9),
    pen: float = 14.0,
    slant: float = 0.0,
    rotation_deg: float = 0.0,
    tremor: float = 0.0,
    ink: tuple[int, int, int, int] = (30, 60, 200, 255),
    paper: tuple[int, int, int, int] = (255, 255, 255, 255),
) -> np.ndarray:
    """A digit from ``PEN_STROKES`` as a (size, size, 4) RGBA canvas, drawn with a pen.

    The pen's width (``pen`` px on average) swells and thins along each stroke; ``slant``
    leans the digit like italics (x moves by ``slant`` times the height above the centre);
    ``tremor`` is a slow wobble of the hand, as a fraction of the box's longer side.
    """
    left, top, right, bottom = (size * f for f in box)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    turn = math.radians(rotation_deg)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    span = max(right - left, bottom - top)
    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    for template in PEN_STROKES[digit][style]:
        unit = _densify(np.asarray(template, dtype=np.float64))
        x = left + unit[:, 0] * (right - left) - cx
        y = top + unit[:, 1] * (bottom - top) - cy
        points = np.column_stack((x - slant * y, y)) @ rotation.T + (cx, cy)
        along = np.linspace(0.0, 1.0, len(points))[:, np.newaxis]
        phases = rng.uniform(0, 2 * math.pi, (2, 2))
        wobble = np.sin(2 * math.pi * along * rng.uniform(0.5, 1.5) + phases[0]) + 0.5 * np.sin(
            2 * math.pi * along * rng.uniform(1.5, 3.0) + phases[1]
        )
        points = np.clip(points + tremor * span * wobble, 0.0, size - 1.0)
        pressure = 0.75 + 0.5 * (0.5 + 0.5 * np.sin(2 * math.pi * along[:, 0] + rng.uniform(0, 6)))
        for (px, py), scale in zip(points, pressure, strict=True):
            radius = pen * scale * _SUPERSAMPLE / 2
            sx, sy = px * _SUPERSAMPLE, py * _SUPERSAMPLE
            draw.ellipse((sx - radius, sy - radius, sx + radius, sy + radius), fill=255)
    coverage = np.asarray(mask.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    return _source_over(coverage / 255.0, ink, paper)


def _densify(points: np.ndarray, step: float = 0.01) -> np.ndarray:
    """The polyline with extra points so that neighbours are at most ``step`` apart."""
    dense = [points[0]]
    for start, end in itertools.pairwise(points):
        pieces = max(1, math.ceil(np.linalg.norm(end - start) / step))
        dense.extend(start + (end - start) * k / pieces for k in range(1, pieces + 1))
    return np.asarray(dense)


def pen_digit_set(n_per_digit: int = 30, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A second drawn-digit set from ``render_pen_digit``: (N, 280, 280, 4) canvases, labels.

    Random style, size, position, aspect, pen width (at most a fifth of the digit's height),
    slant (+-0.3), rotation (+-10 degrees), tremor and ink; labels cycle 0..9.
    """

    def draw(rng: np.random.Generator, digit: int) -> np.ndarray:
        height, box = _random_box(rng, (0.35, 0.85), (0.5, 0.9), 0.8, (0.08, 0.92))
        ink, paper = _PEN_INKS[rng.integers(len(_PEN_INKS))]
        return render_pen_digit(
            digit,
            rng,
            style=int(rng.integers(len(PEN_STROKES[digit]))),
            box=box,
            pen=min(rng.uniform(5.0, 30.0), 0.2 * height * 280),
            slant=rng.uniform(-0.3, 0.3),
            rotation_deg=rng.uniform(-10.0, 10.0),
            tremor=rng.uniform(0.0, 0.02),
            ink=ink,
            paper=paper,
        )

    return _digit_set(n_per_digit, seed, draw)


# --- Canvases that are not digits ------------------------------------------------------------

# Letters whose shapes no digit shares (no B, G, I, O, S, Z: those pass for 8, 6, 1, 0, 5, 2).
LETTER_STROKES: dict[str, list[Stroke]] = {
    "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [(0.0, 0.5), (0.7, 0.5)]],
    "F": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], [(0.0, 0.5), (0.7, 0.5)]],
    "H": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "K": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, 0.55), (1.0, 1.0)]],
    "M": [[(0.0, 1.0), (0.0, 0.0), (0.5, 0.6), (1.0, 0.0), (1.0, 1.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.3), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
}
NON_DIGIT_KINDS = ("scribble", "noise", "blob", "grid", "letter", "mess")


def render_strokes(
    strokes: list[Stroke],
    *,
    size: int = 280,
    brush: float = 18.0,
    ink: tuple[int, int, int, int] = (255, 255, 255, 255),
    background: tuple[int, int, int, int] = (0, 0, 0, 255),
) -> np.ndarray:
    """Draw strokes given in canvas pixels with a round brush: a (size, size, 4) RGBA array."""
    big = size * _SUPERSAMPLE
    radius = brush * _SUPERSAMPLE / 2
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        points = [(x * _SUPERSAMPLE, y * _SUPERSAMPLE) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    coverage = np.asarray(mask.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    return _source_over(coverage / 255.0, ink, background)


def _in_box(unit: np.ndarray, box: tuple[float, float, float, float], size: int) -> Stroke:
    left, top, right, bottom = (size * f for f in box)
    points = np.column_stack(
        (left + unit[:, 0] * (right - left), top + unit[:, 1] * (bottom - top))
    )
    return [(float(x), float(y)) for x, y in np.clip(points, 0.0, size - 1.0)]


def _non_digit_strokes(kind: str, rng: np.random.Generator, size: int) -> list[Stroke]:
    """Strokes in canvas pixels for one of the stroke-drawn NON_DIGIT_KINDS."""
    width, height = rng.uniform(0.45, 0.9), rng.uniform(0.45, 0.9)
    left, top = rng.uniform(0.05, 0.95 - width), rng.uniform(0.05, 0.95 - height)
    box = (left, top, left + width, top + height)
    if kind == "scribble":  # a back-and-forth tangle, as when testing the pen
        return [_in_box(rng.uniform(0, 1, (int(rng.integers(12, 30)), 2)), box, size)]
    if kind == "grid":  # a tic-tac-toe board or a patch of graph paper
        lines = []
        for position in np.linspace(0.0, 1.0, int(rng.integers(3, 6))):
            lines.append(_in_box(np.array([[position, 0.0], [position, 1.0]]), box, size))
            lines.append(_in_box(np.array([[0.0, position], [1.0, position]]), box, size))
        return lines
    if kind == "letter":
        letter = LETTER_STROKES[str(rng.choice(list(LETTER_STROKES)))]
        wobble = rng.normal(0.0, 0.02, (1, 2))
        return [_in_box(np.asarray(s) + wobble, box, size) for s in letter]
    if kind == "mess":  # two letters on top of each other, or several stray strokes
        if rng.random() < 0.5:
            first, second = rng.choice(list(LETTER_STROKES), size=2, replace=False)
            strokes = LETTER_STROKES[str(first)] + LETTER_STROKES[str(second)]
            return [_in_box(np.asarray(s), box, size) for s in strokes]
        return [
            _in_box(rng.uniform(0, 1, (int(rng.integers(2, 4)), 2)), box, size)
            for _ in range(int(rng.integers(4, 8)))
        ]
    raise ValueError(f"no strokes for kind {kind!r}")


def render_non_digit(kind: str, *, size: int = 280, seed: int = 0) -> np.ndarray:
    """One canvas of a NON_DIGIT_KINDS kind, white on black: (size, size, 4) uint8 RGBA."""
    rng = np.random.default_rng(seed)
    if kind == "noise":  # specks all over, as from a dirty scan or a stylus resting on glass
        coverage = (rng.random((size, size)) < rng.uniform(0.02, 0.3)).astype(np.float32)
        return _source_over(coverage, (255, 255, 255, 255), (0, 0, 0, 255))
    if kind == "blob":  # a filled shape: the canvas coloured in
        radius = rng.uniform(0.15, 0.4) * size
        centre = rng.uniform(radius, size - radius, 2)
        corners = rng.integers(5, 12)
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        reach = radius * rng.uniform(0.6, 1.0, corners)
        polygon = np.column_stack(
            (centre[0] + reach * np.cos(angles), centre[1] + reach * np.sin(angles))
        )
        return render_strokes([[(float(x), float(y)) for x, y in polygon]], size=size,
                              brush=float(radius))  # fmt: skip
    brush = rng.uniform(8.0, 30.0)
    return render_strokes(_non_digit_strokes(kind, rng, size), size=size, brush=brush)


def non_digit_set(n_per_kind: int = 50, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Canvases that hold no digit: (N, 280, 280, 4) uint8 and the kind of each.

    Every kind in NON_DIGIT_KINDS appears ``n_per_kind`` times, each drawn from its own seed
    derived from ``seed``, so the set is the same on every machine.
    """
    kinds = [kind for kind in NON_DIGIT_KINDS for _ in range(n_per_kind)]
    seeds = np.random.default_rng(seed).integers(0, 2**31, len(kinds))
    canvases = np.stack(
        [render_non_digit(kind, seed=int(s)) for kind, s in zip(kinds, seeds, strict=True)]
    )
    return canvases, kinds


# --- One writer's consistent quirks ----------------------------------------------------------

# How one imagined person writes every digit: shapes MNIST's writers rarely used, drawn the
# same way each time. A model trained on MNIST misreads several of them consistently, which
# makes this writer a test of whether fine-tuning on their drawings helps.
QUIRKY_WRITER_STROKES: dict[int, list[Stroke]] = {
    0: [_arc(0.5, 0.5, 0.42, 0.5, -90, -450), [(0.9, 0.05), (0.1, 0.95)]],  # slashed zero
    1: [[(0.0, 0.45), (0.6, 0.0), (0.6, 1.0)]],  # a long flag and no base
    2: [[(0.05, 0.15), (0.5, 0.0), (0.95, 0.15), (0.05, 1.0), (1.0, 1.0)]],  # a "Z" with a hump
    3: [[(0.05, 0.05), (0.9, 0.05), (0.45, 0.45), (0.95, 0.7), (0.5, 1.0), (0.05, 0.85)]],  # flat
    4: [[(0.0, 0.0), (0.05, 0.4), (0.3, 0.55), (0.95, 0.45)], [(0.95, 0.0), (0.9, 1.0)]],  # a "u"
    5: [[(0.85, 0.0), (0.15, 0.05), (0.1, 0.5), (0.8, 0.5), (0.85, 0.95), (0.05, 0.9)]],  # boxy
    6: [[(0.9, 0.0), (0.2, 0.4), (0.1, 0.9), (0.9, 0.95), (0.85, 0.55), (0.15, 0.6)]],  # square
    7: [[(0.0, 0.2), (0.0, 0.0), (1.0, 0.0), (0.5, 1.0)], [(0.2, 0.5), (0.95, 0.5)]],  # crossed
    8: [_arc(0.5, 0.25, 0.3, 0.25, 0, 360), _arc(0.5, 0.73, 0.3, 0.27, 0, 360)],  # two rings
    9: [[*_arc(0.45, 0.25, 0.4, 0.25, 0, -360), (0.85, 0.85), (0.55, 1.0), (0.3, 0.9)]],  # a "g"
}
_WRITER_SLANT_DEG = 12.0  # the writer leans every digit to the right


def quirky_writer_set(n_per_digit: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Drawings by one writer with consistent quirks: (N, 280, 280, 4) uint8 and labels.

    The shapes are `QUIRKY_WRITER_STROKES`, slanted by the same angle each time; size,
    position, brush and a shaky hand vary a little from drawing to drawing, as they do for a
    real person. Labels cycle 0..9.
    """
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(10, dtype=np.int64), n_per_digit)
    canvases = np.empty((labels.size, 280, 280, 4), dtype=np.uint8)
    for i, digit in enumerate(labels):
        height = rng.uniform(0.55, 0.85)
        width = height * rng.uniform(0.55, 0.75)
        left, top = rng.uniform(0.1, 0.9 - width), rng.uniform(0.05, 0.95 - height)
        box = (left, top, left + width, top + height)
        template = QUIRKY_WRITER_STROKES[int(digit)]
        strokes = []
        for stroke in template:
            unit = np.asarray(stroke) + rng.normal(0.0, 0.015, (len(stroke), 2))
            strokes.append(_in_box(_slanted(unit), box, 280))
        canvases[i] = render_strokes(strokes, brush=rng.uniform(14.0, 22.0))
    return canvases, labels


def _slanted(unit: np.ndarray) -> np.ndarray:
    """Lean unit-box points to the right: x moves by the height above the baseline."""
    shear = math.tan(math.radians(_WRITER_SLANT_DEG))
    leaned = unit.copy()
    leaned[:, 0] = (unit[:, 0] + shear * (1.0 - unit[:, 1])) / (1.0 + shear)
    return leaned
