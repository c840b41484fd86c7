"""The Inside page's map of what the model learnt: the 10,000 test digits, one point each,
placed by the principal components of their last-layer features (`mnist_cnn.digit_map`), with
the digit being looked at placed on it by the same projection.

Drawn with WebGL (Plotly's ``Scattergl``): 10,000 SVG points would make the page crawl. A click
on a point opens that test digit on the Inside page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_cnn.digit_map import DigitMap, place_image
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import LoadedModel
from studio import chart_display, resources

if TYPE_CHECKING:
    import plotly.graph_objects as go

MAP_KEY = "digit_map"
MISREAD_ONLY_KEY = "digit_map_misread_only"
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
    first, second = digit_map.explained
    result = go.Figure(traces)
    result.update_layout(
        height=MAP_HEIGHT,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"title": {"text": "True digit"}, "itemsizing": "constant"},
        xaxis={"title": f"1st principal component ({first:.0%} of the variance)"},
        yaxis={"title": f"2nd ({second:.0%})"},
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
    """The map, the misread-only toggle, and ``image`` placed on it."""
    with st.spinner("Mapping the 10,000 test digits…"):
        mapped = resources.digit_map(loaded.record)
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
    st.caption(
        f"Each point is a test digit, coloured by its true label; the black star is "
        f"{YOUR_DIGIT}, placed by the same projection. Hover for a digit's number and "
        "answer, click one to look inside it. The two axes keep "
        f"{sum(mapped.explained):.0%} of how the 64 features vary: clouds that overlap here "
        "may still be apart in the rest."
    )
