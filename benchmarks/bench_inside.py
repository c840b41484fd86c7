"""Latency of the Inside page's work for one digit, against plain Keras in the same run.

- ``activations`` + one integrated-gradients ``saliency`` (for the predicted digit): the target
  is a p50 <= 50 ms on a CPU
- the baseline: one ``model.predict`` of the same digit (plain Keras), and ``mnist_cnn.predict``
- for reference: occlusion saliency and a rotation sweep (61 angles, one batch)
- integrated gradients alone, in batches of ``INTEGRATED_GRADIENTS_BATCH`` path points (as the
  page runs it) against all its points in one batch (which holds more memory for good)

Each digit goes through every function in turn, in an order that rotates from digit to digit, so
a busy machine slows all of them alike. Digits come from MNIST's test set: the committed sample
unless --data or $MNIST_NPZ names the full file.

    python benchmarks/bench_inside.py [--digits 200] [--data PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mnist_cnn import activations, explain, load_mnist, load_model, predict, saliency  # noqa: E402
from mnist_cnn.probe import rotation_sweep  # noqa: E402

SAMPLE_NPZ = REPO / "tests" / "data" / "mnist_sample.npz"
TARGET_MS = 50.0


def inside(model, image: np.ndarray) -> None:
    """What the Inside page computes first for a digit: every layer, then why its answer."""
    layers = activations(model, image)
    saliency(model, image, int(np.argmax(list(layers.values())[-1])))


def integrated_gradients_in_one_batch(model, image: np.ndarray, digit: int) -> None:
    """``saliency`` with every path point in one batch, as before it was batched."""
    batch = explain.INTEGRATED_GRADIENTS_BATCH
    explain.INTEGRATED_GRADIENTS_BATCH = explain.INTEGRATED_GRADIENTS_STEPS
    try:
        saliency(model, image, digit)
    finally:
        explain.INTEGRATED_GRADIENTS_BATCH = batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=200)
    parser.add_argument("--data", type=Path, help="MNIST .npz (default: $MNIST_NPZ, else sample)")
    args = parser.parse_args()
    data = args.data or os.environ.get("MNIST_NPZ") or SAMPLE_NPZ
    _, (x_test, _) = load_mnist(data)
    images = x_test[: args.digits].astype(np.float32) / 255.0
    model = load_model()

    timed = {
        "activations + integrated gradients": lambda image: inside(model, image),
        "model.predict (plain Keras)": lambda image: model.predict(
            image[np.newaxis, ..., np.newaxis], verbose=0
        ),
        "mnist_cnn.predict": lambda image: predict(model, image[np.newaxis]),
        "occlusion saliency": lambda image: saliency(model, image, 0, method="occlusion"),
        "rotation sweep (61 angles)": lambda image: rotation_sweep(model, image),
        "integrated gradients, batched": lambda image: saliency(model, image, 0),
        "integrated gradients, one batch": lambda image: integrated_gradients_in_one_batch(
            model, image, 0
        ),
    }
    for function in timed.values():  # trace and warm up every compiled function
        function(images[0])
    samples: dict[str, list[float]] = {name: [] for name in timed}
    names = list(timed)
    for index, image in enumerate(images):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            timed[name](image)
            samples[name].append(time.perf_counter() - started)

    print(f"Inside page work for one digit, {len(images)} MNIST test digits ({Path(data).name}):")
    p50 = {}
    for name, times in samples.items():
        p50[name], p95 = np.percentile(np.array(times) * 1e3, [50, 95])
        print(f"  {name:36s} p50 {p50[name]:7.2f} ms  p95 {p95:7.2f} ms")
    ours, plain = p50["activations + integrated gradients"], p50["model.predict (plain Keras)"]
    verdict = "meets" if ours <= TARGET_MS else "misses"
    compiled = p50["mnist_cnn.predict"]
    print(f"  activations + IG / model.predict (p50)      {ours / plain:6.2f}x")
    print(f"  activations + IG / mnist_cnn.predict (p50)  {ours / compiled:6.2f}x")
    batched, whole = (p50[f"integrated gradients, {how}"] for how in ("batched", "one batch"))
    print(f"  integrated gradients batched / one batch   {batched / whole:6.2f}x")
    print(f"  activations + IG p50 {ours:.1f} ms: {verdict} the target <= {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
