"""Read a whole number: find each digit of a handwritten line and classify them all at once.

The model reads one 28x28 digit, so a number is cut into digits first, in four steps:

1. **Ink.** The background is estimated at every pixel (a grey closing for dark ink, an opening
   for light ink, on a coarse copy: wider than any stroke, so it keeps the paper and drops the
   writing) and subtracted, so uneven light, shadows and tinted paper do not become ink. Which
   way the ink goes is read from the residual of a coarse median: ink is the long tail. Ink is
   what stands out by more than Otsu's threshold and the paper's own noise.
2. **Digits from pieces of ink.** Connected pieces of ink that overlap horizontally are one
   digit (a 5's flag, a 4 or 7 drawn with a gap); pieces that are small beside the line's
   height are specks and dropped. Order is left to right, so a slight slope is harmless.
3. **Touching digits.** Connected components cannot part digits whose strokes touch, so a
   group wider than tall is cut where its ink is thinnest: along straight lines (upright or
   leaning as writing does) and along seams (paths that may move a column a row, so that
   strokes pushed into each other part where no straight line can), and the model decides:
   every run of the group between two candidate cuts is read (one batched prediction for the
   whole image), and dynamic programming keeps the cuts whose pieces the model is most sure
   of, less costs for pieces that are too wide or unlike a digit (``digit_check``); slivers
   are never read. The costs were chosen with ``benchmarks/bench_numbers.py --split tune
   --tune``, on MNIST training digits and sketch seeds that the held-out benchmark never
   uses. Touching digits remain the weak spot: see the README's table.
4. **Each digit as a lone digit.** Every digit's ink goes through ``canvas_to_mnist``, stroke
   width normalisation included, so a digit reads the same alone or in a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from mnist_cnn.calibration import DEFAULT_SURE_AT
from mnist_cnn.digit_check import not_digit_score
from mnist_cnn.drawing import MIN_CONTRAST, DrawingStages, _channels_first, canvas_to_mnist
from mnist_cnn.inference import predict

if TYPE_CHECKING:
    import keras

# A digit whose top probability is below this is "unsure" unless the caller picks another
# threshold (the app uses the visitor's, from the Evaluate page).
CONFIDENT_AT = DEFAULT_SURE_AT
# Background: estimated on a copy this many pixels on its shorter side, with a window this
# share of the shorter side: wider than any stroke (brushes are at most a quarter of a digit).
_COARSE_SIDE = 64
_BACKGROUND_WINDOW = 0.45
_SMOOTHING = 3  # the coarse copy is smoothed this wide first, so noise does not lift the paper
# The share is taken of at least this much room, so that paper's grain, on paper too light
# to hold lighter ink, does not become ink when the polarity test of a blank page goes wrong.
_MIN_ROOM = 0.5
# Which way the ink goes is read on a smaller copy still, with a median this many pixels wide.
_POLARITY_SIDE = 24
_POLARITY_WINDOW = 5
_POLARITY_TAIL = 0.2  # the tails compared: pixels this far from the median, as share of range
# Ink is at least this many times the typical residual of the paper (its texture and noise).
_NOISE_FACTOR = 5.0
# Ink darkens its paper (or lightens a board) by at least this share; a shadow's edge or the
# paper's grain by less.
_MIN_INK_CONTRAST = 0.3
_EDGE_GROWTH = 2  # pixels of faint anti-aliased edge kept around the thresholded ink
# A connected piece of ink this small beside the line's digit height is a speck.
_SPECK_SIZE = 0.25
# A group shorter than this share of the line's digit height is no digit (a dash, a dot).
_MIN_DIGIT_HEIGHT = 0.45
# The smallest digit: pieces of ink below this size in pixels are never digits.
_MIN_DIGIT_PIXELS = 6
# Two pieces are one digit when their columns overlap by this share of the narrower one.
_MERGE_OVERLAP = 0.5
# Splitting: only groups at least this wide (times their height) may hold several digits;
# cuts go along lines of least ink, a few per digit width, leaving pieces at least this
# wide (times the line height); a piece wider than _MAX_PIECE_WIDTH is never read alone.
_MIN_SPLIT_ASPECT = 0.9
_CUTS_PER_HEIGHT = 6  # cuts kept per line height of the group's width
_MIN_PIECE_WIDTH = 0.12
_MAX_PIECE_WIDTH = 1.1
_CUT_SLANTS = (-0.3, 0.0, 0.3)  # cut lines lean this many columns per row, as writing does
_CUT_MINIMUM_WINDOW = 0.06  # a cut column has the least ink within this share of the height
_SEAM_STEP_COST = 0.1  # a seam's move of a column costs this share of an ink pixel crossed
_FRAGMENT = 0.15  # a bit of a cut piece this small beside its largest is a neighbour's stroke
# The score of a piece is its top log-probability less these costs: _SPLIT_COST for each digit,
# _WIDE_COST for each line height of width past _WIDE_FROM (the model is often sure of two
# touching digits read as one) and _UNLIKE_COST times the log of digit_check's
# score past its limit. Each extra digit also adds its own (negative) log-probability.
_SPLIT_COST = 0.0
_WIDE_FROM = 1.2
_WIDE_COST = 1.0
_UNLIKE_COST = 1.0
_EPSILON = 1e-6

NO_INK = "No writing found: nothing stands out from the background."
ONLY_SPECKS = "No digits found: the only marks are specks or lines too small to be digits."


@dataclass(frozen=True)
class ReadDigit:
    """One digit of a number: where it is, what the model saw and what it said."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the image, x1 and y1 exclusive
    stages: DrawingStages  # the digit's ink and its way to the model input
    probabilities: np.ndarray  # (10,) float32
    looks_like_digit: bool

    @property
    def image(self) -> np.ndarray:
        """The (28, 28) float32 model input."""
        return self.stages.centred

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probabilities)[-2])

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT_AT


