"""The server's memory budget: a heavy job starts only when it fits, else waits its turn.

On Community Cloud's smallest box (about 690 MB) a training run and a teaching run at once
were killed by the kernel for lack of memory, and with them every visitor's session. So each
heavy job first reserves what it needs from one budget per server, and gives it back when it
ends:

- **Measured needs.** A job's need is the peak of its anonymous memory above a ready server's,
  measured by ``benchmarks/bench_job_memory.py`` (the ``*_MB`` figures below, rounded up).
- **What is there to give.** The budget is ``settings.memory_budget_mb()``
  (``MNIST_CNN_MEMORY_MB``, else the memory cgroup's limit, else none: then every job starts
  at once, as before). The server itself always holds ``SERVER_MB`` of it; and when the
  process already holds more than that plus the reservations (visitors' caches), the live
  reading counts instead. A live reading alone cannot admit a job: a job's memory grows through
  its run, so two jobs admitted early in their runs would both peak later, together.
- **Background jobs queue.** ``reserve`` waits, in the order jobs asked, until the job fits;
  meanwhile it reports what it waits behind and about how long (``Wait``), which the job's
  page shows ("Your teaching starts when the training run ends, about 40 s"). A Stop ends the
  wait. A job that could not fit even on an idle server is refused at once (``check``).
- **Quick jobs wait a little.** A step inside a page's rerun (an index to build, a model to
  score) ``hold``s its need for the length of the step; it does not queue behind background
  jobs, and past ``HOLD_WAIT_S`` it gives up with ``MemoryBusyError``, whose message says so.

Loading a model (3 MB, measured) and the PCA map (its features of 10,000 digits are 2.6 MB; not
measured as a job) are too small to reserve.
``benchmarks/bench_cloud_box.py`` runs the real server in a cgroup of 690 MB and 1 GB to check
the figures: no OOM kill with a training, a teaching and two drawing visitors at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING

from mnist_cnn import memory_limit, settings

if TYPE_CHECKING:
    from mnist_cnn.architecture import ModelSpec

# --- Measured figures (MB): `python benchmarks/bench_job_memory.py` ---------------------------
# What a server holds before any heavy job: Streamlit, TensorFlow, the bundled model and MNIST
# (391 MB anonymous, measured), a margin for the visitors' sessions and caches, and the library
# pages it keeps running (LIBRARY_PAGES_MB), which count against a cgroup's limit too.
SERVER_MB = 500.0
TRAINING_MB = 170.0  # a 1-epoch training run, measured 166: MNIST in TensorFlow, model, scoring
TEACHING_MB = 130.0  # teaching 300 drawings, measured 125: replayed digits, a model copy, scoring
TSNE_MB = 120.0  # the t-SNE map of 10,000 test digits, measured 116
INDEX_MB = 80.0  # the neighbour index of 60,000 training digits' features, measured 67-78
EVALUATION_MB = 55.0  # scoring a model on the 10,000 test digits, measured 50
# The library pages a running server keeps resident (part of SERVER_MB), added to live readings
# of its anonymous memory.
LIBRARY_PAGES_MB = 100.0
# How long a quick step waits for memory before it gives up (its page's rerun waits with it).
HOLD_WAIT_S = 30.0
# How often a waiting job re-reads its estimate and checks its Stop.
WAIT_REPORT_S = 1.0


@dataclass(frozen=True)
class Need:
    """A kind of job's memory, with the words its messages use for it."""

    what: str  # "the training run": how messages name such a job
    mb: float


TRAINING = Need("the training run", TRAINING_MB)
TEACHING = Need("the teaching run", TEACHING_MB)
TSNE_MAP = Need("the t-SNE map", TSNE_MB)
NEIGHBOUR_INDEX = Need("the neighbour index", INDEX_MB)
EVALUATION = Need("scoring a model", EVALUATION_MB)


