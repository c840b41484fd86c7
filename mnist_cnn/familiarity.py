"""Has the CNN seen anything like this drawing? How far its features are from the nearest digit's.

The learned half of ``digit_check`` knows only the kinds of non-digit it was trained on: with
a kind left out of its training, the whole check refused as few as 57% of that kind. Any list
of non-digits is short next to everything a visitor can draw, so this check learns from digits
alone: whatever is unlike every digit is refused, whether or not anyone thought of it (Sun et
al. 2022, "Out-of-distribution detection with deep nearest neighbors").

"Like" is judged by the bundled CNN itself, in its unit convolutional features
(``mnist_cnn.conv_features``), compared with ``REFERENCE_DIGITS`` MNIST training digits': the
distance to the nearest one is the drawing's ``unfamiliarity``. Its limit is set by
``scripts/train_digit_check.py`` on digits kept out of the references and saved with the
detector (``digit_check.npz``), beside the fingerprint of the bundled model both are set for.

Kept whole, the references would be 10,000 x 1,600 float32, 64 MB, on a box that may have
690 MB for everything. So they are kept along their ``PRINCIPAL_DIRECTIONS`` principal
directions only, found from the first ``DIRECTION_DIGITS`` of them (uncentred, as distances
between unit vectors are measured from the origin): 10,000 x 384, 15 MB. The distance is from
the drawing's whole unit features to each reference's projection, so what the directions leave
out of the drawing still counts: noise, whose features lie mostly outside the digits'
directions, stays far (measured between projections instead, the familiarity alone refused
22% of noise, not 99%). A reference is as far from itself as the directions leave out of it
(0.14 to 0.27 for the first five). With the limit set again, the whole check refused every
unseen kind of ``scripts/train_digit_check.py`` as with all 1,600 values, and each training
family's held-out canvases within one point.

The references are made once per process when first asked (a second or two: one pass of the
CNN over 10,000 digits, a batch at a time, so the whole 64 MB never exist at once). Without
MNIST to make them (no file, no network) the check is unavailable, and ``digit_check`` goes on
without it.
"""

from __future__ import annotations

import logging
import threading
from functools import cache

import numpy as np

from mnist_cnn.conv_features import ConvFeatures, bundled_features

REFERENCE_DIGITS = 10_000  # the first MNIST training digits; the limit is set on later ones
PRINCIPAL_DIRECTIONS = 384  # of the features' 1,600 values: the directions the references keep
DIRECTION_DIGITS = 2_000  # the first reference digits, whose features give those directions
_QUERY_CHUNK = 1_000  # queries compared at once: 1,000 x 10,000 distances, 40 MB
_log = logging.getLogger(__name__)
_lock = threading.Lock()


class References:
    """The reference digits' features along their principal directions, and how to compare."""

    def __init__(self, features: ConvFeatures, digits: np.ndarray) -> None:
        self.model_id = features.model_id
        self._features = features
        # One pass of the CNN: the first digits' features give the directions, then their rows.
        first = features.unit_features(digits[:DIRECTION_DIGITS])
        self._directions = _principal_directions(first)
        self.rows = np.empty((len(digits), self._directions.shape[1]), np.float32)
        done = len(first)
        self.rows[:done] = first @ self._directions
        del first
        self._project(digits[done:], self.rows[done:])
        self._squared_norms = np.einsum("ij,ij->i", self.rows, self.rows)

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, PRINCIPAL_DIRECTIONS) projected unit features of (N, 28, 28) images."""
        rows = np.empty((len(images), self._directions.shape[1]), np.float32)
        self._project(images, rows)
        return rows

    def distances(self, images: np.ndarray) -> np.ndarray:
        """(N,) distance of each image's unit features to the nearest reference's projection."""
        return self._nearest(self.features(images))

    def distances_of(self, unit_features: np.ndarray) -> np.ndarray:
        """``distances`` of images whose unit features (N, 1600) are already made."""
        return self._nearest(unit_features @ self._directions)

    def _nearest(self, queries: np.ndarray) -> np.ndarray:
        # |q - r|^2 = |q|^2 + |r|^2 - 2 q.r, with |q| = 1 for the whole unit features, and q.r
        # the same whether q is projected or not, as r lies along the directions.
        nearest = np.empty(len(queries), np.float32)
        for start in range(0, len(queries), _QUERY_CHUNK):
            chunk = slice(start, start + _QUERY_CHUNK)
            squared = 1.0 + self._squared_norms - 2.0 * (queries[chunk] @ self.rows.T)
            nearest[chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
        return nearest

    def _project(self, images: np.ndarray, out: np.ndarray) -> None:
        """Write the images' projected unit features into ``out``, a batch at a time: the whole
        features of 10,000 digits would be 64 MB at the peak."""
        for start, batch in self._features.batches(images):
            out[start : start + len(batch)] = batch @ self._directions


def _principal_directions(unit_features: np.ndarray) -> np.ndarray:
    """(1600, PRINCIPAL_DIRECTIONS): the top eigenvectors of the features' (uncentred) Gram."""
    from scipy.linalg import eigh

    gram = (unit_features.T @ unit_features).astype(np.float64)  # 1600 x 1600, 20 MB
    width = len(gram)
    _, vectors = eigh(gram, subset_by_index=[width - PRINCIPAL_DIRECTIONS, width - 1])
    return np.ascontiguousarray(vectors[:, ::-1], dtype=np.float32)


@cache
def _shared_references() -> References | None:
    from mnist_cnn.data import DataError, shared_mnist

    try:
        (x_train, _), _ = shared_mnist()
    except DataError as error:
        _log.warning("The familiarity check is off: no MNIST to compare drawings with (%s)", error)
        return None
    return References(bundled_features(), x_train[:REFERENCE_DIGITS])


def references() -> References | None:
    """The process's reference digits (made on first use, under a lock), or None without MNIST."""
    with _lock:
        return _shared_references()
