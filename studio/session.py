"""This browser session's model: the sidebar "Model" picker and what pages load through it.

Every visitor has their own model. A new session starts on the server default (the pinned
model, else the newest trained one locally and the bundled one in public mode) and keeps it
until the visitor picks another in the sidebar, a training or teaching run the session started
finishes, or another feature switches it with ``use_model``. Nothing one session does changes
another's choice. What each session uses is also reported to ``resources.model_usage()``, so
pruning old models spares it; a model that vanishes anyway (deleted on the Models page, or
pruned while the session was idle) sends the session back to the default, with a notice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from mnist_cnn.store import LoadedModel, ModelRecord, all_records, find_record
from studio import resources

if TYPE_CHECKING:
    from mnist_cnn.background import Job
    from mnist_cnn.fine_tune_jobs import FineTuneSnapshot
    from mnist_cnn.jobs import TrainingSnapshot

SESSION_ID = "session_id"
CHOICE = "model_choice"  # the id of the session's model (store.ModelRecord.key)
NOTICES = "model_notices"
ADOPTED_RUNS = "adopted_runs"  # the ids of the models of our finished runs already switched to


def session_id() -> str:
    """A random id for this browser session: who started a run, who uses which model."""
    return st.session_state.setdefault(SESSION_ID, uuid.uuid4().hex)


def use_model(record: ModelRecord, notice: str | None = None) -> None:
    """Make ``record`` this session's model, with an optional notice in the sidebar.

    Call it from a widget callback (``on_click``) or before the sidebar is drawn and the
    current run shows the new model everywhere; from a page's body, follow it with
    ``st.rerun()`` so the sidebar, drawn earlier in this run, catches up.
    """
    st.session_state[CHOICE] = record.key
    if notice:
        st.session_state.setdefault(NOTICES, []).append(notice)


def current_record() -> ModelRecord:
    """The record of this session's model (without loading it): cheap, for every run."""
    key = st.session_state.get(CHOICE)
    record = find_record(key) if key is not None else None
    if record is None:
        fallback = resources.default_model().record
        if key is not None and key != fallback.key:
            use_model(
                fallback,
                "The model you were using is no longer on this server (deleted, or pruned "
                f"while you were away); you are back on the default, {fallback.name}.",
            )
        record = fallback
        st.session_state[CHOICE] = record.key
    resources.model_usage().record(session_id(), record.key)
    return record


def current_model() -> LoadedModel:
    """This session's model, loaded (raises ModelLoadError when it will not load)."""
    return resources.loaded_model(current_record())


def model_warnings() -> list[str]:
    """Why the server default is not the newest model (it would not load), when it is not."""
    default = resources.default_model()
    return default.warnings if default.record.key == current_record().key else []


def adopt_finished_run() -> None:
    """Switch to the model of a run this session started, once, when it has finished: its
    last training run, and its last teaching run."""
    me = session_id()
    _adopt(resources.training_registry().run_of(me), _trained_notice)
    _adopt(resources.fine_tune_registry().run_of(me), _taught_notice)


def _adopt(job: Job | None, notice: Callable[..., str]) -> None:
    """``job``'s model becomes this session's, with ``notice(snapshot)``, the first time it
    is seen finished; a visitor who then picks another model keeps their pick."""
    snapshot = None if job is None else job.snapshot()
    if snapshot is None or snapshot.status != "finished" or snapshot.record is None:
        return
    adopted = st.session_state.setdefault(ADOPTED_RUNS, set())
    if snapshot.record.key in adopted:
        return
    adopted.add(snapshot.record.key)
    use_model(snapshot.record, notice(snapshot))


def _trained_notice(snapshot: TrainingSnapshot) -> str:
    return (
        f"Your training run finished: {snapshot.record.name} (test accuracy "
        f"{snapshot.test_accuracy:.2%}) is now your model."
    )


def _taught_notice(snapshot: FineTuneSnapshot) -> str:
    result = snapshot.result
    held_out = (
        f", {result.held_out_before:.0%} -> {result.held_out_after:.0%} on your held-out drawings"
        if result.held_out_after is not None
        else ""
    )
    return (
        f"Taught on your handwriting: {snapshot.record.name} is now your model (MNIST test "
        f"{result.mnist_test_before:.2%} -> {result.mnist_test_after:.2%}{held_out})."
    )


def picker() -> ModelRecord:
    """The sidebar's "Model" selectbox over every model on the server; returns the choice."""
    current = current_record()
    records = {record.key: record for record in all_records()}
    records.setdefault(current.key, current)
    keys = list(records)
    # Unkeyed on purpose: its identity includes ``index``, so when the choice changes from
    # elsewhere (a finished run, use_model) the box shows it on the next run. A keyed box would
    # refuse use_model once drawn in a run ("cannot be modified after instantiation").
    chosen = st.selectbox(
        "Model",
        keys,
        index=keys.index(current.key),
        format_func=lambda key: option_text(records[key]),
        help="The model this browser tab uses on every page. Your choice does not change "
        "anyone else's.",
    )
    if chosen != current.key:
        st.session_state[CHOICE] = chosen
        resources.model_usage().record(session_id(), chosen)
        # Redraw the box with the new choice as its own index: the next pick then goes to the
        # box this run draws (same identity), not to one the server no longer draws.
        st.rerun()
    return records[chosen]


def option_text(record: ModelRecord) -> str:
    """'Bundled model · 99.41%' or 'Run of 26 Nov 10:15:03 · 98.10%'."""
    accuracy = record.metadata.test_accuracy
    score = f" · {accuracy:.2%}" if accuracy is not None else ""
    name = record.name
    if record.bundled and "Bundled" not in name:
        name = f"{name} (Bundled)"
    return f"{name}{score}"


def notices() -> list[str]:
    """Notices about this session's model since the last run, each shown once."""
    return st.session_state.pop(NOTICES, [])
