"""Like which training digits: a digit's nearest MNIST training digits, in the model's eyes.

Shown on the Draw page under the answer and on the Inside page for its digit (a drawing or a
test digit). The index behind it is the server's, built once per model (`studio.resources`);
a query costs a few milliseconds, so it is not cached per digit.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_cnn.memory_budget import MemoryShortError
from mnist_cnn.neighbours import nearest
from mnist_cnn.store import LoadedModel
from studio import digit_images, resources

# The Draw page's answer column is narrow: its neighbours are smaller than a gallery's digits.
COMPACT_WIDTH = 56


def summary(labels: np.ndarray, predicted: int | None) -> str:
    """'All 8 are 4s.', or '5 are 4s, 3 are 9s.', with how that bears on the answer."""
    values, counts = np.unique(labels, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    parts = [f"{counts[i]} {'is a' if counts[i] == 1 else 'are'} {values[i]}" for i in order]
    text = f"All {len(labels)} are {values[0]}s." if len(parts) == 1 else ", ".join(parts) + "."
    if predicted is not None and predicted not in values:
        text += f" None is a {predicted}, the digit the model answered."
    return text


def like_which(
    loaded: LoadedModel, image: np.ndarray, predicted: int | None = None, compact: bool = False
) -> None:
    """The training digits nearest ``image`` in the model's features, with labels and distances."""
    try:
        index = resources.neighbour_index(loaded.record)
    except MemoryShortError as short:
        st.caption(f"The training digits most like this one: not now. {short}")
        return
    found = nearest(loaded.model, index, image)
    training_images, _ = resources.training_set()
    st.caption(
        f"The {len(found.labels)} training digits the model finds most like this one (the "
        f"distance between their {index.features.shape[1]} last-layer features): "
        + summary(found.labels, predicted)
    )
    digit_images.digit_grid(
        [training_images[i] for i in found.indices],
        [
            f"{label} · {distance:.1f}"
            for label, distance in zip(found.labels, found.distances, strict=True)
        ],
        width=COMPACT_WIDTH if compact else digit_images.DIGIT_WIDTH,
    )
