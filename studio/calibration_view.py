"""The Evaluate page's "How sure, and how right" section: whether the model's confidence keeps
its promise (reliability, ECE) and what answering only when sure gives (coverage).

The threshold picked here is the session's: the Draw page calls an answer below it "unsure".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from mnist_cnn.calibration import DEFAULT_SURE_AT, coverage, reliability
from studio import chart_display

if TYPE_CHECKING:  # the Draw page imports this module for sure_at: no TensorFlow before its use
    from mnist_cnn.evaluation import Evaluation

SURE_AT = "sure_at"  # session state: the visitor's "answer only when this sure" threshold
SURE_AT_WIDGET = "sure_at_slider"
# The slider's range, as percentages: below half, the top digit may not be the likeliest pair.
SLIDER_LOWEST, SLIDER_HIGHEST, SLIDER_STEP = 50.0, 99.9, 0.1


def sure_at() -> float:
    """This session's threshold (a probability): its choice on Evaluate, else the default."""
    return st.session_state.get(SURE_AT, DEFAULT_SURE_AT)


def _keep_threshold() -> None:
    # The slider's own state is dropped on pages that do not draw it: keep a copy that stays.
    st.session_state[SURE_AT] = st.session_state[SURE_AT_WIDGET] / 100


def how_sure(evaluation: Evaluation) -> None:
    """ECE raw and calibrated, the reliability diagram, and the coverage slider."""
    labels = evaluation.labels
    raw = reliability(evaluation.raw_probabilities, labels)
    shown = reliability(evaluation.probabilities, labels)
    ece_raw, ece_shown, temperature = st.columns(3)
    ece_raw.metric("Calibration error, raw", f"{raw.ece:.2%}")
    if evaluation.temperature is None:
        ece_shown.metric("Calibrated", "not yet")
        temperature.caption(
            "This model has no temperature: its probabilities are the network's own. "
            "`python -m mnist_cnn calibrate` fits one on held-out training digits."
        )
    else:
        ece_shown.metric("Calibration error, as shown", f"{shown.ece:.2%}")
        temperature.metric("Temperature", f"{evaluation.temperature:.2f}")
    st.caption(
        "Expected calibration error: over 15 confidence bins, the gap between how sure the "
        "model said it was and how often it was right, weighted by each bin's digits. The "
        "temperature (fitted on digits it did not train on) divides the model's scores before "
        "the softmax; it never changes the answer, only how sure it sounds."
    )
    from studio import charts  # pandas: not needed by the Draw page's sure_at

    chart_display.vega(charts.reliability_frame(shown), charts.RELIABILITY_SPEC)

    if SURE_AT_WIDGET not in st.session_state:
        st.session_state[SURE_AT_WIDGET] = round(sure_at() * 100, 1)
    threshold = (
        st.slider(
            "Answer only when at least this sure (%)",
            SLIDER_LOWEST,
            SLIDER_HIGHEST,
            step=SLIDER_STEP,
            key=SURE_AT_WIDGET,
            on_change=_keep_threshold,
            help="The Draw page calls an answer below this unsure.",
        )
        / 100
    )
    answered = coverage(evaluation.probabilities, labels, threshold)
    if answered.answered == 0:
        st.write(f"At {threshold:.1%} sure the model answers none of the test digits.")
    else:
        st.write(
            f"At {threshold:.1%} sure it answers **{answered.answered:.1%}** of the test digits "
            f"and gets **{answered.accuracy:.2%}** of those right."
        )
