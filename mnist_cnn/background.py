"""Background runs: work in a daemon thread that pages watch through immutable snapshots.

Training a model (``jobs.py``) and teaching one someone's handwriting (``fine_tune_jobs.py``)
take longer than a page's rerun, so the web app runs them in a thread and pages poll
``snapshot()``. What the two have in common is here:

- **Snapshots.** A run's state is a frozen dataclass (a ``Snapshot``) that the thread replaces
  whole, under the job's lock: a page always gets a consistent copy that nothing changes later.
- **Stop.** ``stop()`` shows the run stopped at once and sets ``stop_event``, which the work
  checks between its steps. A Stop that arrives any time before the run is settled discards it.
- **Settle after save.** The run is settled just after its model is written, in one step under
  the lock that reads "stopped" or marks it "finished" (``settle``, ``save_and_settle``); a
  Stop after that is too late and changes nothing. Old models are pruned only once the run is
  kept, so a discarded run never costs anyone an older model.
- **Owner.** Each run records the session that started it, so that session alone adopts its
  model, and in public mode alone stops it.
- **One at a time.** A ``Registry`` holds one kind of run, refuses a second while one is active
  (``BusyError``), waits for a stopped run's thread to end before starting the next (two at
  once would double the memory), and remembers each owner's last run.
- **Memory.** Given the server's ``MemoryBudget``, a registry refuses a run that could never
  fit (``MemoryRefusedError``), and a run reserves its kind's ``need`` before its work begins:
  until it fits, it waits its turn, active (a Stop ends the wait), with ``waiting`` in its
  snapshot saying what it waits for. Its ``started_at`` is then when its work began.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, Literal, Self, TypeVar

from mnist_cnn.data import DataError
from mnist_cnn.memory_budget import MemoryBudget, MemoryRefusedError, Need, Wait
from mnist_cnn.store import ModelRecord, delete_model, prune_models, save_model

if TYPE_CHECKING:
    import keras

Status = Literal["running", "stopped", "finished", "failed"]
# How long starting a run waits for a stopped run's thread to end (it ends within seconds).
WIND_DOWN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Snapshot:
    """What every run's state says; each kind of run adds its progress and its result."""

    status: Status
    started_at: float  # time.time() when the run was created, then when its work began
    message: str = field(default="", kw_only=True)  # why it failed, in words for people
    waiting: Wait | None = field(default=None, kw_only=True)  # for memory, before it begins

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def seconds_left(self) -> float | None:
        """About how long the run has to go, from its progress; None before it has any."""
        fraction = self.fraction_done
        if not self.active or self.waiting is not None or not 0 < fraction < 1:
            return None
        elapsed = time.time() - self.started_at
        return elapsed * (1 - fraction) / fraction

    @property
    def fraction_done(self) -> float:
        return 1.0 if self.status == "finished" else 0.0


S = TypeVar("S", bound=Snapshot)


