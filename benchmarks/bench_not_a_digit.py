"""How often ``looks_like_digit`` refuses digits and non-digits, kind by kind.

Digits: the MNIST test set, its 8x8 low-resolution scans (``sketchbook.scans``), and the drawn,
pen and quirky-writer sets of ``sketchbook.sketches`` (seed 1), each canvas passed through
``canvas_to_mnist`` as on the Draw page. Non-digits: ``sketches.non_digit_set`` (seed 1), kinds
the learned detector trains on (other seeds), and ``sketchbook.unseen_kinds`` (seed 1), kinds
no part of the check ever trained on. None of these seeds was used to set the check: the
measured limits come from MNIST training digits and seed 0 sets (``--calibrate`` prints the
percentiles), the detector and the familiarity limit from MNIST training digits and seeds 100
and up (``scripts/train_digit_check.py``, which also reports leave-one-family-out figures).
Prints a Markdown table: each set's share refused by the whole check, by the learned detector
alone and by the familiarity check alone.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_not_a_digit.py [--calibrate]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, digit_check, load_mnist
from mnist_cnn.digit_check import DigitLikeness, digit_likeness
from sketchbook.scans import low_resolution_scans
from sketchbook.sketches import (
    NON_DIGIT_KINDS,
    drawn_digit_set,
    non_digit_set,
    pen_digit_set,
    quirky_writer_set,
)
from sketchbook.unseen_kinds import UNSEEN_KINDS, unseen_set

MEASUREMENTS = ("holes", "coverage", "stroke_length", "stroke_ratio")


def measure_images(images: np.ndarray) -> list[DigitLikeness]:
    return [digit_likeness(image) for image in images]


def measure_canvases(canvases: np.ndarray) -> list[DigitLikeness]:
    """As the Draw page does: prepare each canvas, measure the input and its ink."""
    measured = []
    for canvas in canvases:
        stages = canvas_to_mnist(canvas, return_stages=True)
        measured.append(None if stages is None else digit_likeness(stages.centred, stages.ink))
    return measured


def refused(measured: list[DigitLikeness | None]) -> float:
    """Share refused; a canvas with no ink at all counts as refused (the page says so too)."""
    return float(np.mean([m is None or m.score > 1.0 for m in measured]))


def refused_by_detector_alone(measured: list[DigitLikeness | None]) -> float:
    """Share the learned detector refuses, whatever the measured limits say."""
    return float(np.mean([m is None or m.margin > 0.0 for m in measured]))


def refused_by_familiarity_alone(measured: list[DigitLikeness | None]) -> float:
    """Share the familiarity check refuses: no digit the CNN saw is near enough."""
    return float(np.mean([m is None or m.unfamiliarity > 1.0 for m in measured]))


def print_row(name: str, trained_on: str, measured: list[DigitLikeness | None]) -> None:
    rates = (refused, refused_by_detector_alone, refused_by_familiarity_alone)
    shares = " | ".join(f"{rate(measured):.1%}" for rate in rates)
    print(f"| {name} | {trained_on} | {len(measured)} | {shares} |")


def time_per_call(images: np.ndarray, rounds: int = 5) -> None:
    """Microseconds a call: the whole check against its measured limits alone (the baseline),
    alternating the two so that the machine's load falls on both alike."""
    timings = {"measured limits alone": [], "whole check": []}
    checks = {
        "measured limits alone": digit_check.measure,
        "whole check": digit_likeness,
    }
    for _ in range(rounds):
        for name, check in checks.items():
            start = time.perf_counter()
            for image in images:
                check(image)
            timings[name].append((time.perf_counter() - start) / len(images) * 1e6)
    base, whole = (float(np.median(timings[name])) for name in checks)
    print(
        f"Time a call: measured limits alone {base:.0f} us, whole check {whole:.0f} us "
        f"(x{whole / base:.2f})"
    )


def calibrate(per_digit: int) -> None:
    (x_train, _), _ = load_mnist()
    train = measure_images(x_train)
    drawn = measure_canvases(drawn_digit_set(n_per_digit=per_digit, seed=0)[0])
    lengths = np.array([m.stroke_length for m in train])
    low = np.quantile(lengths, 0.001)
    print(f"stroke_length MNIST train 0.1%: {low:.3f}, min {lengths.min():.3f}")
    print("measurement      MNIST train 99.9%   max    drawn (seed 0) max")
    for name in MEASUREMENTS:
        values = np.array([getattr(m, name) for m in train], dtype=float)
        drawn_values = np.array([getattr(m, name) for m in drawn], dtype=float)
        print(
            f"{name:<16} {np.quantile(values, 0.999):>17.3f} {values.max():>7.3f} "
            f"{drawn_values.max():>12.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=50, help="drawn digits of each digit")
    parser.add_argument("--per-kind", type=int, default=100, help="non-digits of each kind")
    parser.add_argument(
        "--scans", type=int, default=10_000, help="MNIST test digits scanned (the first N)"
    )
    parser.add_argument("--calibrate", action="store_true", help="print the calibration data")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.per_digit)
        return

    _, (x_test, _) = load_mnist()
    time_per_call(x_test[:500])
    print("\n| set | trained on | canvases | refused | by the detector alone | "
          "by the familiarity alone |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    print_row("MNIST test digits", "digits", measure_images(x_test))
    scans = low_resolution_scans(x_test[: args.scans], side=8)
    print_row("MNIST test digits, 8x8 scans", "no", measure_canvases(scans))
    for name, digit_set in (
        ("Drawn digits", drawn_digit_set),
        ("Pen digits (other styles)", pen_digit_set),
    ):
        canvases, _ = digit_set(n_per_digit=args.per_digit, seed=1)
        print_row(name, "digits", measure_canvases(canvases))
    canvases, _ = quirky_writer_set(n_per_digit=20, seed=1)
    print_row("One writer's quirky digits", "no", measure_canvases(canvases))
    for generated, kind_names, trained_on in (
        (non_digit_set, NON_DIGIT_KINDS, "detector"),
        (unseen_set, UNSEEN_KINDS, "no"),
    ):
        canvases, kinds = generated(args.per_kind, seed=1)
        measured = measure_canvases(canvases)
        for kind in kind_names:
            of_kind = [m for m, k in zip(measured, kinds, strict=True) if k == kind]
            print_row(kind, trained_on, of_kind)


if __name__ == "__main__":
    main()
