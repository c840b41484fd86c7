"""Fine-tuning as a background job that a page can watch, as training is (see ``jobs.py``).

A visitor presses "Teach the model my handwriting"; the job copies their drawings, fine-tunes
a copy of their model (``fine_tuning.fine_tune``), saves the result as a new model whose
metadata names its parent and the number of drawings, and reports progress through immutable
snapshots taken under a lock. The registry lets one fine-tune run at a time on the server: on a
small shared machine two would only both be slow.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

import keras
import numpy as np

from mnist_cnn.data import DataError, load_mnist
from mnist_cnn.fine_tuning import FineTuneConfig, FineTuneProgress, FineTuneResult, fine_tune
from mnist_cnn.store import ModelRecord, check_writable, prune_models, save_model

Status = Literal["running", "finished", "failed"]


@dataclass(frozen=True)
class FineTuneSnapshot:
    """A consistent copy of a fine-tune job's state for a page to draw."""

    status: Status
    started_at: float
    drawings: int
    progress: FineTuneProgress | None = None
    message: str = ""
    record: ModelRecord | None = None  # the saved model, once finished
    result: FineTuneResult | None = None

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def fraction_done(self) -> float:
        if self.status == "finished":
            return 1.0
        if self.progress is None:
            return 0.0
        return self.progress.step / self.progress.steps


def fine_tune_metadata(
    parent: ModelRecord, result: FineTuneResult, drawings: int, test_images: int
) -> dict:
    """What a fine-tuned model's metadata.json says: its parent, its drawings, its figures.

    No training ``config``: the model was not trained with one, and the parent's would read
    as this model's recipe. The fine-tune's own settings are under ``fine_tune``.
    """
    return {
        "made_with": f"web app: fine-tuned on {drawings} drawings",
        "parent_model": parent.key,
        "parent_name": parent.name,
        "parent_bundled": parent.bundled,
        "drawings": drawings,
        "fine_tune": result.summary(),
        "training_seconds": round(result.seconds, 1),
        "test_images": test_images,
        "test_accuracy": result.mnist_test_after,
    }


class FineTuneJob:
    """One fine-tune in a daemon thread, reporting into a lock-guarded snapshot."""

    def __init__(
        self,
        model: keras.Model,
        parent: ModelRecord,
        images: np.ndarray,
        labels: np.ndarray,
        config: FineTuneConfig | None = None,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._lock = threading.Lock()
        self._in_use = in_use
        self._state = FineTuneSnapshot("running", time.time(), len(labels))
        self._thread = threading.Thread(
            target=self._run,
            args=(model, parent, np.array(images), np.array(labels), config or FineTuneConfig()),
            kwargs={"data_path": data_path, "models_directory": models_directory},
            name="mnist-fine-tune",
            daemon=True,
        )

    def start(self) -> FineTuneJob:
        self._thread.start()
        return self

    def snapshot(self) -> FineTuneSnapshot:
        with self._lock:
            return self._state

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def on_step(self, progress: FineTuneProgress) -> None:
        self._update(progress=progress)

    def _update(self, **changes) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)

    def _run(self, model, parent, images, labels, config, data_path, models_directory) -> None:
        try:
            mnist = load_mnist(data_path)
            result = fine_tune(model, images, labels, config, listener=self, mnist=mnist)
            metadata = fine_tune_metadata(parent, result, len(labels), len(mnist[1][1]))
            record = save_model(result.model, metadata, models_directory)
            prune_models(models_directory, protected={record.key, parent.key, *self._in_use()})
        except DataError as error:
            self._update(status="failed", message=str(error))
        except Exception as error:  # a background thread must report, not vanish
            self._update(
                status="failed", message=f"Fine-tuning failed: {type(error).__name__}: {error}"
            )
        else:
            self._update(status="finished", record=record, result=result)


class FineTuneBusyError(RuntimeError):
    """Another fine-tune is running on this server."""


class FineTuneRegistry:
    """The server's fine-tune runs: at most one active at a time.

    Like training runs, a finished one prunes old models, sparing the ids ``in_use`` returns.
    """

    def __init__(
        self,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._lock = threading.Lock()
        self._in_use = in_use
        self._running: FineTuneJob | None = None
        self._data_path = data_path
        self._models_directory = models_directory

    def start(
        self,
        model: keras.Model,
        parent: ModelRecord,
        images: np.ndarray,
        labels: np.ndarray,
        config: FineTuneConfig | None = None,
    ) -> FineTuneJob:
        """Start fine-tuning, or raise ``FineTuneBusyError`` or ``ModelsDirError``."""
        with self._lock:
            if self._running is not None and self._running.snapshot().active:
                raise FineTuneBusyError(
                    "Another model is being taught on this server right now; try again in a minute."
                )
            check_writable(self._models_directory)
            self._running = FineTuneJob(
                model,
                parent,
                images,
                labels,
                config,
                self._data_path,
                self._models_directory,
                self._in_use,
            ).start()
            return self._running
