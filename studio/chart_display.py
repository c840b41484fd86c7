"""Charts on the page: as wide as their column, without Plotly's toolbar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # pandas and Plotly load when a chart first needs them
    import pandas as pd
    import plotly.graph_objects as go


def plotly(figure: go.Figure, **kwargs: Any) -> Any:
    """Show a figure without Plotly's toolbar, which only clutters these small charts."""
    kwargs.setdefault("width", "stretch")
    return st.plotly_chart(figure, config={"displayModeBar": False}, **kwargs)


def vega(data: pd.DataFrame, spec: dict) -> None:
    """A Vega-Lite chart as wide as its column.

    Pass the same ``spec`` on every run and only ``data`` changing: Streamlit then updates the
    chart in place instead of drawing a new one (see studio/charts.py).
    """
    st.vega_lite_chart(data, spec, width="stretch")
