"""The Models page's pieces: the table of every model, one model's details, a comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_cnn import settings
from mnist_cnn.architecture import ModelSpec, architecture_label
from mnist_cnn.data import DataError
from mnist_cnn.describe import count
from mnist_cnn.memory_budget import MemoryShortError
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import ModelRecord, delete_model, rename_model
from studio import (
    architecture_charts,
    chart_display,
    charts,
    messages,
    model_card,
    resources,
    session,
)
from studio.architecture_charts import ModelPoint
from studio.training_view import format_duration

# Each compared model is scored on the test set (a second or two each, then cached).
MAX_COMPARED = 6
TABLE_GENERATION = "models_table_generation"
# The chart of every model: its container's key gives the browser a `st-key-models-tradeoffs`
# class to find it by.
TRADEOFFS_KEY = "models-tradeoffs"
TRADEOFFS_CHART_KEY = "models-tradeoffs-chart"
UNREADABLE = "unreadable"  # a hand-edited architecture that is no network
ABSENT = "—"  # a block or layer the model does not have


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
            "Architecture": architecture_label(record.architecture),
            "Parameters": parameters(record),
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
            "Parameters": st.column_config.NumberColumn(format="localized"),
            "Epochs": st.column_config.NumberColumn(format="%d"),
        },
    )
    return [records[row] for row in event.selection.rows if row < len(records)]


def spec_of(record: ModelRecord) -> ModelSpec | None:
    """The model's network, or None when its saved architecture is not one (edited by hand)."""
    try:
        return ModelSpec.from_dict(record.architecture)
    except ValueError:
        return None


def parameters(record: ModelRecord) -> int | None:
    """The model's parameters as saved, else as its network's spec counts them."""
    if record.metadata.parameters is not None:
        return record.metadata.parameters
    spec = spec_of(record)
    return None if spec is None else spec.parameters


def network_text(record: ModelRecord) -> str:
    """'Tiny network: conv 8 3x3 + pool · conv 16 3x3 + pool; 28x28x1 -> 26x26x8 -> ...'."""
    label = architecture_label(record.architecture)
    spec = spec_of(record)
    if spec is None:
        return f"{label} network ({UNREADABLE} layers in its metadata)"
    return f"{label} network: {spec.describe()}; shapes {spec.shapes_text()}"


def tradeoffs(records: list[ModelRecord]) -> None:
    """Every model's test accuracy against its parameters and its training time, the Pareto
    fronts marked: which networks are worth their size and their minutes."""
    points = [model_point(record) for record in records]
    with st.container(key=TRADEOFFS_KEY):
        st.subheader("Accuracy against size and training time")
        st.caption(
            "Every model, coloured by its network. Ringed models, joined by the dotted line, "
            "are the Pareto front: each model off it is beaten by one at least as accurate and "
            "at least as small (or as quick to train). Point at one for its name."
        )
        chart_display.plotly(architecture_charts.tradeoff_figure(points), key=TRADEOFFS_CHART_KEY)
        left_off = left_off_text(points)
        if left_off:
            st.caption(left_off)


def model_point(record: ModelRecord) -> ModelPoint:
    """The model's figures for the chart; a taught model's time is its teaching's alone, not
    comparable with a training run's, so it has none there."""
    return ModelPoint(
        name=record.name,
        architecture=architecture_label(record.architecture),
        accuracy=record.metadata.test_accuracy,
        parameters=parameters(record),
        seconds=None if record.taught_from else record.metadata.training_seconds,
    )


def left_off_text(points: list[ModelPoint]) -> str:
    """How many models each panel leaves off, and why; empty when every model is on both."""
    scored = [point for point in points if point.accuracy is not None]
    unscored = len(points) - len(scored)
    unsized = sum(point.parameters is None for point in scored)
    untimed = sum(point.seconds is None for point in scored)
    parts = []
    if unscored:
        parts.append(f"both panels, {count(unscored, 'model')} without a recorded test accuracy")
    if unsized:
        parts.append(f"the parameters panel, {count(unsized, 'model')} of unknown size")
    if untimed:
        parts.append(
            f"the training-time panel, {count(untimed, 'model')} without a training run's time "
            "(not recorded, or taught from another model: only the teaching was timed)"
        )
    return "Left off " + "; ".join(parts) + "." if parts else ""


