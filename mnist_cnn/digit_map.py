"""A map of what the model learnt: the test digits' penultimate features, flattened to 2D.

Each test digit is a point of the numbers the model's last layer takes (`mnist_cnn.features`:
64 for the seed CNN). Two layouts turn those points
into a map; a model that has learnt its digits well draws ten clouds, one a digit, and the
misread digits sit between the clouds they were confused by.

- **PCA** (scikit-learn's ``PCA``) keeps the two directions along which the points spread most.
  It is a fixed linear projection, so a new digit (a visitor's drawing) lands exactly where the
  same ``transform`` puts it, and a test digit given to it lands on its own point. Under a
  second for the 10,000 test digits.
- **t-SNE** (van der Maaten and Hinton 2008, scikit-learn's ``TSNE``) keeps neighbours together
  instead of distances, so the clouds come apart much more clearly, at ~25 s of CPU a model:
  the app computes it in the background (`mnist_cnn.map_jobs`) and keeps it on disk. t-SNE
  has no projection for new points, so a new digit is *placed among its nearest test digits*:
  at the mean of the map positions of its ``PLACE_NEIGHBOURS`` nearest test digits in feature
  space, weighted by inverse distance (the initial placement openTSNE refines further). A test
  digit is its own nearest, at distance 0, and lands on its own point.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from mnist_cnn.features import features
from mnist_cnn.inference import predict
from mnist_cnn.shapes import IMAGE_SHAPE
from mnist_cnn.store import write_atomically

if TYPE_CHECKING:
    import keras

Layout = Literal["pca", "tsne"]
LAYOUTS: tuple[Layout, ...] = ("pca", "tsne")
MAP_DIMENSIONS = 2
# PCA's randomised solver would make the map differ between runs; the exact one is fast enough.
PCA_SOLVER = "full"
# t-SNE: scikit-learn's defaults (perplexity 30, 1,000 iterations), started from the PCA layout
# and seeded so that a model's map is the same every time it is computed.
TSNE_SEED = 0
# A new digit's place on the t-SNE map: among this many nearest test digits.
PLACE_NEIGHBOURS = 10
# Closer than this in feature space is the same digit: it takes that digit's point exactly.
SAME_DIGIT = 1e-4


@dataclass(frozen=True)
class DigitMap:
    """The test digits' positions on the map, their labels and the model's answers."""

    layout: Layout
    points: np.ndarray  # (N, 2) float32
    labels: np.ndarray  # (N,) int: the true digits
    predicted: np.ndarray  # (N,) int: the model's answers
    axis_titles: tuple[str, str]
    projection: PCA | None  # PCA: the projection itself
    neighbours: NearestNeighbors | None  # t-SNE: the test digits' features, to place new ones

    @property
    def misread(self) -> np.ndarray:
        """A mask of the digits the model gets wrong."""
        return self.labels != self.predicted

    def place(self, digit_features: np.ndarray) -> np.ndarray:
        """Where digits with these features (N, F) land on the map: (N, 2)."""
        if self.projection is not None:
            rows = np.asarray(digit_features, np.float32)
            rows = rows.reshape(-1, self.projection.n_features_in_)
            return self.projection.transform(rows).astype(np.float32)
        return self._place_among_neighbours(np.asarray(digit_features, np.float32))

    def _place_among_neighbours(self, rows: np.ndarray) -> np.ndarray:
        rows = rows.reshape(-1, self.neighbours.n_features_in_)
        distances, indices = self.neighbours.kneighbors(rows, n_neighbors=PLACE_NEIGHBOURS)
        weights = 1.0 / np.maximum(distances, SAME_DIGIT)
        placed = (weights[..., np.newaxis] * self.points[indices]).sum(axis=1)
        placed /= weights.sum(axis=1, keepdims=True)
        same = distances[:, 0] < SAME_DIGIT
        placed[same] = self.points[indices[same, 0]]
        return placed.astype(np.float32)


def build_map(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    layout: Layout = "pca",
    cache: Path | None = None,
) -> DigitMap:
    """The map of ``images`` (the test set, for the app) in ``model``'s features.

    For t-SNE, ``cache`` is a file that keeps the layout: read when it holds one for as many
    digits, else written (atomically) once computed.
    """
    digit_features = features(model, images)
    predicted = np.argmax(predict(model, images, calibrated=False), axis=1)
    labels = np.asarray(labels).astype(np.int64)
    if layout == "pca":
        projection = PCA(n_components=MAP_DIMENSIONS, svd_solver=PCA_SOLVER).fit(digit_features)
        first, second = projection.explained_variance_ratio_
        titles = (
            f"1st principal component ({first:.0%} of the variance)",
            f"2nd ({second:.0%})",
        )
        points = projection.transform(digit_features).astype(np.float32)
        return DigitMap(layout, points, labels, predicted, titles, projection, None)
    if layout != "tsne":
        raise ValueError(f"unknown map layout {layout!r}; expected one of {LAYOUTS}")
    points = read_points(cache, len(images)) if cache is not None else None
    if points is None:
        points = tsne_points(digit_features)
        if cache is not None:
            # A read-only folder: the map still works, and is computed again next time.
            with contextlib.suppress(OSError):
                write_points(cache, points)
    search = NearestNeighbors(algorithm="brute").fit(digit_features)
    titles = ("t-SNE 1 (no units: only nearness counts)", "t-SNE 2")
    return DigitMap(layout, points, labels, predicted, titles, None, search)


def tsne_points(digit_features: np.ndarray) -> np.ndarray:
    """The t-SNE layout of these features, (N, 2) float32: ~25 s for 10,000 on 2 cores."""
    embedding = TSNE(
        n_components=MAP_DIMENSIONS, init="pca", random_state=TSNE_SEED, n_jobs=os.cpu_count()
    )
    return embedding.fit_transform(digit_features).astype(np.float32)


def read_points(path: Path, count: int) -> np.ndarray | None:
    """A kept layout of ``count`` points, or None when there is none or it is not one."""
    try:
        with np.load(path, allow_pickle=False) as kept:
            points = kept["points"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if points.shape != (count, MAP_DIMENSIONS) or not np.isfinite(points).all():
        return None
    return points.astype(np.float32)


def write_points(path: Path, points: np.ndarray) -> None:
    """Keep a layout in ``path``, atomically: a reader sees the old file or the new, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, points=points)
    write_atomically(path, buffer.getvalue())


def place_image(model: keras.Model, digit_map: DigitMap, image: np.ndarray) -> np.ndarray:
    """Where one (28, 28) image lands on ``digit_map``: its (x, y)."""
    return digit_map.place(features(model, np.asarray(image).reshape(1, *IMAGE_SHAPE)))[0]
