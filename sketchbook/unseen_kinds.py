"""Held-out kinds of "not a digit" drawing, to test how the detector generalises.

The learned half of ``mnist_cnn.digit_check`` is trained on the kinds of
``sketches.non_digit_set`` and on the font letters, stroke letters and doodles of
``scripts/train_digit_check.py``. Refusing those shows only that it has learnt them, and users
draw anything. The kinds here are made apart from that training and are never used to train or
tune the detector (no setting, threshold or stopping point is chosen on them), so the share of
them it refuses estimates how it copes with drawings it has not met:

- **serif letter**: letters in serif and monospaced fonts, a little turned and sheared;
- **arrow**: straight or curved, any direction, a V or triangle head, sometimes at both ends;
- **smiley**: a face with varied eyes, mouth, ears and hair, sometimes without an outline;
- **hatching**: parallel lines at any angle filling a region, sometimes cross-hatched;
- **signature**: a long looping cursive stroke, sometimes two words or an underline;
- **two digits**: two digits side by side, which is not *a* digit;
- **crossed-out digit**: a digit struck out with an X, a zigzag or several lines.

Canvases are (280, 280, 4) uint8 RGBA as the app's drawing canvas returns them, in one of the
colour conventions of ``sketches`` and with a random brush, each drawn from its own seed alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sketchbook.fonts import SERIF_AND_MONO, font_files
from sketchbook.sketches import (
    _COLOUR_CONVENTIONS,
    DIGIT_STROKES,
    Stroke,
    _arc,
    _bezier,
    _in_box,
    _random_box,
    _source_over,
    render_strokes,
    sketch_strokes,
)

UNSEEN_KINDS = (
    "serif letter",
    "arrow",
    "smiley",
    "hatching",
    "signature",
    "two digits",
    "crossed-out digit",
)
_CANVAS = 280  # brush widths below are for this canvas size and scale with ``size``
_BRUSH_PX = (6.0, 28.0)
_MARGIN = 0.05  # free border around placed drawings, as a fraction of the canvas
# Letters no digit shares (no O, I, S, Z, B, G, q, ...), from serif and monospaced fonts only:
# this kind is unseen only while the detector's font letters come from the sans-serif fonts.
_SERIF_LETTERS = "AEFHKMNRTVWXYaefhkmnrtvwxyPdL"
_MAX_TURN_DEG = 20.0
_MAX_SHEAR = 0.3

DrawnStrokes = tuple[list[Stroke], float]  # strokes in canvas pixels and the widest fair brush


def _turned(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points turned clockwise on screen (y points down) about the origin."""
    turn = math.radians(degrees)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    return np.asarray(points, dtype=np.float64) @ rotation.T


def _placed(
    strokes: list[np.ndarray], rng: np.random.Generator, size: int, extent: tuple[float, float]
) -> tuple[list[Stroke], float]:
    """Scale strokes (any units) so that their longer side spans ``extent`` (at most 0.9) of the
    canvas, keep their shape, put them anywhere inside the margins; also return pixels per unit."""
    points = np.concatenate(strokes)
    low, span = points.min(axis=0), np.maximum(np.ptp(points, axis=0), 1e-9)
    fraction_per_unit = rng.uniform(*extent) / span.max()
    width, height = span * fraction_per_unit
    left = rng.uniform(_MARGIN, 1.0 - _MARGIN - width)
    top = rng.uniform(_MARGIN, 1.0 - _MARGIN - height)
    box = (left, top, left + width, top + height)
    return [_in_box((s - low) / span, box, size) for s in strokes], fraction_per_unit * size


