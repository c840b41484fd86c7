import io
import os
import shutil
import socket
import zipfile

import numpy as np
import pytest

from mnist_cnn.data import (
    DataError,
    load_mnist,
    load_test_set,
    prepare_images,
    read_npz,
    shared_mnist,
)


def write_npz(path, **overrides):
    arrays = {
        "x_train": np.zeros((20, 28, 28), np.uint8),
        "y_train": np.arange(20, dtype=np.uint8) % 10,
        "x_test": np.zeros((10, 28, 28), np.uint8),
        "y_test": np.arange(10, dtype=np.uint8),
    }
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez(path, **arrays)
    return path


def test_sample_loads_like_keras(sample_npz):
    (x_train, y_train), (x_test, y_test) = load_mnist(sample_npz)
    assert x_train.shape == (1200, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (1200,) and y_train.dtype == np.uint8
    assert x_test.shape == (300, 28, 28) and y_test.shape == (300,)
    assert set(np.unique(y_train)) == set(range(10))


def test_env_variable_names_the_file(sample_npz, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(sample_npz))
    (x_train, _), _ = load_mnist()
    assert len(x_train) == 1200


def test_argument_wins_over_env(sample_npz, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    (x_train, _), _ = load_mnist(sample_npz)
    assert len(x_train) == 1200


def test_full_mnist_matches_its_documented_checks(full_mnist_npz):
    (x_train, y_train), (x_test, _) = load_mnist(full_mnist_npz)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_train).tolist() == counts
    assert prepare_images(x_train).mean() == pytest.approx(0.1307, abs=1e-4)


def test_prepare_images_scales_and_adds_channel():
    images = np.full((3, 28, 28), 255, np.uint8)
    prepared = prepare_images(images)
    assert prepared.shape == (3, 28, 28, 1) and prepared.dtype == np.float32
    assert prepared.max() == 1.0
    assert prepare_images(prepared).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        prepare_images(np.zeros((3, 32, 32)))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"MNIST file not found.*MNIST_NPZ"):
        load_mnist(tmp_path / "nope.npz")


def test_not_an_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("this is not a zip file")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_mnist(path)


def test_a_corrupt_compressed_stream_is_a_data_error(tmp_path, sample_npz):
    """Flipped bytes inside a deflate stream raise zlib.error, which is no OSError."""
    with np.load(sample_npz) as sample:
        arrays = {key: sample[key] for key in sample.files}
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **arrays)
    with zipfile.ZipFile(path) as archive:
        first = archive.getinfo("x_test.npy")
    data = bytearray(path.read_bytes())
    start = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    for offset in range(start + 2, start + 66):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_test_set(path)


