"""The Models page's pieces: the table of every model, one model's details, a comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_cnn import settings
from mnist_cnn.data import DataError
from mnist_cnn.memory_budget import MemoryShortError
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import ModelRecord, delete_model, rename_model
from studio import chart_display, charts, messages, model_card, resources, session
from studio.training_view import format_duration

# Each compared model is scored on the test set (a second or two each, then cached).
MAX_COMPARED = 6
TABLE_GENERATION = "models_table_generation"


def as_percent(fraction: float | None) -> float | None:
    """0.9941 as 99.41, for a column that shows two decimals in every row; None if unknown."""
    return None if fraction is None else 100 * fraction


def table(records: list[ModelRecord]) -> list[ModelRecord]:
    """Every model as a row; returns the rows the visitor selected."""
    rows = [
        {
            "Name": record.name,
            "Id": record.key,
            "Made": record.metadata.created_at or "",
            "Test accuracy": as_percent(record.metadata.test_accuracy),
            "Epochs": record.training_config.get("epochs"),
            "Training time": format_duration(record.metadata.training_seconds or 0),
            "Recipe": "fine-tuned" if record.taught_from else record.recipe_text,
        }
        for record in records
    ]
    # A rename or delete changes the rows under the selection: a new key starts a clean one.
    generation = st.session_state.setdefault(TABLE_GENERATION, 0)
    event = st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=f"models-{generation}",
        column_config={
            "Test accuracy": st.column_config.NumberColumn(format="%.2f%%"),
            "Epochs": st.column_config.NumberColumn(format="%d"),
        },
    )
    return [records[row] for row in event.selection.rows if row < len(records)]


def details(record: ModelRecord) -> None:
    """One model: figures, how it was made, its training curves, download, use, manage."""
    metadata = record.metadata
    st.subheader(record.name)
    accuracy, duration, size = st.columns(3)
    accuracy.metric("Test accuracy", model_card.accuracy_text(record))
    duration.metric("Training time", format_duration(metadata.training_seconds or 0))
    size.metric("Parameters", f"{metadata.parameters or 0:,}")
    st.caption(f"Id `{record.key}` · {model_card.describe_origin(record)}")
    st.caption(record.recipe_text)
    if metadata.made_with:
        st.caption(messages.for_visitor(f"Made with: {metadata.made_with}"))
    if metadata.history:
        chart_display.plotly(charts.history_figure({record.name: metadata.history}))
    actions = st.container(horizontal=True)
    model_card.model_download(record, "Download (.keras)", actions, key=f"download-{record.key}")
    actions.button(
        "Use this model",
        on_click=session.use_model,
        args=(record, f"You are now using {record.name}."),
        disabled=record.key == session.current_record().key,
        icon=":material/check:",
    )
    if not record.bundled and not settings.public_mode():
        manage(record)


def manage(record: ModelRecord) -> None:
    """Rename or delete a trained model (local mode only)."""
    with st.expander("Rename or delete"):
        with st.form(f"rename-{record.key}", border=False):
            name = st.text_input("New name", value=record.name, max_chars=80)
            if st.form_submit_button("Rename"):
                _rename(record, name)
        pinned = settings.default_model() == record.key
        st.button(
            "Delete this model",
            on_click=_delete,
            args=(record,),
            type="primary",
            icon=":material/delete:",
            disabled=pinned,
            help="The pinned default model (MNIST_CNN_DEFAULT_MODEL) cannot be deleted."
            if pinned
            else "Deletes its files for good.",
        )


def _rename(record: ModelRecord, name: str) -> None:
    try:
        rename_model(record, name)
    except (OSError, ValueError) as error:
        st.error(messages.for_visitor(str(error)))
        return
    _new_table()
    st.rerun()


def _delete(record: ModelRecord) -> None:
    try:
        delete_model(record)
    except (OSError, ValueError) as error:
        st.session_state.setdefault(session.NOTICES, []).append(
            messages.for_visitor(f"{record.name} could not be deleted: {error}")
        )
        return
    _new_table()
    st.toast(f"Deleted {record.name}.", icon=":material/delete:")


def _new_table() -> None:
    st.session_state[TABLE_GENERATION] = st.session_state.get(TABLE_GENERATION, 0) + 1


def compare(records: list[ModelRecord]) -> None:
    """Two or more models side by side: curves, recipe differences, test scores per digit."""
    if len(records) > MAX_COMPARED:
        st.warning(f"Comparing the first {MAX_COMPARED} of the {len(records)} chosen models.")
        records = records[:MAX_COMPARED]
    names = unique_names(records)
    st.subheader("Validation, per epoch")
    histories = {name: r.metadata.history for name, r in zip(names, records, strict=True)}
    chart_display.plotly(charts.history_figure(histories))

    st.subheader("Recipe differences")
    differences = recipe_differences(records, names)
    if differences.empty:
        st.caption("The same recipe for all of them.")
    else:
        st.dataframe(differences, hide_index=True)

    st.subheader("Test set, per digit")
    try:
        evaluations = [resources.evaluation(record) for record in records]
    except (DataError, MemoryShortError) as error:
        st.error(messages.for_visitor(str(error)), icon=":material/error:")
        return
    columns = st.columns(len(records))
    for column, name, evaluation in zip(columns, names, evaluations, strict=True):
        column.metric(f"Test accuracy: {name}", f"{evaluation.accuracy:.2%}")
    f1 = pd.DataFrame({"Digit": list(DIGITS)})
    for name, evaluation in zip(names, evaluations, strict=True):
        f1[f"F1 {name}"] = [as_percent(row["f1-score"]) for row in evaluation.per_class()]
    st.dataframe(
        f1,
        hide_index=True,
        column_config={  # two decimals in every row, so the columns line up to compare
            column: st.column_config.NumberColumn(format="%.2f%%") for column in f1.columns[1:]
        },
    )
    chart_display.plotly(charts.f1_figure(dict(zip(names, evaluations, strict=True))))


def unique_names(records: list[ModelRecord]) -> list[str]:
    """Names to label each model's series with; ids break the tie when two share a name."""
    names = [record.name for record in records]
    return [
        f"{name} ({record.key})" if names.count(name) > 1 else name
        for name, record in zip(names, records, strict=True)
    ]


def recipe_differences(records: list[ModelRecord], names: list[str]) -> pd.DataFrame:
    """The recipe settings that differ between the models: one row each, one column a model."""
    configs = [record.training_config for record in records]
    settings_seen = sorted({key for config in configs for key in config})
    rows = []
    for key in settings_seen:
        values = [config.get(key) for config in configs]
        if len({repr(value) for value in values}) > 1:
            rows.append({"Setting": key, **{n: str(v) for n, v in zip(names, values, strict=True)}})
    return pd.DataFrame(rows)
