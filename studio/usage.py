"""Which model each live session uses, so that pruning old models never takes one away.

Streamlit tells an app nothing when a visitor leaves, so a session counts as live while it has
run within ``LIVE_FOR_S``; a session idle for longer whose model was pruned meanwhile falls
back to the server default with a notice (studio/session.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# An hour: longer than any training run public mode allows, so a visitor watching one keeps
# their model.
LIVE_FOR_S = 3600.0


class ModelUsage:
    """A thread-safe map of session id to (model id, last seen), shared by all sessions."""

    def __init__(
        self, live_for_s: float = LIVE_FOR_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._live_for_s = live_for_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, float]] = {}

    def record(self, session: str, model_key: str) -> None:
        """``session`` is using ``model_key`` now."""
        with self._lock:
            self._seen[session] = (model_key, self._clock())
            self._forget_idle()

    def in_use(self) -> set[str]:
        """The ids of the models that live sessions use."""
        with self._lock:
            self._forget_idle()
            return {key for key, _ in self._seen.values()}

    def _forget_idle(self) -> None:
        cutoff = self._clock() - self._live_for_s
        for session in [s for s, (_, seen) in self._seen.items() if seen < cutoff]:
            del self._seen[session]
