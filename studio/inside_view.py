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
MAP_COLUMNS = {32: 4, 64: 8}  # mosaic columns for a layer with this many maps
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
    """Readable titles for the layers: 'Conv 1', 'Pool 1', ..., 'Dense', 'Output'."""
    titles, counts = {}, {}
    for position, layer in enumerate(model.layers):
        kind = {
            keras.layers.Conv2D: "Conv",
            keras.layers.MaxPooling2D: "Pool",
            keras.layers.Flatten: "Flatten",
            keras.layers.Dense: "Dense",
        }.get(type(layer), type(layer).__name__)
        if position == len(model.layers) - 1:
            titles[layer.name] = "Output"
            continue
        counts[kind] = counts.get(kind, 0) + 1
        titles[layer.name] = f"{kind} {counts[kind]}" if kind in ("Conv", "Pool") else kind
    return titles


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
    """Every layer left to right: map mosaics on one colour scale each, then dense and output."""
    titles = layer_titles(model)
    maps = {name: value for name, value in outputs.items() if value.ndim == 3}
    flat = [name for name, value in outputs.items() if value.ndim == 1]
    dense, output = flat[-2], flat[-1]
    widths = [MAP_COLUMNS.get(value.shape[-1], 8) for value in maps.values()]
    columns = st.columns([*widths, 6, 5], gap="small")
    for column, (name, value) in zip(columns, maps.items(), strict=False):
        height, width, count = value.shape
        columns_in_mosaic = MAP_COLUMNS.get(count, 8)
        column.markdown(f"**{titles[name]}**")
        column.image(
            pictures.feature_maps(value, columns_in_mosaic, MAP_ZOOM),
            caption=f"{count} maps, {height}x{width}; brightest = {value.max():.2f}",
            output_format="PNG",
            width="stretch",
        )
    with columns[-2]:
        st.markdown(f"**{titles[dense]}**")
        chart_display.plotly(inside_charts.dense_figure(outputs[dense]), key="dense-layer")
        st.caption(
            f"{len(outputs[dense])} units. Before them, flatten lays the last maps out as one "
            f"row of {list(maps.values())[-1].size:,} numbers."
        )
    with columns[-1]:
        st.markdown(f"**{titles[output]}**")
        chart_display.plotly(inside_charts.output_figure(outputs[output]), key="output-layer")
        st.caption("Softmax turns the ten scores into probabilities.")


@st.fragment
def feature_map(loaded: LoadedModel, digit: InsideDigit) -> None:
    """One feature map enlarged, the filter that made it, and what its strongest unit saw."""
    model = loaded.model
    outputs = _layer_outputs(loaded.record.id, digit.image.tobytes(), model)
    titles = layer_titles(model)
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
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
    with filter_column:
        if filters.shape[0] == 1:
            st.image(
                pictures.signed_mosaic(filters, 1, DETAIL_ZOOM * 4),
                caption="Its 3x3 filter (red adds, blue subtracts)",
                output_format="PNG",
                width=180,
            )
        else:
            st.image(
                pictures.signed_mosaic(filters, 8, DETAIL_ZOOM),
                caption=f"Its {filters.shape[0]} 3x3 kernels, one per map of the layer before "
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
    """Conv 1's filters as a grid: the first thing the model looks for."""
    first = next(layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    filters = conv_filters(model, first)[:, 0]
    st.image(
        pictures.signed_mosaic(filters, 16, DETAIL_ZOOM * 2),
        caption=f"{len(filters)} filters of 3x3 weights: red adds the pixel under it, blue "
        "subtracts it. Many are edge detectors: red on one side, blue on the other.",
        output_format="PNG",
        width=700,
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
