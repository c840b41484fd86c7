"""Training as a job: load data, train, evaluate, save, with state others can watch.

The command line runs ``train_evaluate_save`` directly. The web app runs it in a
``TrainingJob`` thread held by a ``TrainingRegistry``, which allows one run per
server: pages poll ``snapshot()`` to draw live progress. Each run records the
session that started it (its ``owner``), so that session alone can adopt the new
model, and in public mode alone stop it.

A Stop that arrives any time before the run is settled discards the run: the
models folder and every session's model stay as they were. The run is settled just after
the model is written, in one step under the job's lock that reads "stopped" or marks it
"finished"; a Stop after that is too late and changes nothing. Old models are pruned only
once the run is kept, so a discarded run never costs anyone an older model.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from mnist_cnn import settings
from mnist_cnn.data import DataError, load_mnist
from mnist_cnn.evaluation import Evaluation, evaluate
from mnist_cnn.store import ModelRecord, check_writable, delete_model, prune_models, save_model
from mnist_cnn.training import (
    BatchProgress,
    EpochProgress,
    TrainConfig,
    TrainingListener,
    TrainingResult,
    train,
)


@dataclass
class TrainingOutcome:
    result: TrainingResult
    evaluation: Evaluation | None  # None when the run was stopped
    record: ModelRecord | None  # the saved model; None when the run was stopped


def train_evaluate_save(
    config: TrainConfig,
    listener: TrainingListener | None = None,
    stop_event: threading.Event | None = None,
    data_path: str | os.PathLike | None = None,
    models_directory: str | os.PathLike | None = None,
    made_with: str = "mnist_cnn.jobs.train_evaluate_save",
    in_use: Callable[[], Iterable[str]] = tuple,
    keep: Callable[[ModelRecord, Evaluation], bool] | None = None,
) -> TrainingOutcome:
    """Train on MNIST, score on its test set, save, then prune old models.

    The models folder is checked before any work (``ModelsDirError``). A stopped run saves
    nothing, even when the stop arrives after the last batch. Once the model is written,
    ``keep(record, evaluation)`` settles the run: False deletes the model and reports a stop
    (by default it is False when ``stop_event`` is set; a job passes a check that is atomic
    with its Stop button). Only a kept run prunes: that keeps the models whose ids ``in_use``
    returns (those live sessions use) and the new one.
    """
    check_writable(models_directory)
    (x_train, y_train), (x_test, y_test) = load_mnist(data_path)
    result = train(x_train, y_train, config, listener, stop_event)
    if result.stopped:
        return TrainingOutcome(result, None, None)
    evaluation = evaluate(result.model, x_test, y_test)
    if stop_event is not None and stop_event.is_set():  # stopped while scoring: still a stop
        return TrainingOutcome(replace(result, stopped=True), None, None)
    metadata = {
        "made_with": made_with,
        "config": config.to_dict(),
        "history": [vars(epoch) for epoch in result.history],
        "training_seconds": round(result.seconds, 1),
        "training_images": len(x_train),
        "test_images": len(x_test),
        "test_accuracy": evaluation.accuracy,
    }
    record = save_model(result.model, metadata, models_directory)
    if keep is None:
        kept = stop_event is None or not stop_event.is_set()
    else:
        kept = keep(record, evaluation)
    if not kept:  # stopped while the model was written: still a stop
        delete_model(record)
        return TrainingOutcome(replace(result, stopped=True), None, None)
    prune_models(models_directory, protected={record.key, *in_use()})
    return TrainingOutcome(result, evaluation, record)


Status = Literal["running", "stopped", "finished", "failed"]
# How long starting a run waits for a stopped run's thread to end (it ends within seconds).
WIND_DOWN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for a page to draw."""

    status: Status
    config: TrainConfig
    started_at: float
    batches: list[BatchProgress]
    epochs: list[EpochProgress]
    message: str = ""
    record: ModelRecord | None = None
    test_accuracy: float | None = None

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def fraction_done(self) -> float:
        if self.status == "finished":
            return 1.0
        if not self.batches:
            return 0.0
        last = self.batches[-1]
        done = (last.epoch - 1) * last.batches_per_epoch + last.batch
        return min(done / (last.epochs * last.batches_per_epoch), 1.0)

    @property
    def samples_per_second(self) -> float | None:
        """Mean speed over the last few reports (single reports are noisy)."""
        recent = self.batches[-10:]
        if not recent:
            return None
        return sum(b.samples_per_second for b in recent) / len(recent)

    @property
    def seconds_left(self) -> float | None:
        if not self.active or not self.batches:
            return None
        elapsed = time.time() - self.started_at
        fraction = self.fraction_done
        return elapsed * (1 - fraction) / fraction if fraction > 0 else None


