"""How well `read_number` reads whole numbers, against plain connected components.

Numbers of 2 to 8 digits are composed (``sketchbook.composed_numbers``) from MNIST digits and
from pen-style sketches (``sketches.render_pen_digit``), at three spacings (apart, close,
touching), on a light-on-dark canvas and on dark-on-light "paper" with uneven light, a shadow
and noise. Each number is read twice, in alternating order: by ``read_number`` and by the
reference, plain connected components (same ink, same speck rule, every component one digit,
no merging and no splitting), each piece prepared by ``canvas_to_mnist`` and all read in one
batched prediction. A third column, "oracle segmentation", reads each digit's own ink alone
(perfect segmentation): what is left of a miss there is the model reading single digits.
Printed: the share of numbers read exactly, by spacing and by length, the digit accuracy
(1 - edit distance / length) and the milliseconds per number (median).
Blank "paper" photos must read as no number.

Held out (the default): MNIST *test* digits and sketch seeds never used to tune. ``--split
tune`` composes from MNIST *training* digits and other seeds, and ``--tune`` searches the
splitter's costs on that split (the constants in mnist_cnn/numbers.py come from it).

    MNIST_NPZ=/path/to/mnist.npz python benchmarks/bench_numbers.py [--per-cell 4]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import numbers
from mnist_cnn.data import load_mnist
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.inference import predict
from mnist_cnn.store import load_model, resolve_model
from sketchbook import composed_numbers

LENGTHS = range(2, 9)
SOURCES = ("mnist", "pen")
SEEDS = {"held-out": 20261204, "tune": 17}
BLANK_PAPERS = 20
ORACLE = "oracle segmentation"  # the reference column: each digit's own ink read alone
TARGETS = {"apart": 0.97, "close": 0.95, "touching": 0.85}


@dataclass(frozen=True)
class Sample:
    source: str
    spacing: str
    background: str
    truth: str
    image: np.ndarray
    digit_inks: tuple[np.ndarray, ...]  # each digit's own ink, before composing


def samples(split: str, per_cell: int) -> list[Sample]:
    """Every combination of source, spacing, length and background, ``per_cell`` times."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    images, labels = (x_test, y_test) if split == "held-out" else (x_train, y_train)
    rng = np.random.default_rng(SEEDS[split])
    made = []
    cells = itertools.product(
        SOURCES, composed_numbers.SPACINGS, LENGTHS, composed_numbers.BACKGROUNDS
    )
    for source, spacing, length, background in cells:
        for _ in range(per_cell):
            if source == "mnist":
                chosen = rng.integers(0, len(labels), length)
                digits = labels[chosen]
                inks = [composed_numbers.mnist_digit_ink(images[i]) for i in chosen]
            else:
                digits = rng.integers(0, 10, length)
                inks = [composed_numbers.pen_digit_ink(int(d), rng) for d in digits]
            ink = composed_numbers.compose(inks, spacing, rng, height=int(rng.integers(40, 90)))
            image = (
                composed_numbers.on_canvas(ink)
                if background == "canvas"
                else composed_numbers.on_paper(ink, rng)
            )
            truth = "".join(str(int(d)) for d in digits)
            made.append(Sample(source, spacing, background, truth, image, tuple(inks)))
    return made


def plain_components(image: np.ndarray, model) -> str:
    """The reference: each connected piece of ink (past the speck rule) is one digit."""
    ink = numbers.ink_map(image)
    if ink is None:
        return ""
    labelled, _ = ndimage.label(ink.mask, structure=np.ones((3, 3), dtype=bool))
    groups = numbers.digit_groups(ink)  # for the line height and the speck rule only
    if not groups:
        return ""
    line_height = groups[0].line_height
    inputs = []
    for label, (rows, cols) in enumerate(ndimage.find_objects(labelled), start=1):
        if max(rows.stop - rows.start, cols.stop - cols.start) < max(
            numbers._SPECK_SIZE * line_height, numbers._MIN_DIGIT_PIXELS
        ):
            continue
        piece = np.where(labelled[rows, cols] == label, ink.strength[rows, cols], 0.0)
        stages = canvas_to_mnist(np.pad(piece, 1))
        if stages is not None:
            inputs.append(((cols.start + cols.stop) / 2, stages))
    if not inputs:
        return ""
    inputs.sort(key=lambda entry: entry[0])
    probabilities = predict(model, np.stack([stages for _, stages in inputs]))
    return "".join(str(int(p.argmax())) for p in probabilities)


