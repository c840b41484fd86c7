"""Training: the seed against the tuned recipe, and ``mnist_cnn.train`` against plain ``fit``.

Two parts, each run in fresh processes on the full MNIST (set ``MNIST_NPZ``):

* ``recipes``: the seed and the tuned recipe for 5 epochs, once per random seed (the two
  alternate, so machine noise hits both alike). Prints test accuracy (median and range over
  the seeds) and training time.
* ``speed``: training samples/s of the seed recipe as a plain ``model.fit`` (float32 arrays,
  ``validation_split=0.1``: the baseline), as ``fit`` with the strongest plain Keras settings
  (16 batches per compiled call, validation in batches of 1024), and as ``mnist_cnn.train``
  with the seed and with the tuned recipe; and, as the cap that TensorFlow's CPU kernels set,
  the seed recipe's train steps alone in one compiled loop over batches already in memory.
  The order alternates every round (A B C D E, E D C B A, ...), and each ratio is against the
  baseline measured in the same run. ``train``'s rate between its first and last progress
  report (set-up, tracing and validation left out, as the cap leaves them out) is then
  compared with that round's cap.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py recipes [--seeds 1 2 3]
    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py speed [--rounds 2]

``speed --epochs 5`` times the recipe's whole 5 epochs (the default is 1). ``--log FILE``
appends every single measurement as a JSON line, so a long run that is cut short still leaves
its results.
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
RECIPE_EPOCHS = 5
DEFAULT_SEEDS = (1, 2, 3)
SPEED_EPOCHS = 1
STRONG_STEPS_PER_EXECUTION = 16
STRONG_VALIDATION_BATCH = 1024
CAP = "in-graph train steps (cap)"
SPEED_CONTENDERS = ("plain fit", "plain fit, strongest settings", "train seed", "train tuned", CAP)


def run_worker(contender: str, epochs: int, seed: int) -> dict:
    """Train once in this process and measure it (called in a fresh subprocess)."""
    sys.path.insert(0, str(ROOT))
    import keras

    from mnist_cnn import build_model, evaluate, load_mnist, prepare_images
    from mnist_cnn.training import TrainConfig, train

    (x_train, y_train), (x_test, y_test) = load_mnist()
    samples = int(len(x_train) * 0.9) * epochs
    if contender.startswith("plain fit"):
        keras.utils.set_random_seed(seed)
        strong = contender == "plain fit, strongest settings"
        model = build_model(steps_per_execution=STRONG_STEPS_PER_EXECUTION if strong else 1)
        x = prepare_images(x_train)
        started = time.perf_counter()
        model.fit(
            x,
            y_train,
            batch_size=32,
            epochs=epochs,
            validation_split=0.1,
            validation_batch_size=STRONG_VALIDATION_BATCH if strong else None,
            verbose=0,
        )
        seconds = time.perf_counter() - started
    elif contender == CAP:
        model, seconds = in_graph_steps(prepare_images(x_train), y_train, epochs, seed)
    else:
        recipe = contender.removeprefix("train ")
        config = TrainConfig.from_recipe(recipe, epochs=epochs, seed=seed)
        reports = ReportTimes()
        started = time.perf_counter()
        model = train(x_train, y_train, config, listener=reports).model
        seconds = time.perf_counter() - started
        steady = reports.steady_samples_per_second(config.batch_size)
    return {
        "contender": contender,
        "epochs": epochs,
        "seed": seed,
        "samples_per_second": samples / seconds,
        "steady_samples_per_second": steady if contender.startswith("train ") else None,
        "seconds": seconds,
        "test_accuracy": evaluate(model, x_test, y_test).accuracy,
    }


class ReportTimes:
    """Times of ``train``'s batch reports: its rate between the first and the last, leaving
    out set-up, tracing and the epochs' validation passes (which the cap leaves out too)."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, int]] = []  # (time, batches done in the run so far)
        self.validation_seconds = 0.0

    def on_batch(self, progress) -> None:
        done = (progress.epoch - 1) * progress.batches_per_epoch + progress.batch
        self.batches.append((time.perf_counter(), done))

    def on_epoch(self, progress) -> None:
        self.epoch_end = time.perf_counter()
        self.validation_seconds += self.epoch_end - self.batches[-1][0]
        self.batches.append((self.epoch_end, self.batches[-1][1]))  # no batches in validation

    def steady_samples_per_second(self, batch_size: int) -> float:
        (start, first), (end, last) = self.batches[0], self.batches[-1]
        return (last - first) * batch_size / (end - start - self.validation_seconds)


