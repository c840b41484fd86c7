"""Network presets: size, cost, time per epoch and test accuracy, each against the seed CNN.

For each preset of ``mnist_cnn.architecture.PRESETS`` (or those named with ``--presets``; the
seed CNN is always measured too, as the reference): its parameters and FLOPs per digit (from
the spec, and the ratio to the seed's), then ``mnist_cnn.train`` with the tuned recipe
(``TrainConfig.tuned()``, the same for every network) for ``--epochs`` (default 5), once per
random seed (``--seeds N``: seeds 1 to N, default 3), each run in a fresh process on MNIST
(set ``MNIST_NPZ``), scored on the whole test set.

Fair: every network gets the same recipe, data and seeds, and the order alternates round after
round (the presets' order on even rounds, reversed on odd ones), so that machine noise hits
all alike; the seed CNN runs in every round, and each time ratio is against the seed run of
the same round (the median of those ratios is printed). Time per epoch is ``train``'s own
``EpochProgress.seconds`` (the epoch's batches and its validation pass): the first epoch,
which also traces the train step, and the median of the later epochs, the steady cost. The
ratio uses the later epochs (the first, when a run has only one). Accuracy is the median over
the seeds (with the range), and its difference from the seed CNN's median, in points.

It also checks the Train page's estimate of the time per epoch (``mnist_cnn.speed``): the
server's speed is measured once, in a fresh process before the first round, as the page
measures it, and each preset's estimate is printed beside its measured later epochs (the
estimate leaves out the epoch's validation pass, a few % of it).

Prints a Markdown table for the README, with the device it ran on (CPU or GPU, nothing here is
specific to either) and the load average before and after.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_presets.py
    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_presets.py --seeds 1 --epochs 1 \\
        --images 2000 --presets tiny dense seed       # a quick look, minutes on 2 cores

``--images N`` trains on the first N training images (the test set stays whole); ``--json
FILE`` writes the summary and every run; ``--log FILE`` appends each run as a JSON line as it
finishes, so a long run that is cut short still leaves its results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnist_cnn.architecture import PRESET_LABELS, PRESETS, SEED  # noqa: E402 (pure Python)
from mnist_cnn.speed import TrainingSpeed  # noqa: E402 (TensorFlow only when it measures)

REFERENCE = "seed"
DEFAULT_SEEDS = 3
DEFAULT_EPOCHS = 5
PERCENT = 100
SHORT_SECONDS = 10
DASH = "\u2013"  # the README tables' en dash: a range, or no figure


def run_worker(name: str, epochs: int, seed: int, images: int | None) -> dict:
    """Train one preset once in this process and measure it (called in a fresh subprocess)."""
    from mnist_cnn.data import load_mnist
    from mnist_cnn.evaluation import evaluate
    from mnist_cnn.training import TrainConfig, train

    (x_train, y_train), (x_test, y_test) = load_mnist()
    if images is not None:
        x_train, y_train = x_train[:images], y_train[:images]
    config = TrainConfig.tuned(epochs=epochs, seed=seed)
    started = time.perf_counter()
    result = train(x_train, y_train, config, spec=PRESETS[name])
    seconds = time.perf_counter() - started
    return {
        "preset": name,
        "epochs": epochs,
        "seed": seed,
        "training_images": len(x_train),
        "validation_split": config.validation_split,
        "keras_parameters": int(result.model.count_params()),
        "epoch_seconds": [epoch.seconds for epoch in result.history],
        "seconds": seconds,
        "test_accuracy": evaluate(result.model, x_test, y_test).accuracy,
        "device": device_name(),
    }


def speed_worker() -> dict:
    """The Train page's measurement of this machine's speed at the tuned recipe's batch size
    (called in a fresh subprocess)."""
    from dataclasses import asdict

    from mnist_cnn.speed import training_speed
    from mnist_cnn.training import TUNED_BATCH_SIZE

    return asdict(training_speed(TUNED_BATCH_SIZE))


def measure_speed() -> TrainingSpeed:
    command = [sys.executable, __file__, "speed"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"measuring the speed failed:\n{done.stderr[-3000:]}")
    return TrainingSpeed(**json.loads(done.stdout.strip().splitlines()[-1]))


def device_name() -> str:
    """The GPU TensorFlow trained on, else the CPU and its cores."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU: {os.cpu_count()} cores"


