"""Like which training digits: the MNIST training digits nearest a digit, as the model sees them.

A 9 read as 4 is easier to understand when you see the 4s it resembles. "Resembles" here means
close in the model's penultimate-layer features (`mnist_cnn.features`), not in pixels: two 4s
written in different places are far apart pixel by pixel and close together there, because the
network has learnt to ignore where a stroke sits and to notice which strokes there are.

The index holds the features of all 60,000 training digits (15 MB of float32 for the seed CNN's
64), built once per model in a few seconds, and answers with an exact brute-force search
(scikit-learn's ``NearestNeighbors``): at 64 dimensions a tree prunes almost nothing, and one
matrix product over 60,000 rows takes a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.neighbors import NearestNeighbors

from mnist_cnn.features import features
from mnist_cnn.shapes import IMAGE_SHAPE

if TYPE_CHECKING:
    import keras

# How many neighbours a query returns unless asked for another number.
NEIGHBOURS = 8


@dataclass(frozen=True)
class Neighbours:
    """The training digits nearest one query, nearest first."""

    indices: np.ndarray  # (k,) int: rows of the training set
    labels: np.ndarray  # (k,) int: their true labels
    distances: np.ndarray  # (k,) float32: Euclidean, in feature space

    def label_counts(self) -> dict[int, int]:
        """How many of the neighbours carry each label, most common first."""
        labels, counts = np.unique(self.labels, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {int(labels[i]): int(counts[i]) for i in order}


class NeighbourIndex:
    """Nearest-neighbour search over one model's features of a set of labelled digits.

    Immutable once built, so one index serves every visitor and thread at once.
    """

    def __init__(self, feature_rows: np.ndarray, labels: np.ndarray) -> None:
        if len(feature_rows) != len(labels) or len(labels) == 0:
            raise ValueError(
                f"need one label per feature row and at least one row, got "
                f"{len(feature_rows)} rows and {len(labels)} labels"
            )
        self.features = np.ascontiguousarray(feature_rows, dtype=np.float32)
        self.features.setflags(write=False)
        self.labels = np.asarray(labels).astype(np.int64)
        self.labels.setflags(write=False)
        self._search = NearestNeighbors(algorithm="brute").fit(self.features)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        return self.features.nbytes + self.labels.nbytes

    def query(self, query_features: np.ndarray, k: int = NEIGHBOURS) -> Neighbours:
        """The ``k`` rows nearest one feature vector, with exact distances, nearest first."""
        query = np.asarray(query_features, np.float32).reshape(1, -1)
        if query.shape[1] != self.features.shape[1]:
            raise ValueError(
                f"the index holds {self.features.shape[1]} features a digit, got {query.shape[1]}"
            )
        k = min(k, len(self))
        _, rows = self._search.kneighbors(query, n_neighbors=k)
        rows = rows[0]
        # Recomputed directly: the search's |a|^2 - 2ab + |b|^2 leaves rounding where a = b.
        distances = np.linalg.norm(self.features[rows] - query, axis=1)
        order = np.argsort(distances, kind="stable")
        return Neighbours(rows[order], self.labels[rows[order]], distances[order])


def build_index(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> NeighbourIndex:
    """The index of ``images`` (the training set, for the app) in ``model``'s features."""
    return NeighbourIndex(features(model, images), labels)


def nearest(
    model: keras.Model, index: NeighbourIndex, image: np.ndarray, k: int = NEIGHBOURS
) -> Neighbours:
    """The ``k`` indexed digits nearest one (28, 28) ``image`` in ``model``'s features."""
    return index.query(features(model, np.asarray(image).reshape(1, *IMAGE_SHAPE))[0], k)
