"""Each heavy job's peak memory above a ready server's, the figures the memory budget uses.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_job_memory.py \
        [--rounds 2] [--jobs training teaching ...]

Each job runs alone in a fresh process that first gets to where a server is when a visitor
asks for it: Streamlit and TensorFlow imported, the bundled model loaded and a first
prediction made, and MNIST read (``data.shared_mnist``: the server reads it for the first
visitor's neighbours, and every job shares that copy). The process's anonymous memory
(``RssAnon``: what the kernel cannot drop and read back, unlike library pages) is sampled
every 20 ms while the job runs; the peak above the start is the job's need. Rounds run the
jobs in alternating order and the table shows the largest of them, as a budget must.
``mnist_cnn/memory_budget.py`` holds the figures.

The jobs: a 1-epoch training run of the seed recipe (loading MNIST, training, calibrating,
scoring, saving); teaching the bundled model 300 drawings; scoring a model on the test set (the
Evaluate page); the neighbour index of 60,000 training digits; the t-SNE map of 10,000 test
digits; loading a saved model; making the "not a digit" check's familiarity references (kept
for the life of the process: ``left`` is what stays after the job); the Train page's measure of
this server's training speed (``speed.training_speed``) at the largest batch it offers. The
network lab's jobs: 1-epoch runs of the Wide and Deep presets and of the seed CNN, all with the
tuned recipe (batch 64), and the neighbour index of a Tiny model (400 features, the seed's 64),
each beside what the budget reserves for it, worked out from the network's size
(``memory_budget.training_need``, ``neighbour_index_need``, ``speed_probe_need``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

JOBS = (
    "training",
    "teaching",
    "evaluation",
    "index",
    "tsne map",
    "model load",
    "familiarity references",
    "speed probe",
)
# The network lab's jobs: a tuned 1-epoch run of each preset named, a Tiny model's index.
LAB_TRAINING = {"training seed tuned": "seed", "training wide": "wide", "training deep": "deep"}
LAB_JOBS = (*LAB_TRAINING, "index tiny")
SAMPLE_EVERY_S = 0.02
DRAWINGS_PER_DIGIT = 30  # 300 drawings: the largest teaching run the app allows
KB_PER_MB = 1024


def anonymous_mb() -> float:
    """This process's anonymous resident memory (``RssAnon`` in /proc/self/status), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / KB_PER_MB
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


def prepare(job: str):
    """Everything the job needs that a server already has, and the job itself as a callable."""
    import numpy as np

    from mnist_cnn import data, inference
    from mnist_cnn.store import bundled_record, load_record

    record = bundled_record()
    model = load_record(record)
    inference.predict(model, np.zeros((1, 28, 28), np.uint8))
    (x_train, y_train), (x_test, y_test) = data.shared_mnist()
    models = tempfile.mkdtemp(prefix="bench-job-memory-")
    if job == "training":
        from mnist_cnn.jobs import train_evaluate_save
        from mnist_cnn.training import TrainConfig

        return lambda: train_evaluate_save(TrainConfig(epochs=1), models_directory=models)
    if job in LAB_TRAINING:
        from mnist_cnn.architecture import preset
        from mnist_cnn.jobs import train_evaluate_save
        from mnist_cnn.training import TrainConfig

        spec = preset(LAB_TRAINING[job])
        return lambda: train_evaluate_save(
            TrainConfig.tuned(epochs=1), models_directory=models, spec=spec
        )
    if job == "index tiny":
        from mnist_cnn.architecture import preset
        from mnist_cnn.model import build_model
        from mnist_cnn.neighbours import build_index

        tiny = build_model(spec=preset("tiny"))
        inference.predict(tiny, np.zeros((1, 28, 28), np.uint8))
        return lambda: build_index(tiny, x_train, y_train)
    if job == "teaching":
        from mnist_cnn.drawing import canvas_to_mnist
        from mnist_cnn.fine_tune_jobs import FineTuneRegistry
        from sketchbook.sketches import quirky_writer_set

        canvases, labels = quirky_writer_set(n_per_digit=DRAWINGS_PER_DIGIT, seed=3)
        images = np.stack([canvas_to_mnist(canvas) for canvas in canvases])

        def teach() -> None:
            run = FineTuneRegistry(models_directory=models).start(model, record, images, labels)
            run.join()
            assert run.snapshot().status == "finished", run.snapshot().message

        return teach
    if job == "evaluation":
        from mnist_cnn.evaluation import evaluate

        return lambda: evaluate(model, x_test, y_test)
    if job == "index":
        from mnist_cnn.neighbours import build_index

        return lambda: build_index(model, x_train, y_train)
    if job == "tsne map":
        from mnist_cnn.digit_map import build_map

        cache = Path(models) / "tsne.npz"
        return lambda: build_map(model, x_test, y_test, "tsne", cache)
    if job == "model load":
        return lambda: inference.predict(load_record(record), np.zeros((1, 28, 28), np.uint8))
    if job == "familiarity references":
        from mnist_cnn import familiarity

        return familiarity.references
    if job == "speed probe":
        from mnist_cnn.speed import training_speed
        from mnist_cnn.training import BATCH_SIZES

        return lambda: training_speed(max(BATCH_SIZES))
    raise ValueError(f"unknown job {job!r}")


