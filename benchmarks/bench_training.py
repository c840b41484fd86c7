"""Training throughput: ``mnist_cnn.train`` against a plain ``model.fit`` of the same recipe.

Both train the default CNN (batch 32, Adam 1e-3, 10% validation held out) on the
full MNIST for the same number of epochs, each in a fresh process, alternating
baseline and candidate so machine noise hits both alike. Prints samples/s, test
accuracy and the ratio candidate / baseline.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py [--epochs 5] [--rounds 1]
    ... --steps-per-execution 1 4 16 32     # also try other batches-per-call settings
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_worker(kind: str, epochs: int, steps_per_execution: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from mnist_cnn import build_model, evaluate, load_mnist
    from mnist_cnn.training import TrainConfig, train

    (x_train, y_train), (x_test, y_test) = load_mnist()
    samples = int(len(x_train) * 0.9) * epochs
    if kind == "baseline":
        model = build_model()
        x = (x_train / 255.0).astype("float32")[..., None]
        started = time.perf_counter()
        model.fit(x, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=0)
        seconds = time.perf_counter() - started
    else:
        config = TrainConfig(epochs=epochs, steps_per_execution=steps_per_execution)
        started = time.perf_counter()
        model = train(x_train, y_train, config).model
        seconds = time.perf_counter() - started
    return {
        "samples_per_second": samples / seconds,
        "seconds": seconds,
        "test_accuracy": evaluate(model, x_test, y_test).accuracy,
    }


def measure(kind: str, epochs: int, steps_per_execution: int) -> dict:
    command = [sys.executable, __file__, "--worker", kind, "--epochs", str(epochs)]
    command += ["--steps-per-execution", str(steps_per_execution)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--steps-per-execution", type=int, nargs="+", default=[16])
    parser.add_argument("--worker", choices=["baseline", "candidate"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.epochs, args.steps_per_execution[0])))
        return

    results: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        results.setdefault("baseline", []).append(measure("baseline", args.epochs, 1))
        for steps in args.steps_per_execution:
            name = f"mnist_cnn.train (steps_per_execution={steps})"
            results.setdefault(name, []).append(measure("candidate", args.epochs, steps))

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in results[name])

    baseline = median("baseline", "samples_per_second")
    print(f"{args.epochs} epochs, {args.rounds} round(s), medians:")
    for name in results:
        speed = median(name, "samples_per_second")
        print(
            f"  {name:45s} {speed:8.0f} samples/s  ratio {speed / baseline:4.2f}  "
            f"test accuracy {median(name, 'test_accuracy'):.4f}"
        )


if __name__ == "__main__":
    main()
