"""Your drawings: digits drawn in the app with the label their author gave them.

A model trained on MNIST misreads some people's handwriting every time; the drawings they
correct are what teaches it (see ``fine_tuning.py``). Each drawing keeps two pictures: the
28x28 model input, and its ink at a higher resolution so that a later change to the
preprocessing (``drawing.canvas_to_mnist``) can redo the input from what was really drawn.

Two homes, one interface. ``DrawingCollection`` keeps drawings in memory: in public mode it
lives in the visitor's browser session and no other visitor can see it. ``DrawingFolder``
also writes each drawing to its own file in a folder (``$MNIST_CNN_DRAWINGS_DIR``, by default
``my_drawings/`` next to the trained models), atomically, so they survive restarts.

Both export and import a plain ``.npz`` (``images`` (N, 28, 28) uint8, ``labels`` (N,) uint8).
Imports are untrusted: the file is read without pickle and every array header is checked
before its data is read, so a hostile file costs a clear ``DrawingsFileError``, not memory.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_cnn.npz_files import (
    UNREADABLE_ZIP_ERRORS,
    ArrayHeader,
    NotAnArrayError,
    read_checked_arrays,
)
from mnist_cnn.shapes import IMAGE_SHAPE, NUM_CLASSES
from mnist_cnn.store import PARTIAL_PREFIX, models_dir, remove_stale_partials_from

DRAWINGS_DIR_ENV = "MNIST_CNN_DRAWINGS_DIR"
DEFAULT_DRAWINGS_FOLDER = "my_drawings"  # beside the trained models' folder
# The ink is kept at 4x MNIST's resolution: enough to redo the preprocessing faithfully, and
# small enough (at most 12 KB raw) that a session can hold hundreds of drawings in memory.
INK_MAX_SIDE = 112
# A collection (and one import) holds at most this many drawings: bounded memory per visitor.
MAX_DRAWINGS = 2000
DRAWING_SUFFIX = ".npz"
_EXPORT_KEYS = ("images", "labels")


class DrawingsFileError(ValueError):
    """A drawings file could not be read; the message says why, without server paths."""


@dataclass(frozen=True)
class Drawing:
    """One labelled drawing: its model input, its ink (None when imported) and the true digit."""

    id: str
    label: int
    image: np.ndarray  # (28, 28) uint8, white digit on black: what the model sees
    ink: np.ndarray | None  # (H, W) uint8, longer side <= INK_MAX_SIDE, white ink on black


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] (or uint8) as uint8 0..255."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        return pixels
    return np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def shrink_ink(ink: np.ndarray) -> np.ndarray:
    """The ink as uint8, scaled down (anti-aliased, aspect kept) to fit INK_MAX_SIDE."""
    pixels = to_uint8(ink)
    if pixels.ndim != 2 or pixels.size == 0:
        raise ValueError(f"expected a 2-D ink image, got shape {pixels.shape}")
    height, width = pixels.shape
    scale = INK_MAX_SIDE / max(height, width)
    if scale >= 1.0:
        return pixels.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def _new_id() -> str:
    """Sortable by creation time, unique without coordination (two tabs may save at once)."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def _checked_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise ValueError(f"a label is a digit 0..9, got {label!r}")
    if not 0 <= int(label) < NUM_CLASSES:
        raise ValueError(f"a label is a digit 0..9, got {label}")
    return int(label)


