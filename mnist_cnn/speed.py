"""How long an epoch of a network takes on this server, said before the network is trained.

The Train page shows the estimate live while a visitor edits a network, so it must cost
nothing per spec: a spec's cost is its forward FLOPs (``ModelSpec.flops_per_sample``), and
this server's speed is measured once per batch size, by training two networks for a few
dozen batches of noise: one with no hidden layers at all, whose time is the input pipeline's
and the train step's overhead, and the seed CNN. A network's time per image is then the
overhead plus its FLOPs beyond the bare network's at the rate the seed CNN's cost. FLOPs miss
what batch normalisation and dropout cost, so the estimate is a little low for networks that
use them; benchmarks/bench_presets.py prints it beside each preset's measured epoch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from mnist_cnn.architecture import SEED, ModelSpec
from mnist_cnn.shapes import IMAGE_SHAPE, NUM_CLASSES

# Two compiled calls of 16 batches per timed epoch: enough to average out one slow call.
PROBE_BATCHES = 32
# The first epoch traces the train step; the second is timed.
PROBE_EPOCHS = 2
BARE = ModelSpec(conv_blocks=(), dense_layers=())  # the pixels straight into the softmax

_measured: dict[int, TrainingSpeed] = {}
_measure_lock = threading.Lock()


@dataclass(frozen=True)
class TrainingSpeed:
    """This server's training speed at one batch size, as two measured figures."""

    batch_size: int
    overhead_seconds_per_image: float  # what the bare network's images cost
    seconds_per_flop: float  # per forward FLOP beyond the bare network's, training included

    def seconds_per_epoch(self, spec: ModelSpec, images: int) -> float:
        """About how long one epoch of ``images`` training images takes ``spec``'s network."""
        extra_flops = max(spec.flops_per_sample - BARE.flops_per_sample, 0)
        return images * (self.overhead_seconds_per_image + self.seconds_per_flop * extra_flops)


def measured_speed(batch_size: int) -> TrainingSpeed | None:
    """The speed measured at ``batch_size`` in this process so far, else None (never waits)."""
    return _measured.get(batch_size)


def training_speed(batch_size: int) -> TrainingSpeed:
    """This server's speed at ``batch_size``: measured on first use (a few seconds), then kept
    for the life of the process. Two callers at once measure once."""
    with _measure_lock:
        if batch_size not in _measured:
            bare = _seconds_per_image(BARE, batch_size)
            seed = _seconds_per_image(SEED, batch_size)
            per_flop = max(seed - bare, 0.0) / (SEED.flops_per_sample - BARE.flops_per_sample)
            _measured[batch_size] = TrainingSpeed(batch_size, bare, per_flop)
        return _measured[batch_size]


def _seconds_per_image(spec: ModelSpec, batch_size: int) -> float:
    """Seconds per image of a timed epoch of noise, trained the way ``training.train`` trains."""
    from mnist_cnn.training import TrainConfig, train

    rng = np.random.default_rng(0)
    count = PROBE_BATCHES * batch_size
    images = rng.integers(0, 256, (count, *IMAGE_SHAPE), dtype=np.uint8)
    labels = rng.integers(0, NUM_CLASSES, count).astype(np.int64)
    config = TrainConfig(epochs=PROBE_EPOCHS, batch_size=batch_size, validation_split=0.0)
    result = train(images, labels, config, spec=spec)
    return result.history[-1].seconds / count
