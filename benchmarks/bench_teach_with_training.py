"""Memory of a training run alone, and with a teaching run going at the same time.

The server runs at most one training run and one teaching run ("Teach the model my
handwriting") at once, each from its own registry, as the Train and Your drawings pages start
them. This measures what the second costs: a 1-epoch training run of the seed recipe on
``MNIST_NPZ``, alone or with a fine-tune of the bundled model on 300 simulated drawings started
a few seconds in. Each round runs both cases, each in a fresh process, in alternating order:

    python benchmarks/bench_teach_with_training.py [--rounds 2]

Prints each case's peak resident memory above its start (the model and the drawings loaded)
and the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

CASES = ("alone", "with teaching")
DRAWINGS_PER_DIGIT = 30  # 300 drawings: the largest teaching run
TEACH_AFTER_S = 5.0  # into the training run: past its start-up, into its batches
SAMPLE_EVERY_S = 0.05


def measure(case: str) -> dict:
    """Run one case in this process; the peak RSS above the start, in MB."""
    import numpy as np
    import psutil
    from peak_memory import PeakMemory

    from mnist_cnn.drawing import canvas_to_mnist
    from mnist_cnn.fine_tune_jobs import FineTuneRegistry
    from mnist_cnn.jobs import TrainingRegistry
    from mnist_cnn.store import bundled_record, load_record
    from mnist_cnn.training import TrainConfig
    from sketchbook.sketches import quirky_writer_set

    process = psutil.Process()
    parent = bundled_record()
    model = load_record(parent)
    canvases, labels = quirky_writer_set(n_per_digit=DRAWINGS_PER_DIGIT, seed=3)
    images = np.stack([canvas_to_mnist(canvas) for canvas in canvases])
    models = tempfile.mkdtemp(prefix="bench-teach-")
    start = process.memory_info().rss
    with PeakMemory(lambda: process.memory_info().rss, SAMPLE_EVERY_S) as peak:
        training = TrainingRegistry(models_directory=models).start(TrainConfig(epochs=1))
        if case == "with teaching":
            time.sleep(TEACH_AFTER_S)
            teaching = FineTuneRegistry(models_directory=models).start(
                model, parent, images, labels
            )
            teaching.join()
            assert teaching.snapshot().status == "finished", teaching.snapshot().message
        training.join()
        assert training.snapshot().status == "finished", training.snapshot().message
    return {"case": case, "above_start_mb": (peak.peak - start) / 2**20}


def run_case(case: str) -> float:
    """One case in a fresh process, so neither inherits the other's memory."""
    output = subprocess.run(
        [sys.executable, __file__, "--case", case],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["above_start_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # one run, internal
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.case)))
        return
    results: dict[str, list[float]] = {case: [] for case in CASES}
    for round_number in range(args.rounds):
        order = CASES if round_number % 2 == 0 else CASES[::-1]
        for case in order:
            results[case].append(run_case(case))
            print(f"round {round_number + 1}, {case}: +{results[case][-1]:.0f} MB", flush=True)
    alone, both = (statistics.median(results[case]) for case in CASES)
    print(f"Peak above the start, median of {args.rounds} rounds:")
    print(f"  1-epoch training run alone           +{alone:.0f} MB")
    print(f"  the same with a teaching run beside  +{both:.0f} MB  ({both / alone:.2f}x)")


if __name__ == "__main__":
    main()
