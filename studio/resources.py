"""Everything expensive, loaded once per server and shared by every visitor and page.

Reruns happen on every click and every stroke on the canvas, so nothing here may be recomputed
in one. The model and its evaluation are keyed on the active model's record id, which changes
when a training run saves a new model: the next rerun on any page picks it up.
"""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from mnist_cnn.data import MNIST_NPZ_ENV, load_mnist
from mnist_cnn.evaluation import Evaluation, evaluate
from mnist_cnn.jobs import TrainingRegistry
from mnist_cnn.store import LoadedModel, active_record, load_active


@st.cache_resource(show_spinner=False)
def training_registry() -> TrainingRegistry:
    """The server's one registry, so every visitor sees (and cannot double) the run in progress."""
    return TrainingRegistry()


def current_model() -> LoadedModel:
    """The active model: the newest trained one, else the bundled one (raises ModelLoadError)."""
    return _loaded_model(active_record().id)


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _loaded_model(record_id: str) -> LoadedModel:
    # Two entries: the new model and the one that sessions mid-rerun may still hold.
    return load_active()


def test_set() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test images and labels (raises DataError when MNIST cannot be loaded)."""
    return _test_set(os.environ.get(MNIST_NPZ_ENV) or None)


@st.cache_resource(max_entries=1, show_spinner="Loading the MNIST test set…")
def _test_set(source: str | None) -> tuple[np.ndarray, np.ndarray]:
    _, test = load_mnist(source)
    return test


def current_evaluation() -> Evaluation:
    """The active model scored on the test set, computed once per model."""
    return _evaluation(active_record().id, os.environ.get(MNIST_NPZ_ENV) or None)


@st.cache_resource(max_entries=2, show_spinner="Scoring the model on the test set…")
def _evaluation(record_id: str, source: str | None) -> Evaluation:
    images, labels = _test_set(source)
    return evaluate(_loaded_model(record_id).model, images, labels)