@dataclass(frozen=True)
class NumberReading:
    """The digits read left to right; ``reason`` says why there are none, when there are none."""

    digits: tuple[ReadDigit, ...]
    reason: str = ""

    @property
    def text(self) -> str:
        return "".join(str(digit.digit) for digit in self.digits)

    @property
    def unsure(self) -> bool:
        """Whether any digit is below CONFIDENT_AT or does not look like a digit."""
        return any(not (d.confident and d.looks_like_digit) for d in self.digits)


def read_number(image: np.ndarray, model: keras.Model | None = None) -> NumberReading:
    """Read the number written in ``image``: what ``canvas_to_mnist`` takes, any size.

    ``model`` defaults to ``load_model()``'s; pass one to read many images.
    """
    if model is None:
        from mnist_cnn.store import load_model

        model = load_model()
    ink = ink_map(image)
    if ink is None:
        return NumberReading((), NO_INK)
    groups = digit_groups(ink)
    pieces = [
        piece for index, group in enumerate(groups) for piece in candidate_pieces(ink, group, index)
    ]
    if not pieces:
        return NumberReading((), ONLY_SPECKS)
    probabilities = predict(model, np.stack([piece.stages.centred for piece in pieces]))
    chosen = best_pieces(pieces, probabilities)
    return NumberReading(
        tuple(
            ReadDigit(
                box=piece.box,
                stages=piece.stages,
                probabilities=probabilities[index],
                looks_like_digit=piece.unlike_digit == 0.0,
            )
            for index, piece in chosen
        )
    )


# --- 1. Ink ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InkMap:
    """Ink strength (H, W) float32 in [0, 1] (0 off the ink) and the thresholded ink mask."""

    strength: np.ndarray
    mask: np.ndarray


def ink_map(image: np.ndarray) -> InkMap | None:
    """The image's ink with its background taken away, or None when nothing stands out."""
    planes = _channels_first(image)
    planes = planes.astype(np.float32) / (255.0 if planes.dtype == np.uint8 else 1.0)
    residual = np.max([_ink_residual(plane) for plane in planes], axis=0)
    peak = float(residual.max())
    if peak < MIN_CONTRAST:
        return None
    typical = float(np.median(residual))
    spread = 1.4826 * float(np.median(np.abs(residual - typical)))  # the paper's noise
    threshold = max(_otsu(residual), typical + _NOISE_FACTOR * spread, _MIN_INK_CONTRAST)
    mask = residual > threshold
    if not mask.any():
        return None
    near_ink = ndimage.binary_dilation(mask, iterations=_EDGE_GROWTH)
    strength = np.where(near_ink, np.minimum(residual / peak, 1.0), 0.0).astype(np.float32)
    return InkMap(strength=strength, mask=mask)


