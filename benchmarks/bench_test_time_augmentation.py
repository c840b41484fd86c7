"""Does test-time augmentation pay for its cost? Averaging a model's answers over shifted copies.

ConvNetJS's MNIST demo averaged its answers over a few shifted crops of each digit. Here each
model input is read as it is (the baseline, what ``predict`` does) and as the mean of the
probabilities of ``COPIES``: itself and its copies moved one pixel up, down, left and right
(``np.roll``: MNIST's border is empty, so nothing wraps but background). Both are scored on the
MNIST test digits, their 8x8 low-resolution scans, and the drawn and pen sets, and timed on
one digit at a time, as the Draw page asks, alternating the two so the machine's load falls on
both alike.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_test_time_augmentation.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, load_mnist, predict
from mnist_cnn.store import bundled_record, load_record
from sketchbook.scans import low_resolution_scans
from sketchbook.sketches import drawn_digit_set, pen_digit_set

SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # (rows, columns)
COPIES = len(SHIFTS)


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """(N * COPIES, 28, 28): each image's copies, one after another."""
    copies = [np.roll(images, shift, axis=(1, 2)) for shift in SHIFTS]
    return np.stack(copies, axis=1).reshape(-1, *images.shape[1:])


def predict_averaged(model, images: np.ndarray) -> np.ndarray:
    """The mean of the probabilities over each image's shifted copies: (N, 10)."""
    probabilities = predict(model, shifted_copies(images))
    return probabilities.reshape(len(images), COPIES, -1).mean(axis=1)


def test_sets(per_digit: int, scans: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    _, (x_test, y_test) = load_mnist()
    sets = {"MNIST test": (x_test.astype(np.float32) / 255.0, y_test)}
    pictures = low_resolution_scans(x_test[:scans], side=8)
    scanned = np.stack([canvas_to_mnist(picture) for picture in pictures])
    sets["Scans 8x8, 16 levels"] = (scanned, y_test[:scans])
    for name, digit_set in (("Drawn set", drawn_digit_set), ("Pen set", pen_digit_set)):
        canvases, labels = digit_set(n_per_digit=per_digit, seed=1)
        sets[name] = (np.stack([canvas_to_mnist(c) for c in canvases]), labels)
    return sets


def time_one_digit(model, image: np.ndarray, rounds: int, calls: int) -> tuple[float, float]:
    """Median milliseconds a call for one digit: plain, then averaged, alternating."""
    timings: dict[str, list[float]] = {"plain": [], "averaged": []}
    readers = {"plain": predict, "averaged": predict_averaged}
    one = image[np.newaxis]
    for reader in readers.values():  # traced and warm before timing
        reader(model, one)
    for _ in range(rounds):
        for name, reader in readers.items():
            start = time.perf_counter()
            for _ in range(calls):
                reader(model, one)
            timings[name].append((time.perf_counter() - start) / calls * 1e3)
    return float(np.median(timings["plain"])), float(np.median(timings["averaged"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=50, help="drawn digits of each digit")
    parser.add_argument("--scans", type=int, default=10_000, help="MNIST test digits scanned")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    model = load_record(bundled_record())
    print("| set | plain | averaged over 5 shifts | difference |")
    print("| --- | ---: | ---: | ---: |")
    for name, (images, labels) in test_sets(args.per_digit, args.scans).items():
        plain = float((predict(model, images).argmax(axis=1) == labels).mean())
        averaged = float((predict_averaged(model, images).argmax(axis=1) == labels).mean())
        print(
            f"| {name} ({len(labels):,}) | {plain:.2%} | {averaged:.2%} | "
            f"{(averaged - plain) * 100:+.2f} points |"
        )
    _, (x_test, _) = load_mnist()
    plain_ms, averaged_ms = time_one_digit(model, x_test[0], args.rounds, calls=50)
    print(
        f"\nOne digit a call (median of {args.rounds} alternating rounds): "
        f"plain {plain_ms:.2f} ms, averaged {averaged_ms:.2f} ms (x{averaged_ms / plain_ms:.2f})"
    )


if __name__ == "__main__":
    main()
