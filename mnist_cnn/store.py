"""Save and load models with their metadata, atomically and safely.

Each trained model is a folder ``<models dir>/<UTC timestamp>/`` holding
``model.keras`` and ``metadata.json``. A save writes a hidden ``.partial-*``
folder and renames it into place in one step, so a crash or a stopped run never
leaves a half-written model where readers look. The newest complete folder is
the active model; with none, the model bundled with the package is. Models load
with Keras safe mode (no arbitrary code) and are checked to take 28x28x1 images
and give 10 probabilities.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import sklearn
import tensorflow as tf

MODELS_DIR_ENV = "MNIST_CNN_MODELS_DIR"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "trained_models"
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
PARTIAL_PREFIX = ".partial-"


class ModelLoadError(RuntimeError):
    """A model file could not be loaded; the message says which and why."""


@dataclass(frozen=True)
class ModelRecord:
    """A saved model on disk: its folder and its metadata."""

    folder: Path
    metadata: dict
    bundled: bool

    @property
    def model_file(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def id(self) -> str:
        """Changes whenever the model file does: a cache key for the loaded model."""
        try:
            stamp = self.model_file.stat().st_mtime_ns
        except OSError:
            stamp = 0
        return f"{'bundled' if self.bundled else 'trained'}:{self.folder.name}:{stamp}"


@dataclass
class LoadedModel:
    model: keras.Model
    record: ModelRecord
    warnings: list[str] = field(default_factory=list)


def models_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where trained models go: ``directory``, ``$MNIST_CNN_MODELS_DIR`` or ./trained_models."""
    if directory is not None:
        return Path(directory)
    return Path(os.environ.get(MODELS_DIR_ENV) or DEFAULT_MODELS_DIR)


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def save_model(
    model: keras.Model, metadata: dict, directory: str | os.PathLike | None = None
) -> ModelRecord:
    """Save ``model`` with ``metadata`` as the newest trained model; all or nothing."""
    target_dir = models_dir(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    metadata = {
        **metadata,
        "created_at": created.isoformat(timespec="seconds"),
        "versions": library_versions(),
        "parameters": int(model.count_params()),
    }
    partial = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=target_dir))
    try:
        model.save(partial / MODEL_FILE)
        (partial / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        for name in (MODEL_FILE, METADATA_FILE):
            _fsync(partial / name)
        final = target_dir / created.strftime("%Y%m%dT%H%M%S%fZ")
        os.rename(partial, final)  # atomic: readers see the whole folder or nothing
        _fsync(target_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ModelRecord(final, metadata, bundled=False)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bundled_record() -> ModelRecord:
    """The model shipped with the package (made with ``train --models-dir mnist_cnn/bundled``)."""
    shipped = _bundled_records()
    if not shipped:
        raise ModelLoadError(f"The bundled model is missing from {BUNDLED_DIR}; reinstall.")
    return shipped[0]


def _bundled_records() -> list[ModelRecord]:
    return [
        ModelRecord(p, _read_metadata(p), bundled=True) for p in _model_folders(BUNDLED_DIR)[:1]
    ]


def _model_folders(folder: Path) -> list[Path]:
    """Complete model folders, newest first (partial saves start with a dot: invisible)."""
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )


def trained_records(directory: str | os.PathLike | None = None) -> list[ModelRecord]:
    """Complete trained models, newest first."""
    return [
        ModelRecord(p, _read_metadata(p), bundled=False)
        for p in _model_folders(models_dir(directory))
    ]


def active_record(directory: str | os.PathLike | None = None) -> ModelRecord:
    """The model the app and CLI use: the newest trained one, else the bundled one.

    Called on every page run, so it reads only the newest folder's metadata.
    """
    newest = _model_folders(models_dir(directory))[:1]
    if not newest:
        return bundled_record()
    return ModelRecord(newest[0], _read_metadata(newest[0]), bundled=False)


def _read_metadata(folder: Path) -> dict:
    try:
        return json.loads((folder / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}


def load_keras_file(path: str | os.PathLike) -> keras.Model:
    """Load one ``.keras`` file in safe mode and check it is an MNIST classifier."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"No model file at {path}.")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive
        raise ModelLoadError(
            f"Could not load the model in {path}: it is corrupt or not a Keras model "
            f"({type(error).__name__}: {error})."
        ) from error
    input_shape = tuple(model.input_shape) if hasattr(model, "input_shape") else None
    output_shape = tuple(model.output_shape) if hasattr(model, "output_shape") else None
    if input_shape != (None, 28, 28, 1) or output_shape != (None, 10):
        raise ModelLoadError(
            f"{path} is a Keras model for inputs {input_shape} and outputs {output_shape}; "
            "an MNIST model takes (None, 28, 28, 1) and gives (None, 10)."
        )
    return model


def load_record(record: ModelRecord) -> keras.Model:
    return load_keras_file(record.model_file)


def load_active(directory: str | os.PathLike | None = None) -> LoadedModel:
    """Load the active model, falling back (with warnings) past any that will not load."""
    candidates = [*trained_records(directory), *_bundled_records()]
    problems: list[str] = []
    for record in candidates:
        try:
            model = load_record(record)
        except ModelLoadError as error:
            problems.append(str(error))
            continue
        notes = [f"{problem} Using an earlier model instead." for problem in problems]
        for note in notes:
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        return LoadedModel(model, record, notes)
    raise ModelLoadError("No model could be loaded. " + " ".join(problems))


def load_model(
    path: str | os.PathLike | None = None, directory: str | os.PathLike | None = None
) -> keras.Model:
    """Load a model: the ``.keras`` file at ``path``, or else the active model.

    An explicit ``path`` that will not load raises ``ModelLoadError``. Without one,
    the newest trained model is used; if it is corrupt, a warning is issued and an
    earlier one (in the end the bundled model) is used instead.
    """
    if path is not None:
        return load_keras_file(path)
    return load_active(directory).model
