"""The Inside page's pieces, and how a digit gets there from the Draw and Evaluate pages.

The digit to look inside travels in the visitor's session (`open_digit`), so every visitor sees
their own. Everything computed from it is cached per model (its record id) and digit (its
bytes): moving a slider or picking a map reruns only its own fragment, and comes back from the
cache for every digit and model already seen.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import keras
import numpy as np
import streamlit as st

from mnist_cnn.data import prepare_images
from mnist_cnn.explain import SALIENCY_METHODS, activations, conv_filters, receptive_field, saliency
from mnist_cnn.inference import predict
from mnist_cnn.probe import (
    MAX_ANGLE,
    MAX_SCALE,
    MAX_SHIFT,
    MAX_STROKE,
    MIN_SCALE,
    MIN_STROKE,
    SWEEP_ANGLES,
    Distortion,
    answer_flips,
    distort,
    rotation_sweep,
)
from mnist_cnn.shapes import IMAGE_SHAPE, IMAGE_SIDE
from mnist_cnn.store import LoadedModel
from studio import chart_display, inside_charts, pictures, prediction_view

INSIDE_PAGE = "app_pages/inside.py"
DIGIT_KEY = "inside_digit"
# Cached results per function: a few visitors' digits, each a few hundred kB at most.
CACHE_ENTRIES = 64
INPUT_ZOOM = 8  # the 28x28 input shown 224 px wide
MAP_ZOOM = 4  # feature-map mosaics, before the column scales them down
DETAIL_ZOOM = 10  # one enlarged feature map or patch
METHOD_NAMES = {"integrated_gradients": "Integrated gradients", "occlusion": "Occlusion"}
# Saliency colours saturate at this quantile of |value|: a few extreme pixels would fade the rest.
SALIENCY_FULL_COLOUR_QUANTILE = 0.99
# Past this many layers (map mosaics, dense layers and the output) one row gets too narrow to
# read: the dense layers and the output move to a row of their own. The seed CNN has 6.
MAX_LAYERS_IN_ONE_ROW = 6
DENSE_WIDTH, OUTPUT_WIDTH = 6, 5  # their columns' widths, next to a mosaic's (its map columns)
KERNEL_COLUMNS = 8  # one filter's kernels, one per map of the layer before, 8 to a row
FILTER_COLUMNS = 16  # conv 1's filters, 16 to a row
FILTERS_WIDTH = 700  # px, at most
ROTATE_LABEL = "Rotate (degrees, counter-clockwise)"
STROKE_LABEL = "Thin (-) or thicken (+) the strokes (px)"
PROBE_DEFAULTS = {
    "probe-right": 0,
    "probe-down": 0,
    "probe-angle": 0,
    "probe-scale": 1.0,
    "probe-stroke": 0.0,
}


@dataclass(frozen=True)
class InsideDigit:
    """A (28, 28) float32 digit in [0, 1], where it came from, and its label when known."""

    image: np.ndarray
    source: str
    label: int | None = None


# --- Getting a digit here --------------------------------------------------------------------


def open_digit(image: np.ndarray, source: str, label: int | None = None) -> None:
    """Make ``image`` this visitor's digit on the Inside page."""
    pixels = prepare_images(np.asarray(image).reshape(1, *IMAGE_SHAPE))[0, ..., 0]
    st.session_state[DIGIT_KEY] = InsideDigit(pixels, source, label)


def current_digit() -> InsideDigit | None:
    return st.session_state.get(DIGIT_KEY)


def see_inside_link(image: np.ndarray, source: str) -> None:
    """Keep ``image`` for the Inside page and link there (the Draw page's "See inside")."""
    open_digit(image, source)
    st.page_link(INSIDE_PAGE, label="See inside", icon=":material/visibility:")