def _serif_coverage(rng: np.random.Generator, size: int) -> np.ndarray:
    """One or two serif or monospaced letters as ink coverage in [0, 1], (size, size)."""
    fonts = font_files(SERIF_AND_MONO)
    text = "".join(rng.choice(list(_SERIF_LETTERS), int(rng.integers(1, 3))))
    font = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], size)
    middle = 1.5 * size  # drawn in the middle of a 3x canvas, so turning cuts nothing off
    image = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(image).text((middle, middle), text, fill=255, font=font, anchor="mm")
    shear = rng.uniform(-_MAX_SHEAR, _MAX_SHEAR)
    affine = (1, shear, -shear * middle, 0, 1, 0)
    image = image.transform(image.size, Image.Transform.AFFINE, affine, Image.Resampling.BILINEAR)
    image = image.rotate(rng.uniform(-_MAX_TURN_DEG, _MAX_TURN_DEG), Image.Resampling.BILINEAR)
    image = image.crop(image.getbbox())
    scale = rng.uniform(0.4, 0.9) * size / max(image.size)
    shape = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    image = image.resize(shape, Image.Resampling.LANCZOS)
    canvas = Image.new("L", (size, size), 0)
    corner = (int(rng.integers(size - image.width + 1)), int(rng.integers(size - image.height + 1)))
    canvas.paste(image, corner)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _arrow_head(tip: np.ndarray, back: np.ndarray, head: tuple[float, float, bool]) -> np.ndarray:
    """A V at ``tip`` opening towards ``back``, or a triangle: (length, spread, closed)."""
    length, spread, closed = head
    towards = (back - tip) / np.linalg.norm(back - tip) * length
    left, right = tip + _turned(towards, spread), tip + _turned(towards, -spread)
    return np.array([left, tip, right, left] if closed else [left, tip, right])


def _arrow(rng: np.random.Generator, size: int) -> DrawnStrokes:
    bends = rng.uniform(-0.35, 0.35, 2) if rng.random() < 0.5 else np.zeros(2)
    shaft = np.asarray(_bezier((0, 0), (0.33, bends[0]), (0.67, bends[1]), (1, 0), n=24))
    head = (rng.uniform(0.15, 0.3), rng.uniform(20, 40), rng.random() < 0.4)
    strokes = [shaft, _arrow_head(shaft[-1], shaft[-3], head)]
    if rng.random() < 0.25:  # double-headed
        strokes.append(_arrow_head(shaft[0], shaft[2], head))
    angle = rng.uniform(0, 360)
    placed, _ = _placed([_turned(s, angle) for s in strokes], rng, size, (0.5, 0.9))
    return placed, math.inf


def _smiley(rng: np.random.Generator, size: int) -> DrawnStrokes:
    outline = rng.random() < 0.8
    strokes = [_arc(0.5, 0.5, rng.uniform(0.42, 0.5), 0.5, -90, 270)] if outline else []
    eye_dx, eye_y, eye_r = rng.uniform(0.12, 0.2), rng.uniform(0.3, 0.42), rng.uniform(0.04, 0.07)
    eye_style = rng.integers(3)  # a dot, a short dash or a small circle
    for x in (0.5 - eye_dx, 0.5 + eye_dx):
        dash = [(x, eye_y - 0.05), (x, eye_y + 0.05)]
        strokes.append(([(x, eye_y)], dash, _arc(x, eye_y, eye_r, eye_r, 0, 360))[eye_style])
    y, width, height = rng.uniform(0.58, 0.68), rng.uniform(0.15, 0.28), rng.uniform(0.06, 0.15)
    mouths = (
        _arc(0.5, y - height, width, height, 20, 160),  # a smile
        _arc(0.5, y + height, width, height, 200, 340),  # a frown
        [(0.5 - width, y), (0.5 + width, y)],  # straight
        _arc(0.5, y, 0.6 * width, height, 0, 360),  # open
    )
    strokes.append(mouths[rng.integers(len(mouths))])
    if outline and rng.random() < 0.3:  # ears
        strokes += [_arc(0.03, 0.5, 0.08, 0.12, 100, 260), _arc(0.97, 0.5, 0.08, 0.12, -80, 80)]
    if outline and rng.random() < 0.3:  # hair: short strokes out of the top of the head
        for angle in np.radians(rng.uniform(-135, -45, int(rng.integers(3, 8)))):
            reach = rng.uniform(0.6, 0.72)
            strokes.append(0.5 + np.outer([0.5, reach], [math.cos(angle), math.sin(angle)]))
    tilt = rng.uniform(-15, 15)
    placed, scale = _placed([_turned(s, tilt) for s in strokes], rng, size, (0.45, 0.9))
    return placed, 0.1 * scale  # eyes stay apart from the outline


