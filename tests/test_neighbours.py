"""Penultimate features, the nearest-neighbour index and the map of the test digits, on the
bundled model and the committed MNIST sample."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn.neighbours import NEIGHBOURS, NeighbourIndex

# A digit queried alone and inside a batch of many gives features equal to float32 rounding.
SAME_POINT = 1e-4


@pytest.fixture(scope="module")
def bundled():
    from mnist_cnn.store import bundled_record, load_record

    return load_record(bundled_record())


@pytest.fixture(scope="module")
def index(bundled, sample_mnist):
    from mnist_cnn.neighbours import build_index

    (x_train, y_train), _ = sample_mnist
    return build_index(bundled, x_train, y_train)


def test_features_are_the_last_layers_input(bundled, sample_mnist):
    from mnist_cnn.features import feature_size, features
    from mnist_cnn.inference import predict

    _, (x_test, _) = sample_mnist
    rows = features(bundled, x_test[:300])  # more than one batch
    assert rows.shape == (300, feature_size(bundled)) == (300, 64)
    assert rows.dtype == np.float32 and (rows >= 0).all()  # the dense layer's ReLU
    output = bundled.layers[-1]
    logits = rows @ output.kernel.numpy() + output.bias.numpy()
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    assert np.allclose(probabilities, predict(bundled, x_test[:300], calibrated=False), atol=1e-5)
    assert features(bundled, x_test[:0]).shape == (0, 64)


def test_a_training_digits_neighbours_include_itself_at_distance_zero(bundled, index, sample_mnist):
    from mnist_cnn.neighbours import nearest

    (x_train, y_train), _ = sample_mnist
    for row in (0, 17, len(x_train) - 1):
        found = nearest(bundled, index, x_train[row])
        assert len(found.indices) == NEIGHBOURS
        assert found.indices[0] == row and found.distances[0] < SAME_POINT
        assert found.labels[0] == y_train[row]
        assert np.all(np.diff(found.distances) >= 0)  # nearest first
        assert np.array_equal(found.labels, y_train[found.indices])


def test_neighbours_of_a_digit_are_mostly_its_own_label(bundled, index, sample_mnist):
    from mnist_cnn.neighbours import nearest

    _, (x_test, y_test) = sample_mnist
    agree = [
        np.mean(nearest(bundled, index, image).labels == label)
        for image, label in zip(x_test[:50], y_test[:50], strict=True)
    ]
    assert np.mean(agree) > 0.9  # a well-trained model's features cluster by digit


def test_distances_are_exact_and_the_index_refuses_what_does_not_fit():
    rows = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]], np.float32)
    index = NeighbourIndex(rows, np.array([1, 2, 1]))
    found = index.query(np.array([0.0, 0.0]), k=5)  # more than it holds: all of them
    assert list(found.indices) == [0, 2, 1]
    assert list(found.distances) == [0.0, 1.0, 5.0]
    assert found.label_counts() == {1: 2, 2: 1}
    with pytest.raises(ValueError, match="2 features a digit, got 3"):
        index.query(np.zeros(3))
    with pytest.raises(ValueError, match="one label per feature row"):
        NeighbourIndex(rows, np.array([1, 2]))
    with pytest.raises(ValueError):
        index.features[0, 0] = 1.0  # shared by every visitor: read-only


def test_the_maps_projection_of_a_test_digit_is_its_stored_point(bundled, sample_mnist):
    from mnist_cnn.digit_map import build_map, place_image

    _, (x_test, y_test) = sample_mnist
    mapped = build_map(bundled, x_test, y_test)
    assert mapped.points.shape == (len(x_test), 2)
    assert np.array_equal(mapped.labels, y_test)
    first, second = mapped.projection.explained_variance_ratio_
    assert 0 < second <= first < 1 and "variance" in mapped.axis_titles[0]
    for row in (0, 5, len(x_test) - 1):
        assert np.allclose(place_image(bundled, mapped, x_test[row]), mapped.points[row], atol=1e-3)
    # The map is fixed by the model and the digits: computed again, it is the same map.
    again = build_map(bundled, x_test, y_test)
    assert np.allclose(np.abs(again.points), np.abs(mapped.points), atol=1e-4)


def test_misread_marks_the_digits_the_model_gets_wrong(bundled, sample_mnist):
    from mnist_cnn.digit_map import build_map
    from mnist_cnn.inference import predict

    _, (x_test, y_test) = sample_mnist
    wrong_labels = (y_test + 1) % 10  # every digit "misread"
    assert build_map(bundled, x_test, wrong_labels).misread.all()
    answers = predict(bundled, x_test).argmax(axis=1)
    assert np.array_equal(build_map(bundled, x_test, y_test).misread, answers != y_test)


def test_the_tsne_map_places_a_test_digit_on_its_point_and_keeps_its_layout(
    bundled, sample_mnist, tmp_path, monkeypatch
):
    from mnist_cnn import digit_map
    from mnist_cnn.digit_map import build_map, place_image

    _, (x_test, y_test) = sample_mnist
    cache = tmp_path / "maps" / "bundled-tsne.npz"
    mapped = build_map(bundled, x_test, y_test, "tsne", cache)
    assert mapped.layout == "tsne" and mapped.points.shape == (len(x_test), 2)
    for row in (0, 5, len(x_test) - 1):
        assert np.allclose(place_image(bundled, mapped, x_test[row]), mapped.points[row])
    # A digit that is no test digit lands among its nearest ones: inside the map's extent.
    blank_stroke = np.zeros((28, 28), np.uint8)
    blank_stroke[6:22, 13:15] = 255
    placed = place_image(bundled, mapped, blank_stroke)
    assert (mapped.points.min(axis=0) <= placed).all() and (
        placed <= mapped.points.max(axis=0)
    ).all()

    # Kept on disk: computed again, it is read back, not recomputed.
    def refuse(_):
        raise AssertionError("the kept layout was not used")

    monkeypatch.setattr(digit_map, "tsne_points", refuse)
    again = build_map(bundled, x_test, y_test, "tsne", cache)
    assert np.array_equal(again.points, mapped.points)


def test_a_broken_kept_layout_is_computed_again(tmp_path):
    from mnist_cnn.digit_map import read_points, write_points

    path = tmp_path / "layout.npz"
    assert read_points(path, 3) is None  # none yet
    path.write_bytes(b"not an npz file")
    assert read_points(path, 3) is None
    write_points(path, np.ones((4, 2), np.float32))
    assert read_points(path, 3) is None  # a layout for other digits
    write_points(path, np.full((3, 2), np.nan, np.float32))
    assert read_points(path, 3) is None
    write_points(path, np.zeros((3, 2), np.float32))
    assert np.array_equal(read_points(path, 3), np.zeros((3, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["layout.npz"]  # no partial file left
    np.save(tmp_path / "pickled.npy", np.array([object()], dtype=object))
    with open(tmp_path / "pickled.npz", "wb") as output:
        np.savez(output, points=np.array([{"a": 1}], dtype=object))
    assert read_points(tmp_path / "pickled.npz", 1) is None  # never unpickled
