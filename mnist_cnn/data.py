"""Load MNIST and turn it into model inputs.

The arrays come back exactly as ``keras.datasets.mnist.load_data()`` returns them
(uint8 images, uint8 labels), whatever the source, so everything downstream has
one shape to expect. Every way the source can be wrong becomes a ``DataError``
that says what is wrong and what to do about it.
"""

from __future__ import annotations

import os
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np

from mnist_cnn.npz_files import (
    UNREADABLE_ZIP_ERRORS,
    ArrayHeader,
    NotAnArrayError,
    read_checked_arrays,
)
from mnist_cnn.shapes import IMAGE_SHAPE, NUM_CLASSES

MNIST_NPZ_ENV = "MNIST_NPZ"
EXPECTED_KEYS = ("x_train", "y_train", "x_test", "y_test")
# How long the Keras download may wait on an unreachable network before we give up.
DOWNLOAD_TIMEOUT_S = 15.0
# Several times MNIST's 60,000 (EMNIST digits has 240,000): more is a hostile or broken header.
MAX_IMAGES = 1_000_000

Split = tuple[np.ndarray, np.ndarray]


class DataError(RuntimeError):
    """MNIST could not be loaded; the message says why and what to do."""


def load_mnist(path: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, like Keras.

    Source, in order: ``path``; the file named by ``$MNIST_NPZ``; otherwise a
    download through ``keras.datasets.mnist`` (cached by Keras).
    """
    path = _source(path)
    if path is not None:
        return read_npz(path)
    return _download()


def shared_mnist(path: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """``load_mnist``'s arrays, read once per process and shared, read-only, by every caller.

    A server runs training, teaching and the pages' scoring and neighbours side by side; each
    reading its own copy cost 55 MB more per job. One copy is kept, for the source last asked
    for (a file is read again once its size or modification time changes).
    """
    source = _source(path)
    key = _identity(source)
    with _shared_lock:
        if _shared.get("key") != key:
            _shared.clear()  # the old copy goes before the new one is read
            splits = load_mnist(source)
            for images, labels in splits:
                images.setflags(write=False)
                labels.setflags(write=False)
            _shared.update(key=key, splits=splits)
        return _shared["splits"]


_shared_lock = threading.Lock()
_shared: dict[str, object] = {}


def _identity(source: str | os.PathLike | None) -> tuple:
    if source is None:
        return ("keras download",)
    path = Path(source).resolve()
    try:
        stat = path.stat()
    except OSError:
        return (str(path),)  # load_mnist says what is wrong with it
    return (str(path), stat.st_size, stat.st_mtime_ns)


def load_test_set(path: str | os.PathLike | None = None) -> Split:
    """Only ``(x_test, y_test)``, from the same source as ``load_mnist``.

    Scoring a model needs nothing else; from an npz file the training split is never read
    (a Keras download still comes as one file holding both).
    """
    path = _source(path)
    if path is not None:
        return read_npz(path, splits=("test",))[0]
    return _download()[1]


def load_training_set(path: str | os.PathLike | None = None) -> Split:
    """Only ``(x_train, y_train)``, from the same source as ``load_mnist``.

    For what needs the training digits but not the test ones (the nearest-neighbour index).
    """
    path = _source(path)
    if path is not None:
        return read_npz(path, splits=("train",))[0]
    return _download()[0]


def _source(path: str | os.PathLike | None) -> str | os.PathLike | None:
    if path is None and os.environ.get(MNIST_NPZ_ENV):
        return os.environ[MNIST_NPZ_ENV]
    return path


def read_npz(
    path: str | os.PathLike, splits: tuple[str, ...] = ("train", "test")
) -> tuple[Split, ...]:
    """Read and validate the ``splits`` of an MNIST ``.npz`` file, in that order.

    Each array's header is checked before a byte of its data is read: a member that is not a
    ``.npy`` array, holds objects (which would need unpickling) or anything but uint8 images and
    integer labels, or claims more data than it holds is a ``DataError``, never an allocation of
    whatever size a hostile header asks for.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"MNIST file not found: {path}. Point {MNIST_NPZ_ENV} at a copy of mnist.npz "
            "(keys x_train, y_train, x_test, y_test), or unset it to download through Keras."
        )
    if not zipfile.is_zipfile(path):  # np.load would try (and refuse) to unpickle it
        raise DataError(
            f"{path} is not a readable .npz file (not a zip archive). Re-download "
            f"mnist.npz or point {MNIST_NPZ_ENV} at a good copy."
        )
    keys = [f"{kind}_{split}" for split in splits for kind in ("x", "y")]
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            missing = [key for key in keys if f"{key}.npy" not in members]
            if missing:
                raise DataError(
                    f"{path} is missing the arrays {', '.join(missing)}. An MNIST .npz needs "
                    f"{', '.join(EXPECTED_KEYS)}, as keras.datasets.mnist saves it."
                )
            arrays = read_checked_arrays(archive, keys, lambda header: _check(header, path))
    except DataError:
        raise
    except NotAnArrayError as error:
        raise DataError(f"{path}: {error}. Save MNIST with numpy.savez.") from error
    except MemoryError as error:  # a last guard: the header checks should make it unreachable
        raise DataError(
            f"{path} asks for more memory than this machine has; it is not MNIST."
        ) from error
    except UNREADABLE_ZIP_ERRORS as error:
        raise DataError(
            f"{path} is not a readable .npz file ({error}). Re-download mnist.npz "
            f"or point {MNIST_NPZ_ENV} at a good copy."
        ) from error
    return tuple(_validated_split(arrays, split, source=str(path)) for split in splits)