def test_truncated_npz(tmp_path, sample_npz):
    path = tmp_path / "mnist.npz"
    path.write_bytes(sample_npz.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_mnist(path)


def test_missing_keys(tmp_path):
    path = write_npz(tmp_path / "m.npz", y_test=None)
    with pytest.raises(DataError, match="missing the arrays y_test"):
        read_npz(path)


def test_wrong_image_shape(tmp_path):
    path = write_npz(tmp_path / "m.npz", x_train=np.zeros((20, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"x_train has shape \(20, 32, 32\).*\(N, 28, 28\)"):
        read_npz(path)


def test_label_count_mismatch(tmp_path):
    path = write_npz(tmp_path / "m.npz", y_train=np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="one label per image"):
        read_npz(path)


def test_wrong_dtype(tmp_path):
    path = write_npz(tmp_path / "m.npz", x_test=np.zeros((10, 28, 28), np.float64))
    with pytest.raises(DataError, match="x_test has dtype float64; expected uint8"):
        read_npz(path)


def test_labels_out_of_range(tmp_path):
    path = write_npz(tmp_path / "m.npz", y_test=np.arange(10, dtype=np.int64) + 1)
    with pytest.raises(DataError, match=r"labels from 1 to 10; expected digits 0\.\.9"):
        read_npz(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = write_npz(tmp_path / "m.npz", y_train=np.array([object()] * 20, dtype=object))
    with pytest.raises(DataError, match="object \\(pickled\\) arrays"):
        read_npz(path)


def test_no_network_and_no_env_fails_fast_naming_the_variable(tmp_path, monkeypatch):
    """The real Keras download path, with the network cut and an empty Keras cache."""
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path / "keras"))

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(DataError, match=r"Could not download MNIST.*set MNIST_NPZ"):
        load_mnist()


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_members(path, **members: bytes):
    """An npz written member by member, so a test can put anything in one."""
    arrays = {
        "x_train": npy_bytes(np.zeros((20, 28, 28), np.uint8)),
        "y_train": npy_bytes(np.arange(20, dtype=np.uint8) % 10),
        "x_test": npy_bytes(np.zeros((10, 28, 28), np.uint8)),
        "y_test": npy_bytes(np.arange(10, dtype=np.uint8)),
    }
    arrays.update(members)
    with zipfile.ZipFile(path, "w") as archive:
        for key, content in arrays.items():
            archive.writestr(f"{key}.npy", content)
    return path


def test_member_that_is_not_an_array(tmp_path):
    path = write_members(tmp_path / "m.npz", x_train=b"these bytes are not an array")
    with pytest.raises(DataError, match="x_train is not a NumPy array"):
        read_npz(path)


def test_header_claiming_a_billion_images_is_refused_before_allocating(tmp_path):
    honest = npy_bytes(np.zeros((1, 28, 28), np.uint8))
    lying = honest.replace(b"(1, 28, 28)", b"(1000000000, 28, 28)")
    assert len(lying) == len(honest) + 9  # the header grew; the data is still one image
    path = write_members(tmp_path / "m.npz", x_test=lying)
    with pytest.raises(DataError, match=r"x_test holds 1,000,000,000 entries"):
        read_npz(path)


def test_header_claiming_fewer_bytes_than_held_is_refused(tmp_path):
    honest = npy_bytes(np.zeros((10, 28, 28), np.uint8))
    path = write_members(tmp_path / "m.npz", x_test=honest.replace(b"(10, 28", b"(9,  28"))
    with pytest.raises(DataError, match=r"x_test claims shape \(9, 28, 28\)"):
        read_npz(path)


def test_far_more_images_than_mnist_is_refused_before_reading(tmp_path):
    honest = npy_bytes(np.zeros((1, 28, 28), np.uint8))
    header_only = honest[:128].replace(b"(1, 28, 28)", b"(2000000, 28, 28)")
    path = write_members(tmp_path / "m.npz", x_train=header_only)
    with pytest.raises(DataError, match=r"x_train holds 2,000,000 entries, more than"):
        read_npz(path)


def test_test_set_alone_never_reads_the_training_split(tmp_path, sample_npz):
    path = write_members(tmp_path / "m.npz", x_train=b"never read")
    images, labels = load_test_set(path)
    assert images.shape == (10, 28, 28) and labels.tolist() == list(range(10))
    with pytest.raises(DataError):
        load_mnist(path)
    (_, _), (sample_images, _) = load_mnist(sample_npz)
    np.testing.assert_array_equal(load_test_set(sample_npz)[0], sample_images)


def header_claiming(shape: tuple[int, ...], descr: object) -> bytes:
    """A .npy member whose header claims ``shape`` of ``descr``, followed by 16 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return header.getvalue() + b"\0" * 16


@pytest.mark.parametrize(
    ("key", "descr", "message"),
    [
        ("x_test", "|V100000000", r"x_test has dtype \|V100000000; expected uint8"),
        ("x_train", [("r", "|u1"), ("g", "|u1")], r"x_train has dtype .*; expected uint8"),
        ("y_train", "<U1000", r"y_train has dtype <U1000; expected integer labels"),
    ],
)
def test_non_numeric_dtypes_are_refused_from_the_header(tmp_path, key, descr, message):
    path = write_members(tmp_path / "m.npz", **{key: header_claiming((10, 28, 28), descr)})
    with pytest.raises(DataError, match=message):
        read_npz(path)


def test_running_out_of_memory_while_reading_is_a_data_error(tmp_path, monkeypatch):
    """The last guard, should a header the checks pass still ask for more than the server has."""

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 143. TiB")

    monkeypatch.setattr(np.lib.format, "read_array", out_of_memory)
    with pytest.raises(DataError, match="more memory than this machine has"):
        read_npz(write_members(tmp_path / "m.npz"))


def test_shared_mnist_is_one_read_only_copy_read_again_when_the_file_changes(sample_npz, tmp_path):
    copy = tmp_path / "mnist.npz"
    shutil.copy(sample_npz, copy)
    first = shared_mnist(copy)
    assert shared_mnist(copy) is first  # every job gets the same arrays
    (x_train, y_train), (x_test, y_test) = first
    for array in (x_train, y_train, x_test, y_test):
        assert not array.flags.writeable
    expected = load_mnist(sample_npz)
    assert np.array_equal(x_train, expected[0][0]) and np.array_equal(y_test, expected[1][1])

    with np.load(sample_npz) as original:
        arrays = dict(original)
    arrays["y_test"] = (arrays["y_test"] + 1) % 10
    np.savez(copy, **arrays)
    os.utime(copy, ns=(0, 1))  # a different modification time, however fast the test runs
    changed = shared_mnist(copy)
    assert changed is not first
    assert np.array_equal(changed[1][1], arrays["y_test"])
