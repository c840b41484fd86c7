"""The model's answer: the predicted digit, a note when it is unsure, all ten probabilities."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_cnn.style_hints import style_hint
from studio import compat
from studio.calibration_view import sure_at
from studio.chart_display import vega

YOUR_DRAWINGS_PAGE = "app_pages/your_drawings.py"


def prediction(probabilities: np.ndarray, *, head_start: bool = False) -> None:
    """The predicted digit as the "Prediction" metric, a note when unsure, all ten as bars.

    With ``head_start``, the metric gets a moment to show before the rest
    (``compat.give_answer_head_start``): for a page that answers each stroke and then redraws
    much else.
    """
    ranked = np.argsort(probabilities)[::-1]
    digit, runner_up = int(ranked[0]), int(ranked[1])
    confidence = float(probabilities[digit])
    confident_metric("Prediction", digit, confidence)
    if head_start:
        compat.give_answer_head_start()
    if confidence < sure_at():  # the session's threshold, set on the Evaluate page
        unsure = (
            f"The model is unsure: {digit} at {confidence:.0%}, {runner_up} at "
            f"{probabilities[runner_up]:.0%}."
        )
        hint = style_hint(digit, runner_up)
        if hint is None:
            st.warning(f"{unsure} Try a larger, centred digit.", icon=":material/help:")
        else:
            st.warning(
                f"{unsure} {hint[0].upper()}{hint[1:]}. If that is how you write, teach the "
                "model yours.",
                icon=":material/help:",
            )
            st.page_link(
                YOUR_DRAWINGS_PAGE, label="Teach it your handwriting", icon=":material/school:"
            )
    from studio import charts  # pandas: not needed before the first prediction

    vega(charts.probability_frame(probabilities), charts.PROBABILITY_SPEC)


def confident_metric(label: str, digit: int, confidence: float) -> None:
    """A digit as a metric, and how sure the model is of it underneath (no arrow, no colour)."""
    st.metric(
        label,
        str(digit),
        delta=f"{confidence:.0%} confident",
        delta_color="off",
        delta_arrow="off",
    )
