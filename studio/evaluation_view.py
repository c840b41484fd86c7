"""The Evaluate page's pieces: the per-class table, the clickable confusion matrix, galleries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mnist_cnn.evaluation import Evaluation
from studio import chart_display, charts, digit_images, inside_view

# Enough images to see a pattern in a cell's mistakes without a long wait for thumbnails.
CELL_IMAGES = 40
GALLERY_IMAGES = 32


def summary(evaluation: Evaluation) -> None:
    """Accuracy, test set size and number of mistakes, side by side."""
    mistakes = int((evaluation.predictions != evaluation.labels).sum())
    accuracy, size, wrong = st.columns(3)
    accuracy.metric("Test accuracy", f"{evaluation.accuracy:.2%}")
    size.metric("Test images", f"{len(evaluation.labels):,}")
    wrong.metric("Mistakes", f"{mistakes:,}")


def per_class_table(evaluation: Evaluation) -> None:
    """Precision, recall, F1 and support per digit, as a sortable table."""
    table = pd.DataFrame(evaluation.per_class())
    percent = {"format": "percent", "width": "small"}
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "digit": st.column_config.NumberColumn("Digit", width="small"),
            "precision": st.column_config.NumberColumn("Precision", **percent),
            "recall": st.column_config.NumberColumn("Recall", **percent),
            "f1-score": st.column_config.NumberColumn("F1", **percent),
            "support": st.column_config.NumberColumn("Support", format="%d", width="small"),
        },
    )


def confusion_matrix(evaluation: Evaluation, normalise: bool) -> tuple[int, int] | None:
    """Draw the matrix and return the (true, predicted) cell the visitor clicked, if any."""
    event = chart_display.plotly(
        charts.confusion_figure(evaluation.confusion, normalise),
        width="content",
        on_select="rerun",
        selection_mode="points",
        key="confusion",
    )
    points = event.selection.points if event is not None else []
    if not points:
        return None
    return int(points[0]["y"]), int(points[0]["x"])


def cell_images(evaluation: Evaluation, images: np.ndarray, true: int, predicted: int) -> None:
    """The test images behind one cell, least confident first (the interesting ones).

    Captions give each image's index in the test set and how sure the model was.
    """
    indices = evaluation.cell_indices(true, predicted)
    kind = "correctly recognised" if true == predicted else f"mistaken for {predicted}"
    st.markdown(f"**{len(indices):,} test images of {true} {kind}**")
    if len(indices) == 0:
        st.caption("No test images in this cell.")
        return
    shown = indices[np.argsort(evaluation.confidences[indices])][:CELL_IMAGES]
    digit_images.digit_grid(
        images[shown], [f"#{i} · {evaluation.confidences[i]:.0%}" for i in shown]
    )
    sure = [f"{evaluation.confidences[i]:.0%} sure" for i in shown]
    inside_view.open_from_gallery(images, shown, evaluation.labels, sure, key="cell")
    if len(indices) > CELL_IMAGES:
        st.caption(f"Showing the {CELL_IMAGES} the model was least sure about.")


def most_confused(evaluation: Evaluation) -> None:
    """The most frequent mistakes, as a small table."""
    pairs = evaluation.most_confused(top=6)
    if not pairs:
        st.caption("No mistakes at all on this test set.")
        return
    support = evaluation.confusion.sum(axis=1)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "True digit": true,
                    "Taken for": predicted,
                    "Images": count,
                    "Share of the true digit": count / max(support[true], 1),
                }
                for true, predicted, count in pairs
            ]
        ),
        hide_index=True,
        column_config={"Share of the true digit": st.column_config.NumberColumn(format="percent")},
    )


def gallery(evaluation: Evaluation, images: np.ndarray, mistakes_only: bool) -> None:
    """Test digits with the model's answer, marked correct (✓) or wrong (✗)."""
    wrong = evaluation.predictions != evaluation.labels
    indices = np.flatnonzero(wrong) if mistakes_only else np.arange(len(images))
    indices = indices[:GALLERY_IMAGES]
    captions = [
        f"✗ true {evaluation.labels[i]}, said {evaluation.predictions[i]}"
        if wrong[i]
        else f"✓ {evaluation.labels[i]}"
        for i in indices
    ]
    digit_images.digit_grid(images[indices], captions)
    inside_view.open_from_gallery(images, indices, evaluation.labels, captions, key="gallery")