def measure(job: str) -> dict:
    """Run ``job`` in this process; its peak anonymous memory above the start, in MB."""
    import streamlit  # noqa: F401  (the server has it loaded)
    from peak_memory import PeakMemory

    run = prepare(job)
    start = anonymous_mb()
    with PeakMemory(anonymous_mb, SAMPLE_EVERY_S) as peak:
        kept = run()  # noqa: F841  (what a job returns stays alive, as the server keeps it)
    return {
        "job": job,
        "start_mb": start,
        "peak_above_mb": peak.peak - start,
        "left_above_mb": anonymous_mb() - start,
    }


def budgeted_mb(job: str) -> float | None:
    """What the memory budget reserves for a network lab job or the speed probe, else None
    (the fixed figures)."""
    from mnist_cnn import memory_budget
    from mnist_cnn.architecture import preset
    from mnist_cnn.training import BATCH_SIZES, TUNED_BATCH_SIZE

    if job in LAB_TRAINING:
        return memory_budget.training_need(preset(LAB_TRAINING[job]), TUNED_BATCH_SIZE).mb
    if job == "index tiny":
        return memory_budget.neighbour_index_need(400).mb
    if job == "speed probe":
        return memory_budget.speed_probe_need(max(BATCH_SIZES)).mb
    return None


def run_job(job: str) -> dict:
    """One job in a fresh process, so that none inherits another's memory."""
    output = subprocess.run(
        [sys.executable, __file__, "--job", job],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--jobs",
        nargs="+",
        choices=JOBS + LAB_JOBS,
        default=list(JOBS),
        help="default: not the network lab's (" + ", ".join(LAB_JOBS) + ")",
    )
    parser.add_argument("--job", choices=JOBS + LAB_JOBS, help=argparse.SUPPRESS)  # in-process
    args = parser.parse_args()
    if args.job:
        print(json.dumps(measure(args.job)))
        return
    peaks: dict[str, list[float]] = {job: [] for job in args.jobs}
    lefts: dict[str, list[float]] = {job: [] for job in args.jobs}
    starts: list[float] = []
    for round_number in range(args.rounds):
        order = args.jobs if round_number % 2 == 0 else args.jobs[::-1]
        for job in order:
            result = run_job(job)
            peaks[job].append(result["peak_above_mb"])
            lefts[job].append(result["left_above_mb"])
            starts.append(result["start_mb"])
            print(
                f"  round {round_number + 1}: {job:10s} +{result['peak_above_mb']:6.0f} MB "
                f"(left +{result['left_above_mb']:.0f} MB)"
            )
    print(
        "\nA ready process (Streamlit, TensorFlow, the bundled model, MNIST): "
        f"{max(starts):.0f} MB of anonymous memory at most.\n"
    )
    print(
        "| job | peak above a ready process (largest of rounds) | left after it (largest) "
        "| the budget reserves |"
    )
    print("| --- | --- | --- | --- |")
    for job, values in peaks.items():
        rounds = " / ".join(f"{value:.0f}" for value in values)
        budget = budgeted_mb(job)
        reserved = "fixed" if budget is None else f"{budget:.0f} MB (from its size)"
        left = f"{max(lefts[job]):.0f} MB"
        print(f"| {job} | **{max(values):.0f} MB** ({rounds}) | {left} | {reserved} |")


if __name__ == "__main__":
    main()
