"""A background sampler that catches the peak of a memory reading while a step runs.

Shared by the benchmarks: ``bench_browser.py`` reads a server's RSS, ``bench_memory_steps.py``
its own process's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeakMemory:
    """``with PeakMemory(read, every_s) as peak:`` samples ``read()`` until the block ends;
    ``peak.peak`` is then the highest reading (0 before the first)."""

    def __init__(self, read: Callable[[], float], every_s: float) -> None:
        self.peak = 0.0
        self._read = read
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._read())
            if self._stop.wait(self._every_s):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