# Larger networks need more than the seed CNN's measured figures: per image of a batch, each
# layer's output is kept for the backward pass and has a gradient (and a copy in flight); per
# weight, its gradient and Adam's two moments sit beside it. The neighbour index holds 60,000
# rows of the model's features, 64 for the seed. Smaller networks keep the measured figures.
FLOAT32_MB = 4 / 1e6
ACTIVATION_COPIES = 3
WEIGHT_COPIES = 4
SEED_BATCH_SIZE = 32  # the batch of the measured 1-epoch run
SEED_FEATURES = 64
INDEXED_DIGITS = 60_000


def training_need(spec: ModelSpec, batch_size: int) -> Need:
    """A training run's need: the measured seed figure, plus what ``spec``'s larger layers
    and weights, at ``batch_size``, cost beyond the seed CNN's."""
    from mnist_cnn.architecture import SEED

    activations = (
        spec.activations_per_sample * batch_size - SEED.activations_per_sample * SEED_BATCH_SIZE
    )
    weights = spec.parameters - SEED.parameters
    extra = FLOAT32_MB * (ACTIVATION_COPIES * activations + WEIGHT_COPIES * weights)
    return Need(TRAINING.what, TRAINING_MB + max(extra, 0.0))


def speed_probe_need(batch_size: int) -> Need:
    """Measuring this server's training speed at ``batch_size`` (``speed.training_speed``)
    trains the seed CNN and a bare network for a few dozen batches: at most what a training run
    of the seed CNN needs at that batch (the probe measured 72 / 124 / 255 MB at batch 32 / 64 /
    256, against 170 / 185 / 272 MB reserved)."""
    from mnist_cnn.architecture import SEED

    return Need("measuring the training speed", training_need(SEED, batch_size).mb)


def neighbour_index_need(features: int) -> Need:
    """The neighbour index's need for a model whose last layer takes ``features`` numbers."""
    extra = FLOAT32_MB * INDEXED_DIGITS * max(features - SEED_FEATURES, 0)
    return Need(NEIGHBOUR_INDEX.what, INDEX_MB + extra)


@dataclass(frozen=True)
class Wait:
    """Why a job has not started yet: the jobs it waits for and about how long that takes."""

    behind: tuple[str, ...]  # what each holder is called ("the training run")
    seconds: float | None  # about how long until they end; None when no holder can tell

    @property
    def text(self) -> str:
        """'the training run ends, about 40 s' / 'the training run and the t-SNE map end'."""
        names = " and ".join(self.behind) if self.behind else "the jobs now running"
        verb = "ends" if len(self.behind) == 1 else "end"
        about = f", about {self.seconds:.0f} s" if self.seconds is not None else ""
        return f"{names} {verb}{about}"


class MemoryShortError(RuntimeError):
    """The server has not the memory for a job; the message says why, for people."""


class MemoryRefusedError(MemoryShortError):
    """The job needs more memory than this server has, even with nothing else running."""


class MemoryBusyError(MemoryShortError):
    """A quick step waited ``HOLD_WAIT_S`` without the memory coming free."""


@dataclass
class _Holder:
    need: Need
    seconds_left: Callable[[], float | None]