def details(record: ModelRecord) -> None:
    """One model: figures, how it was made, its training curves, download, use, manage."""
    metadata = record.metadata
    st.subheader(record.name)
    accuracy, duration, size = st.columns(3)
    accuracy.metric("Test accuracy", model_card.accuracy_text(record))
    duration.metric("Training time", format_duration(metadata.training_seconds or 0))
    size.metric("Parameters", _parameters_text(parameters(record)))
    st.caption(f"Id `{record.key}` · {model_card.describe_origin(record)}")
    st.caption(network_text(record))
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
    """Two or more models side by side: curves, network and recipe differences, test scores
    per digit."""
    if len(records) > MAX_COMPARED:
        st.warning(f"Comparing the first {MAX_COMPARED} of the {len(records)} chosen models.")
        records = records[:MAX_COMPARED]
    names = unique_names(records)
    st.subheader("Validation, per epoch")
    histories = {name: r.metadata.history for name, r in zip(names, records, strict=True)}
    chart_display.plotly(charts.history_figure(histories))

    st.subheader("Network differences")
    network = network_differences(records, names)
    if not network["Differs"].any():
        st.caption(f"The same network for all of them. {network_text(records[0])}.")
    else:
        st.dataframe(
            network,
            hide_index=True,
            column_config={
                "Differs": st.column_config.CheckboxColumn(
                    help="Ticked where the models' networks differ"
                )
            },
        )

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


def network_differences(records: list[ModelRecord], names: list[str]) -> pd.DataFrame:
    """The models' networks line by line: a row per conv block and dense layer (each model's
    ``describe()`` taken apart), with the network's name, parameters and shapes; "Differs" is
    ticked on the rows where the models are not all alike."""
    specs = [spec_of(record) for record in records]
    blocks = max((len(spec.conv_blocks) for spec in specs if spec), default=0)
    dense = max((len(spec.dense_layers) for spec in specs if spec), default=0)
    lines: list[tuple[str, list[str]]] = [
        ("Network", [architecture_label(record.architecture) for record in records]),
        ("Parameters", [_parameters_text(parameters(record)) for record in records]),
    ]
    for index in range(blocks):
        lines.append(
            (f"Conv block {index + 1}", [_layer_text(spec, "conv", index) for spec in specs])
        )
    for index in range(dense):
        lines.append(
            (f"Dense layer {index + 1}", [_layer_text(spec, "dense", index) for spec in specs])
        )
    lines.append(("Shapes", [spec.shapes_text() if spec else UNREADABLE for spec in specs]))
    rows = [
        {"Layer": line, "Differs": len(set(values)) > 1, **dict(zip(names, values, strict=True))}
        for line, values in lines
    ]
    return pd.DataFrame(rows, columns=["Layer", "Differs", *names])


def _layer_text(spec: ModelSpec | None, kind: str, index: int) -> str:
    """One conv block or dense layer in ``describe()``'s words, or a dash where it has none."""
    if spec is None:
        return UNREADABLE
    if kind == "conv":
        if index >= len(spec.conv_blocks):
            return ABSENT
        # That block alone: one valid on a network's smaller maps is valid on 28x28 ones.
        return ModelSpec(conv_blocks=(spec.conv_blocks[index],), dense_layers=()).describe()
    if index >= len(spec.dense_layers):
        return ABSENT
    return ModelSpec(conv_blocks=(), dense_layers=(spec.dense_layers[index],)).describe()


def _parameters_text(number: int | None) -> str:
    return "unknown" if number is None else f"{number:,}"
