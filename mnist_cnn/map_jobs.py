"""Maps that take long to compute (t-SNE: ~25 s), computed in the background once per model.

A page asks for a model's map with `MapJobs.request` on every rerun and gets an immutable
`MapProgress` back at once, taken under the lock: waiting, running (since when, about how long
it takes), finished with the map, or failed with why. The first request starts the work in a
daemon thread; later ones, from any visitor, see the same run. One map is computed at a time,
since two would share the same cores and each take twice as long; the rest wait their turn.
Finished maps are kept for the last ``keep`` models asked for, so memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

Status = Literal["waiting", "running", "finished", "failed"]
T = TypeVar("T")


@dataclass(frozen=True)
class MapProgress(Generic[T]):
    """Where one model's map stands."""

    status: Status
    requested_at: float  # time.time()
    started_at: float | None = None  # when its computation began (after any wait)
    result: T | None = None
    message: str = ""  # why it failed, in words for people

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed")


class MapJobs(Generic[T]):
    """Background computations keyed by model identity, one at a time, each run once."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()
        self._progress: OrderedDict[str, MapProgress[T]] = OrderedDict()

    def request(self, key: str, compute: Callable[[], T]) -> MapProgress[T]:
        """``key``'s progress, starting ``compute`` in the background on the first request (or
        the first after a failure)."""
        with self._lock:
            progress = self._progress.get(key)
            if progress is not None and progress.status != "failed":
                self._progress.move_to_end(key)
                return progress
            progress = MapProgress(status="waiting", requested_at=time.time())
            self._progress[key] = progress
            self._forget_oldest()
        threading.Thread(
            target=self._run, args=(key, compute), name=f"map-{key}", daemon=True
        ).start()
        return progress

    def progress(self, key: str) -> MapProgress[T] | None:
        """``key``'s progress without starting anything: None when it was never asked for (or
        has been forgotten)."""
        with self._lock:
            return self._progress.get(key)

    def _run(self, key: str, compute: Callable[[], T]) -> None:
        with self._one_at_a_time:
            self._report(key, status="running", started_at=time.time())
            try:
                result = compute()
            except Exception as error:  # shown on the page; the server carries on
                self._report(key, status="failed", message=f"{type(error).__name__}: {error}")
            else:
                self._report(key, status="finished", result=result)

    def _report(self, key: str, **changes) -> None:
        with self._lock:
            if key in self._progress:
                self._progress[key] = replace(self._progress[key], **changes)

    def _forget_oldest(self) -> None:
        """Drop the least recently asked-for finished maps beyond ``keep`` (never a live run)."""
        finished = [k for k, p in self._progress.items() if p.done]
        for key in finished[: max(0, len(self._progress) - self._keep)]:
            del self._progress[key]
