"""How often ``looks_like_digit`` refuses digits and non-digits.

Digits: the MNIST test set and two drawn-digit sets (``sketches.drawn_digit_set`` and
``sketches.pen_digit_set``, seed 1) passed through ``canvas_to_mnist`` as on the Draw page.
Non-digits: ``sketches.non_digit_set`` (seed 1): scribbles, noise, filled blobs, grids, single
letters and letter messes. None of these was used to set the check: the measured limits come
from MNIST training digits and seed 0 sets (``--calibrate`` prints the percentiles), the
learned detector from MNIST training digits and seeds 100 and up
(``scripts/train_digit_check.py``, which also reports leave-one-family-out figures).

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
from sketchbook.sketches import NON_DIGIT_KINDS, drawn_digit_set, non_digit_set, pen_digit_set

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


def print_rates(name: str, measured: list[DigitLikeness | None]) -> None:
    print(
        f"{name}: {refused(measured):.2%} of {len(measured)} refused "
        f"(learned detector alone: {refused_by_detector_alone(measured):.2%})"
    )


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
    parser.add_argument("--calibrate", action="store_true", help="print the calibration data")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.per_digit)
        return

    _, (x_test, _) = load_mnist()
    print_rates("MNIST test digits", measure_images(x_test))
    time_per_call(x_test[:500])
    canvases, _ = drawn_digit_set(n_per_digit=args.per_digit, seed=1)
    print_rates("Drawn digits (drawn_digit_set)", measure_canvases(canvases))
    canvases, _ = pen_digit_set(n_per_digit=args.per_digit, seed=1)
    print_rates("Drawn digits (pen_digit_set)", measure_canvases(canvases))
    canvases, kinds = non_digit_set(n_per_kind=args.per_kind, seed=1)
    measured = measure_canvases(canvases)
    print_rates("Non-digit canvases", measured)
    for kind in NON_DIGIT_KINDS:
        of_kind = [m for m, k in zip(measured, kinds, strict=True) if k == kind]
        print(f"  {kind:<9} {refused(of_kind):.2%}")


if __name__ == "__main__":
    main()