def open_from_gallery(
    images: np.ndarray, indices: np.ndarray, labels: np.ndarray, captions: list[str], key: str
) -> None:
    """Pick one of a gallery's test digits (by its caption) and open it on the Inside page."""
    if len(indices) == 0:
        return
    caption_of = {int(index): caption for index, caption in zip(indices, captions, strict=True)}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        index = st.selectbox(
            "Look inside one of these",
            list(caption_of),
            format_func=lambda i: f"test digit #{i}: {caption_of[i]}",
            key=f"{key}-choice",
            width=320,
        )
        if st.button("See inside", key=f"{key}-open", icon=":material/visibility:"):
            open_digit(images[index], f"test digit #{index}", int(labels[index]))
            st.switch_page(INSIDE_PAGE)


# --- Cached computations ---------------------------------------------------------------------


def _pixels(digit_bytes: bytes) -> np.ndarray:
    return np.frombuffer(digit_bytes, np.float32).reshape(IMAGE_SHAPE)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _layer_outputs(record_id: str, digit_bytes: bytes, _model: keras.Model) -> dict:
    return activations(_model, _pixels(digit_bytes))


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _saliency(
    record_id: str, digit_bytes: bytes, digit: int, method: str, _model: keras.Model
) -> np.ndarray:
    return saliency(_model, _pixels(digit_bytes), digit, method=method)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _sweep(
    record_id: str, digit_bytes: bytes, distortion: tuple, _model: keras.Model
) -> np.ndarray:
    return rotation_sweep(_model, _pixels(digit_bytes), Distortion(*distortion))


# --- The page's sections ---------------------------------------------------------------------


def layer_titles(model: keras.Model) -> dict[str, str]:
    """Readable titles for the layers: 'Conv 1', 'Batch norm 1', 'Pool 1', 'Dropout 1', ...,
    'Flatten', 'Dense' (numbered when there are several), 'Output'."""
    hidden_dense = sum(isinstance(layer, keras.layers.Dense) for layer in model.layers[:-1])
    titles, counts = {}, {}
    for position, layer in enumerate(model.layers):
        if position == len(model.layers) - 1:
            titles[layer.name] = "Output"
            continue
        kind = _KIND_TITLES.get(type(layer), type(layer).__name__)
        counts[kind] = counts.get(kind, 0) + 1
        numbered = kind in _NUMBERED_KINDS or (kind == "Dense" and hidden_dense > 1)
        titles[layer.name] = f"{kind} {counts[kind]}" if numbered else kind
    return titles


_KIND_TITLES = {
    keras.layers.Conv2D: "Conv",
    keras.layers.BatchNormalization: "Batch norm",
    keras.layers.MaxPooling2D: "Pool",
    keras.layers.Dropout: "Dropout",
    keras.layers.Flatten: "Flatten",
    keras.layers.Dense: "Dense",
}
# Kinds a network may have several of, told apart by their number; one Dense stays "Dense".
_NUMBERED_KINDS = ("Conv", "Batch norm", "Pool", "Dropout")
# The layers whose maps the mosaics show. Batch norm and dropout are left out: they keep the
# maps' shape, and at inference only rescale (batch norm) or pass (dropout) what they get.
_MAP_LAYERS = (keras.layers.Conv2D, keras.layers.MaxPooling2D)


def convolutions(model: keras.Model) -> list[keras.layers.Conv2D]:
    """The model's convolution layers, in order: none for a dense-only network."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def has_convolutions(model: keras.Model) -> bool:
    """Whether there are feature maps and filters to show (not for the dense-only network)."""
    return bool(convolutions(model))


def mosaic_columns(count: int) -> int:
    """How many maps a mosaic puts in a row: the largest power of two whose square is at most
    ``count``. A mosaic is then from square to under four times as tall as wide (6 maps 2x3, 8
    2x4, 16 4x4, 32 4x8, 64 8x8, 128 8x16): a layer with more maps is drawn taller, so its maps
    stay as large as its neighbours' in a row of columns sized by map columns."""
    return 1 << (max(count, 1).bit_length() - 1) // 2


def no_convolutions(model: keras.Model) -> None:
    """Say why a network without convolutions has no feature maps or filters to show."""
    first_dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    st.info(
        "This network has no convolutions, so there are no feature maps or filters to show. "
        f"Its first dense layer's {first_dense.units} units each weigh all {IMAGE_SIDE**2} "
        "pixels at once, wherever they are: their bars in Layer by layer above show what it "
        "makes of this digit, and Which pixels decided, below, which of its pixels mattered.",
        icon=":material/info:",
    )


