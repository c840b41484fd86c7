"""Evaluate page: how the active model does on the MNIST test set, and where it goes wrong."""

import streamlit as st

from mnist_cnn.data import DataError
from mnist_cnn.memory_budget import MemoryShortError
from studio import calibration_view, evaluation_view, messages, model_card, page_end, resources

st.title("Evaluate the model")
st.caption(
    "Your model (chosen in the sidebar) on MNIST's test digits, which it never saw in training. "
    "Click a square of the confusion matrix to see the digits behind it."
)

record = model_card.model_or_stop().record
try:
    images, _ = resources.test_set()
    evaluation = resources.evaluation(record)
except (DataError, MemoryShortError) as error:
    st.error(messages.for_visitor(str(error)), icon=":material/error:")
    page_end.end_page()

evaluation_view.summary(evaluation)

matrix_column, report_column = st.columns([6, 5], gap="large")
with matrix_column:
    st.subheader("Confusion matrix")
    scale = st.segmented_control(
        "Show", ["Counts", "Share of each row"], default="Counts", required=True
    )
    cell = evaluation_view.confusion_matrix(evaluation, normalise=scale != "Counts")
with report_column:
    st.subheader("Per digit")
    evaluation_view.per_class_table(evaluation)
    st.subheader("Most confused")
    evaluation_view.most_confused(evaluation)

if cell is None:
    st.info(
        "Click a square in the confusion matrix to see its test images.",
        icon=":material/touch_app:",
    )
else:
    evaluation_view.cell_images(evaluation, images, *cell)

st.subheader("How sure, and how right")
calibration_view.how_sure(evaluation)

st.subheader("Test digits and the model's answers")
mistakes_only = st.toggle("Only the mistakes", value=False)
evaluation_view.gallery(evaluation, images, mistakes_only)