class Job(ABC, Generic[S]):
    """One run in a daemon thread, reporting into an immutable snapshot guarded by a lock."""

    need: Need  # its kind's memory, reserved from the server's budget before its work

    def __init__(self, state: S, owner: str | None, name: str, failure: str) -> None:
        """``state``: the snapshot while it starts; ``owner``: the session that started it
        (None: no session); ``name``: the thread's; ``failure``: how the message of an
        unexpected error begins ("Training failed")."""
        self.owner = owner
        self.stop_event = threading.Event()
        self._failure = failure
        self._lock = threading.Lock()
        self._state = state
        self._budget: MemoryBudget | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @abstractmethod
    def work(self) -> None:
        """The run itself, in the thread: it reports with ``report``, checks ``stop_event``
        and ends with ``settle`` once its result is saved. Returning unsettled means it
        stopped; an exception fails the run with its message."""

    def start(self, budget: MemoryBudget | None = None) -> Self:
        """Run in the background, first waiting for ``budget`` to have this run's ``need``."""
        self._budget = budget
        self._thread.start()
        return self

    def snapshot(self) -> S:
        with self._lock:
            return self._state

    def stop(self) -> bool:
        """Stop the run now: it shows as stopped at once, and nothing of it is kept.

        Returns False, changing nothing, when the run has already ended: once it is settled
        as finished (``settle``), its model is kept and a Stop is too late.

        The thread itself ends at the work's next check of ``stop_event`` or, when it is
        inside a step that cannot be interrupted (TensorFlow tracing a training step takes
        seconds), right after that step. A registry waits for it before starting another run.
        """
        with self._lock:
            if not self._state.active:
                return False
            self.stop_event.set()
            self._state = replace(self._state, status="stopped")
            return True

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def winding_down(self) -> bool:
        """Stopped (or ended), but its thread has not finished yet."""
        return self._thread.is_alive() and not self.snapshot().active

    def report(self, change: Callable[[S], S]) -> None:
        """Apply ``change`` to the state while the run is active: once stopped, what a page
        shows (a chart, a progress bar) stays as it was at the Stop."""
        with self._lock:
            if self._state.active:
                self._state = change(self._state)

    def settle(self, **outcome) -> bool:
        """Keep the saved run unless a Stop came first: one decision, under the lock.

        Marked finished here (with ``outcome``'s fields), the run can no longer be stopped
        (``stop`` sees it ended), so a page never says "stopped" about a model that stays on
        disk. False: it was stopped, and the caller discards what it saved.
        """
        with self._lock:
            if not self._state.active:
                return False
            self._state = replace(self._state, status="finished", **outcome)
            return True

    def _run(self) -> None:
        ticket = None
        try:
            if self._budget is not None:
                ticket = self._budget.reserve(
                    self.need, self._seconds_left, self.stop_event, self._waiting
                )
                if ticket is None:  # stopped while it waited
                    return
                self.report(lambda state: replace(state, waiting=None, started_at=time.time()))
            self.work()
        except (DataError, MemoryRefusedError) as error:  # their messages are for people
            self._end(status="failed", message=str(error))
        except Exception as error:  # a background thread must report, not vanish
            self._end(status="failed", message=f"{self._failure}: {type(error).__name__}: {error}")
        else:
            self._end(status="stopped")
        finally:
            if ticket is not None:
                self._budget.release(ticket)

    def _seconds_left(self) -> float | None:
        return self.snapshot().seconds_left

    def _waiting(self, wait: Wait) -> None:
        self.report(lambda state: replace(state, waiting=wait))

    def _end(self, **changes) -> None:
        """The run's end as the thread saw it, unless it already ended (a Stop, or settled)."""
        self.report(lambda state: replace(state, **changes))


def save_and_settle(
    model: keras.Model,
    metadata: dict,
    keep: Callable[[ModelRecord], bool],
    models_directory: str | os.PathLike | None = None,
    in_use: Callable[[], Iterable[str]] = tuple,
) -> ModelRecord | None:
    """Save a run's model, then let ``keep(record)`` settle the run (``Job.settle``).

    Refused, the model is deleted again and None returned. Kept, old models are pruned,
    sparing the new one and those whose ids ``in_use`` returns.
    """
    record = save_model(model, metadata, models_directory)
    if not keep(record):  # stopped while the model was written: still a stop
        delete_model(record)
        return None
    prune_models(models_directory, protected={record.key, *in_use()})
    return record


class BusyError(RuntimeError):
    """A run of the same kind is in progress on this server."""


J = TypeVar("J", bound=Job)


class Registry(Generic[J]):
    """The server's runs of one kind: at most one active at a time."""

    # Sessions whose last run is remembered for them to adopt; older ones are forgotten.
    REMEMBERED_OWNERS = 100

    def __init__(self, busy_message: str, budget: MemoryBudget | None = None) -> None:
        """``busy_message``: what ``BusyError`` says while a run of this kind is active;
        ``budget``: the server's memory, which each run waits for (None: no waiting)."""
        self._budget = budget
        self._lock = threading.Lock()
        self._busy_message = busy_message
        self._latest: J | None = None
        self._by_owner: dict[str, J] = {}

    @property
    def latest(self) -> J | None:
        """The run in progress, or else the last one to end (for its results)."""
        return self._latest

    def run_of(self, owner: str) -> J | None:
        """The last run that ``owner`` started, even if another has started since."""
        with self._lock:
            return self._by_owner.get(owner)

    def launch(self, job: J) -> J:
        """Start ``job``, or raise ``BusyError`` while another run of this kind is active, or
        ``MemoryRefusedError`` when it could never fit in the server's memory.

        A run stopped moments ago is waited for first (``WIND_DOWN_TIMEOUT_S`` at most).
        """
        if self._budget is not None:
            self._budget.check(job.need)
        with self._lock:
            latest = self._latest
            if latest is not None and latest.snapshot().active:
                raise BusyError(self._busy_message)
            if latest is not None and latest.winding_down:
                latest.join(WIND_DOWN_TIMEOUT_S)
                if latest.winding_down:
                    raise BusyError(
                        "The run that was just stopped is still winding down; try again soon."
                    )
            self._latest = job.start(self._budget)
            if job.owner is not None:
                self._by_owner.pop(job.owner, None)
                self._by_owner[job.owner] = job
                while len(self._by_owner) > self.REMEMBERED_OWNERS:
                    del self._by_owner[next(iter(self._by_owner))]
            return job