def overview(loaded: LoadedModel, digit: InsideDigit) -> dict:
    """The input and the "Prediction" metric; returns the layer outputs for the next sections."""
    outputs = _layer_outputs(loaded.record.id, digit.image.tobytes(), loaded.model)
    input_column, answer_column = st.columns([2, 5], gap="large")
    caption = digit.source + (f" (labelled {digit.label})" if digit.label is not None else "")
    input_column.image(
        pictures.grey(digit.image, INPUT_ZOOM),
        caption=f"The input: {caption}",
        output_format="PNG",
    )
    with answer_column:
        prediction_view.prediction(list(outputs.values())[-1])
    return outputs


def layers(model: keras.Model, outputs: dict) -> None:
    """Every layer left to right: the convolutions' and poolings' map mosaics, on one colour
    scale each, then every hidden dense layer (none, for a network whose flattened maps go
    straight to the output), then the output."""
    titles = layer_titles(model)
    kinds = {layer.name: layer for layer in model.layers}
    names = list(outputs)
    output = names[-1]
    maps = {name: outputs[name] for name in names if isinstance(kinds[name], _MAP_LAYERS)}
    dense = [name for name in names[:-1] if isinstance(kinds[name], keras.layers.Dense)]
    widths = [mosaic_columns(value.shape[-1]) for value in maps.values()]
    widths += [DENSE_WIDTH] * len(dense) + [OUTPUT_WIDTH]
    if maps and len(widths) > MAX_LAYERS_IN_ONE_ROW:
        columns = st.columns(widths[: len(maps)], gap="small")
        columns += st.columns(widths[len(maps) :], gap="small")
    else:
        columns = st.columns(widths, gap="small")
    for column, (name, value) in zip(columns, maps.items(), strict=False):
        height, width, count = value.shape
        caption = f"{count} maps, {height}x{width}; brightest = {value.max():.2f}"
        if value.min() < 0:  # batch norm before it can shift values below 0
            caption += "; below 0 is black"
        column.markdown(f"**{titles[name]}**")
        column.image(
            pictures.feature_maps(value, mosaic_columns(count), MAP_ZOOM),
            caption=caption,
            output_format="PNG",
            width="stretch",
        )
    for position, (column, name) in enumerate(zip(columns[len(maps) :], dense, strict=False)):
        with column:
            st.markdown(f"**{titles[name]}**")
            chart_display.plotly(inside_charts.dense_figure(outputs[name]), key=f"dense-{name}")
            st.caption(_dense_caption(model, outputs, name, first=position == 0))
    with columns[-1]:
        st.markdown(f"**{titles[output]}**")
        chart_display.plotly(inside_charts.output_figure(outputs[output]), key="output-layer")
        before = outputs[names[-2]].size
        st.caption(
            "Softmax turns the ten scores into probabilities."
            if dense
            else f"No hidden dense layer: the ten scores come straight from flatten's "
            f"{before:,} numbers, and softmax turns them into probabilities."
        )


def _dense_caption(model: keras.Model, outputs: dict, name: str, first: bool) -> str:
    """What a hidden dense layer's bars are, and what it is fed."""
    names = list(outputs)
    position = names.index(name)
    units = outputs[name].size
    before = outputs[names[position - 1]].size if position else IMAGE_SIDE**2
    if first:
        laid_out = "the last maps" if has_convolutions(model) else "the digit's 28x28 pixels"
        text = (
            f"{units} units. Before them, flatten lays {laid_out} out as one row of "
            f"{before:,} numbers."
        )
    else:
        text = f"{units} units, each fed by all {before:,} numbers of the layer before."
    following = names[position + 1] if position + 1 < len(names) else None
    if following and isinstance(model.get_layer(following), keras.layers.Dropout):
        text += " The dropout after them drops units only in training; here it passes them all."
    return text