def _hatching(rng: np.random.Generator, size: int) -> DrawnStrokes:
    n, depth, angle = int(rng.integers(4, 15)), rng.uniform(0.6, 1.2), rng.uniform(0, 180)
    offsets = np.linspace(-0.45, 0.45, n)
    elliptic = rng.random() < 0.4  # lines cut by an oval rather than a rectangle
    halves = np.sqrt(0.25 - offsets**2) if elliptic else np.full(n, 0.5)
    directions = [angle, angle + rng.uniform(50, 90)] if rng.random() < 0.35 else [angle]
    strokes = [
        _turned(np.array([[-h, v * depth], [h, v * depth]]) + rng.normal(0, 0.015, (2, 2)), d)
        for d in directions
        for h, v in zip(halves, offsets, strict=True)
    ]
    placed, scale = _placed(strokes, rng, size, (0.45, 0.85))
    return placed, 0.55 * scale * 0.9 * depth / (n - 1)  # gaps stay between the lines


def _signature(rng: np.random.Generator, size: int) -> DrawnStrokes:
    """Cursive-like words: a wavy baseline plus loops (x += rx cos, y -= ry sin)."""
    rx, loops = rng.uniform(0.03, 0.05), rng.uniform(6, 9)  # rx * 2 pi * loops > 1: loops
    start, strokes = 0.0, []
    for length in rng.dirichlet(np.full(1 if rng.random() < 0.6 else 2, 4.0)):
        t = np.linspace(0.0, 1.0, max(40, round(250 * length)))
        phase = 2 * math.pi * loops * length * t + rng.uniform(0, 2 * math.pi)
        bumps = np.append(rng.uniform(0, 1, int(rng.integers(0, 3))), 0.0)[:, None]  # l, h, k
        tall = 1 + rng.uniform(1, 2.5) * np.exp(-(((t - bumps) / 0.05) ** 2)).sum(axis=0)
        uneven = np.interp(t, np.linspace(0, 1, 6), rng.uniform(0.6, 1.4, 6))  # letter heights
        ry = rx * rng.uniform(1.5, 2.5) * uneven * np.where(np.sin(phase) > 0, tall, 1.0)
        wave = rng.uniform(0.02, 0.06) * np.sin(2 * math.pi * rng.uniform(0.5, 2) * t + phase[0])
        x = start + length * t + rx * np.cos(phase)
        strokes.append(np.column_stack((x, wave - ry * np.sin(phase))))
        start += length + rng.uniform(0.06, 0.12)
    if rng.random() < 0.4:  # an underline, swinging a little
        x = np.linspace(-0.02, start * rng.uniform(0.7, 1.0), 20)
        below = max(float(s[:, 1].max()) for s in strokes) + rng.uniform(0.02, 0.05)
        swing = rng.uniform(-0.04, 0.04) * np.sin(x / x[-1] * math.pi)
        strokes.append(np.column_stack((x, below + swing)))
    placed, scale = _placed(strokes, rng, size, (0.75, 0.9))
    return placed, rx * scale  # the loops stay open


def _random_digit(
    rng: np.random.Generator, size: int, box: tuple[float, float, float, float]
) -> list[Stroke]:
    digit = int(rng.integers(10))
    variant = int(rng.integers(len(DIGIT_STROKES[digit])))
    turn, jitter = rng.uniform(-10, 10), rng.uniform(0, 0.01)
    return sketch_strokes(
        digit, variant=variant, size=size, box=box, rotation_deg=turn, jitter=jitter, rng=rng
    )