def steady_epoch_seconds(run: dict) -> float | None:
    """The median of a run's epochs after the first (None for a 1-epoch run)."""
    later = run["epoch_seconds"][1:]
    return statistics.median(later) if later else None


def epoch_seconds(run: dict) -> float:
    """What the time ratio compares: the later epochs' median, else the first epoch."""
    steady = steady_epoch_seconds(run)
    return run["epoch_seconds"][0] if steady is None else steady


def measure(name: str, epochs: int, seed: int, images: int | None, log: Path | None) -> dict:
    command = [sys.executable, __file__, "worker", name, str(epochs), str(seed)]
    if images is not None:
        command.append(str(images))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} (seed {seed}) failed:\n{done.stderr[-3000:]}")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    steady = steady_epoch_seconds(run)
    print(
        f"  {name:8s} seed {seed}: first epoch {run['epoch_seconds'][0]:6.1f} s"
        + (f", later epochs {steady:6.1f} s" if steady is not None else "")
        + f", {run['seconds']:6.1f} s in all, test accuracy {run['test_accuracy']:.4f}",
        flush=True,
    )
    if log is not None:
        with log.open("a") as file:
            file.write(json.dumps(run) + "\n")
    return run


def run_rounds(
    names: list[str], seeds: int, epochs: int, images: int | None, log: Path | None
) -> dict[str, list[dict]]:
    """Every preset once per seed; the order reversed on odd rounds."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for number in range(seeds):
        order = names if number % 2 == 0 else list(reversed(names))
        print(f"round {number + 1} (seed {number + 1}): {' '.join(order)}", flush=True)
        for name in order:
            runs[name].append(measure(name, epochs, number + 1, images, log))
    return runs


def summarise(name: str, runs: list[dict], reference: list[dict], speed: TrainingSpeed) -> dict:
    """One preset's figures, its time against the seed CNN's run of the same round, and the
    Train page's estimate of its epoch."""
    spec = PRESETS[name]
    trained_on = round(runs[0]["training_images"] * (1 - runs[0]["validation_split"]))
    accuracies = [run["test_accuracy"] for run in runs]
    steady = [steady_epoch_seconds(run) for run in runs]
    ratios = [
        epoch_seconds(run) / epoch_seconds(seed_run)
        for run, seed_run in zip(runs, reference, strict=True)
    ]
    seed_accuracy = statistics.median(run["test_accuracy"] for run in reference)
    return {
        "label": PRESET_LABELS[name],
        "parameters": spec.parameters,
        "keras_parameters": runs[0]["keras_parameters"],
        "flops_per_sample": spec.flops_per_sample,
        "flops_vs_seed": spec.flops_per_sample / SEED.flops_per_sample,
        "first_epoch_seconds": statistics.median(run["epoch_seconds"][0] for run in runs),
        "later_epoch_seconds": None if None in steady else statistics.median(steady),
        "epoch_time_vs_seed": statistics.median(ratios),
        "epoch_time_vs_seed_per_round": ratios,
        "estimated_epoch_seconds": speed.seconds_per_epoch(spec, trained_on),
        "training_seconds": statistics.median(run["seconds"] for run in runs),
        "test_accuracy": statistics.median(accuracies),
        "test_accuracy_min": min(accuracies),
        "test_accuracy_max": max(accuracies),
        "test_accuracy_vs_seed_points": (statistics.median(accuracies) - seed_accuracy) * PERCENT,
    }


