"""The Train page's Network section: pick a preset, edit its layers, see what it costs.

The visitor's network lives in their session as rows of plain values (one per convolution
block, one per dense layer), so each visitor edits their own. Every rerun turns the rows into a
``ModelSpec``: one that cannot be built says why (the layer named), and the figures, parameters,
FLOPs per digit, the estimated time per epoch and the diagram of the output shapes, come from
the spec's arithmetic, without building a model. Widget keys carry a version that a preset pick
or an added or removed row bumps, so the widgets start again from the rows.
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from mnist_cnn import settings
from mnist_cnn.architecture import (
    KERNEL_SIZES,
    MAX_CONV_BLOCKS,
    MAX_DENSE_LAYERS,
    MAX_DROPOUT,
    MAX_FILTERS,
    MAX_UNITS,
    PRESET_LABELS,
    PRESETS,
    SEED,
    ConvBlock,
    DenseLayer,
    ModelSpec,
)
from mnist_cnn.memory_budget import MemoryShortError
from mnist_cnn.speed import measured_speed
from mnist_cnn.training import TrainConfig
from studio import resources

PRESET_KEY = "network-preset"
CONV_ROWS_KEY = "network-conv-rows"
DENSE_ROWS_KEY = "network-dense-rows"
VERSION_KEY = "network-version"
DROPOUT_STEP = 0.05
MNIST_TRAINING_IMAGES = 60_000  # the estimate's epoch: the full MNIST less the validation split
# What a new row starts as: the seed's second block, a small dense layer.
NEW_BLOCK = ConvBlock(32, padding="same")
NEW_DENSE = DenseLayer(64)
PADDING_LABELS = {"valid": "none: trims the edge", "same": "same: keeps the size"}
PRESET_CAPTIONS = {
    "seed": "The project's CNN: two convolution blocks of 32 and 64 filters, then 64 units.",
    "tiny": "8 and 16 filters straight into the output: under a 20th of the seed's weights.",
    "wide": "Twice the seed's filters and units: four times the work per digit.",
    "deep": "Three padded blocks with batch normalisation and dropout.",
    "lenet5": "LeCun's 1998 network with ReLU and max pooling: 5x5 kernels, 120 and 84 units.",
    "dense": "No convolutions: every pixel into 128 units. What do convolutions buy?",
}
TITLES = {
    "Conv2D": "Conv",
    "BatchNormalization": "Batch norm",
    "MaxPooling2D": "Pool",
    "Dropout": "Dropout",
    "Flatten": "Flatten",
    "Dense": "Dense",
}


def _load_preset(name: str) -> None:
    spec = PRESETS[name]
    st.session_state[CONV_ROWS_KEY] = [asdict(block) for block in spec.conv_blocks]
    st.session_state[DENSE_ROWS_KEY] = [asdict(layer) for layer in spec.dense_layers]
    _bump()


def _bump() -> None:
    st.session_state[VERSION_KEY] = st.session_state.get(VERSION_KEY, 0) + 1


def _on_preset() -> None:
    _load_preset(st.session_state[PRESET_KEY] or "seed")


def _add(rows_key: str, row: dict) -> None:
    st.session_state[rows_key] = [*st.session_state[rows_key], row]
    _bump()


def _remove(rows_key: str, position: int) -> None:
    rows = list(st.session_state[rows_key])
    del rows[position]
    st.session_state[rows_key] = rows
    _bump()


def network_section(recipe: TrainConfig, running: bool) -> ModelSpec | None:
    """The preset picker, the layer editor, the live figures and the diagram; returns the
    visitor's network, or None when it cannot be built or this server will not train it (the
    section says why)."""
    if CONV_ROWS_KEY not in st.session_state:
        _load_preset("seed")
    st.segmented_control(
        "Start from a preset",
        list(PRESETS),
        default="seed",
        format_func=PRESET_LABELS.get,
        required=True,
        key=PRESET_KEY,
        on_change=_on_preset,
    )
    picked = st.session_state.get(PRESET_KEY) or "seed"
    with st.expander("Edit the layers", icon=":material/tune:"):
        _conv_rows()
        _dense_rows()
    try:
        spec = ModelSpec(
            conv_blocks=tuple(ConvBlock(**row) for row in st.session_state[CONV_ROWS_KEY]),
            dense_layers=tuple(DenseLayer(**row) for row in st.session_state[DENSE_ROWS_KEY]),
        )
    except ValueError as problem:
        st.error(f"This network cannot be built: {problem}.", icon=":material/error:")
        return None
    name = spec.preset
    caption = PRESET_CAPTIONS.get(name, f"Edited from {PRESET_LABELS[picked]}: {spec.describe()}.")
    st.caption(f"**{PRESET_LABELS[name]}**. {caption}")
    _figures(spec, recipe, running)
    st.graphviz_chart(diagram(spec), width="stretch")
    problem = settings.network_problem(spec)
    if problem is not None:
        st.error(problem, icon=":material/block:")
        return None
    return spec


def _conv_rows() -> None:
    rows, version = st.session_state[CONV_ROWS_KEY], st.session_state[VERSION_KEY]
    st.markdown("**Convolution blocks**" if rows else "**No convolution blocks**")
    for position, row in enumerate(rows):
        key = f"conv-{version}-{position}"
        filters, kernel, padding, extras, drop, remove = st.columns(
            [2, 2, 3, 3, 2, 1], vertical_alignment="bottom"
        )
        row["filters"] = int(
            filters.number_input(
                f"Block {position + 1}: filters",
                1,
                MAX_FILTERS,
                row["filters"],
                key=f"{key}-filters",
            )
        )
        row["kernel"] = kernel.selectbox(
            "Kernel",
            KERNEL_SIZES,
            KERNEL_SIZES.index(row["kernel"]),
            format_func=lambda size: f"{size}x{size}",
            key=f"{key}-kernel",
        )
        row["padding"] = padding.selectbox(
            "Padding",
            list(PADDING_LABELS),
            list(PADDING_LABELS).index(row["padding"]),
            format_func=PADDING_LABELS.get,
            key=f"{key}-padding",
        )
        row["pool"] = extras.checkbox("2x2 pooling", row["pool"], key=f"{key}-pool")
        row["batch_norm"] = extras.checkbox("Batch norm", row["batch_norm"], key=f"{key}-norm")
        _dropout_and_remove(row, drop, remove, key, (CONV_ROWS_KEY, position), "block")
    _add_button("Add a convolution block", "conv", CONV_ROWS_KEY, NEW_BLOCK, MAX_CONV_BLOCKS)


def _dense_rows() -> None:
    rows, version = st.session_state[DENSE_ROWS_KEY], st.session_state[VERSION_KEY]
    st.markdown(
        "**Dense layers** (before the 10 outputs)" if rows else "**No hidden dense layers**"
    )
    for position, row in enumerate(rows):
        key = f"dense-{version}-{position}"
        units, drop, _, remove = st.columns([2, 2, 7, 1], vertical_alignment="bottom")
        row["units"] = int(
            units.number_input(
                f"Dense {position + 1}: units", 1, MAX_UNITS, row["units"], key=f"{key}-units"
            )
        )
        _dropout_and_remove(row, drop, remove, key, (DENSE_ROWS_KEY, position), "layer")
    _add_button("Add a dense layer", "dense", DENSE_ROWS_KEY, NEW_DENSE, MAX_DENSE_LAYERS)


def _dropout_and_remove(row: dict, drop, remove, key: str, where: tuple, what: str) -> None:
    """A row's dropout field, and the button that removes the row (``where``: its list's key
    and its position in it)."""
    row["dropout"] = float(
        drop.number_input(
            "Dropout", 0.0, MAX_DROPOUT, float(row["dropout"]), DROPOUT_STEP, key=f"{key}-drop"
        )
    )
    remove.button(
        "",
        icon=":material/delete:",
        key=f"{key}-remove",
        help=f"Remove this {what}",
        on_click=_remove,
        args=where,
    )


def _add_button(
    label: str, kind: str, rows_key: str, new: ConvBlock | DenseLayer, most: int
) -> None:
    st.button(
        label,
        icon=":material/add:",
        key=f"network-add-{kind}",
        disabled=len(st.session_state[rows_key]) >= most,
        on_click=_add,
        args=(rows_key, asdict(new)),
    )


def _figures(spec: ModelSpec, recipe: TrainConfig, running: bool) -> None:
    parameters, flops, epoch = st.columns(3)
    parameters.metric(
        "Parameters",
        f"{spec.parameters:,}",
        f"{spec.parameters / SEED.parameters:.2g}x the seed's",
        delta_color="off",
        delta_arrow="off",
    )
    flops.metric(
        "FLOPs per digit",
        _millions(spec.flops_per_sample),
        f"{spec.flops_per_sample / SEED.flops_per_sample:.2g}x the seed's",
        delta_color="off",
        delta_arrow="off",
        help="Multiplies and adds of one digit's forward pass, in the convolutions and dense "
        "layers. Training costs about three times as much.",
    )
    speed = measured_speed(recipe.batch_size)
    if speed is None and running:
        epoch.metric("Seconds per epoch", "after this run", help=_SPEED_HELP)
        return
    if speed is None:
        try:
            with st.spinner("Measuring how fast this server trains (once)…"):
                speed = resources.training_speed(recipe.batch_size)
        except MemoryShortError as short:
            epoch.metric("Seconds per epoch", "not measured yet", help=str(short))
            return
    images = round(recipe_images(recipe))
    epoch.metric(
        "Seconds per epoch",
        f"≈ {speed.seconds_per_epoch(spec, images):.0f} s",
        f"batch {recipe.batch_size}, {images:,} images",
        delta_color="off",
        delta_arrow="off",
        help=_SPEED_HELP,
    )


_SPEED_HELP = (
    "Estimated from this server's measured speed: the time of a bare network, plus this "
    "network's FLOPs at the rate the seed CNN trains. A run on a busy server takes longer."
)


def recipe_images(recipe: TrainConfig) -> float:
    """Training images per epoch with the recipe's validation split of MNIST's 60,000."""
    return MNIST_TRAINING_IMAGES * (1 - recipe.validation_split)


def _millions(flops: int) -> str:
    return f"{flops / 1e6:.1f}M" if flops >= 1e5 else f"{flops / 1e3:.0f}k"


def diagram(spec: ModelSpec) -> str:
    """The layers left to right as Graphviz DOT: each box its kind and output shape; batch
    norm and dropout, which keep the shape, ride in the box of the layer before."""
    boxes = [("Input", "28x28x1")]
    kernels = iter(block.kernel for block in spec.conv_blocks)
    for layer in spec.layers():
        shape = "x".join(map(str, layer.shape))
        if layer.kind in ("BatchNormalization", "Dropout"):
            title, last = boxes[-1]
            boxes[-1] = (f"{title} + {TITLES[layer.kind].lower()}", last)
            continue
        title = TITLES[layer.kind]
        if layer.kind == "Conv2D":
            kernel = next(kernels)
            title = f"{title} {kernel}x{kernel}"
        boxes.append((title, shape))
    boxes[-1] = ("Output", boxes[-1][1])
    nodes = "\n".join(
        f'  n{number} [label="{title}\\n{shape}"];' for number, (title, shape) in enumerate(boxes)
    )
    edges = " -> ".join(f"n{number}" for number in range(len(boxes)))
    return (
        "digraph network {\n  rankdir=LR;\n"
        '  node [shape=box, style="rounded,filled", fillcolor="#eef2ff", color="#6366f1", '
        'fontname="sans-serif", fontsize=11];\n'
        f"{nodes}\n  {edges};\n}}"
    )