def oracle_segmentation(sample: Sample, model) -> str:
    """A reference for the model alone: each digit's own ink (as drawn, on a clean canvas)
    through ``canvas_to_mnist`` and one batched prediction, as if segmentation were perfect."""
    inputs = np.stack([canvas_to_mnist(np.pad(ink, 1)) for ink in sample.digit_inks])
    return "".join(str(int(p.argmax())) for p in predict(model, inputs))


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def measure(reads: list[Sample], model) -> dict[str, list[tuple[Sample, str, float]]]:
    """Each sample read by both methods, alternating which goes first."""
    methods = {
        "read_number": lambda image: numbers.read_number(image, model).text,
        "plain components": lambda image: plain_components(image, model),
    }
    results: dict[str, list[tuple[Sample, str, float]]] = {name: [] for name in [*methods, ORACLE]}
    for index, sample in enumerate(reads):
        order = list(methods) if index % 2 == 0 else list(reversed(methods))
        for name in order:
            start = time.perf_counter()
            text = methods[name](sample.image)
            results[name].append((sample, text, 1000 * (time.perf_counter() - start)))
        results[ORACLE].append((sample, oracle_segmentation(sample, model), math.nan))
    return results


def report(results: dict[str, list[tuple[Sample, str, float]]]) -> None:
    names = list(results)
    print("\nNumbers read exactly, by spacing (target for read_number):")
    print(f"{'spacing':<10}" + "".join(f"{name:>20}" for name in names) + "    target")
    for spacing in composed_numbers.SPACINGS:
        cells = [_exact([r for r in results[name] if r[0].spacing == spacing]) for name in names]
        print(
            f"{spacing:<10}" + "".join(f"{c:>20}" for c in cells) + f"    >= {TARGETS[spacing]:.0%}"
        )
    print("\nNumbers cut into the right count of digits, by spacing (segmentation alone):")
    for spacing in composed_numbers.SPACINGS:
        cells = [
            _share(
                [len(text) == len(sample.truth) for sample, text, _ in results[name]
                 if sample.spacing == spacing]
            )
            for name in names
        ]  # fmt: skip
        print(f"{spacing:<10}" + "".join(f"{c:>20}" for c in cells))
    print("\nNumbers read exactly, by length (all spacings):")
    for length in LENGTHS:
        cells = [_exact([r for r in results[name] if len(r[0].truth) == length]) for name in names]
        print(f"{length:<10}" + "".join(f"{c:>20}" for c in cells))
    print("\nBy source and background (all spacings):")
    for source, background in itertools.product(SOURCES, composed_numbers.BACKGROUNDS):
        cells = [
            _exact(
                [r for r in results[name] if (r[0].source, r[0].background) == (source, background)]
            )
            for name in names
        ]
        print(f"{source + ' ' + background:<16}" + "".join(f"{c:>20}" for c in cells))
    print("\nDigit accuracy (1 - edit distance / digits):")
    for name in names:
        digits = sum(len(sample.truth) for sample, _, _ in results[name])
        edits = sum(edit_distance(sample.truth, text) for sample, text, _ in results[name])
        print(f"  {name:<18} {1 - edits / digits:.2%}")
    print("\nMilliseconds per number, median (all; 6 digits):")
    for name in names[:2]:
        all_ms = [ms for _, _, ms in results[name]]
        six = [ms for sample, _, ms in results[name] if len(sample.truth) == 6]
        print(f"  {name:<18} {np.median(all_ms):6.1f}   {np.median(six):6.1f}")
    ratio = np.median([ms for _, _, ms in results[names[0]]]) / np.median(
        [ms for _, _, ms in results[names[1]]]
    )
    print(f"  read_number / plain components time: {ratio:.2f}x")


def _exact(rows: list[tuple[Sample, str, float]]) -> str:
    return _share([sample.truth == text for sample, text, _ in rows])


def _share(outcomes: list[bool]) -> str:
    return f"{sum(outcomes) / len(outcomes):.1%} ({sum(outcomes)}/{len(outcomes)})"


