"""This browser session's model: the sidebar "Model" picker and what pages load through it.

Every visitor has their own model. A new session starts on the server default (the pinned
model, else the newest trained one locally and the bundled one in public mode) and keeps it
until the visitor picks another in the sidebar, a training run the session started finishes,
or another feature switches it with ``use_model``. Nothing one session does changes another's
choice. What each session uses is also reported to ``resources.model_usage()``, so pruning old
models spares it; a model that vanishes anyway (deleted on the Models page, or pruned while the
session was idle) sends the session back to the default, with a notice.
"""

from __future__ import annotations

import uuid

import streamlit as st

from mnist_cnn.store import LoadedModel, ModelRecord, all_records, find_record
from studio import resources

SESSION_ID = "session_id"
CHOICE = "model_choice"  # the id of the session's model (store.ModelRecord.key)
NOTICES = "model_notices"
ADOPTED_RUN = "adopted_run"  # the id of the last finished run of ours already switched to


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
    """Switch to the model of a run this session started, once, when it has finished."""
    job = resources.training_registry().run_of(session_id())
    if job is None:
        return
    snapshot = job.snapshot()
    record = snapshot.record
    if snapshot.status != "finished" or record is None:
        return
    if st.session_state.get(ADOPTED_RUN) == record.key:
        return
    st.session_state[ADOPTED_RUN] = record.key
    use_model(
        record,
        f"Your training run finished: {record.name} (test accuracy "
        f"{snapshot.test_accuracy:.2%}) is now your model.",
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
