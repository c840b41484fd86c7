"""Plotly figures for the Inside page: the dense layer's units and the rotation sweep.

Pure functions of the data, like studio/charts.py, whose colours and font they share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from mnist_cnn.shapes import DIGITS
from studio.charts import _FONT, MUTED, PRIMARY, TEXT

# One colour per digit in the sweep: ten lines must stay apart at a glance.
DIGIT_COLOURS = qualitative.T10
SMALL_HEIGHT = 300


def dense_figure(values: np.ndarray) -> go.Figure:
    """The dense layer's units as bars, strongest in indigo; a unit at 0 is switched off by ReLU."""
    strongest = set(np.argsort(values)[::-1][:5].tolist())
    figure = go.Figure(
        go.Bar(
            x=values,
            y=np.arange(len(values)),
            orientation="h",
            marker_color=[PRIMARY if i in strongest else MUTED for i in range(len(values))],
            hovertemplate="unit %{y}: %{x:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=SMALL_HEIGHT + 120,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "activation", "fixedrange": True},
        yaxis={
            "title": "unit",
            "autorange": "reversed",
            "fixedrange": True,
            "showticklabels": False,
        },
        bargap=0.15,
        showlegend=False,
        font=_FONT,
    )
    return figure


def output_figure(probabilities: np.ndarray) -> go.Figure:
    """The ten probabilities as horizontal bars (the output layer), the winner in indigo."""
    predicted = int(np.argmax(probabilities))
    figure = go.Figure(
        go.Bar(
            x=probabilities,
            y=[str(digit) for digit in range(len(probabilities))],
            orientation="h",
            marker_color=[PRIMARY if d == predicted else MUTED for d in DIGITS],
            hovertemplate="digit %{y}: %{x:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=SMALL_HEIGHT,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"range": [0, 1], "tickformat": ".0%", "fixedrange": True},
        yaxis={"type": "category", "autorange": "reversed", "fixedrange": True},
        showlegend=False,
        font=_FONT,
    )
    return figure


def sweep_figure(
    angles: np.ndarray,
    probabilities: np.ndarray,
    flips: Sequence[tuple[float, int, int]],
    current_angle: float,
) -> go.Figure:
    """The ten probabilities across rotation angles; dotted lines where the answer flips."""
    upright = int(np.argmax(probabilities[int(np.argmin(np.abs(angles)))]))
    figure = go.Figure()
    for digit in range(probabilities.shape[1]):
        figure.add_scatter(
            x=angles,
            y=probabilities[:, digit],
            mode="lines",
            name=str(digit),
            line={"color": DIGIT_COLOURS[digit], "width": 3.5 if digit == upright else 1.5},
            hovertemplate=f"{digit} at %{{x}}°: %{{y:.0%}}<extra></extra>",
        )
    for angle, before, after in flips:
        figure.add_vline(
            x=angle,
            line={"color": TEXT, "width": 1, "dash": "dot"},
            annotation={"text": f"{before}→{after}", "font": {"size": 12}},
        )
    figure.add_vline(x=current_angle, line={"color": PRIMARY, "width": 2})
    figure.update_layout(
        height=SMALL_HEIGHT + 40,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "turned counter-clockwise by (degrees)", "fixedrange": True},
        yaxis={"title": "probability", "range": [0, 1.02], "tickformat": ".0%"},
        legend={"title": {"text": "digit"}},
        font=_FONT,
    )
    return figure