def _check(header: ArrayHeader, path: Path) -> None:
    """Refuse, from its header alone, anything but a plain array of a size it really holds."""
    if header.dtype.hasobject:
        raise DataError(
            f"{path} holds object (pickled) arrays, which are never loaded for safety. "
            "Save MNIST as plain numeric arrays."
        )
    _check_dtype(header.name, header.dtype, source=str(path))
    if header.shape and header.shape[0] > MAX_IMAGES:
        raise DataError(
            f"{path}: {header.name} holds {header.shape[0]:,} entries, more than the "
            f"{MAX_IMAGES:,} this app reads (MNIST has 70,000 images); the file is not MNIST."
        )
    if not header.holds_its_claim:
        raise DataError(
            f"{path}: the header of {header.name} claims shape {header.shape} "
            f"({header.claimed_bytes:,} bytes) but the file holds {header.held_bytes:,} bytes "
            "for it; the file is damaged or not MNIST."
        )


def _check_dtype(key: str, dtype: np.dtype, source: str) -> None:
    """Images are uint8 pixels and labels integers, as Keras gives them; nothing else is read.

    Checked from the header too, so a void or structured dtype (which can claim any item size,
    ``|V100000000``) is refused before its data could be allocated.
    """
    if key.startswith("x_") and dtype != np.uint8:
        raise DataError(f"{source}: {key} has dtype {dtype}; expected uint8 pixels 0..255.")
    if key.startswith("y_") and not np.issubdtype(dtype, np.integer):
        raise DataError(f"{source}: {key} has dtype {dtype}; expected integer labels 0..9.")


def _validated_split(arrays: dict[str, np.ndarray], split: str, source: str) -> Split:
    images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{source}: x_{split} has shape {images.shape}; expected (N, 28, 28) images."
        )
    if labels.shape != (images.shape[0],):
        raise DataError(
            f"{source}: y_{split} has shape {labels.shape}; expected ({images.shape[0]},), "
            f"one label per image in x_{split}."
        )
    _check_dtype(f"x_{split}", images.dtype, source)
    _check_dtype(f"y_{split}", labels.dtype, source)
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f"{source}: y_{split} has labels from {labels.min()} to {labels.max()}; "
            "expected digits 0..9."
        )
    if images.shape[0] == 0:
        raise DataError(f"{source}: x_{split} holds no images.")
    return images, labels.astype(np.uint8)


def _download() -> tuple[Split, Split]:
    """Download through Keras, failing fast (not hanging) when there is no network."""
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Keras wraps network errors in several types
        raise DataError(
            f"Could not download MNIST through Keras ({type(error).__name__}: {error}). "
            f"Without internet, set {MNIST_NPZ_ENV} to the path of a local mnist.npz."
        ) from error
    finally:
        socket.setdefaulttimeout(previous)
    arrays = dict(zip(EXPECTED_KEYS, (x_train, y_train, x_test, y_test), strict=True))
    source = "keras.datasets.mnist"
    return _validated_split(arrays, "train", source), _validated_split(arrays, "test", source)


def prepare_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels to float32 in [0, 1] and add the channel axis: (N, 28, 28, 1).

    The CNN expects one channel and small inputs keep Adam's steps well scaled.
    Float input is taken to be in [0, 1] already.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"expected images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}"
        )
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    return images.astype(np.float32, copy=False)[..., np.newaxis]
