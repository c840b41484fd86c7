"""Other hands: how models read digits that MNIST's writers and scanner did not give them.

For each model (the bundled one, and any ``--model`` file or id):

* **MNIST test**: the 10,000 test digits as they are.
* **Low-resolution scans** (``sketchbook.scans``): each test digit's box sampled onto an 8x8,
  10x10 or 12x12 grid of 16 grey levels, as a coarse scan of a form gives it, enlarged back to
  a 224-pixel picture and read through ``canvas_to_mnist`` as the app reads an upload. The 8x8
  forms of 16 levels are those of the UCI optical digits. PIL samples them; the "hands"
  augmentation's low resolution is TensorFlow's, on other sides.
* **Drawn set** and **pen set** (``sketchbook.sketches``): the two canvas generators, the
  second written apart and never used to choose training settings; the pen set's flagged and
  based 1s, closed and crossed 4s, curved 7s and 9s are styles MNIST holds few of.

Prints a Markdown table, a column per model, and each set's weakest digits.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_other_hands.py \\
        [--model [NAME=]PATH_OR_ID ...] [--per-digit 50] [--scans 10000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, load_mnist, predict
from mnist_cnn.store import bundled_record, load_record, resolve_model
from sketchbook.scans import HELD_OUT_SIDES, low_resolution_scans
from sketchbook.sketches import drawn_digit_set, pen_digit_set

SCAN_SIDES = HELD_OUT_SIDES
WEAKEST_SHOWN = 3


def read_canvases(canvases: np.ndarray) -> np.ndarray:
    return np.stack([canvas_to_mnist(canvas) for canvas in canvases])


def test_sets(per_digit: int, scans: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every set's model inputs and labels, prepared once for all models."""
    _, (x_test, y_test) = load_mnist()
    sets = {"MNIST test": (x_test, y_test)}
    for side in SCAN_SIDES:
        pictures = low_resolution_scans(x_test[:scans], side=side)
        sets[f"Low-resolution scans, {side}x{side}, 16 levels"] = (
            read_canvases(pictures),
            y_test[:scans],
        )
    for name, make in (("Drawn set", drawn_digit_set), ("Pen set (held out)", pen_digit_set)):
        canvases, labels = make(n_per_digit=per_digit)
        sets[name] = (read_canvases(canvases), labels)
    return sets


def scores(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    predictions = predict(model, images).argmax(axis=1)
    correct = predictions == labels
    return float(correct.mean()), np.array([correct[labels == d].mean() for d in range(10)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        nargs="*",
        default=[],
        metavar="[NAME=]PATH_OR_ID",
        help="more models: .keras paths or ids, each named for its column",
    )
    parser.add_argument("--per-digit", type=int, default=50, help="drawings per digit per set")
    parser.add_argument("--scans", type=int, default=10_000, help="test digits scanned")
    args = parser.parse_args()
    models = {"bundled": load_record(bundled_record())}
    for named in args.model:
        name, _, where = named.rpartition("=")
        models[name or where] = resolve_model(where)
    sets = test_sets(args.per_digit, args.scans)
    header = " | ".join(models)
    print(f"| set | {header} |")
    print("| --- |" + " --- |" * len(models))
    weakest = []
    for set_name, (images, labels) in sets.items():
        cells = []
        for model_name, model in models.items():
            accuracy, per_digit = scores(model, images, labels)
            cells.append(f"{accuracy:.2%}")
            worst = np.argsort(per_digit)[:WEAKEST_SHOWN]
            shown = ", ".join(f"{d}: {per_digit[d]:.1%}" for d in worst)
            weakest.append(f"{set_name}, {model_name}: weakest {shown}")
        print(f"| {set_name} ({len(labels):,}) | " + " | ".join(cells) + " |")
    print()
    print("\n".join(weakest))


if __name__ == "__main__":
    main()
