"""Teaching the model one writer's handwriting: accuracy before and after, and the time it takes.

The writer is ``sketches.quirky_writer_set``: every digit drawn the same quirky way (a 1 with a
long flag and no base, a slashed 0, a crossed 7, a "u"-shaped 4, ...), slanted to the right,
varying a little in size, place and brush as a real hand does. Half of each digit's drawings
are used to fine-tune the bundled model (``mnist_cnn.fine_tune``, default recipe, nothing held
out inside it); the other half, never seen, measures the gain. MNIST test accuracy before and
after says what it cost. The time is the whole ``fine_tune`` call (scoring included), on
however loaded this machine is: the load average is printed alongside.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_fine_tune.py [--per-digit 20]
    ... --per-digit 60      # 300 drawings to learn from
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, load_mnist, load_model, predict
from mnist_cnn.fine_tuning import FineTuneConfig, fine_tune
from mnist_cnn.store import bundled_record
from sketchbook.sketches import quirky_writer_set


def per_digit_accuracy(predictions: np.ndarray, labels: np.ndarray) -> str:
    return " ".join(f"{d}:{np.mean(predictions[labels == d] == d):.0%}" for d in range(10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=20, help="drawings of each digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    canvases, labels = quirky_writer_set(n_per_digit=args.per_digit, seed=args.seed)
    images = np.stack([canvas_to_mnist(canvas) for canvas in canvases])
    # Labels cycle 0..9, so the first half of the set holds the first half of each digit.
    learn = np.arange(len(labels)) < len(labels) // 2
    model = load_model(bundled_record().model_file)
    mnist = load_mnist()

    result = fine_tune(
        model, images[learn], labels[learn], FineTuneConfig(holdout_fraction=0.0), mnist=mnist
    )

    unseen, truth = images[~learn], labels[~learn]
    before = predict(model, unseen).argmax(axis=1)
    after = predict(result.model, unseen).argmax(axis=1)
    print(f"Drawings learnt from: {learn.sum()}, held out: {(~learn).sum()}")
    for when, predictions in (("before", before), ("after", after)):
        print(
            f"Held-out accuracy {when + ':':<7} {np.mean(predictions == truth):.2%}  "
            f"({per_digit_accuracy(predictions, truth)})"
        )
    print(
        f"MNIST test accuracy: {result.mnist_test_before:.2%} -> {result.mnist_test_after:.2%} "
        f"({(result.mnist_test_after - result.mnist_test_before) * 100:+.2f} points)"
    )
    print(f"fine_tune took {result.seconds:.1f} s (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
