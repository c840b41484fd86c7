"""The Models page's chart of every model: test accuracy against size and against training time,
each panel's Pareto front marked, so that the network lab's question (what does a bigger or
slower network buy?) is answered at a glance.

Pure functions of the data, like studio/charts.py, whose colours and font they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mnist_cnn.architecture import PRESET_LABELS
from studio.charts import _FONT, ACCENT, PRIMARY, TEXT

# One colour per architecture, the same on every visit: the seed (the product's model) in the
# theme's indigo, Custom in slate, the presets in distinct hues between.
ARCHITECTURE_COLOURS = dict(
    zip(
        PRESET_LABELS.values(),
        [PRIMARY, ACCENT, "#10B981", "#EF4444", "#0EA5E9", "#EC4899", "#64748B"],
        strict=True,
    )
)
OTHER_COLOUR = "#94A3B8"  # a label newer than this module: still drawn, in grey
FRONT_NAME = "Pareto front"
PANEL_TITLES = ("Accuracy against parameters", "Accuracy against training time")
HEIGHT = 380
POINT_SIZE = 10
# Models on the front are drawn larger, ringed in the text colour, over the dotted staircase.
FRONT_POINT_SIZE = 15
FRONT_RING_WIDTH = 2
# Round ticks on the log axes (Plotly's own label 2s and 5s under every decade: clutter).
PARAMETER_TICKS = [scale * 10**power for power in range(2, 8) for scale in (1, 2, 5)]
TIME_TICKS = {
    1: "1 s", 2: "2 s", 5: "5 s", 10: "10 s", 20: "20 s", 30: "30 s", 60: "1 min",
    120: "2 min", 300: "5 min", 600: "10 min", 1200: "20 min", 1800: "30 min", 3600: "1 h",
    7200: "2 h", 18000: "5 h", 36000: "10 h",
}  # fmt: skip


@dataclass(frozen=True)
class ModelPoint:
    """One model on the chart; a missing figure leaves it off the panels that need it."""

    name: str  # the model's name, shown on hover
    architecture: str  # its network's label: 'Seed', 'Tiny', 'Custom'
    accuracy: float | None  # test accuracy, a fraction
    parameters: int | None
    seconds: float | None  # training time; None for a taught model (only its teaching's time)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """The indices of the (accuracy, cost) points no other point beats, cheapest first.

    Higher accuracy and lower cost (parameters, seconds) are better. A point is beaten by one
    at least as accurate and at least as cheap and strictly better in one of the two: every
    seed model has 121,930 parameters, and only the most accurate of them is worth its size.
    Points equal in both stay on the front together. Quadratic, for a page's few models.
    """

    def beaten(index: int) -> bool:
        accuracy, cost = points[index]
        return any(
            other_accuracy >= accuracy
            and other_cost <= cost
            and (other_accuracy > accuracy or other_cost < cost)
            for other_accuracy, other_cost in points
        )

    front = [index for index in range(len(points)) if not beaten(index)]
    return sorted(front, key=lambda index: (points[index][1], points[index][0]))


def tradeoff_figure(points: Sequence[ModelPoint]) -> go.Figure:
    """Two panels sharing the accuracy axis: against parameters, against training time.

    One trace per architecture in each panel (coloured alike, one legend entry), and a dotted
    staircase through the panel's Pareto front: the best accuracy each size or time buys. Both
    x axes are logarithmic, as the presets span 5,000 to half a million parameters.
    """
    figure = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05, subplot_titles=PANEL_TITLES
    )
    in_legend: set[str] = set()
    for column, cost_of, cost_hover in (
        (1, _parameters, "%{x:,} parameters"),
        (2, _seconds, "trained in %{x:,.0f} s"),
    ):
        shown = [p for p in points if p.accuracy is not None and cost_of(p) is not None]
        front = pareto_front([(p.accuracy, cost_of(p)) for p in shown])
        on_front = {id(shown[index]) for index in front}
        figure.add_scatter(
            x=[cost_of(shown[index]) for index in front],
            y=[shown[index].accuracy for index in front],
            text=[shown[index].name for index in front],
            mode="lines",
            name=FRONT_NAME,
            legendgroup=FRONT_NAME,
            showlegend=column == 1 and bool(front),
            line={"color": TEXT, "width": 1, "dash": "dot", "shape": "hv"},
            hoverinfo="skip",
            row=1,
            col=column,
        )
        for label in _labels(shown):
            members = [p for p in shown if p.architecture == label]
            front_flags = [id(p) in on_front for p in members]
            figure.add_scatter(
                x=[cost_of(p) for p in members],
                y=[p.accuracy for p in members],
                text=[p.name for p in members],
                customdata=[
                    "on the Pareto front" if flag else "beaten by another model"
                    for flag in front_flags
                ],
                mode="markers",
                name=label,
                legendgroup=label,
                showlegend=label not in in_legend,
                marker={
                    "color": ARCHITECTURE_COLOURS.get(label, OTHER_COLOUR),
                    "size": [FRONT_POINT_SIZE if flag else POINT_SIZE for flag in front_flags],
                    "line": {
                        "color": TEXT,
                        "width": [FRONT_RING_WIDTH if flag else 0 for flag in front_flags],
                    },
                },
                hovertemplate=(
                    f"<b>%{{text}}</b><br>test accuracy %{{y:.2%}}<br>{cost_hover}"
                    f"<br>%{{customdata}}<extra>{label}</extra>"
                ),
                row=1,
                col=column,
            )
            in_legend.add(label)
    figure.update_xaxes(
        type="log",
        title_text="parameters (log scale)",
        tickvals=PARAMETER_TICKS,
        tickformat="~s",
        row=1,
        col=1,
    )
    figure.update_xaxes(
        type="log",
        title_text="training time (log scale)",
        tickvals=list(TIME_TICKS),
        ticktext=list(TIME_TICKS.values()),
        row=1,
        col=2,
    )
    figure.update_yaxes(title_text="test accuracy", tickformat=".1%", row=1, col=1)
    figure.update_layout(
        height=HEIGHT,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        # Legend symbols all one size: a model on the front is drawn larger, its network is not.
        legend={"orientation": "h", "y": -0.25, "itemsizing": "constant"},
        font=_FONT,
    )
    return figure


def _parameters(point: ModelPoint) -> float | None:
    return point.parameters


def _seconds(point: ModelPoint) -> float | None:
    return point.seconds


def _labels(points: Sequence[ModelPoint]) -> list[str]:
    """The architectures present, in the presets' order (Custom last), then any others."""
    present = {point.architecture for point in points}
    known = [label for label in PRESET_LABELS.values() if label in present]
    return known + sorted(present - set(known))
