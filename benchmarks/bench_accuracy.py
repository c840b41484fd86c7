"""Accuracy of the bundled model: on the MNIST test set, and on two sets of drawn digits.

* **Drawn set** (``sketchbook.sketches.drawn_digit_set``): stroke sketches of every digit in
  several handwriting variants, drawn at random sizes, positions, slants and brush widths in all
  three canvas colour conventions. The bundled model's training settings were chosen with it.
* **Pen set** (``sketchbook.sketches.pen_digit_set``): a second generator written apart from the
  first and never used to choose settings: smooth Bezier strokes in other styles, a pen whose
  width varies, italic slant, hand tremor, coloured inks on tinted paper.

Both go through ``canvas_to_mnist`` exactly as the Draw page does.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_accuracy.py [--model PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, evaluate, load_mnist, load_model, predict
from mnist_cnn.store import bundled_record
from sketchbook.sketches import drawn_digit_set, pen_digit_set

DRAWN_SETS = {
    "Drawn-digit accuracy": drawn_digit_set,
    "Pen-digit accuracy (held-out generator)": pen_digit_set,
}


def report(name: str, model, canvases: np.ndarray, labels: np.ndarray) -> None:
    inputs = np.stack([canvas_to_mnist(canvas) for canvas in canvases])
    predictions = predict(model, inputs).argmax(axis=1)
    correct = predictions == labels
    print(f"{name} ({len(labels)} drawings): {correct.mean():.4f}")
    for digit in range(10):
        wrong = predictions[(labels == digit) & ~correct]
        note = (
            f"  mistaken for {np.bincount(wrong, minlength=10).nonzero()[0].tolist()}"
            if len(wrong)
            else ""
        )
        print(f"  {digit}: {correct[labels == digit].mean():.3f}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(bundled_record().model_file))
    parser.add_argument("--per-digit", type=int, default=50)
    args = parser.parse_args()
    model = load_model(args.model)

    _, (x_test, y_test) = load_mnist()
    accuracy = evaluate(model, x_test, y_test).accuracy
    print(f"MNIST test accuracy ({len(x_test)} images): {accuracy:.4f}")

    for name, make_set in DRAWN_SETS.items():
        canvases, labels = make_set(n_per_digit=args.per_digit)
        report(name, model, canvases, labels)


if __name__ == "__main__":
    main()
