"""Your drawings in the app: where they live, the correction buttons, teaching the model.

Locally the drawings are a folder on disk (``drawings_store.DrawingFolder``), shared by every
tab of the one user. In public mode each browser session keeps its own in memory
(``st.session_state``): other visitors never see them, and they are gone when the tab closes,
unless exported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from mnist_cnn import settings
from mnist_cnn.drawing import DrawingStages
from mnist_cnn.drawings_store import DrawingCollection, DrawingFolder, drawings_dir
from mnist_cnn.evaluation import Evaluation, evaluate
from mnist_cnn.fine_tune_jobs import FineTuneJob
from mnist_cnn.fine_tuning import FineTuneConfig, held_out_size
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import LoadedModel
from studio import messages, resources, session

SESSION_DRAWINGS = "your_drawings"
LAST_SAVED = "last_saved_drawing"
# Fewer drawings than this teach nothing measurable; the button waits for them.
MIN_DRAWINGS_TO_TEACH = 10
RIGHT = "Right"


def collection() -> DrawingCollection:
    """This visitor's drawings: the session's own in public mode, else the folder on disk."""
    if settings.public_mode():
        return st.session_state.setdefault(SESSION_DRAWINGS, DrawingCollection())
    return _folder(str(drawings_dir()))


@st.cache_resource(max_entries=2, show_spinner=False)
def _folder(path: str) -> DrawingFolder:
    """Read once per server: every later change goes through the same object."""
    return DrawingFolder(path)


def save(stages: DrawingStages, label: int, on_saved: Callable[[], None] | None = None) -> None:
    """Keep a drawing (its model input and its ink) with its true label; a button callback."""
    try:
        collection().add(stages.centred, label, stages.ink)
    except (ValueError, OSError) as error:
        st.session_state[LAST_SAVED] = (False, messages.for_visitor(f"Not saved: {error}"))
        return
    counts = collection().counts()
    st.session_state[LAST_SAVED] = (
        True,
        f"Saved as a {label}. Your drawings: {counts.sum()} ({counts[label]} of {label}).",
    )
    if on_saved is not None:
        on_saved()


def not_a_digit() -> None:
    """Said instead of a prediction when ``digit_check.looks_like_digit`` is false."""
    st.warning(
        "That doesn't look like a digit. Draw one digit, 0 to 9, with a single stroke width; "
        "if it is one, say which below.",
        icon=":material/block:",
    )


def correction_bar(
    stages: DrawingStages, predicted: int | None, on_saved: Callable[[], None] | None = None
) -> None:
    """One click to keep the drawing with its true digit: "Right", or the digit it really is.

    ``predicted`` is the model's answer, or None when the drawing was not taken for a digit.
    """
    question = "Was it right? Or which digit is it?" if predicted is not None else "Is it a digit?"
    st.markdown(f"**{question}** Your answer keeps the drawing in *Your drawings*.")
    with st.container(horizontal=True, gap="small"):
        if predicted is not None:
            st.button(
                RIGHT,
                key="correct-right",
                type="primary",
                icon=":material/check:",
                on_click=save,
                args=(stages, predicted, on_saved),
            )
        for digit in DIGITS:
            st.button(
                str(digit), key=f"correct-{digit}", on_click=save, args=(stages, digit, on_saved)
            )


def last_saved() -> None:
    """Confirm the last save, or say why it failed (once), where the next drawing goes."""
    saved, message = st.session_state.pop(LAST_SAVED, (True, ""))
    if not message:
        return
    if saved:
        st.success(message, icon=":material/bookmark_added:")
    else:
        st.error(message, icon=":material/error:")


def start_teaching(loaded: LoadedModel) -> None:
    """Fine-tune the session's model on its drawings in the background.

    Once it has finished, ``session.adopt_finished_run`` makes its model the session's model.
    """
    images, labels = collection().arrays()
    resources.fine_tune_registry().start(
        loaded.model, loaded.record, images / 255.0, labels, owner=session.session_id()
    )


def teaching_job() -> FineTuneJob | None:
    """This session's last teaching run, in progress or ended."""
    return resources.fine_tune_registry().run_of(session.session_id())


def scores(loaded: LoadedModel, drawings: DrawingCollection) -> Evaluation:
    """The model on the drawings, computed once per model and version of the drawings."""
    return _scores(*scores_key(loaded, drawings), loaded, drawings)


def scores_key(loaded: LoadedModel, drawings: DrawingCollection) -> tuple[str, str, int]:
    """The cache key of ``scores``: the model, the collection's token, its version.

    The cache is server-wide, so the key names the collection by its random token, not by
    ``id()``: a freed collection's ``id()`` can be handed to another visitor's new collection,
    which would then be shown the first visitor's scores.
    """
    return loaded.record.id, drawings.token, drawings.version


@st.cache_resource(max_entries=8, show_spinner=False)
def _scores(
    record_id: str,
    collection_token: str,
    version: int,
    _loaded: LoadedModel,
    _drawings: DrawingCollection,
) -> Evaluation:
    images, labels = _drawings.arrays()
    return evaluate(_loaded.model, images, labels)


def held_out_text(counts: np.ndarray) -> str:
    """What teaching will hold out to measure the gain on this visitor's handwriting."""
    fraction = FineTuneConfig.holdout_fraction
    held_out = held_out_size(counts, fraction)
    share = f"Teaching holds out {fraction:.0%} of each digit's drawings to measure the gain"
    if held_out == 0:
        return (
            f"{share}, but that takes {round(1 / fraction)} drawings of a digit: with fewer, "
            "the gain on your handwriting is not measured, only MNIST's."
        )
    return f"{share} on your handwriting ({held_out} now)."


def counts_text(counts: np.ndarray) -> str:
    """'0: 3 · 1: 12 · ... · 9: 0'."""
    return " · ".join(f"{digit}: {count}" for digit, count in enumerate(counts))
