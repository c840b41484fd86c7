"""The shared reader of untrusted .npz files: headers first, each wanted array once."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from mnist_cnn.npz_files import ArrayHeader, NotAnArrayError, read_checked_arrays


def archive_of(**members: bytes) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(buffer)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_wanted_arrays_are_read_after_their_headers_pass() -> None:
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    archive = archive_of(**{"images.npy": npy(images), "other.npy": npy(np.zeros(3))})
    seen: list[ArrayHeader] = []
    arrays = read_checked_arrays(archive, ["images", "labels"], seen.append)
    assert list(arrays) == ["images"]  # absent names are skipped, unwanted ones never read
    np.testing.assert_array_equal(arrays["images"], images)
    (header,) = seen
    assert (header.name, header.shape, header.dtype) == ("images", (2, 3, 4), np.uint8)
    assert header.claimed_bytes == header.held_bytes == 24 and header.holds_its_claim


def test_a_refused_header_stops_before_any_data_is_read(monkeypatch) -> None:
    reads = []
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: reads.append(a))

    def refuse(header: ArrayHeader) -> None:
        raise LookupError(f"no {header.name}")

    with pytest.raises(LookupError, match="no images"):
        read_checked_arrays(archive_of(**{"images.npy": npy(np.zeros(3))}), ["images"], refuse)
    assert reads == []


@pytest.mark.parametrize(
    "data",
    [
        npy(np.array([{"x": 1}], dtype=object)),  # would need unpickling
        npy(np.zeros(8, np.uint8))[:-4],  # holds less than its header claims
    ],
)
def test_a_check_that_lets_anything_through_still_reads_no_unsafe_array(data: bytes) -> None:
    with pytest.raises(ValueError, match="let through unchecked"):
        read_checked_arrays(archive_of(**{"images.npy": data}), ["images"], lambda header: None)


def test_a_member_that_is_not_npy_is_not_an_array() -> None:
    with pytest.raises(NotAnArrayError, match="images is not a NumPy array"):
        read_checked_arrays(archive_of(**{"images.npy": b"hello"}), ["images"], lambda h: None)
