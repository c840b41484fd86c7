"""Where a server's memory goes: the app's steps in one plain Python process, step by step.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/bench_memory_steps.py \
        [--epochs 1] [--validation-batch 128] [--scoring-batch 128]

Prints the resident memory (RSS) after each step: Streamlit and the charting libraries,
TensorFlow, the bundled model and a first prediction, the MNIST arrays, scoring the test set, a
training run of the seed recipe (with its peak, sampled every 20 ms), then what ``gc`` and
``malloc_trim`` give back. It also splits RSS into file-backed library pages ("clean": the
kernel can drop and reread them) and anonymous memory (the process's own). The two batch sizes
default to the app's (``training.VALIDATION_BATCH_SIZE``, ``inference.BATCH_SIZE``); passing
others shows what each costs. ``bench_browser.py`` measures the real server.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peak_memory import PeakMemory

MB = 1024  # smaps_rollup counts kB
PEAK_SAMPLE_S = 0.02


def memory() -> dict[str, int]:
    """RSS, its clean file-backed part and its anonymous part, in MB."""
    fields = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Private_Clean", "Shared_Clean", "Anonymous"):
                fields[name] = int(rest.split()[0]) // MB
    return {
        "rss": fields["Rss"],
        "clean": fields["Private_Clean"] + fields["Shared_Clean"],
        "anonymous": fields["Anonymous"],
    }


def show(step: str, before: dict[str, int] | None = None) -> dict[str, int]:
    now = memory()
    change = f"  ({now['rss'] - before['rss']:+5d} MB)" if before else ""
    print(
        f"  {step:44s} RSS {now['rss']:5d} MB{change:14s}"
        f" clean {now['clean']:4d}  anonymous {now['anonymous']:4d}",
        flush=True,
    )
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--validation-batch", type=int, help="default: the app's")
    parser.add_argument("--scoring-batch", type=int, help="default: the app's")
    args = parser.parse_args()

    print("Memory after each step (one process, like the app's server):")
    step = show("Python")
    import pandas  # noqa: F401
    import plotly  # noqa: F401
    import streamlit  # noqa: F401

    step = show("Streamlit, pandas, Plotly", step)
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    step = show("TensorFlow and Keras", step)
    import numpy as np

    from mnist_cnn import inference, training
    from mnist_cnn.data import load_mnist
    from mnist_cnn.store import load_model

    if args.validation_batch:
        training.VALIDATION_BATCH_SIZE = args.validation_batch
    if args.scoring_batch:
        inference.BATCH_SIZE = args.scoring_batch
    print(
        f"  (validation batch {training.VALIDATION_BATCH_SIZE}, "
        f"scoring batch {inference.BATCH_SIZE})"
    )
    model = load_model()
    inference.predict(model, np.zeros((1, 28, 28), np.float32))
    step = show("bundled model and a first prediction", step)
    (x_train, y_train), (x_test, _) = load_mnist()
    step = show("MNIST arrays (train and test, uint8)", step)
    inference.predict(model, x_test)
    step = show("the test set scored", step)
    with PeakMemory(lambda: memory()["rss"], PEAK_SAMPLE_S) as sampler:
        result = training.train(x_train, y_train, training.TrainConfig(epochs=args.epochs, seed=1))
    step = show(f"a {args.epochs}-epoch run (peak {sampler.peak:.0f} MB)", step)
    del result
    gc.collect()
    step = show("its result dropped, gc.collect()", step)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    show("malloc_trim(0)", step)


if __name__ == "__main__":
    main()
