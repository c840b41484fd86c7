"""Hand the memory TensorFlow has finished with back to the operating system.

TensorFlow built with oneDNN (the default on x86) takes large buffers from a pool of its own,
a BFC allocator that keeps every byte it has ever held: a 42 MB tensor made once and freed
stayed in the process for good, and a training run left about 100 MB behind (the training
set's copy, the batches' buffers). ``mnist_cnn`` therefore sets
``TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1`` (unless the environment says otherwise; TensorFlow reads it
on its first allocation), so those buffers come from ``malloc`` instead. glibc's ``malloc``
in turn keeps what is freed in its arenas until asked to trim them, and
``give_back_freed_memory`` asks, after the heavy steps: a training run, a prediction of many
batches (scoring a test set). ``malloc_trim`` is a glibc extension, reached through ``compat``.

Measured with ``benchmarks/bench_memory_steps.py`` (a 1-epoch run, then its result dropped):
959 MB with TensorFlow's pool, 878 MB this way. Training and scoring ran at the same speed in
alternating runs. Elsewhere than glibc (macOS, musl), trimming does nothing.
"""

from __future__ import annotations

from mnist_cnn import compat

# Keep no free memory at the top of the heap: trim all of it.
KEEP_AT_TOP = 0


def give_back_freed_memory() -> None:
    """Return the free memory in ``malloc``'s arenas to the operating system (glibc only)."""
    compat.malloc_trim(KEEP_AT_TOP)