def _ink_residual(plane: np.ndarray) -> np.ndarray:
    """How far each pixel of one channel stands out from its local background, towards the ink,
    as a share of how far it could (so that ink in a shadow is as strong as ink in the light).

    A flat plane (a canvas's constant background) gives exactly zero off the ink and, on each
    digit, a constant times the ink ``canvas_to_mnist`` finds: the same digit once scaled.
    """
    if float(np.ptp(plane)) < _EPSILON:
        return np.zeros_like(plane)
    light_ink = _ink_is_light(_block_mean(plane, max(1, min(plane.shape) // _POLARITY_SIDE)))
    coarse = _block_mean(plane, max(1, min(plane.shape) // _COARSE_SIDE))
    coarse = ndimage.uniform_filter(coarse, _SMOOTHING, mode="nearest")  # noise, not envelope
    window = max(3, round(_BACKGROUND_WINDOW * min(coarse.shape)) | 1)
    if light_ink:
        background = ndimage.grey_opening(coarse, size=(window, window), mode="nearest")
    else:
        background = ndimage.grey_closing(coarse, size=(window, window), mode="nearest")
    full = _enlarge(background, plane.shape)
    if light_ink:
        difference, room = plane - full, 1.0 - full
    else:
        difference, room = full - plane, full
    return np.maximum(difference, 0.0) / np.maximum(room, _MIN_ROOM)


def _ink_is_light(coarse: np.ndarray) -> bool:
    """Whether the ink is lighter than its paper: ink is the long tail off a local median."""
    residual = coarse - ndimage.median_filter(coarse, size=_POLARITY_WINDOW, mode="nearest")
    spread = float(coarse.max() - coarse.min())
    tail = _POLARITY_TAIL * spread
    lighter = float(np.clip(residual - tail, 0.0, None).sum())
    darker = float(np.clip(-residual - tail, 0.0, None).sum())
    return lighter >= darker


def _block_mean(plane: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return plane
    height, width = (side // factor * factor for side in plane.shape)
    if height == 0 or width == 0:
        return plane
    blocks = plane[:height, :width].reshape(height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(1, 3))


def _enlarge(coarse: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if coarse.shape == shape:
        return coarse
    resized = Image.fromarray(coarse.astype(np.float32)).resize(
        (shape[1], shape[0]), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def _otsu(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold: the cut that best separates two classes of values."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_below = np.cumsum(counts)
    weight_above = weight_below[-1] - weight_below
    mass_below = np.cumsum(counts * centres)
    mean_below = mass_below / np.maximum(weight_below, 1)
    mean_above = (mass_below[-1] - mass_below) / np.maximum(weight_above, 1)
    between = weight_below * weight_above * (mean_below - mean_above) ** 2
    return float(edges[int(np.argmax(between)) + 1])


# --- 2. Digits from pieces of ink --------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Pieces of ink taken for one digit, or for several touching ones: labels and box."""

    labels: np.ndarray  # the connected-component labels of its pieces
    component_labels: np.ndarray  # (H, W) int: the labelled ink of the whole image
    line_height: float  # the typical digit height of the line
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def digit_groups(ink: InkMap) -> list[Group]:
    """The line's digits, or runs of touching digits, left to right (see the module)."""
    labelled, count = ndimage.label(ink.mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    boxes = np.array(
        [(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndimage.find_objects(labelled)]
    )
    heights, widths = boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]
    sizes = np.maximum(heights, widths)
    if sizes.max() < _MIN_DIGIT_PIXELS:
        return []
    line_height = float(np.median(heights[heights >= 0.5 * heights.max()]))
    keep = (sizes >= _SPECK_SIZE * line_height) & (sizes >= _MIN_DIGIT_PIXELS)
    merged = _merge_overlapping(
        [(box, label + 1) for label, box in enumerate(boxes) if keep[label]]
    )
    min_height = max(_MIN_DIGIT_HEIGHT * line_height, _MIN_DIGIT_PIXELS)
    return [
        Group(np.array(labels), labelled, line_height, *box)
        for box, labels in merged
        if box[3] - box[1] >= min_height
    ]


def _merge_overlapping(
    pieces: list[tuple[np.ndarray, int]],
) -> list[tuple[tuple[int, int, int, int], list[int]]]:
    """Join pieces whose columns overlap by _MERGE_OVERLAP of the narrower: one digit each."""
    merged: list[tuple[list[int], list[int]]] = []
    for box, label in sorted(pieces, key=lambda piece: piece[0][0]):
        x0, y0, x1, y1 = (int(v) for v in box)
        for other_box, labels in reversed(merged):
            overlap = min(x1, other_box[2]) - max(x0, other_box[0])
            narrower = min(x1 - x0, other_box[2] - other_box[0])
            if overlap >= _MERGE_OVERLAP * narrower:
                other_box[:] = [
                    min(x0, other_box[0]),
                    min(y0, other_box[1]),
                    max(x1, other_box[2]),
                    max(y1, other_box[3]),
                ]
                labels.append(label)
                break
        else:
            merged.append(([x0, y0, x1, y1], [label]))
    merged.sort(key=lambda entry: (entry[0][0] + entry[0][2]) / 2)
    return [(tuple(box), labels) for box, labels in merged]


# --- 3. Touching digits ------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A run of a group's columns read as one digit: a candidate of the split."""

    group: int  # which group (its index in the line)
    start: int  # its columns, as indices into the group's cut positions
    end: int
    cuts: int  # how many cut positions the group has, ends included
    box: tuple[int, int, int, int]
    stages: DrawingStages
    width: float  # in line heights

    @cached_property
    def unlike_digit(self) -> float:
        """How far past digit_check's limits: the log of its score, 0 within them. Worked
        out only for pieces that may win (see best_pieces): it costs as much as a prediction."""
        return math.log(max(not_digit_score(self.stages.centred, self.stages.ink), 1.0))


def candidate_pieces(ink: InkMap, group: Group, index: int = 0) -> list[Piece]:
    """The group read whole and, when it is wide, every run of it between two of its cuts."""
    # The group's ink and its faint edges, which may reach past the thresholded box.
    top, left = max(group.y0 - _EDGE_GROWTH, 0), max(group.x0 - _EDGE_GROWTH, 0)
    window = (slice(top, group.y1 + _EDGE_GROWTH), slice(left, group.x1 + _EDGE_GROWTH))
    inked = np.isin(group.component_labels[window], group.labels)
    edges = ndimage.binary_dilation(inked, iterations=_EDGE_GROWTH)
    strength = np.where(edges, ink.strength[window], 0.0)
    region = inked[group.y0 - top : group.y1 - top, group.x0 - left : group.x1 - left]
    cuts = _cuts(region, group)
    # Which side of each cut every pixel is on; the group's own edges bound the first and last.
    rows, cols = np.indices(strength.shape)
    rows = np.clip(rows - (group.y0 - top), 0, group.height - 1)  # in the group's box
    cols = cols - (group.x0 - left)
    right_of = [np.ones(strength.shape, dtype=bool)]
    right_of += [cols >= cut[rows] for cut in cuts]
    right_of.append(np.zeros(strength.shape, dtype=bool))
    offsets = [0.0, *(float(np.median(cut)) for cut in cuts), float(group.width)]
    pieces = []
    for start in range(len(offsets) - 1):
        for end in range(start + 1, len(offsets)):
            whole = start == 0 and end == len(offsets) - 1
            if not whole and offsets[end] - offsets[start] > _MAX_PIECE_WIDTH * group.line_height:
                continue
            inside = right_of[start] & ~right_of[end]
            # Only the piece's own columns: labelling the whole group for each piece is slow.
            columns = np.flatnonzero(inside.any(axis=0))
            if columns.size == 0:
                continue
            span = (slice(None), slice(columns[0], columns[-1] + 1))
            inside, own_ink = inside[span], inked[span]
            if not whole:
                inside &= _without_fragments(own_ink & inside)
                if _is_sliver(own_ink & inside, group):
                    continue
            piece = _piece(np.where(inside, strength[span], 0.0), (left + int(columns[0]), top))
            if piece is not None:
                box, stages = piece
                relative_width = (box[2] - box[0]) / group.line_height
                pieces.append(Piece(index, start, end, len(offsets), box, stages, relative_width))
    return pieces


def _is_sliver(inked: np.ndarray, group: Group) -> bool:
    """Whether a cut piece's ink is much shorter than its group's: a bit cut off a stroke,
    never a digit, so it is not worth preparing and reading."""
    rows = np.flatnonzero(inked.any(axis=1))
    return rows.size == 0 or rows[-1] + 1 - rows[0] < _MIN_DIGIT_HEIGHT * group.height


def _cuts(region: np.ndarray, group: Group) -> list[np.ndarray]:
    """Paths of least ink down a wide group, where touching digits may part.

    A cut is the column at which its right side begins on each row of the group, (H,) float.
    Straight lines (upright or leaning as writing does) part digits with a gap between; seams
    that may move a column a row part digits whose strokes overlap, which a straight line
    cannot without taking a bit of one of them along. Sorted left to right.
    """
    if group.width < _MIN_SPLIT_ASPECT * group.height:
        return []
    reach = max(1, round(_CUT_MINIMUM_WINDOW * group.height))
    margin = max(1, round(_MIN_PIECE_WIDTH * group.line_height))
    found = _straight_cuts(region, reach) + _seams(region, reach)
    found = [(ink, cut) for ink, cut in found if margin <= np.median(cut) <= group.width - margin]
    chosen: list[np.ndarray] = []
    for _, cut in sorted(found, key=lambda entry: entry[0]):
        if all(abs(np.median(cut) - np.median(other)) >= reach for other in chosen):
            chosen.append(cut)
        if len(chosen) >= _CUTS_PER_HEIGHT * group.width / group.line_height:
            break
    return sorted(chosen, key=lambda cut: float(np.median(cut)))


def _straight_cuts(region: np.ndarray, reach: int) -> list[tuple[float, np.ndarray]]:
    """(ink crossed, cut) for each straight line of least ink, at each of _CUT_SLANTS."""
    rows, cols = np.nonzero(region)
    middle = (region.shape[0] - 1) / 2
    lean = middle - np.arange(region.shape[0])  # rows above the middle, per row
    found = []
    for slant in _CUT_SLANTS:
        sheared = cols - slant * (middle - rows)
        low = math.floor(sheared.min())
        profile = np.bincount(np.floor(sheared - low).astype(int)).astype(np.float32)
        profile = ndimage.uniform_filter1d(profile, 3)
        for column in _least_ink_columns(profile, reach):
            found.append((float(profile[column]), column + low + 0.5 + slant * lean))
    return found


def _seams(region: np.ndarray, reach: int) -> list[tuple[float, np.ndarray]]:
    """(ink crossed, cut) for each seam of least ink, as in seam carving: a path from the top
    row to the bottom that moves at most a column a row, crossing as few ink pixels as it can
    (each move costs _SEAM_STEP_COST, so that a seam goes straight through paper). One seam
    ends at each column where the least ink crossed is least within ``reach``."""
    cost = region.astype(np.float32)
    height, width = cost.shape
    total = cost[0].copy()
    moves = np.zeros((height, width), dtype=np.int8)  # -1, 0, +1: where each row's path came from
    for row in range(1, height):
        padded = np.pad(total, 1, constant_values=np.inf)
        options = np.stack(
            [padded[:-2] + _SEAM_STEP_COST, padded[1:-1], padded[2:] + _SEAM_STEP_COST]
        )
        best = np.argmin(options, axis=0)
        moves[row] = best - 1
        total = cost[row] + options[best, np.arange(width)]
    found = []
    for end in _least_ink_columns(total, reach):
        path = np.empty(height, dtype=np.float32)
        column = end
        for row in range(height - 1, -1, -1):
            path[row] = column
            column += int(moves[row, column])
        found.append((float(total[end]), path + 0.5))
    return found


def _least_ink_columns(profile: np.ndarray, reach: int) -> list[int]:
    """Columns of a profile where it is least within ``reach``: one per flat stretch (a gap,
    a straight joining stroke)."""
    least = ndimage.minimum_filter1d(profile, 2 * reach + 1, mode="nearest")
    columns = np.flatnonzero(profile <= least)
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1) if columns.size else []
    return [int(run[len(run) // 2]) for run in runs]


def _without_fragments(inked: np.ndarray) -> np.ndarray:
    """Where a cut piece's ink is, less the bits of a neighbour's strokes the cut took along
    (pieces under _FRAGMENT of its largest), faint edges included."""
    labelled, count = ndimage.label(inked, structure=np.ones((3, 3), dtype=bool))
    if count <= 1:
        return np.ones(inked.shape, dtype=bool)
    sizes = np.bincount(labelled.ravel())[1:]
    kept = np.flatnonzero(sizes >= _FRAGMENT * sizes.max()) + 1
    return ndimage.binary_dilation(np.isin(labelled, kept), iterations=_EDGE_GROWTH)


def _piece(
    strength: np.ndarray, origin: tuple[int, int]
) -> tuple[tuple[int, int, int, int], DrawingStages] | None:
    """Some ink, prepared by ``canvas_to_mnist``, and its box in the image (``strength`` starts
    at ``origin``, (x, y), in the image)."""
    rows = np.flatnonzero(strength.any(axis=1))
    cols = np.flatnonzero(strength.any(axis=0))
    if rows.size == 0:
        return None
    cropped = strength[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # A margin of empty paper, so canvas_to_mnist finds the background on the border.
    stages = canvas_to_mnist(np.pad(cropped, 1), return_stages=True)
    if stages is None:
        return None
    x0, y0 = origin[0] + int(cols[0]), origin[1] + int(rows[0])
    box = (x0, y0, x0 + cropped.shape[1], y0 + cropped.shape[0])
    return box, stages


def best_pieces(pieces: list[Piece], probabilities: np.ndarray) -> list[tuple[int, Piece]]:
    """For each group, the run of pieces whose digits the model is most sure of, in order.

    A piece scores its top log-probability less the costs described at _SPLIT_COST.
    digit_check's cost is only ever taken away, so it is worked out lazily: the best runs are
    found with the costs known so far (an unknown one counts as nothing, so every score is at
    most what it was taken for); once every piece of the best runs has its cost known, no other
    run can beat them. Returns (index into pieces, piece).
    """
    sure = np.log(probabilities.max(axis=1) + _EPSILON) - [_shape_cost(p) for p in pieces]
    unlike = np.zeros(len(pieces))
    known: set[int] = set()
    while True:
        chosen = _best_runs(pieces, sure - _UNLIKE_COST * unlike)
        unknown = [i for i, _ in chosen if i not in known]
        if not unknown:
            return chosen
        for i in unknown:
            unlike[i] = pieces[i].unlike_digit
            known.add(i)


def _best_runs(pieces: list[Piece], scores: np.ndarray) -> list[tuple[int, Piece]]:
    """Dynamic programming over each group's cuts: the run of pieces of highest total score."""
    chosen: list[tuple[int, Piece]] = []
    for group in sorted({piece.group for piece in pieces}):
        own = [(i, p) for i, p in enumerate(pieces) if p.group == group]
        cuts = own[0][1].cuts
        best = [(-math.inf, [])] * cuts
        best[0] = (0.0, [])
        for i, piece in sorted(own, key=lambda entry: entry[1].start):
            before, path = best[piece.start]
            if before == -math.inf:
                continue
            score = before + scores[i]
            if score > best[piece.end][0]:
                best[piece.end] = (score, [*path, (i, piece)])
        chosen.extend(best[-1][1])
    return chosen


def _shape_cost(piece: Piece) -> float:
    return _SPLIT_COST + _WIDE_COST * max(0.0, piece.width - _WIDE_FROM)