def blank_papers(model, seed: int) -> int:
    """How many photos of blank paper (uneven light, shadow, noise) read as some number."""
    rng = np.random.default_rng(seed)
    false_reads = 0
    for _ in range(BLANK_PAPERS):
        height, width = (int(v) for v in rng.integers(80, 400, 2))
        photo = composed_numbers.on_paper(np.zeros((height, width), np.float32), rng)
        false_reads += numbers.read_number(photo, model).text != ""
    return false_reads


def tune(reads: list[Sample], model) -> None:
    """Search the splitter's costs: the candidates and their predictions are made once."""
    prepared = []
    for sample in reads:
        ink = numbers.ink_map(sample.image)
        groups = numbers.digit_groups(ink) if ink is not None else []
        pieces = [p for i, g in enumerate(groups) for p in numbers.candidate_pieces(ink, g, i)]
        probabilities = (
            predict(model, np.stack([p.stages.centred for p in pieces])) if pieces else None
        )
        prepared.append((sample, pieces, probabilities))
    grid = itertools.product(
        (-1.0, -0.5, 0.0, 0.3), (1.0, 1.1, 1.2), (1.0, 3.0, 10.0), (0.9,), (1.0, 3.0)
    )
    scored = []
    for split_cost, wide_from, wide_cost, split_aspect, unlike_cost in grid:
        numbers._SPLIT_COST, numbers._WIDE_FROM = split_cost, wide_from
        numbers._WIDE_COST, numbers._UNLIKE_COST = wide_cost, unlike_cost
        right = defaultdict(int)
        for sample, pieces, probabilities in prepared:
            text = ""
            if pieces:
                kept = [i for i, p in enumerate(pieces) if _allowed(p, pieces, split_aspect)]
                chosen = numbers.best_pieces([pieces[i] for i in kept], probabilities[kept])
                text = "".join(str(int(probabilities[kept[i]].argmax())) for i, _ in chosen)
            right[sample.spacing] += text == sample.truth
        total = {s: sum(x.spacing == s for x in reads) for s in composed_numbers.SPACINGS}
        shares = {s: right[s] / total[s] for s in composed_numbers.SPACINGS}
        worst = min(shares[s] / TARGETS[s] for s in shares)
        scored.append(
            (
                worst,
                sum(shares.values()),
                split_cost,
                wide_from,
                wide_cost,
                split_aspect,
                unlike_cost,
                shares,
            )
        )
    scored.sort(key=lambda row: row[:2], reverse=True)
    print("split cost, wide from, wide cost, split aspect, unlike cost: apart close touching")
    for *_, split_cost, wide_from, wide_cost, split_aspect, unlike_cost, shares in scored[:15]:
        print(
            f"{split_cost:5.2f} {wide_from:5.2f} {wide_cost:5.2f} {split_aspect:5.2f} "
            f"{unlike_cost:5.2f}: " + " ".join(f"{v:.1%}" for v in shares.values())
        )


def _allowed(piece: numbers.Piece, pieces: list[numbers.Piece], split_aspect: float) -> bool:
    """Whether a piece is a candidate when only groups this wide (times their height) split."""
    (whole,) = [
        p for p in pieces if p.group == piece.group and p.start == 0 and p.end == p.cuts - 1
    ]
    x0, y0, x1, y1 = whole.box
    return piece is whole or (x1 - x0) >= split_aspect * (y1 - y0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SEEDS, default="held-out")
    parser.add_argument(
        "--per-cell", type=int, default=4, help="numbers per source, spacing, length and background"
    )
    parser.add_argument("--model", metavar="ID_OR_PATH", help="default: the server default")
    parser.add_argument("--tune", action="store_true", help="search the splitter's costs")
    args = parser.parse_args()
    model = resolve_model(args.model) if args.model else load_model()
    reads = samples(args.split, args.per_cell)
    print(f"{len(reads)} numbers ({args.split} split), {args.per_cell} per cell")
    numbers.read_number(reads[0].image, model)  # trace the compiled predictor first
    if args.tune:
        tune(reads, model)
        return
    report(measure(reads, model))
    false_reads = blank_papers(model, SEEDS[args.split])
    print(f"\nBlank paper photos read as a number: {false_reads} of {BLANK_PAPERS}")


if __name__ == "__main__":
    main()
