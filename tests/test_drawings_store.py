"""Your drawings: kept in memory or in a folder, saved atomically, exported and imported safely."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import drawings_store
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.drawings_store import (
    INK_MAX_SIDE,
    DrawingCollection,
    DrawingFolder,
    DrawingsFileError,
    drawings_dir,
    read_drawings_npz,
    remove_stale_partials,
)
from sketchbook.sketches import render_sketch


def drawn(digit: int) -> tuple[np.ndarray, np.ndarray]:
    """A drawn digit's model input (floats) and its full-resolution ink, as the Draw page has."""
    stages = canvas_to_mnist(render_sketch(digit), return_stages=True)
    return stages.centred, stages.ink


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_default_folder_is_beside_the_models_and_configurable(
    isolated_models_dir: Path, monkeypatch, tmp_path: Path
) -> None:
    assert drawings_dir() == isolated_models_dir.parent / "my_drawings"
    monkeypatch.setenv("MNIST_CNN_DRAWINGS_DIR", str(tmp_path / "elsewhere"))
    assert drawings_dir() == tmp_path / "elsewhere"


def test_a_drawing_keeps_its_input_its_finer_ink_and_its_label() -> None:
    image, ink = drawn(7)
    drawing = DrawingCollection().add(image, 7, ink)
    assert drawing.label == 7
    assert drawing.image.dtype == np.uint8 and drawing.image.shape == (28, 28)
    assert np.abs(drawing.image / 255.0 - image).max() <= 0.5 / 255 + 1e-6
    assert drawing.ink.dtype == np.uint8 and max(drawing.ink.shape) == INK_MAX_SIDE
    # The kept ink can be prepared again: the same input, give or take a pixel of placement.
    redone = canvas_to_mnist(drawing.ink)
    shifted = [np.roll(redone, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assert max(np.corrcoef(s.ravel(), image.ravel())[0, 1] for s in shifted) > 0.95


@pytest.mark.parametrize("label", [-1, 10, 3.0, True, "7"])
def test_labels_must_be_digits(label) -> None:
    image, _ = drawn(3)
    with pytest.raises(ValueError, match=r"digit 0\.\.9"):
        DrawingCollection().add(image, label)


def test_arrays_counts_delete_and_version() -> None:
    collection = DrawingCollection()
    versions = [collection.version]
    kept = [collection.add(drawn(d)[0], d) for d in (1, 1, 4)]
    versions.append(collection.version)
    images, labels = collection.arrays()
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [1, 1, 4] and labels.dtype == np.uint8
    assert collection.counts().tolist() == [0, 2, 0, 0, 1, 0, 0, 0, 0, 0]
    assert collection.delete(kept[0].id)
    assert not collection.delete(kept[0].id)
    versions.append(collection.version)
    assert [d.id for d in collection.drawings()] == [kept[1].id, kept[2].id]
    assert versions == sorted(set(versions))


def test_a_full_collection_refuses_more_and_keeps_what_it_has() -> None:
    collection = DrawingCollection(limit=2)
    for digit in (1, 2):
        collection.add(drawn(digit)[0], digit)
    with pytest.raises(DrawingsFileError, match="room for 0 more"):
        collection.add(drawn(3)[0], 3)
    with pytest.raises(DrawingsFileError, match="room for 0 more"):
        collection.import_npz(collection.export_npz())
    assert len(collection) == 2


def test_export_then_import_round_trips() -> None:
    source = DrawingCollection()
    for digit in (0, 5, 9):
        source.add(drawn(digit)[0], digit)
    data = source.export_npz()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels"]
        assert npz["images"].shape == (3, 28, 28) and npz["images"].dtype == np.uint8
        assert npz["labels"].dtype == np.uint8
    target = DrawingCollection()
    assert target.import_npz(data) == 3
    assert np.array_equal(target.arrays()[0], source.arrays()[0])
    assert target.arrays()[1].tolist() == [0, 5, 9]


def test_folder_survives_a_restart_and_deletes_for_good(tmp_path: Path) -> None:
    folder = DrawingFolder(tmp_path / "drawings")
    image, ink = drawn(4)
    first = folder.add(image, 4, ink)
    folder.add(drawn(2)[0], 2)
    reopened = DrawingFolder(tmp_path / "drawings")
    assert [d.label for d in reopened.drawings()] == [4, 2]
    assert np.array_equal(reopened.drawings()[0].image, first.image)
    assert np.array_equal(reopened.drawings()[0].ink, first.ink)
    assert reopened.drawings()[1].ink is None
    reopened.delete(first.id)
    assert [d.label for d in DrawingFolder(tmp_path / "drawings").drawings()] == [2]


def test_folder_save_is_atomic(tmp_path: Path, monkeypatch) -> None:
    """A save that fails half-way leaves neither a file nor a half-written one behind."""
    folder = DrawingFolder(tmp_path / "drawings")
    folder.add(drawn(1)[0], 1)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(drawings_store.np, "savez_compressed", crash)
    with pytest.raises(OSError, match="disk full"):
        folder.add(drawn(2)[0], 2)
    assert [p.name.startswith(".") for p in (tmp_path / "drawings").iterdir()] == [False]
    assert len(folder) == 1
    assert len(DrawingFolder(tmp_path / "drawings")) == 1


def test_an_import_that_fails_half_way_adds_nothing(tmp_path: Path, monkeypatch) -> None:
    """The disk fills up on the third drawing: the two saved before it are removed again."""
    folder = DrawingFolder(tmp_path / "drawings")
    folder.add(drawn(1)[0], 1)
    version = folder.version
    real_savez = drawings_store.np.savez_compressed
    calls = []

    def fill_up_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        real_savez(*args, **kwargs)

    monkeypatch.setattr(drawings_store.np, "savez_compressed", fill_up_on_the_third)
    data = npz_bytes(images=np.zeros((4, 28, 28), np.uint8), labels=np.array([5, 6, 7, 8]))
    with pytest.raises(OSError, match="disk full"):
        folder.import_npz(data)
    assert [d.label for d in folder.drawings()] == [1] and folder.version == version
    assert [d.label for d in DrawingFolder(tmp_path / "drawings").drawings()] == [1]
    assert len(list((tmp_path / "drawings").iterdir())) == 1


def test_stale_partial_files_of_killed_saves_are_removed(tmp_path: Path) -> None:
    folder = DrawingFolder(tmp_path / "drawings")
    folder.add(drawn(4)[0], 4)
    stale, fresh = (
        tmp_path / "drawings" / ".partial-a.npz",
        tmp_path / "drawings" / ".partial-b.npz",
    )
    stale.write_bytes(b"PK")
    fresh.write_bytes(b"PK")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert remove_stale_partials(tmp_path / "drawings") == 1
    assert not stale.exists() and fresh.exists()  # fresh: perhaps a save in progress
    assert [d.label for d in DrawingFolder(tmp_path / "drawings").drawings()] == [4]
    assert remove_stale_partials(tmp_path / "absent") == 0


def test_folder_skips_damaged_files_without_deleting_them(tmp_path: Path) -> None:
    folder = DrawingFolder(tmp_path / "drawings")
    folder.add(drawn(6)[0], 6)
    damaged = tmp_path / "drawings" / "20260101T000000000000Z-abcdef.npz"
    damaged.write_bytes(b"not a zip")
    reopened = DrawingFolder(tmp_path / "drawings")
    assert [d.label for d in reopened.drawings()] == [6]
    assert len(reopened.problems) == 1 and damaged.name in reopened.problems[0]
    assert str(tmp_path) not in reopened.problems[0]
    assert damaged.exists()


def hostile_header(shape: tuple[int, ...], descr: object = "|u1") -> bytes:
    """An .npz whose images.npy header claims ``shape`` of ``descr`` but carries 16 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images.npy", header.getvalue() + b"\0" * 16)
        zf.writestr("labels.npy", npz_member(np.zeros(1, np.uint8)))
    return archive.getvalue()


def npz_member(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


GOOD_IMAGES = np.zeros((2, 28, 28), np.uint8)
GOOD_LABELS = np.array([3, 4], np.uint8)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello", "not an .npz file"),
        (b"", "not an .npz file"),
        (npz_bytes(images=GOOD_IMAGES), "lacks the array.*labels"),
        (npz_bytes(pictures=GOOD_IMAGES, labels=GOOD_LABELS), "lacks the array.*images"),
        (npz_bytes(images=np.zeros((2, 32, 32), np.uint8), labels=GOOD_LABELS), "(N, 28, 28)"),
        (npz_bytes(images=GOOD_IMAGES.astype(np.float64), labels=GOOD_LABELS), "dtype float64"),
        (npz_bytes(images=GOOD_IMAGES, labels=np.array([3, 4, 5])), "one per image"),
        (npz_bytes(images=GOOD_IMAGES, labels=np.array([3, 12])), "digits 0..9"),
        (npz_bytes(images=GOOD_IMAGES, labels=np.array([0.5, 1.0])), "digits 0..9"),
        (npz_bytes(images=GOOD_IMAGES[:0], labels=GOOD_LABELS[:0]), "no drawings"),
        (
            npz_bytes(images=GOOD_IMAGES, labels=np.array([3, {"x": 1}], dtype=object)),
            "Python objects",
        ),
        (hostile_header((10**9, 28, 28)), "too large"),
        (hostile_header((2, 28, 28)), "damaged"),
        (hostile_header((2000, 28, 28), "|V100000000"), "dtype |V100000000"),
        (hostile_header((2, 28, 28), [("r", "|u1"), ("g", "|u1")]), "expected plain numbers"),
        (hostile_header((2, 28, 28), "<U1000"), "expected plain numbers"),
        (hostile_header((1, 2, 2), "<f8"), "should hold 32 bytes of data but holds 16"),
    ],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(DrawingsFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_drawings_npz(data)
    collection = DrawingCollection()
    with pytest.raises(DrawingsFileError):
        collection.import_npz(data)
    assert len(collection) == 0  # all or nothing


def test_running_out_of_memory_while_reading_is_a_drawings_file_error(monkeypatch) -> None:
    """The last guard, should a header the checks pass still ask for more than the server has."""

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 143. TiB")

    monkeypatch.setattr(np.lib.format, "read_array", out_of_memory)
    data = npz_bytes(images=GOOD_IMAGES, labels=GOOD_LABELS)
    with pytest.raises(DrawingsFileError, match="too large to read"):
        read_drawings_npz(data)


def test_a_truncated_export_is_damaged() -> None:
    collection = DrawingCollection()
    collection.add(drawn(8)[0], 8)
    data = collection.export_npz()
    with pytest.raises(DrawingsFileError):
        read_drawings_npz(data[: len(data) // 2])


def corrupt_stream(data: bytes) -> bytes:
    """``data`` (a compressed .npz) with bytes flipped inside the first member's deflate stream,
    where the zip's own structure still reads: only decompressing finds the damage."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    damaged = bytearray(data)
    for offset in range(start + 2, start + 2 + min(64, first.compress_size - 4)):
        damaged[offset] ^= 0xFF
    return bytes(damaged)


def test_a_corrupt_compressed_export_is_damaged_not_a_crash() -> None:
    collection = DrawingCollection()
    collection.add(drawn(8)[0], 8)
    with pytest.raises(DrawingsFileError, match="damaged"):
        read_drawings_npz(corrupt_stream(collection.export_npz()))


def test_a_drawing_file_rotten_on_disk_is_listed_as_a_problem(tmp_path: Path) -> None:
    folder = DrawingFolder(tmp_path / "drawings")
    folder.add(drawn(6)[0], 6)
    folder.add(drawn(2)[0], 2)
    rotten = sorted((tmp_path / "drawings").glob("*.npz"))[0]
    rotten.write_bytes(corrupt_stream(rotten.read_bytes()))
    reopened = DrawingFolder(tmp_path / "drawings")
    assert len(reopened.drawings()) == 1
    assert len(reopened.problems) == 1 and rotten.name in reopened.problems[0]


def test_an_archive_listing_a_name_many_times_is_refused_before_reading_any(monkeypatch) -> None:
    """Each entry would be decompressed once more: a small upload, minutes of a shared CPU."""
    reads = []
    real_read_array = np.lib.format.read_array
    monkeypatch.setattr(
        np.lib.format, "read_array", lambda *a, **k: reads.append(1) or real_read_array(*a, **k)
    )
    entry = io.BytesIO()
    np.save(entry, GOOD_IMAGES)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for _ in range(50):
            zf.writestr("images.npy", entry.getvalue())
    with pytest.raises(DrawingsFileError, match="damaged: it lists 50 entries"):
        read_drawings_npz(archive.getvalue())
    assert reads == []
