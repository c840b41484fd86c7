"""Like which digits and the map: what they cost, and what the model's features buy over pixels.

- the index: the 60,000 training digits' penultimate features, built once per model
- one query (a test digit's features, then its 8 nearest training digits) in the model's 64
  features, against the same exact search in the 784 pixels, alternating, in the same run;
  and how many of the 8 share the digit's label, each way
- the map: PCA and t-SNE of the 10,000 test digits' features, and placing one digit on each

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_neighbours.py [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import load_mnist, load_model
from mnist_cnn.digit_map import build_map, place_image
from mnist_cnn.neighbours import NEIGHBOURS, NeighbourIndex, build_index, nearest


def best_of(rounds: int, function) -> tuple[float, object]:
    """The fastest of ``rounds`` calls, in seconds, and the last call's result."""
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = load_model()
    (x_train, y_train), (x_test, y_test) = load_mnist()

    build_s, index = best_of(args.rounds, lambda: build_index(model, x_train, y_train))
    pixels = NeighbourIndex(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    print(f"Index of {len(index):,} training digits, best of {args.rounds}:")
    print(f"  build (features + fit)          {build_s:6.2f} s, {index.nbytes / 1e6:.1f} MB")

    queries = np.random.default_rng(0).choice(len(x_test), args.queries, replace=False)
    nearest(model, index, x_test[0])  # warm-up: the compiled function's first call traces it
    feature_times, pixel_times, feature_agree, pixel_agree = [], [], [], []
    for row in queries:  # alternate, so noise hits both alike
        started = time.perf_counter()
        found = nearest(model, index, x_test[row])
        feature_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        by_pixels = pixels.query(x_test[row].reshape(-1) / 255.0)
        pixel_times.append(time.perf_counter() - started)
        feature_agree.append(np.mean(found.labels == y_test[row]))
        pixel_agree.append(np.mean(by_pixels.labels == y_test[row]))
    feature_ms = np.percentile(np.array(feature_times) * 1e3, [50, 95])
    pixel_ms = np.percentile(np.array(pixel_times) * 1e3, [50, 95])
    print(f"One query, {NEIGHBOURS} nearest, {args.queries} test digits:")
    for name, (p50, p95) in (("model features (64)", feature_ms), ("pixels (784)", pixel_ms)):
        print(f"  {name:<31} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    print(f"  ratio (pixels / features, p50)  {pixel_ms[0] / feature_ms[0]:6.1f}x")
    print(
        f"  neighbours sharing the label    features {np.mean(feature_agree):.1%}, "
        f"pixels {np.mean(pixel_agree):.1%}"
    )

    map_s, digit_map = best_of(args.rounds, lambda: build_map(model, x_test, y_test))
    place_s, _ = best_of(args.rounds * 10, lambda: place_image(model, digit_map, x_test[0]))
    print(f"Map of {len(x_test):,} test digits, PCA best of {args.rounds}, t-SNE once:")
    print(f"  PCA: build (features + answers)   {map_s:6.2f} s; {', '.join(digit_map.axis_titles)}")
    print(f"  PCA: place one digit              {place_s * 1e3:6.2f} ms")
    tsne_s, tsne_map = best_of(1, lambda: build_map(model, x_test, y_test, "tsne"))
    tsne_place_s, _ = best_of(args.rounds * 10, lambda: place_image(model, tsne_map, x_test[0]))
    print(f"  t-SNE: build (features + answers) {tsne_s:6.2f} s on {os.cpu_count()} cores")
    print(f"  t-SNE: place one digit            {tsne_place_s * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
