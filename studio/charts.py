"""Charts for the pages: Vega-Lite specs with data frames for what changes, Plotly for the
confusion matrix (it reports clicks on single squares). Pure functions of the data, cheap to test.

Colours follow the theme in ``.streamlit/config.toml``: indigo for the model's own figures,
amber for validation, grey for everything else.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mnist_cnn.shapes import DIGITS

if TYPE_CHECKING:  # at run time only their fields are read: no need to import TensorFlow
    from mnist_cnn.calibration import Reliability
    from mnist_cnn.evaluation import Evaluation
    from mnist_cnn.training import BatchProgress, EpochProgress

PRIMARY = "#4F46E5"
PRIMARY_LIGHT = "#C7C9F9"
ACCENT = "#F59E0B"
MUTED = "#CBD5E1"
TEXT = "#1F2330"
WHITE = "#FFFFFF"
# Confusion matrix squares, from an empty cell (0) to a whole row (1): see confusion_figure.
CONFUSION_COLOURS = [[0, "#F3F4F8"], [0.15, PRIMARY_LIGHT], [1, PRIMARY]]
# Exponential smoothing weight of the newest batch report: noisy single reports hide the trend.
SMOOTHING = 0.25
# Series names: the legends' labels.
RAW, SMOOTHED = "per batch", "smoothed"
TRAIN, VALIDATION = "train", "validation"
LEARNING_RATE = "learning rate"
_FONT = {"family": "Source Sans Pro, sans-serif", "color": TEXT}


def probability_frame(probabilities: np.ndarray) -> pd.DataFrame:
    """The ten class probabilities, the predicted digit marked, for PROBABILITY_SPEC."""
    predicted = int(np.argmax(probabilities))
    return pd.DataFrame(
        {
            "digit": [str(digit) for digit in DIGITS],
            "probability": np.asarray(probabilities, dtype=float),
            "predicted": [digit == predicted for digit in DIGITS],
            "label": [f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
        }
    )


# The specs below never change; only the data passed with them does. Streamlit then updates a
# Vega-Lite chart in place (the browser swaps the data in the chart's existing view), where a
# changed Plotly figure is a new element that is drawn again from scratch: a visible blink.
PROBABILITY_SPEC: dict = {
    "height": 240,
    "encoding": {
        "x": {"field": "digit", "type": "ordinal", "title": "digit", "axis": {"labelAngle": 0}},
        "y": {
            "field": "probability",
            "type": "quantitative",
            "title": None,
            "scale": {"domain": [0, 1]},
            "axis": {"format": ".0%", "tickCount": 5},
        },
    },
    "layer": [
        {
            "mark": {"type": "bar", "tooltip": {"content": "data"}},
            "encoding": {
                "color": {
                    "condition": {"test": "datum.predicted", "value": PRIMARY},
                    "value": MUTED,
                },
                "tooltip": [
                    {"field": "digit", "title": "digit"},
                    {"field": "probability", "format": ".1%", "title": "probability"},
                ],
            },
        },
        {
            "mark": {"type": "text", "baseline": "bottom", "dy": -2, "color": TEXT},
            "encoding": {"text": {"field": "label"}},
        },
    ],
}


def smooth(values: Sequence[float], weight: float = SMOOTHING) -> list[float]:
    """Exponential moving average, as TensorBoard draws training curves."""
    smoothed, average = [], None
    for value in values:
        average = value if average is None else weight * value + (1 - weight) * average
        smoothed.append(average)
    return smoothed


def batch_frame(batches: Sequence[BatchProgress], metric: str) -> pd.DataFrame:
    """One metric ("loss" or "accuracy") per batch report, raw and smoothed, against epochs.

    Long form (one row per point and series), as Vega-Lite colours lines by a column.
    """
    position = [b.epoch - 1 + b.batch / b.batches_per_epoch for b in batches]
    values = [getattr(b, metric) for b in batches]
    return pd.DataFrame(
        {
            "epoch": position * 2,
            "value": values + smooth(values),
            "series": [RAW] * len(values) + [SMOOTHED] * len(values),
        }
    )


def epoch_frame(epochs: Sequence[EpochProgress], metric: str) -> pd.DataFrame:
    """One metric ("loss" or "accuracy") at the end of each epoch, train and validation."""
    rows = [
        {"epoch": e.epoch, "value": value, "series": series}
        for e in epochs
        for series, value in (
            (TRAIN, getattr(e, metric)),
            (VALIDATION, getattr(e, f"val_{metric}")),
        )
        if value is not None  # trained without a validation split
    ]
    return pd.DataFrame(rows, columns=["epoch", "value", "series"])


def rate_frame(batches: Sequence[BatchProgress]) -> pd.DataFrame | None:
    """The learning rate at each batch report, or None when the reports do not carry it."""
    rates = [b.learning_rate for b in batches]
    if all(rate is None for rate in rates):
        return None
    position = [b.epoch - 1 + b.batch / b.batches_per_epoch for b in batches]
    return pd.DataFrame({"epoch": position, "value": rates, "series": LEARNING_RATE})


def line_spec(
    title: str,
    series: dict[str, tuple[str, float]],
    y_format: str,
    legend: str | None,
    zero: bool = False,
) -> dict:
    """A training curve: ``series`` maps each series' name to its colour and line width.

    The y axis leaves out zero unless asked (``zero``), so that the last fractions of a
    percent of accuracy stay visible. ``legend`` is a corner inside the plot where the curves
    are not (Vega's legend orient), or None where the heading explains the lines: a legend
    outside the plot takes a third of its height.
    """
    names = list(series)
    by_epoch = legend is not None  # the per-epoch charts: few points, marked
    return {
        "title": {"text": title, "anchor": "start", "fontSize": 14},
        "height": 280,
        "mark": {"type": "line", "point": by_epoch, "tooltip": True},
        "encoding": {
            "x": {
                "field": "epoch",
                "type": "quantitative",
                "title": "epoch",
                "axis": {"tickMinStep": 1 if by_epoch else 0.5, "format": "d" if by_epoch else "g"},
            },
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": None,
                "scale": {"zero": zero},
                "axis": {"format": y_format},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": names, "range": [colour for colour, _ in series.values()]},
                "legend": {"orient": legend, "title": None} if legend else None,
            },
            "strokeWidth": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": names, "range": [width for _, width in series.values()]},
                "legend": None,
            },
        },
    }


_PER_BATCH = {RAW: (PRIMARY_LIGHT, 1.0), SMOOTHED: (PRIMARY, 2.5)}
_PER_EPOCH = {TRAIN: (PRIMARY, 2.0), VALIDATION: (ACCENT, 2.0)}
BATCH_LOSS_SPEC = line_spec("Loss", _PER_BATCH, ".2f", legend=None)
BATCH_ACCURACY_SPEC = line_spec("Accuracy", _PER_BATCH, ".1%", legend=None)
# A schedule's warm-up and decay, to read against the loss.
LEARNING_RATE_SPEC = line_spec(
    "Learning rate", {LEARNING_RATE: (ACCENT, 2.5)}, ".1e", legend=None, zero=True
)
EPOCH_LOSS_SPEC = line_spec("Loss", _PER_EPOCH, ".2f", legend="top-right")
EPOCH_ACCURACY_SPEC = line_spec("Accuracy", _PER_EPOCH, ".1%", legend="bottom-right")


def _training_layout(figure: go.Figure, x_title: str) -> go.Figure:
    figure.update_xaxes(title_text=x_title)
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        font=_FONT,
    )
    return figure


def confusion_figure(confusion: np.ndarray, normalise: bool = False) -> go.Figure:
    """The confusion matrix as square markers, which (unlike a heatmap) report clicks.

    Colour follows the square root of the share of the row, so the few mistakes off the
    diagonal stand out against the thousands of correct answers on it.
    """
    row_totals = confusion.sum(axis=1, keepdims=True)
    shares = confusion / np.maximum(row_totals, 1)
    true_digits, predicted_digits = np.indices(confusion.shape)
    shown = shares if normalise else confusion
    labels = [_cell_label(value, normalise) for value in shown.ravel()]
    intensity = np.sqrt(shares.ravel())
    figure = go.Figure(
        go.Scatter(
            x=predicted_digits.ravel(),
            y=true_digits.ravel(),
            mode="markers+text",
            marker={
                "symbol": "square",
                "size": 40,
                "color": intensity,
                "colorscale": CONFUSION_COLOURS,
                "cmin": 0,
                "cmax": 1,
                "line": {"width": 0},
            },
            text=labels,
            textfont={"color": [label_colour(i) for i in intensity], "size": 12},
            # A selected cell stays vivid; the others fade, but their numbers stay legible.
            unselected={"marker": {"opacity": 0.35}, "textfont": {"color": TEXT}},
            customdata=np.stack([confusion.ravel(), shares.ravel()], axis=1),
            hovertemplate=(
                "true %{y}, predicted %{x}<br>%{customdata[0]} images "
                "(%{customdata[1]:.1%} of the %{y}s)<extra></extra>"
            ),
        )
    )
    axis = {"tickmode": "array", "tickvals": list(DIGITS), "fixedrange": True, "showgrid": False}
    figure.update_layout(
        height=520,
        width=520,
        margin={"l": 60, "r": 10, "t": 20, "b": 60},
        xaxis={**axis, "title": "predicted digit", "range": [-0.6, 9.6], "constrain": "domain"},
        yaxis={
            **axis,
            "title": "true digit",
            "range": [9.6, -0.6],
            "scaleanchor": "x",
            "constrain": "domain",
        },
        plot_bgcolor="white",
        font=_FONT,
        dragmode=False,
        clickmode="event+select",
    )
    return figure


def label_colour(intensity: float) -> str:
    """Dark or white, whichever stands out more on the square of this colour-scale value.

    Light squares (few images) get dark numbers, dark squares white ones: the lowest contrast,
    where the two cross over in the middle of the scale, is still about 4:1.
    """
    square = luminance(scale_colour(intensity))
    return max((TEXT, WHITE), key=lambda text: contrast(luminance(text), square))


def contrast(luminance_a: float, luminance_b: float) -> float:
    """WCAG contrast ratio of two relative luminances, 1 to 21."""
    lighter, darker = max(luminance_a, luminance_b), min(luminance_a, luminance_b)
    return (lighter + 0.05) / (darker + 0.05)


def scale_colour(intensity: float) -> str:
    """The colour Plotly interpolates (in RGB) on CONFUSION_COLOURS for ``intensity``."""
    for (low, low_colour), (high, high_colour) in itertools.pairwise(CONFUSION_COLOURS):
        if intensity <= high:
            weight = (intensity - low) / (high - low)
            rgb = [
                round(a + weight * (b - a))
                for a, b in zip(_rgb(low_colour), _rgb(high_colour), strict=True)
            ]
            return "#{:02X}{:02X}{:02X}".format(*rgb)
    return CONFUSION_COLOURS[-1][1]


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def luminance(colour: str) -> float:
    """WCAG relative luminance of an sRGB hex colour."""
    linear = [c / 255 for c in _rgb(colour)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in linear]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _cell_label(value: float, normalise: bool) -> str:
    """Empty cells stay blank so the mistakes that do happen stand out."""
    if value == 0:
        return ""
    if not normalise:
        return str(int(value))
    return f"{value:.0%}" if value >= 0.005 else "<1%"


# One colour per model when several are compared: the model colour first, then distinct hues.
MODEL_COLOURS = [PRIMARY, ACCENT, "#10B981", "#EF4444", "#0EA5E9", "#8B5CF6"]


def history_figure(histories: dict[str, Sequence[dict]]) -> go.Figure:
    """Per-epoch loss and accuracy of saved models (their metadata's ``history``), overlaid.

    Validation is the solid line (what tells models apart); training is dotted in the same
    colour. Models trained without a validation split show training only.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for index, (name, history) in enumerate(histories.items()):
        colour = MODEL_COLOURS[index % len(MODEL_COLOURS)]
        epochs = [entry.get("epoch") for entry in history]
        for prefix, dash, label in (("val_", "solid", "validation"), ("", "dot", "training")):
            for column, metric in ((1, "loss"), (2, "accuracy")):
                values = [entry.get(prefix + metric) for entry in history]
                if all(value is None for value in values):
                    continue
                figure.add_scatter(
                    x=epochs,
                    y=values,
                    mode="lines+markers",
                    name=f"{name}: {label}",
                    legendgroup=name,
                    line={"color": colour, "dash": dash},
                    showlegend=column == 1,
                    row=1,
                    col=column,
                )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(tickformat=".1%", row=1, col=2)
    return _training_layout(figure, "epoch")


def f1_figure(evaluations: dict[str, Evaluation]) -> go.Figure:
    """Per-digit F1 of several models as grouped bars: where one model beats another."""
    figure = go.Figure()
    for index, (name, evaluation) in enumerate(evaluations.items()):
        figure.add_bar(
            x=[str(row["digit"]) for row in evaluation.per_class()],
            y=[row["f1-score"] for row in evaluation.per_class()],
            name=name,
            marker_color=MODEL_COLOURS[index % len(MODEL_COLOURS)],
            hovertemplate=f"{name}<br>digit %{{x}}: F1 %{{y:.2%}}<extra></extra>",
        )
    lowest = min(
        (row["f1-score"] for e in evaluations.values() for row in e.per_class()), default=0.0
    )
    figure.update_layout(
        barmode="group",
        height=300,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        xaxis={"title": "digit", "type": "category"},
        # Zoomed to where the models differ: F1 scores of trained models sit close to 100%.
        yaxis={"title": "F1", "tickformat": ".0%", "range": [max(0.0, lowest - 0.02), 1.0]},
        legend={"orientation": "h", "y": -0.25},
        font=_FONT,
    )
    return figure


def reliability_frame(bins: Reliability) -> pd.DataFrame:
    """One row per non-empty confidence bin: its middle, accuracy, mean confidence, count."""
    middles = (bins.edges[:-1] + bins.edges[1:]) / 2
    filled = bins.counts > 0
    return pd.DataFrame(
        {
            "bin": middles[filled],
            "accuracy": bins.accuracy[filled],
            "confidence": bins.confidence[filled],
            "digits": bins.counts[filled],
        }
    )


# Accuracy per confidence bin against the diagonal a calibrated model lies on.
RELIABILITY_SPEC: dict = {
    "title": {"text": "Reliability: accuracy in each confidence bin", "anchor": "start"},
    "height": 260,
    "encoding": {
        "x": {
            "field": "confidence",
            "type": "quantitative",
            "title": "how sure (mean confidence in the bin)",
            "scale": {"domain": [0, 1]},
            "axis": {"format": ".0%"},
        },
        "y": {
            "field": "accuracy",
            "type": "quantitative",
            "title": "how often right",
            "scale": {"domain": [0, 1]},
            "axis": {"format": ".0%"},
        },
    },
    "layer": [
        {
            "data": {"values": [{"confidence": end, "accuracy": end} for end in (0, 1)]},
            "mark": {"type": "line", "color": MUTED, "strokeDash": [4, 4]},
        },
        {
            "mark": {"type": "point", "filled": True, "color": PRIMARY, "tooltip": True},
            "encoding": {
                "size": {"field": "digits", "type": "quantitative", "title": "digits"},
                "tooltip": [
                    {"field": "confidence", "format": ".2%", "title": "mean confidence"},
                    {"field": "accuracy", "format": ".2%", "title": "accuracy"},
                    {"field": "digits", "format": ",", "title": "digits"},
                ],
            },
        },
    ],
}