class TrainingJob:
    """One training run in a daemon thread, reporting into a lock-guarded snapshot."""

    def __init__(
        self,
        config: TrainConfig,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        owner: str | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.owner = owner  # the session that started the run (None: the command line)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._state = JobSnapshot("running", config, time.time(), [], [])
        self._thread = threading.Thread(
            target=self._run,
            args=(data_path, models_directory, in_use),
            name="mnist-training",
            daemon=True,
        )

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            state = self._state
            return replace(state, batches=list(state.batches), epochs=list(state.epochs))

    def stop(self) -> bool:
        """Stop the run now: it shows as stopped at once, and nothing of it is kept.

        Returns False, changing nothing, when the run has already ended: once it is settled
        as finished (``_settle``), its model is kept and a Stop is too late.

        The thread itself ends at its next check (every compiled call of 16 batches, every
        validation batch, before scoring, before saving, once saved) or, when it is inside a
        step that cannot be interrupted (TensorFlow tracing the training step takes seconds),
        right after that step. The registry waits for it before starting another run.
        """
        with self._lock:
            if not self._state.active:
                return False
            self._stop_event.set()
            self._state = replace(self._state, status="stopped")
            return True

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def winding_down(self) -> bool:
        """Stopped (or ended), but its thread has not finished yet."""
        return self._thread.is_alive() and not self.snapshot().active

    def on_batch(self, progress: BatchProgress) -> None:
        with self._lock:
            if self._state.active:  # a stopped run's charts stay as they were at the Stop
                self._state.batches.append(progress)

    def on_epoch(self, progress: EpochProgress) -> None:
        with self._lock:
            if self._state.active:
                self._state.epochs.append(progress)

    def _update(self, change) -> None:
        with self._lock:
            self._state = change(self._state)

    def _run(self, data_path, models_directory, in_use) -> None:
        try:
            outcome = train_evaluate_save(
                self._state.config,
                listener=self,
                stop_event=self._stop_event,
                data_path=data_path,
                models_directory=models_directory,
                made_with="web app Train page",
                in_use=in_use,
                keep=self._settle,
            )
        except DataError as error:
            self._finish(status="failed", message=str(error))
        except Exception as error:  # a background thread must report, not vanish
            self._finish(
                status="failed", message=f"Training failed: {type(error).__name__}: {error}"
            )
        else:
            if outcome.record is None:
                self._finish(status="stopped")

    def _settle(self, record: ModelRecord, evaluation: Evaluation) -> bool:
        """Keep the saved run unless a Stop came first: one decision, under the lock.

        Marked finished here, the run can no longer be stopped (``stop`` sees it ended), so
        the page never says "stopped" about a model that stays on disk.
        """
        with self._lock:
            if not self._state.active:
                return False
            self._state = replace(
                self._state, status="finished", record=record, test_accuracy=evaluation.accuracy
            )
            return True

    def _finish(self, **changes) -> None:
        """The run's end as the thread saw it, unless it already ended (a Stop, or settled)."""
        self._update(lambda s: replace(s, **changes) if s.active else s)


class TrainingBusyError(RuntimeError):
    """Another training run is in progress on this server."""


class TrainingRegistry:
    """The server's training runs: at most one active at a time."""

    # Sessions whose last run is remembered for them to adopt; older ones are forgotten.
    REMEMBERED_OWNERS = 100

    def __init__(
        self,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._lock = threading.Lock()
        self._latest: TrainingJob | None = None
        self._by_owner: dict[str, TrainingJob] = {}
        self._data_path = data_path
        self._models_directory = models_directory
        self._in_use = in_use

    @property
    def latest(self) -> TrainingJob | None:
        """The run in progress, or else the last one to end (for its results)."""
        return self._latest

    def run_of(self, owner: str) -> TrainingJob | None:
        """The last run that ``owner`` started, even if another has started since."""
        with self._lock:
            return self._by_owner.get(owner)

    def start(self, config: TrainConfig, owner: str | None = None) -> TrainingJob:
        """Start a run, or raise ``TrainingBusyError``, ``ModelsDirError`` or ``ValueError``.

        Checked first: the public epoch cap (``settings.max_epochs``), and that the models
        folder takes a new model (rather than failing at the end of the run).
        """
        limit = settings.max_epochs()
        if settings.public_mode() and config.epochs > limit:
            raise ValueError(
                f"{config.epochs} epochs is more than this server allows ({limit}; "
                f"{settings.MAX_EPOCHS_ENV} sets it)."
            )
        check_writable(self._models_directory)
        with self._lock:
            if self._latest is not None and self._latest.snapshot().active:
                raise TrainingBusyError(
                    "A training run is already in progress on this server; watch it below "
                    "or wait for it to finish."
                )
            if self._latest is not None and self._latest.winding_down:
                # A run stopped moments ago: two runs at once would double the memory.
                self._latest.join(WIND_DOWN_TIMEOUT_S)
                if self._latest.winding_down:
                    raise TrainingBusyError(
                        "The run that was just stopped is still winding down; try again soon."
                    )
            job = TrainingJob(config, self._data_path, self._models_directory, owner, self._in_use)
            self._latest = job.start()
            if owner is not None:
                self._by_owner.pop(owner, None)
                self._by_owner[owner] = job
                while len(self._by_owner) > self.REMEMBERED_OWNERS:
                    del self._by_owner[next(iter(self._by_owner))]
            return job