@st.fragment
def feature_map(loaded: LoadedModel, digit: InsideDigit) -> None:
    """One feature map enlarged, the filter that made it, and what its strongest unit saw;
    for a network without convolutions, why there is none."""
    model = loaded.model
    convs = [layer.name for layer in convolutions(model)]
    if not convs:
        no_convolutions(model)
        return
    outputs = _layer_outputs(loaded.record.id, digit.image.tobytes(), model)
    titles = layer_titles(model)
    pick_column, map_column, filter_column, patch_column = st.columns([3, 3, 4, 3], gap="medium")
    with pick_column:
        name = st.segmented_control(
            "Layer", convs, default=convs[0], format_func=titles.get, required=True, key="map-layer"
        )
        maps = outputs[name]
        strongest = int(maps.max(axis=(0, 1)).argmax())
        number = st.slider("Map", 1, maps.shape[-1], strongest + 1, key=f"map-{name}")
        st.caption(f"Map {strongest + 1} responds most strongly to this digit.")
    chosen = maps[..., number - 1]
    row, col = np.unravel_index(int(chosen.argmax()), chosen.shape)
    rows, cols = receptive_field(model, name, int(row), int(col))
    with map_column:
        picture = pictures.enlarge(pictures.colourise(chosen, float(maps.max())), DETAIL_ZOOM)
        one_unit = (slice(int(row), int(row) + 1), slice(int(col), int(col) + 1))
        st.image(
            pictures.outline(picture, *one_unit, DETAIL_ZOOM),
            caption=f"{titles[name]}, map {number}: strongest unit boxed ({chosen.max():.2f})",
            output_format="PNG",
            width="stretch",
        )
    filters = conv_filters(model, name)[number - 1]
    kernel = "x".join(str(side) for side in filters.shape[1:])
    with filter_column:
        if filters.shape[0] == 1:
            st.image(
                pictures.signed_mosaic(filters, 1, DETAIL_ZOOM * 4),
                caption=f"Its {kernel} filter (red adds, blue subtracts)",
                output_format="PNG",
                width=180,
            )
        else:
            st.image(
                pictures.signed_mosaic(filters, min(len(filters), KERNEL_COLUMNS), DETAIL_ZOOM),
                caption=f"Its {filters.shape[0]} {kernel} kernels, one per map of the layer before "
                "(red adds, blue subtracts)",
                output_format="PNG",
                width="stretch",
            )
    with patch_column:
        st.image(
            pictures.outline(pictures.grey(digit.image, DETAIL_ZOOM // 2), rows, cols, 5),
            caption=f"What that unit sees: a {rows.stop - rows.start}x{cols.stop - cols.start} "
            "patch of the input",
            output_format="PNG",
            width="stretch",
        )


def conv1_filters(model: keras.Model) -> None:
    """Conv 1's filters as a grid: the first thing the model looks for; for a network without
    convolutions, why there are none."""
    if not has_convolutions(model):
        no_convolutions(model)
        return
    filters = conv_filters(model, convolutions(model)[0].name)[:, 0]
    picture = pictures.signed_mosaic(filters, min(len(filters), FILTER_COLUMNS), DETAIL_ZOOM * 2)
    kernel = "x".join(str(side) for side in filters.shape[1:])
    st.image(
        picture,
        caption=f"{len(filters)} filters of {kernel} weights: red adds the pixel under it, blue "
        "subtracts it. Many are edge detectors: red on one side, blue on the other.",
        output_format="PNG",
        width=min(FILTERS_WIDTH, picture.shape[1]),
    )


@st.fragment
def why(loaded: LoadedModel, digit: InsideDigit, probabilities: np.ndarray) -> None:
    """Saliency for the predicted digit and for one the visitor picks, side by side."""
    ranked = [int(d) for d in np.argsort(probabilities)[::-1]]
    predicted = ranked[0]
    controls, *maps = st.columns([2, 2, 2], gap="large")
    with controls:
        method = st.segmented_control(
            "Method",
            SALIENCY_METHODS,
            default=SALIENCY_METHODS[0],
            format_func=METHOD_NAMES.get,
            required=True,
            key="saliency-method",
        )
        # The runner-up first: "why not the digit it nearly said?"
        other = st.selectbox("Why not a…", ranked[1:], key="why-not")
        st.image(pictures.signed_legend(240, 14), output_format="PNG", width=240)
        st.markdown(
            ":red[**Red**] pixels spoke for that digit, :blue[**blue**] ones against it; "
            "grey is the digit's ink. Each map has its own scale, full colour at the value "
            f"under it (the top {1 - SALIENCY_FULL_COLOUR_QUANTILE:.0%} of pixels)."
        )
        st.caption(
            "Integrated gradients: the gradient of the digit's score before the softmax (its "
            "logit) on the way from a black image to this one, per pixel. Occlusion: how much "
            "the digit's log-probability drops when a 4x4 square is blanked. Not the "
            "probability itself: near 100% it hardly moves, whichever pixel changes. Neither "
            "can credit ink that is missing."
        )
    key = (loaded.record.id, digit.image.tobytes())
    for column, shown in zip(maps, (predicted, other), strict=True):
        heat = _saliency(*key, shown, method, loaded.model)
        limit = float(np.quantile(np.abs(heat), SALIENCY_FULL_COLOUR_QUANTILE)) or 1.0
        title = f"Why {shown}" if shown == predicted else f"Why not {shown}"
        column.markdown(f"**{title}** (probability {probabilities[shown]:.1%})")
        column.image(
            pictures.saliency_overlay(digit.image, heat, limit, INPUT_ZOOM),
            caption=f"Saliency for {shown}: full colour at ±{limit:.2g}",
            output_format="PNG",
            width=INPUT_ZOOM * IMAGE_SIDE,
        )


def _reset_probe() -> None:
    for key, value in PROBE_DEFAULTS.items():
        st.session_state[key] = value


@st.fragment
def probe(loaded: LoadedModel, digit: InsideDigit) -> None:
    """Sliders that push the digit around, the answer after, and the rotation sweep."""
    for key, value in PROBE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    sliders, answer_column, sweep_column = st.columns([3, 2, 5], gap="large")
    with sliders:
        distortion = Distortion(
            right=st.slider("Move right (px)", -MAX_SHIFT, MAX_SHIFT, key="probe-right"),
            down=st.slider("Move down (px)", -MAX_SHIFT, MAX_SHIFT, key="probe-down"),
            angle=st.slider(ROTATE_LABEL, -MAX_ANGLE, MAX_ANGLE, step=5, key="probe-angle"),
            scale=st.slider("Scale", MIN_SCALE, MAX_SCALE, step=0.05, key="probe-scale"),
            stroke=st.slider(STROKE_LABEL, MIN_STROKE, MAX_STROKE, step=0.25, key="probe-stroke"),
        )
        st.button("Reset", on_click=_reset_probe, icon=":material/restart_alt:")
    changed = distort(digit.image, distortion)
    probabilities = predict(loaded.model, changed[np.newaxis])[0]
    answer = int(probabilities.argmax())
    with answer_column:
        st.image(
            pictures.grey(changed, INPUT_ZOOM),
            caption="The changed digit",
            output_format="PNG",
            width="stretch",
        )
        prediction_view.confident_metric("After the changes", answer, probabilities[answer])
    sweep = _sweep(loaded.record.id, digit.image.tobytes(), astuple(distortion), loaded.model)
    flips = answer_flips(SWEEP_ANGLES, sweep)
    with sweep_column:
        st.markdown("**The ten probabilities as the digit turns**, with the other changes kept")
        chart_display.plotly(
            inside_charts.sweep_figure(SWEEP_ANGLES, sweep, flips, distortion.angle), key="sweep"
        )
        if flips:
            st.caption(
                "Dotted lines: the answer flips at "
                + ", ".join(f"{angle:+.0f}° ({before}→{after})" for angle, before, after in flips)
                + f". The indigo line is the slider's angle; the slider stops at ±{MAX_ANGLE}°, "
                "the sweep goes on to a digit on its side."
            )
        else:
            st.caption("The answer holds at every angle of the sweep.")