def markdown_table(summaries: dict[str, dict], seeds: int) -> str:
    seconds = "s" if seeds == 1 else f"s, median of {seeds}"
    accuracy = "" if seeds == 1 else f", median of {seeds} seeds (min{DASH}max)"
    lines = [
        f"| Network | Parameters | FLOPs per digit (vs seed) | First epoch ({seconds}) | "
        f"Later epochs, per epoch ({seconds}) | Train page's estimate (s) | "
        f"Time per epoch vs seed | Test accuracy{accuracy} | vs seed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, figures in summaries.items():
        later = figures["later_epoch_seconds"]
        spread = (
            ""
            if seeds == 1
            else f" ({figures['test_accuracy_min']:.2%}{DASH}{figures['test_accuracy_max']:.2%})"
        )
        difference = (
            DASH if name == REFERENCE else f"{figures['test_accuracy_vs_seed_points']:+.2f} points"
        )
        lines.append(
            f"| {figures['label']} (`{name}`) | {figures['parameters']:,} | "
            f"{figures['flops_per_sample'] / 1e6:.2f} M ({figures['flops_vs_seed']:.2f}x) | "
            f"{seconds_text(figures['first_epoch_seconds'])} | "
            f"{DASH if later is None else seconds_text(later)} | "
            f"{seconds_text(figures['estimated_epoch_seconds'])} | "
            f"{figures['epoch_time_vs_seed']:.2f}x | {figures['test_accuracy']:.2%}{spread} | "
            f"{difference} |"
        )
    return "\n".join(lines)


def seconds_text(seconds: float) -> str:
    """Two decimals under 10 s (short runs, fast machines), else one."""
    return f"{seconds:.2f}" if seconds < SHORT_SECONDS else f"{seconds:.1f}"


def chosen_presets(names: list[str] | None) -> list[str]:
    """The presets asked for, in ``PRESETS``' order, with the seed CNN as the reference."""
    wanted = set(names or PRESETS) | {REFERENCE}
    return [name for name in PRESETS if name in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part")
    worker = parts.add_parser("worker", help="one run, in a fresh process (used internally)")
    worker.add_argument("preset", choices=PRESETS)
    worker.add_argument("epochs", type=int)
    worker.add_argument("seed", type=int)
    worker.add_argument("images", type=int, nargs="?")
    parts.add_parser("speed", help="measure the speed as the Train page does (internal)")
    parser.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        metavar="N",
        help=f"runs per preset, with seeds 1 to N (default {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default {DEFAULT_EPOCHS}"
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        choices=PRESETS,
        metavar="NAME",
        help=f"some of {', '.join(PRESETS)} (default: all; seed always runs, the reference)",
    )
    parser.add_argument(
        "--images", type=int, metavar="N", help="train on the first N training images (quick)"
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write the summary and every run here"
    )
    parser.add_argument(
        "--log", type=Path, metavar="FILE", help="append each run to this JSONL file"
    )
    args = parser.parse_args()
    if args.part == "worker":
        print(json.dumps(run_worker(args.preset, args.epochs, args.seed, args.images)))
        return
    if args.part == "speed":
        print(json.dumps(speed_worker()))
        return
    if args.seeds < 1 or args.epochs < 1 or (args.images is not None and args.images < 1):
        parser.error("--seeds, --epochs and --images must be at least 1")
    names = chosen_presets(args.presets)
    load_before = os.getloadavg()
    speed = measure_speed()
    print(f"this machine's speed, as the Train page measures it: {speed}", flush=True)
    runs = run_rounds(names, args.seeds, args.epochs, args.images, args.log)
    load_after = os.getloadavg()
    summaries = {name: summarise(name, runs[name], runs[REFERENCE], speed) for name in names}
    first = runs[REFERENCE][0]
    print(
        f"\nTuned recipe, {args.epochs} epoch(s), {first['training_images']:,} training images "
        f"({first['validation_split']:.0%} of them held out for validation), seeds "
        f"1..{args.seeds}, alternating order; {first['device']}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after\n"
    )
    print(markdown_table(summaries, args.seeds))
    if args.epochs == 1:
        print("\n(1 epoch: no later epochs, so the time ratio compares first epochs, tracing in.)")
    if args.json is not None:
        report = {
            "settings": {
                "recipe": "tuned",
                "epochs": args.epochs,
                "seeds": list(range(1, args.seeds + 1)),
                "training_images": first["training_images"],
                "validation_split": first["validation_split"],
                "presets": names,
            },
            "device": first["device"],
            "load_average": {"before": load_before, "after": load_after},
            "speed": vars(speed),
            "presets": summaries,
            "runs": [run for name in names for run in runs[name]],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