def in_graph_steps(images, labels, epochs: int, seed: int):
    """The cap: the seed recipe's train steps alone, in one compiled loop over batches already
    in memory as float32 tensors; no input pipeline, metrics, callbacks or validation."""
    import keras
    import tensorflow as tf

    from mnist_cnn import build_model

    keras.utils.set_random_seed(seed)
    model = build_model()
    n_train = int(len(images) * 0.9) // 32 * 32
    x = tf.reshape(tf.constant(images[:n_train]), (-1, 32, 28, 28, 1))
    y = tf.reshape(tf.constant(labels[:n_train]), (-1, 32))
    weights = model.trainable_variables
    model.optimizer.build(weights)
    loss_of = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def epoch() -> None:
        for i in tf.range(tf.shape(x)[0]):
            with tf.GradientTape() as tape:
                loss = loss_of(y[i], model(x[i], training=True))
            model.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

    epoch.get_concrete_function()  # trace first: the cap leaves tracing out
    started = time.perf_counter()
    for _ in range(epochs):
        epoch()
    seconds = (time.perf_counter() - started) * len(images) * 0.9 / n_train  # per full epoch
    return model, seconds


def measure(contender: str, epochs: int, seed: int, log: Path | None) -> dict:
    command = [sys.executable, __file__, "worker", contender, str(epochs), str(seed)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{contender} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    steady = result.get("steady_samples_per_second")
    print(
        f"  {contender:30s} seed {seed}: {result['samples_per_second']:6.0f} samples/s, "
        f"{result['seconds']:6.1f} s, test accuracy {result['test_accuracy']:.4f}"
        + (f", between its first and last report {steady:6.0f} samples/s" if steady else ""),
        flush=True,
    )
    if log is not None:
        with log.open("a") as file:
            file.write(json.dumps(result) + "\n")
    return result


def compare_recipes(seeds: list[int], log: Path | None) -> None:
    runs: dict[str, list[dict]] = {"train seed": [], "train tuned": []}
    for number, seed in enumerate(seeds):
        order = list(runs) if number % 2 == 0 else list(reversed(runs))
        for contender in order:
            runs[contender].append(measure(contender, RECIPE_EPOCHS, seed, log))
    print(f"\n{RECIPE_EPOCHS} epochs, seeds {seeds}:")
    print("  recipe   test accuracy: median (min..max)   training time: median")
    for contender, results in runs.items():
        accuracies = [r["test_accuracy"] for r in results]
        print(
            f"  {contender.removeprefix('train '):8s} {statistics.median(accuracies):.4f} "
            f"({min(accuracies):.4f}..{max(accuracies):.4f})"
            f"               {statistics.median(r['seconds'] for r in results):6.1f} s"
        )


def compare_speed(rounds: int, epochs: int, log: Path | None) -> None:
    runs: dict[str, list[dict]] = {name: [] for name in SPEED_CONTENDERS}
    for number in range(rounds):
        order = SPEED_CONTENDERS if number % 2 == 0 else tuple(reversed(SPEED_CONTENDERS))
        for contender in order:
            runs[contender].append(measure(contender, epochs, DEFAULT_SEEDS[0], log))
    print(f"\n{epochs} epoch(s), {rounds} rounds in alternating order:")
    print("  contender                        samples/s (median)   ratio per round   median")
    baseline = runs["plain fit"]
    for contender, results in runs.items():
        ratios = [
            r["samples_per_second"] / b["samples_per_second"]
            for r, b in zip(results, baseline, strict=True)
        ]
        speed = statistics.median(r["samples_per_second"] for r in results)
        print(
            f"  {contender:32s} {speed:8.0f}             "
            f"{' '.join(f'{ratio:4.2f}' for ratio in ratios):16s}  {statistics.median(ratios):4.2f}"
        )
    print("\n  train between its first and last report, against the cap of the same round:")
    for contender in ("train seed", "train tuned"):
        shares = [
            r["steady_samples_per_second"] / cap["samples_per_second"]
            for r, cap in zip(runs[contender], runs[CAP], strict=True)
        ]
        steady = statistics.median(r["steady_samples_per_second"] for r in runs[contender])
        print(
            f"  {contender:32s} {steady:8.0f} samples/s   "
            f"{' '.join(f'{share:4.2f}' for share in shares):16s}  {statistics.median(shares):4.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    recipes = parts.add_parser("recipes", help="seed vs tuned recipe: accuracy and time")
    recipes.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    speed = parts.add_parser("speed", help="samples/s against a plain model.fit")
    speed.add_argument("--rounds", type=int, default=2)
    speed.add_argument(
        "--epochs",
        type=int,
        default=SPEED_EPOCHS,
        help=f"epochs per run (default {SPEED_EPOCHS}; the recipes train {RECIPE_EPOCHS})",
    )
    for part in (recipes, speed):
        part.add_argument("--log", type=Path, help="append each measurement to this JSONL file")
    worker = parts.add_parser("worker")
    worker.add_argument("contender")
    worker.add_argument("epochs", type=int)
    worker.add_argument("seed", type=int)
    args = parser.parse_args()
    if args.part == "worker":
        print(json.dumps(run_worker(args.contender, args.epochs, args.seed)))
    elif args.part == "recipes":
        compare_recipes(args.seeds, args.log)
    else:
        compare_speed(args.rounds, args.epochs, args.log)


if __name__ == "__main__":
    main()