def _checked_image(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.shape != IMAGE_SHAPE:
        raise ValueError(f"a drawing's model input is 28x28, got shape {pixels.shape}")
    floats = np.issubdtype(pixels.dtype, np.floating)
    if pixels.dtype != np.uint8 and not (floats and np.isfinite(pixels).all()):
        raise ValueError(f"expected uint8 or float pixels in [0, 1], got {pixels.dtype}")
    return to_uint8(pixels).copy()


class DrawingCollection:
    """Labelled drawings in memory, oldest first; safe to share between threads."""

    def __init__(self, drawings: Iterable[Drawing] = (), limit: int = MAX_DRAWINGS) -> None:
        self._lock = threading.Lock()
        self._drawings: list[Drawing] = list(drawings)[:limit]
        self._limit = limit
        self._version = 0
        # Unique for this collection's lifetime and after it: unlike id(), never reused by a
        # later collection (another visitor's), so it can key a server-wide cache.
        self._token = secrets.token_hex(16)

    # --- Reading -----------------------------------------------------------------------------

    def drawings(self) -> list[Drawing]:
        with self._lock:
            return list(self._drawings)

    def __len__(self) -> int:
        with self._lock:
            return len(self._drawings)

    @property
    def version(self) -> int:
        """Grows with every change: a cache key for anything computed from the drawings."""
        return self._version

    @property
    def token(self) -> str:
        """This collection's own random id: with ``version``, a server-wide cache key."""
        return self._token

    @property
    def limit(self) -> int:
        return self._limit

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All model inputs and labels: ``images`` (N, 28, 28) uint8, ``labels`` (N,) uint8."""
        drawings = self.drawings()
        images = np.zeros((len(drawings), *IMAGE_SHAPE), np.uint8)
        for i, drawing in enumerate(drawings):
            images[i] = drawing.image
        labels = np.array([d.label for d in drawings], dtype=np.uint8)
        return images, labels

    def counts(self) -> np.ndarray:
        """How many drawings there are of each digit, shape (10,)."""
        _, labels = self.arrays()
        return np.bincount(labels, minlength=NUM_CLASSES)

    # --- Changing ----------------------------------------------------------------------------

    def add(self, image: np.ndarray, label: int, ink: np.ndarray | None = None) -> Drawing:
        """Keep ``image`` (the 28x28 model input) with its true ``label`` and optional ``ink``."""
        drawing = Drawing(
            id=_new_id(),
            label=_checked_label(label),
            image=_checked_image(image),
            ink=None if ink is None else shrink_ink(ink),
        )
        self._add_all([drawing])
        return drawing

    def delete(self, drawing_id: str) -> bool:
        """Forget one drawing; False when there was none with that id."""
        with self._lock:
            kept = [d for d in self._drawings if d.id != drawing_id]
            if len(kept) == len(self._drawings):
                return False
            self._forget(drawing_id)
            self._drawings = kept
            self._version += 1
            return True

    def _add_all(self, drawings: list[Drawing]) -> None:
        with self._lock:
            room = self._limit - len(self._drawings)
            if len(drawings) > room:
                raise DrawingsFileError(
                    f"There is room for {max(room, 0)} more drawing(s) (at most {self._limit}); "
                    "delete some or export them first."
                )
            saved = []
            try:
                for drawing in drawings:
                    self._persist(drawing)
                    saved.append(drawing)
            except BaseException:
                for drawing in saved:  # all or nothing: an import never stops half-way
                    self._forget(drawing.id)
                raise
            self._drawings.extend(drawings)
            self._version += 1

    # Storage hooks, called under the lock; the in-memory collection stores nothing else.
    def _persist(self, drawing: Drawing) -> None:
        pass

    def _forget(self, drawing_id: str) -> None:
        pass

    # --- Export and import -------------------------------------------------------------------

    def export_npz(self) -> bytes:
        """All drawings as a compressed ``.npz``: ``images`` (N, 28, 28) and ``labels`` (N,)."""
        images, labels = self.arrays()
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images, labels=labels)
        return buffer.getvalue()

    def import_npz(self, data: bytes) -> int:
        """Add every drawing of an exported ``.npz``; all or nothing. Returns how many."""
        images, labels = read_drawings_npz(data)
        drawings = [
            Drawing(id=_new_id(), label=int(label), image=image.copy(), ink=None)
            for image, label in zip(images, labels, strict=True)
        ]
        self._add_all(drawings)
        return len(drawings)


def drawings_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where drawings are kept: ``directory``, ``$MNIST_CNN_DRAWINGS_DIR``, or beside the models."""
    if directory is not None:
        return Path(directory)
    configured = os.environ.get(DRAWINGS_DIR_ENV)
    if configured:
        return Path(configured)
    return models_dir().parent / DEFAULT_DRAWINGS_FOLDER


def remove_stale_partials(directory: str | os.PathLike | None = None) -> int:
    """Remove the ``.partial-*`` files that killed saves left in the drawings folder; how many."""
    return remove_stale_partials_from(drawings_dir(directory))


class DrawingFolder(DrawingCollection):
    """Drawings kept in a folder, one ``<id>.npz`` file each, written atomically.

    One file per drawing makes a save or a delete touch nothing else, so an interrupted save
    can never damage earlier drawings. Files that cannot be read are left where they are (never
    deleted) and listed in ``problems``.
    """

    def __init__(
        self, directory: str | os.PathLike | None = None, limit: int = MAX_DRAWINGS
    ) -> None:
        self.folder = drawings_dir(directory)
        self.problems: list[str] = []
        super().__init__(self._read_folder(), limit)

    def _read_folder(self) -> list[Drawing]:
        if not self.folder.is_dir():
            return []
        drawings = []
        for path in sorted(self.folder.glob(f"*{DRAWING_SUFFIX}")):
            if path.name.startswith("."):
                continue  # an interrupted save
            try:
                drawings.append(_read_drawing_file(path))
            except DrawingsFileError as error:
                self.problems.append(f"Skipped the drawing file {path.name}: {error}")
        return drawings

    def _persist(self, drawing: Drawing) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        arrays = {"image": drawing.image, "label": np.uint8(drawing.label)}
        if drawing.ink is not None:
            arrays["ink"] = drawing.ink
        descriptor, temporary = tempfile.mkstemp(
            prefix=PARTIAL_PREFIX, suffix=DRAWING_SUFFIX, dir=self.folder
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                np.savez_compressed(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.folder / f"{drawing.id}{DRAWING_SUFFIX}")  # atomic
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _forget(self, drawing_id: str) -> None:
        (self.folder / f"{drawing_id}{DRAWING_SUFFIX}").unlink(missing_ok=True)


def _read_drawing_file(path: Path) -> Drawing:
    try:
        arrays = _read_checked_npz(path.read_bytes(), {"image": None, "label": None, "ink": None})
    except OSError as error:
        raise DrawingsFileError(f"it cannot be read ({error.strerror})") from error
    if "image" not in arrays or "label" not in arrays:
        raise DrawingsFileError("it lacks the arrays image and label")
    image, label, ink = arrays["image"], arrays["label"], arrays.get("ink")
    if image.shape != IMAGE_SHAPE or image.dtype != np.uint8:
        raise DrawingsFileError(f"its image is {image.dtype} {image.shape}, not uint8 (28, 28)")
    if label.shape != () or label.dtype != np.uint8 or label >= NUM_CLASSES:
        raise DrawingsFileError("its label is not a digit 0..9")
    if ink is not None and (ink.ndim != 2 or ink.dtype != np.uint8):
        raise DrawingsFileError(f"its ink is {ink.dtype} {ink.shape}, not a uint8 image")
    return Drawing(id=path.stem, label=int(label), image=image, ink=ink)


# --- Reading untrusted .npz files ------------------------------------------------------------

# Largest array (in elements) read from a drawing file: a 112x112 ink, with room to spare.
_MAX_FILE_ELEMENTS = 4 * INK_MAX_SIDE * INK_MAX_SIDE
# Array kinds an import may hold: signed and unsigned integers, floats.
_NUMERIC_KINDS = "iuf"
# Entries an .npz of ours may list: an export has 2, a drawing file 3. More, or one name twice,
# is a crafted file: each entry could make the reader decompress its data once more.
_MAX_NPZ_ENTRIES = 8


def read_drawings_npz(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Read an exported ``.npz`` of drawings: ``images`` (N, 28, 28) uint8, ``labels`` (N,) uint8.

    Raises ``DrawingsFileError`` with a reason a visitor can act on for anything else.
    """
    limits = {"images": MAX_DRAWINGS * IMAGE_SHAPE[0] * IMAGE_SHAPE[1], "labels": MAX_DRAWINGS}
    arrays = _read_checked_npz(data, limits)
    missing = [key for key in _EXPORT_KEYS if key not in arrays]
    if missing:
        raise DrawingsFileError(
            f"The file lacks the array(s) {', '.join(missing)}: a drawings file holds "
            "images (N, 28, 28) uint8 and labels (N,) uint8."
        )
    images, labels = arrays["images"], arrays["labels"]
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DrawingsFileError(f"images has shape {images.shape}; expected (N, 28, 28).")
    if images.dtype != np.uint8:
        raise DrawingsFileError(f"images has dtype {images.dtype}; expected uint8 pixels 0..255.")
    if labels.shape != (len(images),):
        raise DrawingsFileError(
            f"labels has shape {labels.shape}; expected ({len(images)},), one per image."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DrawingsFileError(f"labels has dtype {labels.dtype}; expected digits 0..9.")
    if len(labels) == 0:
        raise DrawingsFileError("The file holds no drawings.")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DrawingsFileError(
            f"labels run from {labels.min()} to {labels.max()}; expected digits 0..9."
        )
    return images, labels.astype(np.uint8)


def _read_checked_npz(data: bytes, limits: dict[str, int | None]) -> dict[str, np.ndarray]:
    """The arrays named in ``limits`` (others are ignored), each header checked before its data.

    ``limits`` maps a name to the most elements it may hold (None: the drawing-file default).
    Never unpickles: object arrays are refused from their header.
    """
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise DrawingsFileError("This is not an .npz file (it is not a zip archive).")
    try:
        with zipfile.ZipFile(buffer) as archive:
            entries = archive.namelist()
            if len(entries) > _MAX_NPZ_ENTRIES or len(set(entries)) != len(entries):
                raise DrawingsFileError(
                    f"The file is damaged: it lists {len(entries)} entries "
                    f"({len(set(entries))} different names); a drawings file has 2 or 3."
                )
            return read_checked_arrays(
                archive,
                limits,
                lambda header: _check_header(header, limits[header.name] or _MAX_FILE_ELEMENTS),
            )
    except DrawingsFileError:
        raise
    except NotAnArrayError as error:
        raise DrawingsFileError(f"The file is damaged: {error}.") from error
    except MemoryError as error:  # a last guard: the checks above should make this unreachable
        raise DrawingsFileError("The file is too large to read.") from error
    except UNREADABLE_ZIP_ERRORS as error:
        raise DrawingsFileError(f"The file is damaged and cannot be read ({error}).") from error


def _check_header(header: ArrayHeader, limit: int) -> None:
    """Refuse, before any data is read, an array that is not a plain numeric one of ``limit``.

    Only integers and floats are drawings' stuff: objects would need unpickling, and a void or
    structured dtype can claim any item size (``|V100000000``), so that even a few elements
    would ask for terabytes.
    """
    name, shape, dtype = header.name, header.shape, header.dtype
    if dtype.hasobject:
        raise DrawingsFileError(f"{name} holds Python objects, which are never loaded (no pickle).")
    if dtype.kind not in _NUMERIC_KINDS:  # void, structured and sub-array dtypes are kind V
        raise DrawingsFileError(
            f"{name} has dtype {dtype.str}; expected plain numbers (uint8 pixels, digit labels)."
        )
    if math.prod(shape) > limit:
        raise DrawingsFileError(
            f"{name} has shape {shape}: too large (at most {MAX_DRAWINGS} drawings at a time)."
        )
    if not header.holds_its_claim:
        raise DrawingsFileError(
            f"The file is damaged: {name} should hold {header.claimed_bytes:,} bytes of data but "
            f"holds {header.held_bytes:,}."
        )
