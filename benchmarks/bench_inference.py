"""Latency of the drawing path and of scoring the test set, against plain Keras in the same run.

- one drawing: ``canvas_to_mnist`` + ``mnist_cnn.predict`` vs the same with ``model.predict``
- the 10,000 test images: ``mnist_cnn.evaluate`` vs ``model.predict`` + the same scikit-learn report

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_inference.py [--drawings 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, evaluate, load_mnist, load_model, predict
from sketchbook.sketches import drawn_digit_set


def percentiles_ms(samples: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(samples) * 1e3, [50, 95])
    return float(p50), float(p95)


def time_each(function, inputs) -> list[float]:
    times = []
    for item in inputs:
        started = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = load_model()
    canvases, _ = drawn_digit_set(n_per_digit=max(args.drawings // 10, 1), seed=1)

    def ours(canvas):
        return predict(model, canvas_to_mnist(canvas)[np.newaxis])

    def plain(canvas):
        return model.predict(canvas_to_mnist(canvas)[np.newaxis, ..., np.newaxis], verbose=0)

    for warm_up in (ours, plain):
        warm_up(canvases[0])
    ours_times = time_each(ours, canvases)
    plain_times = time_each(plain, canvases)
    drawing_only = time_each(canvas_to_mnist, canvases)
    (ours_p50, ours_p95), (plain_p50, plain_p95) = map(percentiles_ms, (ours_times, plain_times))
    print(f"One drawing (280x280 canvas -> probabilities), {len(canvases)} drawings:")
    print(f"  canvas_to_mnist + mnist_cnn.predict  p50 {ours_p50:6.2f} ms  p95 {ours_p95:6.2f} ms")
    print(
        f"  canvas_to_mnist + model.predict      p50 {plain_p50:6.2f} ms  p95 {plain_p95:6.2f} ms"
    )
    print(f"  canvas_to_mnist alone                p50 {percentiles_ms(drawing_only)[0]:6.2f} ms")
    print(f"  ratio (plain / ours, p50)            {plain_p50 / ours_p50:6.1f}x")

    _, (x_test, y_test) = load_mnist()
    ours_eval, plain_eval = [], []
    for _ in range(args.rounds):  # alternate, so noise hits both alike
        started = time.perf_counter()
        evaluate(model, x_test, y_test)
        ours_eval.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict(x_test[..., np.newaxis] / 255.0, verbose=0).argmax(axis=1)
        plain_eval.append(time.perf_counter() - started)
    ours_s, plain_s = min(ours_eval), min(plain_eval)
    print(f"Evaluation of {len(x_test)} test images (best of {args.rounds}):")
    print(f"  mnist_cnn.evaluate (with report)     {ours_s:6.2f} s")
    print(f"  model.predict (predictions only)     {plain_s:6.2f} s")
    print(f"  ratio (plain / ours)                 {plain_s / ours_s:6.2f}x")


if __name__ == "__main__":
    main()
