"""Everything expensive, loaded once per server and shared by every visitor and page.

Reruns happen on every click and every stroke on the canvas, so nothing here may be recomputed
in one. Models and their evaluations are keyed on the model record's id, which changes when its
file does; a bounded number of each stays in memory, since each visitor may pick a different
model (studio/session.py holds which one).

TensorFlow is imported by the first function here that needs it, not with this module: a page
can draw its title and controls first (TensorFlow takes 7-12 s to load on a small server).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_cnn import settings
from mnist_cnn.data import MNIST_NPZ_ENV, shared_mnist
from mnist_cnn.drawings_store import remove_stale_partials as remove_stale_drawing_partials
from mnist_cnn.memory_budget import (
    EVALUATION,
    TSNE_MAP,
    MemoryBudget,
    neighbour_index_need,
    server_budget,
    speed_probe_need,
)
from mnist_cnn.store import (
    LoadedModel,
    ModelRecord,
    active_record,
    load_active,
    load_record,
    models_dir,
)
from mnist_cnn.store import remove_stale_partials as _remove_stale_partials
from studio.usage import ModelUsage

# Models held in memory at once (~5 MB each with their compiled predict functions): enough for
# the default, a few visitors' picks and a comparison on the Models page.
CACHED_MODELS = 8
# Nearest-neighbour indexes held at once: 16 MB each for the seed CNN (60,000 x 64 float32).
CACHED_INDEXES = 4
MAPS_FOLDER = ".maps"  # t-SNE layouts kept on disk, in the models folder

if TYPE_CHECKING:
    from mnist_cnn.digit_map import DigitMap
    from mnist_cnn.evaluation import Evaluation
    from mnist_cnn.fine_tune_jobs import FineTuneRegistry
    from mnist_cnn.jobs import TrainingRegistry
    from mnist_cnn.map_jobs import MapJobs, MapProgress
    from mnist_cnn.neighbours import NeighbourIndex
    from mnist_cnn.speed import TrainingSpeed


@st.cache_resource(show_spinner=False)
def training_registry() -> TrainingRegistry:
    """The server's one registry, so every visitor sees (and cannot double) the run in progress.

    Its runs prune old models after saving, sparing those that live sessions use.
    """
    from mnist_cnn.jobs import TrainingRegistry

    return TrainingRegistry(in_use=model_usage().in_use, budget=memory_budget())


@st.cache_resource(show_spinner=False)
def fine_tune_registry() -> FineTuneRegistry:
    """The server's one teaching slot ("Teach the model my handwriting"); likewise, a finished
    run prunes models nobody uses."""
    from mnist_cnn.fine_tune_jobs import FineTuneRegistry

    return FineTuneRegistry(in_use=model_usage().in_use, budget=memory_budget())


@st.cache_resource(show_spinner=False)
def memory_budget() -> MemoryBudget:
    """The server's memory, which heavy jobs reserve before they start (or wait for)."""
    return server_budget()


@st.cache_resource(show_spinner=False)
def model_usage() -> ModelUsage:
    """Which model each live session uses, shared by every session on this server."""
    return ModelUsage()


@st.cache_resource(show_spinner=False)
def remove_stale_partials() -> int:
    """Once per server start: clear the ``.partial-*`` leftovers of killed saves.

    From the models folder, and locally from the drawings folder too (public mode keeps
    drawings in each visitor's session, never on disk).
    """
    removed = _remove_stale_partials()
    if not settings.public_mode():
        removed += remove_stale_drawing_partials()
    return removed


def default_model() -> LoadedModel:
    """The server default (see ``store.active_record``), falling back past models that fail."""
    return _default_model(_default_key())


def _default_key() -> str:
    return active_record().id


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _default_model(record_id: str) -> LoadedModel:
    # Two entries: the new default and the one that sessions mid-rerun may still hold.
    return load_active()


def loaded_model(record: ModelRecord) -> LoadedModel:
    """``record``'s model, loaded once per server (raises ModelLoadError)."""
    return _loaded_model(record.id, record)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner="Loading the model…")
def _loaded_model(record_id: str, _record: ModelRecord) -> LoadedModel:
    return LoadedModel(load_record(_record), _record)


