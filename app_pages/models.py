"""Models page: every model on this server, one in detail, or several compared, then a chart
of them all: what each network's size and training time buy."""

import streamlit as st

from mnist_cnn import settings
from mnist_cnn.store import all_records
from studio import models_view

st.title("Models")
st.caption(
    "The bundled model and every model trained on this server. Choose a row to see how it was "
    "made, download it or use it; choose two or more to compare them. The chart below the "
    "table sets every model's accuracy against its size and its training time."
    + ("" if settings.public_mode() else " Trained models can be renamed or deleted.")
)

records = all_records()
chosen = models_view.table(records)
if not chosen:
    st.info(
        "Choose a row (the box at its left) for details, or several to compare them.",
        icon=":material/touch_app:",
    )
elif len(chosen) == 1:
    models_view.details(chosen[0])
else:
    models_view.compare(chosen)

# Last, so that a chosen model's details open right under the table.
models_view.tradeoffs(records)
