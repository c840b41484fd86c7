"""The Inside page's map of what the model learnt: the 10,000 test digits, one point each,
laid out from their last-layer features (`mnist_cnn.digit_map`), with the digit being looked at
placed on it. PCA is there at once; t-SNE is computed in the background on first ask (a
progress bar meanwhile) and then kept.

Drawn with WebGL (Plotly's ``Scattergl``): 10,000 SVG points would make the page crawl. A click
on a point opens that test digit on the Inside page.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_cnn.digit_map import PLACE_NEIGHBOURS, DigitMap, place_image
from mnist_cnn.features import feature_size
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import LoadedModel
from studio import chart_display, messages, resources

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAP_KEY = "digit_map"
MISREAD_ONLY_KEY = "digit_map_misread_only"
LAYOUT_KEY = "digit_map_layout"
LAYOUT_NAMES = {"pca": "PCA (exact, at once)", "tsne": "t-SNE (clearer clouds, computed once)"}
# How long a t-SNE map of the 10,000 test digits took here (benchmarks/bench_neighbours.py):
# the progress bar's scale. A slower server's bar waits at its end.
TSNE_EXPECTED_S = 25.0
POLL_S = 1.0
# Ten colours a digit, told apart easily (Plotly's D3 palette).
DIGIT_COLOURS = (
    "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD",
    "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF",
)  # fmt: skip
POINT_SIZE, MISREAD_POINT_SIZE, YOUR_POINT_SIZE = 4, 7, 18
MAP_HEIGHT = 520
YOUR_DIGIT = "this digit"


def figure(digit_map: DigitMap, misread_only: bool, here: np.ndarray | None) -> go.Figure:
    """One WebGL trace a label (its test indices as customdata), and ``here`` as a star."""
    import plotly.graph_objects as go

    shown = digit_map.misread if misread_only else np.ones(len(digit_map.labels), bool)
    traces = []
    for digit in DIGITS:
        rows = np.flatnonzero(shown & (digit_map.labels == digit))
        traces.append(
            go.Scattergl(
                x=digit_map.points[rows, 0],
                y=digit_map.points[rows, 1],
                mode="markers",
                name=str(digit),
                marker={
                    "size": MISREAD_POINT_SIZE if misread_only else POINT_SIZE,
                    "color": DIGIT_COLOURS[digit],
                },
                # A list, not an array: Plotly sends arrays as typed binary, which a click's
                # selection hands back as a dict of strings.
                customdata=np.stack([rows, digit_map.predicted[rows]], axis=1).tolist(),
                hovertemplate=f"test digit #%{{customdata[0]}}: a {digit}, read as "
                "%{customdata[1]}<extra></extra>",
            )
        )
    if here is not None:
        traces.append(
            go.Scatter(
                x=[here[0]],
                y=[here[1]],
                mode="markers",
                name=YOUR_DIGIT,
                marker={"size": YOUR_POINT_SIZE, "color": "black", "symbol": "star"},
                hovertemplate=f"{YOUR_DIGIT}<extra></extra>",
            )
        )
    result = go.Figure(traces)
    result.update_layout(
        height=MAP_HEIGHT,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"title": {"text": "True digit"}, "itemsizing": "constant"},
        xaxis={"title": digit_map.axis_titles[0]},
        yaxis={"title": digit_map.axis_titles[1]},
    )
    return result


def _open_clicked() -> None:
    """A click on a test digit's point makes it the Inside page's digit."""
    from studio import inside_view

    points = st.session_state[MAP_KEY].selection.points
    clicked = [point for point in points if point.get("customdata")]
    if not clicked:
        return
    index = int(clicked[0]["customdata"][0])
    images, labels = resources.test_set()
    inside_view.open_digit(images[index], f"test digit #{index}", int(labels[index]))


def digit_map(loaded: LoadedModel, image: np.ndarray) -> None:
    """The layout choice, the map with ``image`` placed on it, and the misread-only toggle."""
    layout = st.segmented_control(
        "Layout", list(LAYOUT_NAMES), format_func=LAYOUT_NAMES.get, default="pca", key=LAYOUT_KEY
    )
    if layout == "tsne":
        progress = resources.tsne_map(loaded.record)
        if not progress.done:
            tsne_progress(loaded)
            return
        if progress.status == "failed":
            st.error(
                "The t-SNE map could not be computed: "
                + messages.for_visitor(progress.message)
                + ". The PCA map still works.",
                icon=":material/error:",
            )
            return
        mapped = progress.result
    else:
        with st.spinner("Mapping the 10,000 test digits…"):
            mapped = resources.digit_map(loaded.record)
    show(loaded, mapped, image)


@st.fragment(run_every=POLL_S)
def tsne_progress(loaded: LoadedModel) -> None:
    """A bar while the t-SNE map is computed; the page reruns when it is there."""
    progress = resources.tsne_map(loaded.record)
    if progress.done:
        st.rerun()
    if progress.status == "waiting":
        st.info("The t-SNE map waits for another model's to finish.", icon=":material/schedule:")
        return
    elapsed = time.time() - progress.started_at
    st.progress(
        min(elapsed / TSNE_EXPECTED_S, 1.0),
        text=f"Computing the t-SNE map of the 10,000 test digits: {elapsed:.0f} s of about "
        f"{TSNE_EXPECTED_S:.0f} s, once for this model. The PCA map is there meanwhile.",
    )


def show(loaded: LoadedModel, mapped: DigitMap, image: np.ndarray) -> None:
    """The map of ``mapped`` with ``image`` placed on it, and the misread-only toggle."""
    here = place_image(loaded.model, mapped, image)
    misread_only = st.toggle(
        f"Only the {int(mapped.misread.sum())} misread test digits", key=MISREAD_ONLY_KEY
    )
    chart_display.plotly(
        figure(mapped, misread_only, here),
        key=MAP_KEY,
        on_select=_open_clicked,
        selection_mode="points",
    )
    placed = (
        "placed by the same projection"
        if mapped.layout == "pca"
        else f"placed among its {PLACE_NEIGHBOURS} nearest test digits (t-SNE cannot project)"
    )
    st.caption(
        f"Each point is a test digit, coloured by its true label; the black star is "
        f"{YOUR_DIGIT}, {placed}. Hover for a digit's number and answer, click one to look "
        "inside it. Clouds that touch here may still be apart in the model's "
        f"{feature_size(loaded.model)} features."
    )