def test_set() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test images and labels (raises DataError when MNIST cannot be loaded)."""
    return _test_set(os.environ.get(MNIST_NPZ_ENV) or None)


@st.cache_resource(max_entries=1, show_spinner="Loading the MNIST test set…")
def _test_set(source: str | None) -> tuple[np.ndarray, np.ndarray]:
    return shared_mnist(source)[1]


def evaluation(record: ModelRecord) -> Evaluation:
    """``record``'s model scored on the test set, computed once per model (raises DataError,
    or MemoryShortError when the server has not the memory for it now)."""
    return _evaluation(record.id, os.environ.get(MNIST_NPZ_ENV) or None, record)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner="Scoring the model on the test set…")
def _evaluation(record_id: str, source: str | None, _record: ModelRecord) -> Evaluation:
    from mnist_cnn.evaluation import evaluate

    images, labels = _test_set(source)
    with memory_budget().hold(EVALUATION):
        return evaluate(loaded_model(_record).model, images, labels)


def training_speed(batch_size: int) -> TrainingSpeed:
    """This server's training speed at ``batch_size``, measured once per process while the
    probe holds its memory (raises MemoryShortError when the server has not the memory now)."""
    from mnist_cnn import speed

    measured = speed.measured_speed(batch_size)
    if measured is not None:
        return measured
    with memory_budget().hold(speed_probe_need(batch_size)):
        return speed.training_speed(batch_size)


def training_set() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST training images and labels, uint8 (47 MB), read once per server for the
    neighbours' pictures (raises DataError when MNIST cannot be loaded)."""
    return _training_set(os.environ.get(MNIST_NPZ_ENV) or None)


@st.cache_resource(max_entries=1, show_spinner="Loading the MNIST training set…")
def _training_set(source: str | None) -> tuple[np.ndarray, np.ndarray]:
    return shared_mnist(source)[0]  # read-only: shared by every visitor and job


def neighbour_index(record: ModelRecord) -> NeighbourIndex:
    """``record``'s model's index of the 60,000 training digits, built once per model."""
    return _neighbour_index(record.id, os.environ.get(MNIST_NPZ_ENV) or None, record)


@st.cache_resource(
    max_entries=CACHED_INDEXES, show_spinner="Indexing the 60,000 training digits (a few seconds)…"
)
def _neighbour_index(record_id: str, source: str | None, _record: ModelRecord) -> NeighbourIndex:
    from mnist_cnn.features import feature_size
    from mnist_cnn.neighbours import build_index

    images, labels = _training_set(source)
    model = loaded_model(_record).model
    with memory_budget().hold(neighbour_index_need(feature_size(model))):
        return build_index(model, images, labels)


def digit_map(record: ModelRecord) -> DigitMap:
    """``record``'s model's PCA map of the 10,000 test digits, computed once per model."""
    return _digit_map(record.id, os.environ.get(MNIST_NPZ_ENV) or None, record)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner="Mapping the 10,000 test digits…")
def _digit_map(record_id: str, source: str | None, _record: ModelRecord) -> DigitMap:
    from mnist_cnn.digit_map import build_map

    images, labels = _test_set(source)
    return build_map(loaded_model(_record).model, images, labels)


@st.cache_resource(show_spinner=False)
def map_jobs() -> MapJobs:
    """The server's background maps (t-SNE): each model's computed once, one at a time."""
    from mnist_cnn.map_jobs import MapJobs

    return MapJobs(keep=CACHED_MODELS)


def tsne_map(record: ModelRecord) -> MapProgress:
    """Where ``record``'s t-SNE map stands; the first ask starts it in the background.

    The layout is kept on disk beside the models (``.maps/`` in the models folder, which model
    listings skip), so a restarted server reads it back in a second instead of ~25 s.
    """
    source = os.environ.get(MNIST_NPZ_ENV) or None
    cache = models_dir() / MAPS_FOLDER / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', record.id)}-tsne.npz"

    def compute() -> DigitMap:
        from mnist_cnn.digit_map import build_map

        images, labels = _test_set(source)
        ticket = memory_budget().reserve(TSNE_MAP)
        try:
            return build_map(loaded_model(record).model, images, labels, "tsne", cache)
        finally:
            memory_budget().release(ticket)

    return map_jobs().request(record.id, compute)
