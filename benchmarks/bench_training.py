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
* ``fixed``: what a run costs once and what it costs per epoch, ``mnist_cnn.train`` (seed
  recipe) against the plain ``fit`` above. Each side's whole call is timed at 1 and at
  ``--epochs`` epochs (default 5), in the order fit 1, train 1, fit N, train N, then reversed,
  round after round. Two estimates of each side's fixed cost (set-up, tracing, the first
  call's graph optimisation) and time per epoch (batches and validation pass): the line
  through the two calls' times (where it meets 0 epochs, its slope), and the longer call's
  parts, timed by an epoch-level callback given to every ``fit`` alike (its time less its
  epochs at the later epochs' rate, and where that went). The line assumes every epoch costs
  the same; the parts show each epoch's time, so a side whose later epochs run slower or
  faster than its first is seen as such rather than as a fixed cost. Prints both, and the
  ratios of the whole calls and of the per-epoch times, per round and their medians.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py recipes [--seeds 1 2 3]
    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py speed [--rounds 2]
    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_training.py fixed [--rounds 2]

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
FIXED_CONTENDERS = ("plain fit", "train seed")
FIXED_LONG_EPOCHS = 5  # the recipe's epochs: the ratio the issue asks to keep


def run_worker(contender: str, epochs: int, seed: int) -> dict:
    """Train once in this process and measure it (called in a fresh subprocess)."""
    sys.path.insert(0, str(ROOT))
    import keras

    from mnist_cnn import build_model, evaluate, load_mnist, prepare_images
    from mnist_cnn.training import TrainConfig, train

    (x_train, y_train), (x_test, y_test) = load_mnist()
    samples = int(len(x_train) * 0.9) * epochs
    phases = time_every_fit()
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
        "parts": phases.parts(started, seconds) if epochs > 1 and contender != CAP else None,
    }