def _two_digits(rng: np.random.Generator, size: int) -> DrawnStrokes:
    strokes, heights = [], []
    for half in (0.04, 0.5):  # the left and right halves of the canvas, inside a margin
        height = rng.uniform(0.4, 0.8)
        width = min(rng.uniform(0.35, 0.46), height)
        left, top = rng.uniform(half, half + 0.46 - width), rng.uniform(0.05, 0.95 - height)
        strokes += _random_digit(rng, size, (left, top, left + width, top + height))
        heights.append(height)
    return strokes, 0.2 * min(heights) * size


def _crossed_out_digit(rng: np.random.Generator, size: int) -> DrawnStrokes:
    height, box = _random_box(rng, (0.5, 0.85), (0.55, 0.9), 0.9, (0.08, 0.92))
    strokes = _random_digit(rng, size, box)
    low, high = -rng.uniform(0.1, 0.25), 1 + rng.uniform(0.1, 0.25)  # strikes reach past it
    strike = rng.integers(3)
    if strike == 0:  # an X
        marks = [np.array([[low, low], [high, high]]), np.array([[high, low], [low, high]])]
    elif strike == 1:  # a zigzag scribble down over it
        n = int(rng.integers(5, 10))
        xs = np.where(np.arange(n) % 2 == 0, low, high) + rng.normal(0, 0.05, n)
        marks = [np.column_stack((xs, np.linspace(0.05, 0.95, n) + rng.normal(0, 0.03, n)))]
    else:  # two to four lines, level or slanting, through it
        level = rng.random() < 0.5
        rise = rng.uniform(-0.1, 0.1) if level else rng.choice([-1, 1]) * rng.uniform(0.4, 0.8)
        ys = np.linspace(0.25, 0.75, int(rng.integers(2, 5)))
        marks = [np.array([[low, y + rise / 2], [high, y - rise / 2]]) for y in ys]
    strokes += [_in_box(mark, box, size) for mark in marks]
    return strokes, 0.08 * height * size  # the digit shows between the strikes


_STROKE_KINDS: dict[str, Callable[[np.random.Generator, int], DrawnStrokes]] = {
    "arrow": _arrow,
    "smiley": _smiley,
    "hatching": _hatching,
    "signature": _signature,
    "two digits": _two_digits,
    "crossed-out digit": _crossed_out_digit,
}


def render_unseen(kind: str, *, seed: int = 0, size: int = 280) -> np.ndarray:
    """One canvas of an UNSEEN_KINDS kind: (size, size, 4) uint8 RGBA, the same for a seed."""
    if kind not in UNSEEN_KINDS:
        raise ValueError(f"unknown kind {kind!r}; the kinds are {', '.join(UNSEEN_KINDS)}")
    rng = np.random.default_rng(seed)
    ink, background = _COLOUR_CONVENTIONS[rng.integers(len(_COLOUR_CONVENTIONS))]
    if kind == "serif letter":
        return _source_over(_serif_coverage(rng, size), ink, background)
    strokes, widest = _STROKE_KINDS[kind](rng, size)
    thinnest, thickest = (width * size / _CANVAS for width in _BRUSH_PX)
    brush = rng.uniform(thinnest, max(thinnest, min(thickest, widest)))
    return render_strokes(strokes, size=size, brush=brush, ink=ink, background=background)


def unseen_set(n_per_kind: int = 50, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Canvases of the held-out kinds: (N, 280, 280, 4) uint8 and the kind of each.

    Every kind in UNSEEN_KINDS appears ``n_per_kind`` times, in that order, each drawn from its
    own seed derived from ``seed``, so the set is the same on every machine.
    """
    kinds = [kind for kind in UNSEEN_KINDS for _ in range(n_per_kind)]
    seeds = np.random.default_rng(seed).integers(0, 2**31, len(kinds))
    canvases = np.stack(
        [render_unseen(kind, seed=int(s)) for kind, s in zip(kinds, seeds, strict=True)]
    )
    return canvases, kinds
