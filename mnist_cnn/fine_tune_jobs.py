"""Fine-tuning as a background job that a page can watch and stop, as training is.

A visitor presses "Teach the model my handwriting"; the job copies their drawings, fine-tunes
a copy of their model (``fine_tuning.fine_tune``), saves the result as a new model whose
metadata names its parent and the number of drawings, and reports progress through immutable
snapshots. The thread, the lock, Stop, the owner and settling the run after its model is saved
are ``background.py``'s: a stopped fine-tune saves nothing and its visitor keeps their model.
The registry lets one fine-tune run at a time on the server: on a small shared machine two
would only both be slow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import keras
import numpy as np

from mnist_cnn.background import Job, Registry, Snapshot, save_and_settle
from mnist_cnn.data import shared_mnist
from mnist_cnn.fine_tuning import FineTuneConfig, FineTuneProgress, FineTuneResult, fine_tune
from mnist_cnn.memory_budget import TEACHING, MemoryBudget
from mnist_cnn.store import ModelRecord, check_writable


@dataclass(frozen=True)
class FineTuneSnapshot(Snapshot):
    """A fine-tune's state for a page to draw: its progress and, once finished, its result."""

    drawings: int
    progress: FineTuneProgress | None = None
    record: ModelRecord | None = None  # the saved model, once finished
    result: FineTuneResult | None = None

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
    as this model's recipe. The fine-tune's own settings are under ``fine_tune``. The network
    is the parent's (``architecture``), since teaching changes weights, not layers.
    """
    return {
        "architecture": parent.architecture,
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


class FineTuneJob(Job[FineTuneSnapshot]):
    """One fine-tune in the background; its progress reports go into its snapshot.

    The thread ends at its next check after a Stop: before training, every compiled call (8
    batches), before the final scores, once saved.
    """

    need = TEACHING

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
        owner: str | None = None,
    ) -> None:
        super().__init__(
            FineTuneSnapshot("running", time.time(), len(labels)),
            owner,
            name="mnist-fine-tune",
            failure="Fine-tuning failed",
        )
        self._model = model
        self._parent = parent
        self._images = np.array(images)
        self._labels = np.array(labels)
        self._config = config or FineTuneConfig()
        self._data_path = data_path
        self._models_directory = models_directory
        self._in_use = in_use

    def on_step(self, progress: FineTuneProgress) -> None:
        self.report(lambda state: replace(state, progress=progress))

    def work(self) -> None:
        """Teach, save, settle; then let go of the models and drawings.

        The registry remembers each visitor's last run (for adoption), so a finished job must
        not keep its parent model, its drawings or the taught model alive: the snapshot keeps
        the taught model's figures (``result`` without its ``model``) and its saved record.
        """
        try:
            self._teach_and_save()
        finally:
            self._model = self._images = self._labels = None

    def _teach_and_save(self) -> None:
        mnist = shared_mnist(self._data_path)
        result = fine_tune(
            self._model,
            self._images,
            self._labels,
            self._config,
            listener=self,
            mnist=mnist,
            stop_event=self.stop_event,
        )
        if result is None:  # stopped
            return
        metadata = fine_tune_metadata(self._parent, result, len(self._labels), len(mnist[1][1]))
        figures = replace(result, model=None)
        save_and_settle(
            result.model,
            metadata,
            lambda record: self.settle(record=record, result=figures),
            self._models_directory,
            in_use=lambda: {self._parent.key, *self._in_use()},
        )


class FineTuneRegistry(Registry[FineTuneJob]):
    """The server's fine-tune runs: at most one active at a time.

    Like training runs, a finished one prunes old models, sparing its parent and the ids
    ``in_use`` returns.
    """

    def __init__(
        self,
        data_path: str | os.PathLike | None = None,
        models_directory: str | os.PathLike | None = None,
        in_use: Callable[[], Iterable[str]] = tuple,
        budget: MemoryBudget | None = None,
    ) -> None:
        super().__init__(
            "Another model is being taught on this server right now; try again in a minute.",
            budget,
        )
        self._data_path = data_path
        self._models_directory = models_directory
        self._in_use = in_use

    def start(
        self,
        model: keras.Model,
        parent: ModelRecord,
        images: np.ndarray,
        labels: np.ndarray,
        config: FineTuneConfig | None = None,
        owner: str | None = None,
    ) -> FineTuneJob:
        """Start fine-tuning, or raise ``BusyError`` or ``ModelsDirError``."""
        check_writable(self._models_directory)
        return self.launch(
            FineTuneJob(
                model,
                parent,
                images,
                labels,
                config,
                self._data_path,
                self._models_directory,
                self._in_use,
                owner,
            )
        )