class FitPhases:
    """When a ``fit`` began training, and when each epoch began, validated and ended."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {
            name: [] for name in ("train", "epoch", "test", "tested", "epoch_end")
        }

    def mark(self, name: str) -> None:
        self.times[name].append(time.perf_counter())

    def parts(self, started: float, seconds: float) -> dict:
        """The call's fixed cost (its time less its epochs at the rate of the second one on), and
        where it went: before the first epoch, the first epoch's batches and validation pass
        beyond the later ones' (tracing, the first call's graph optimisation), after the last."""
        t = self.times
        batches = [test - begin for begin, test in zip(t["epoch"], t["test"], strict=True)]
        validation = [end - test for test, end in zip(t["test"], t["tested"], strict=True)]
        epochs = [end - begin for begin, end in zip(t["epoch"], t["epoch_end"], strict=True)]
        per_epoch = statistics.median(epochs[1:])
        return {
            "epochs": epochs,
            "per_epoch": per_epoch,
            "fixed": seconds - len(epochs) * per_epoch,
            "before the first epoch": t["train"][0] - started,
            "first epoch's batches, beyond": batches[0] - statistics.median(batches[1:]),
            "first validation, beyond": validation[0] - statistics.median(validation[1:]),
            "after the last epoch": started + seconds - t["epoch_end"][-1],
        }


def time_every_fit() -> FitPhases:
    """Give every ``model.fit`` in this worker a callback that times its phases, for both sides
    alike: epoch-level hooks only, so no batch waits for it."""
    import keras

    phases = FitPhases()

    class Marks(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            phases.mark("train")

        def on_epoch_begin(self, epoch, logs=None):
            phases.mark("epoch")

        def on_test_begin(self, logs=None):
            phases.mark("test")

        def on_test_end(self, logs=None):
            phases.mark("tested")

        def on_epoch_end(self, epoch, logs=None):
            phases.mark("epoch_end")

    fit = keras.Model.fit

    def fit_with_marks(self, *args, callbacks=None, **kwargs):
        return fit(self, *args, callbacks=[*(callbacks or []), Marks()], **kwargs)

    keras.Model.fit = fit_with_marks
    return phases


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


def compare_fixed_cost(rounds: int, epochs: int, log: Path | None) -> None:
    """Fixed cost and time per epoch of each side, from whole calls of 1 and ``epochs`` epochs
    (the line through them) and from the parts of the longer call (``FitPhases``)."""
    runs = [(contender, n) for n in (1, epochs) for contender in FIXED_CONTENDERS]
    sides: dict[str, list[EpochLine]] = {contender: [] for contender in FIXED_CONTENDERS}
    for number in range(rounds):
        results = {}
        for contender, n in runs if number % 2 == 0 else reversed(runs):
            results[contender, n] = measure(contender, n, DEFAULT_SEEDS[0], log)
        for contender in FIXED_CONTENDERS:
            sides[contender].append(EpochLine(results[contender, 1], results[contender, epochs]))
    print(f"\nWhole calls of 1 and {epochs} epochs, {rounds} rounds in alternating order.")
    print("  fixed cost / per epoch: from the line through the two calls | from the longer call's")
    print(f"  parts (its time less {epochs} epochs at the later epochs' rate)")
    for contender, lines in sides.items():
        print(f"  {contender}:")
        for number, line in enumerate(lines, start=1):
            print(
                f"    round {number}: {line.short:5.1f} s / {line.long:5.1f} s; fixed cost "
                f"{line.fixed:5.1f} s | {line.parts['fixed']:5.1f} s; per epoch "
                f"{line.per_epoch:5.1f} s | {line.parts['per_epoch']:5.1f} s "
                f"({line.samples_per_epoch / line.parts['per_epoch']:5.0f} samples/s)"
            )
            where = ", ".join(
                f"{name} {value:.2f} s"
                for name, value in line.parts.items()
                if name not in ("epochs", "fixed", "per_epoch")
            )
            print(f"      fixed cost's parts: {where}")
            each = " ".join(f"{seconds:.1f}" for seconds in line.parts["epochs"])
            print(f"      each epoch of the longer call, validation included: {each} s")
    baseline, train = (sides[contender] for contender in FIXED_CONTENDERS)
    pairs = list(zip(baseline, train, strict=True))
    ratios = {
        "whole call, 1 epoch": [b.short / t.short for b, t in pairs],
        f"whole call, {epochs} epochs": [b.long / t.long for b, t in pairs],
        "per epoch (line)": [b.per_epoch / t.per_epoch for b, t in pairs],
        "per epoch (parts)": [b.parts["per_epoch"] / t.parts["per_epoch"] for b, t in pairs],
    }
    print("\n  plain fit's time / train's     per round           median")
    for name, values in ratios.items():
        per_round = " ".join(f"{value:5.2f}x" for value in values)
        print(f"  {name:30s} {per_round:19s} {statistics.median(values):5.2f}x")
    print("\n  medians            fixed cost (line | parts)   per epoch (line | parts)")
    for contender, lines in sides.items():
        medians = [
            statistics.median(value(line) for line in lines)
            for value in (
                lambda line: line.fixed,
                lambda line: line.parts["fixed"],
                lambda line: line.per_epoch,
                lambda line: line.parts["per_epoch"],
            )
        ]
        print(
            f"  {contender:18s} {medians[0]:5.1f} s | {medians[1]:5.1f} s"
            f"{' ' * 15}{medians[2]:5.1f} s | {medians[3]:5.1f} s"
        )


class EpochLine:
    """One side's calls of 1 epoch and of more: the line through their times (where it meets 0
    epochs is the fixed cost, its slope the time per epoch), and the longer call's parts."""

    def __init__(self, short: dict, long: dict) -> None:
        self.short, self.long = short["seconds"], long["seconds"]
        self.per_epoch = (self.long - self.short) / (long["epochs"] - short["epochs"])
        self.fixed = self.short - self.per_epoch * short["epochs"]
        self.samples_per_epoch = short["samples_per_second"] * self.short / short["epochs"]
        self.parts = long["parts"]


def rounds_and_epochs(part: argparse.ArgumentParser, epochs: int, epochs_help: str) -> None:
    """The --rounds and --epochs options of a timed part."""
    part.add_argument("--rounds", type=int, default=2)
    part.add_argument("--epochs", type=int, default=epochs, help=epochs_help)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    recipes = parts.add_parser("recipes", help="seed vs tuned recipe: accuracy and time")
    recipes.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    speed = parts.add_parser("speed", help="samples/s against a plain model.fit")
    rounds_and_epochs(
        speed,
        SPEED_EPOCHS,
        f"epochs per run (default {SPEED_EPOCHS}; the recipes train {RECIPE_EPOCHS})",
    )
    fixed = parts.add_parser("fixed", help="fixed cost and time per epoch against a plain fit")
    rounds_and_epochs(
        fixed,
        FIXED_LONG_EPOCHS,
        f"the longer calls' epochs (default {FIXED_LONG_EPOCHS}; the shorter ones run 1)",
    )
    for part in (recipes, speed, fixed):
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
    elif args.part == "fixed":
        if args.epochs < 2:
            parser.error("fixed needs --epochs of at least 2: a line needs two points")
        compare_fixed_cost(args.rounds, args.epochs, args.log)
    else:
        compare_speed(args.rounds, args.epochs, args.log)


if __name__ == "__main__":
    main()
