"""A map of what the model learnt: the test digits' penultimate features, flattened to 2D.

Each test digit is a point of 64 numbers (`mnist_cnn.features`); a principal component analysis
(scikit-learn's ``PCA``) keeps the two directions along which those points spread most. A model
that has learnt its digits well draws ten clouds, one a digit, and the misread digits sit between
the clouds they were confused by.

PCA is a fixed linear projection, so a new digit (a visitor's drawing) lands on the map exactly
where the same projection puts it: `DigitMap.place` is the very ``transform`` that placed the
test digits, and a test digit given to it lands on its own point. It is computed in well under
a second once the features are known (benchmarks/bench_neighbours.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.decomposition import PCA

from mnist_cnn.features import features
from mnist_cnn.inference import predict
from mnist_cnn.shapes import IMAGE_SHAPE

if TYPE_CHECKING:
    import keras

MAP_DIMENSIONS = 2
# PCA's randomised solver would make the map differ between runs; the exact one is fast enough.
PCA_SOLVER = "full"


@dataclass(frozen=True)
class DigitMap:
    """The test digits' positions on the map, their labels and the model's answers."""

    points: np.ndarray  # (N, 2) float32
    labels: np.ndarray  # (N,) int: the true digits
    predicted: np.ndarray  # (N,) int: the model's answers
    explained: tuple[float, float]  # share of the features' variance along each axis
    projection: PCA

    @property
    def misread(self) -> np.ndarray:
        """A mask of the digits the model gets wrong."""
        return self.labels != self.predicted

    def place(self, digit_features: np.ndarray) -> np.ndarray:
        """Where digits with these features (N, F) land on the map: (N, 2)."""
        rows = np.asarray(digit_features, np.float32).reshape(-1, self.projection.n_features_in_)
        return self.projection.transform(rows).astype(np.float32)


def build_map(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> DigitMap:
    """The map of ``images`` (the test set, for the app) in ``model``'s features."""
    digit_features = features(model, images)
    projection = PCA(n_components=MAP_DIMENSIONS, svd_solver=PCA_SOLVER).fit(digit_features)
    points = projection.transform(digit_features).astype(np.float32)
    predicted = np.argmax(predict(model, images, calibrated=False), axis=1)
    ratios = projection.explained_variance_ratio_
    return DigitMap(
        points,
        np.asarray(labels).astype(np.int64),
        predicted,
        (float(ratios[0]), float(ratios[1])),
        projection,
    )


def place_image(model: keras.Model, digit_map: DigitMap, image: np.ndarray) -> np.ndarray:
    """Where one (28, 28) image lands on ``digit_map``: its (x, y)."""
    return digit_map.place(features(model, np.asarray(image).reshape(1, *IMAGE_SHAPE)))[0]