class MemoryBudget:
    """One server's budget: reservations, the queue of jobs waiting for one, and refusals.

    ``limit_mb`` None means no budget: every reservation is granted at once. ``live_mb``
    reads what the process holds now (anonymous memory plus the library pages it runs); tests
    pass fixed figures.
    """

    def __init__(
        self,
        limit_mb: float | None,
        server_mb: float = SERVER_MB,
        live_mb: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.limit_mb = limit_mb
        self._server_mb = server_mb
        self._live_mb = live_mb
        self._changed = threading.Condition()
        self._holders: dict[int, _Holder] = {}
        self._queue: list[int] = []  # tickets of the background jobs waiting, oldest first
        self._tickets = count()

    def check(self, need: Need) -> None:
        """Raise ``MemoryRefusedError`` when ``need`` could never fit on this server."""
        if self.limit_mb is not None and self._server_mb + need.mb > self.limit_mb:
            raise MemoryRefusedError(
                f"This server has {self.limit_mb:.0f} MB of memory, and {need.what} needs about "
                f"{need.mb:.0f} MB more than the app's own {self._server_mb:.0f} MB, so it "
                "cannot run here. Whoever runs the server can give it more memory (or set "
                f"{settings.MEMORY_MB_ENV})."
            )

    def used_mb(self) -> float:
        """What the server holds or has promised: itself, the reservations, or what it holds
        now when that is more."""
        with self._changed:
            return self._used_mb()

    def reserve(
        self,
        need: Need,
        seconds_left: Callable[[], float | None] = lambda: None,
        stop_event: threading.Event | None = None,
        on_wait: Callable[[Wait], None] = lambda wait: None,
    ) -> int | None:
        """Wait, in turn, until ``need`` fits; then hold it until ``release`` of the ticket.

        ``seconds_left`` tells waiting jobs about how long this one will hold its memory.
        While it waits, ``on_wait`` gets a ``Wait`` every ``WAIT_REPORT_S`` (and whenever the
        holders change). Returns None, holding nothing, when ``stop_event`` is set first.
        Raises ``MemoryRefusedError`` at once when the need could never fit.
        """
        self.check(need)
        with self._changed:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                while not self._fits(need) or self._queue[0] != ticket:
                    if stop_event is not None and stop_event.is_set():
                        return None
                    on_wait(self._wait())
                    self._changed.wait(WAIT_REPORT_S)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in the queue may fit now
            self._holders[ticket] = _Holder(need, seconds_left)
            return ticket

    def release(self, ticket: int) -> None:
        """Give a reservation back; the jobs waiting are woken to see whether they fit now."""
        with self._changed:
            self._holders.pop(ticket, None)
            self._changed.notify_all()

    @contextmanager
    def hold(self, need: Need, wait_s: float | None = None) -> Iterator[None]:
        """Hold ``need`` for a quick step, waiting at most ``wait_s`` (``HOLD_WAIT_S``) for it,
        not in turn.

        Raises ``MemoryRefusedError`` when it could never fit, ``MemoryBusyError`` when it did
        not fit in time.
        """
        self.check(need)
        with self._changed:
            wait_s = HOLD_WAIT_S if wait_s is None else wait_s
            if not self._changed.wait_for(lambda: self._fits(need), wait_s):
                wait = self._wait()
                raise MemoryBusyError(
                    f"This server is short of memory until {wait.text}; try again then."
                )
            ticket = next(self._tickets)
            self._holders[ticket] = _Holder(need, lambda: None)
        try:
            yield
        finally:
            self.release(ticket)

    def waiting(self) -> int:
        """How many background jobs are waiting for memory."""
        with self._changed:
            return len(self._queue)

    def _used_mb(self) -> float:  # under the lock
        reserved = sum(holder.need.mb for holder in self._holders.values())
        return max(self._server_mb + reserved, self._live_mb())

    def _fits(self, need: Need) -> bool:
        """With nothing else running, whatever passes ``check`` fits: the live reading then
        holds only the server's own memory (what the last job left, which malloc reuses)."""
        if self.limit_mb is None or not self._holders:
            return True
        return self._used_mb() + need.mb <= self.limit_mb

    def _wait(self) -> Wait:
        holders = list(self._holders.values())
        estimates = [holder.seconds_left() for holder in holders]
        known = [seconds for seconds in estimates if seconds is not None]
        return Wait(
            behind=tuple(holder.need.what for holder in holders),
            seconds=max(known) if known and len(known) == len(estimates) else None,
        )


def server_budget() -> MemoryBudget:
    """The budget for this process, from ``settings.memory_budget_mb()``, reading the
    process's own memory live."""
    return MemoryBudget(
        settings.memory_budget_mb(),
        live_mb=lambda: memory_limit.anonymous_mb() + LIBRARY_PAGES_MB,
    )
