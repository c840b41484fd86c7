"""Save and load models with their metadata, atomically and safely.

Each trained model is a folder ``<models dir>/<UTC timestamp>/`` holding
``model.keras`` and ``metadata.json``. A save writes a hidden ``.partial-*``
folder and renames it into place in one step, so a crash or a stopped run never
leaves a half-written model where readers look. A model's id is its folder's name
(``bundled`` for the model shipped with the package); the server default is the
pinned model (``MNIST_CNN_DEFAULT_MODEL``), else the bundled one in public mode and
the newest trained one locally. Models load with Keras safe mode (no arbitrary code)
and are checked to take 28x28x1 images and give 10 probabilities.

A model's ``metadata.json`` is read once, into a ``ModelMetadata``: typed fields, each None
(or empty) when missing or not of its type, so an old or hand-edited file never breaks a page.

Retention: ``prune_models`` keeps the newest ``MNIST_CNN_KEEP_MODELS`` trained models
and never the bundled, pinned or in-use ones; ``remove_stale_partials`` clears what a
killed save left behind.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Keras is imported where a model is loaded: listing models needs no TF
    import keras

from mnist_cnn import settings
from mnist_cnn.architecture import SEED, architecture_label
from mnist_cnn.calibration import Calibration, set_temperature
from mnist_cnn.describe import count, describe_config
from mnist_cnn.shapes import INPUT_SHAPE, NUM_CLASSES

MODELS_DIR_ENV = "MNIST_CNN_MODELS_DIR"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "trained_models"
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
PARTIAL_PREFIX = ".partial-"
FOLDER_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
BUNDLED_ID = "bundled"
# A save takes seconds; a .partial-* entry this old was left by a killed process.
STALE_PARTIAL_S = 3600


class ModelLoadError(RuntimeError):
    """A model file could not be loaded; the message says which and why."""


class ModelsDirError(RuntimeError):
    """The models folder cannot take a new model; the message names the setting to change."""


@dataclass(frozen=True)
class ParentModel:
    """The model a taught (fine-tuned) model was taught from, and on how many drawings."""

    key: str  # the parent's id when it was taught
    name: str  # the parent's name then
    bundled: bool | None
    drawings: int | None


@dataclass(frozen=True)
class ModelMetadata:
    """What a model's ``metadata.json`` says, read once by ``from_dict``.

    The file stays plain JSON in the same format (``save_model`` writes the dict it is given,
    plus ``created_at``, ``versions`` and ``parameters``). Every field may be missing: files
    written before a field existed, a taught model (no ``config``), a file edited by hand. A
    value of the wrong type counts as missing, so a page shows "unknown" rather than failing.
    """

    name: str | None = None  # given by a rename
    created_at: str | None = None  # ISO 8601, UTC
    made_with: str | None = None  # the command line, or what the app did
    # The training recipe as saved (TrainConfig.to_dict(); older files hold fewer keys).
    config: dict[str, Any] = field(default_factory=dict)
    history: tuple[dict[str, Any], ...] = ()  # per-epoch figures (EpochProgress fields)
    training_seconds: float | None = None
    training_images: int | None = None
    test_images: int | None = None
    test_accuracy: float | None = None  # a fraction, 0 to 1
    parameters: int | None = None
    versions: dict[str, str] = field(default_factory=dict)  # library versions at the save
    parent: ParentModel | None = None  # set for a taught model only
    fine_tune: dict[str, Any] = field(default_factory=dict)  # a taught model's settings, figures
    calibration: Calibration | None = None  # its temperature, fitted on held-out digits
    # The network as saved (ModelSpec.to_dict()); empty for models saved before the lab, which
    # are all the seed CNN.
    architecture: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: object) -> ModelMetadata:
        """Read a parsed ``metadata.json``; anything missing or malformed is left out."""
        if not isinstance(values, dict):
            return cls()
        history = values.get("history")
        return cls(
            name=_text(values.get("name")),
            created_at=_text(values.get("created_at")),
            made_with=_text(values.get("made_with")),
            config=_mapping(values.get("config")),
            history=tuple(e for e in history if isinstance(e, dict))
            if isinstance(history, list)
            else (),
            training_seconds=_number(values.get("training_seconds")),
            training_images=_whole_number(values.get("training_images")),
            test_images=_whole_number(values.get("test_images")),
            test_accuracy=_number(values.get("test_accuracy")),
            parameters=_whole_number(values.get("parameters")),
            versions=_mapping(values.get("versions")),
            parent=_parent(values),
            fine_tune=_mapping(values.get("fine_tune")),
            calibration=Calibration.from_dict(values.get("calibration")),
            architecture=_mapping(values.get("architecture")),
        )


def _text(value: object) -> str | None:
    """A non-empty string, stripped, else None."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _whole_number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parent(values: dict) -> ParentModel | None:
    key = _text(values.get("parent_model"))
    if key is None:
        return None
    bundled = values.get("parent_bundled")
    return ParentModel(
        key=key,
        name=_text(values.get("parent_name")) or key,
        bundled=bundled if isinstance(bundled, bool) else None,
        drawings=_whole_number(values.get("drawings")),
    )


@dataclass(frozen=True)
class ModelRecord:
    """A saved model on disk: its folder and its metadata."""

    folder: Path
    metadata: ModelMetadata
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

    @property
    def key(self) -> str:
        """The model's id for people and settings: ``bundled`` or the trained folder's name."""
        return BUNDLED_ID if self.bundled else self.folder.name

    @property
    def name(self) -> str:
        """A readable name: the one given by a rename, else what it was taught on (a fine-tuned
        model), else when the model was made."""
        if self.metadata.name is not None:
            return self.metadata.name
        if self.bundled:
            return "Bundled model"
        if self.parent_name is not None:
            return f"Taught on {self._drawings_text} (from {self.parent_name})"
        try:
            made = datetime.strptime(self.folder.name, FOLDER_TIME_FORMAT)
        except ValueError:
            return self.folder.name
        return made.strftime("Run of %d %b %H:%M:%S")

    @property
    def training_config(self) -> dict:
        """The recipe the model was trained with; empty for a fine-tuned model, which has none
        of its own (older ones kept their parent's in ``config``, which would mislead)."""
        if self.metadata.parent is not None:
            return {}
        return self.metadata.config

    @property
    def architecture(self) -> dict:
        """The network's spec as saved (``ModelSpec.to_dict()``): models saved before the lab
        have none and are the seed CNN, so they get the seed's."""
        return self.metadata.architecture or SEED.to_dict()

    @property
    def architecture_text(self) -> str:
        """The network in a few words: 'Tiny · 5,258 parameters', 'Custom · 80,010 parameters'."""
        parameters = self.metadata.parameters
        label = architecture_label(self.architecture)
        return label if parameters is None else f"{label} · {parameters:,} parameters"

    @property
    def parent_name(self) -> str | None:
        """The name of the model this one was taught from (fine-tuned), else None."""
        parent = self.metadata.parent
        return None if parent is None else parent.name

    @property
    def taught_from(self) -> str | None:
        """'Taught from Bundled model on 40 drawings' for a fine-tuned model, else None."""
        if self.parent_name is None:
            return None
        return f"Taught from {self.parent_name} on {self._drawings_text}"

    @property
    def recipe_text(self) -> str:
        """How the model was made, in words: its training recipe, or what a fine-tuned one was
        taught from (it has no recipe of its own; its parent's would mislead)."""
        return self.taught_from or describe_config(self.training_config)

    @property
    def _drawings_text(self) -> str:
        return count(self.metadata.parent.drawings if self.metadata.parent else None, "drawing")


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
        **{name: version(name) for name in ("tensorflow", "keras", "numpy", "scikit-learn")},
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
        final = target_dir / created.strftime(FOLDER_TIME_FORMAT)
        os.rename(partial, final)  # atomic: readers see the whole folder or nothing
        _fsync(target_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ModelRecord(final, ModelMetadata.from_dict(metadata), bundled=False)


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


def all_records(directory: str | os.PathLike | None = None) -> list[ModelRecord]:
    """Every model the server knows: the bundled one first, then trained ones, newest first."""
    return [*_bundled_records(), *trained_records(directory)]


def find_record(key: str, directory: str | os.PathLike | None = None) -> ModelRecord | None:
    """The model with id ``key`` (``bundled`` or a trained model's folder name), if it exists."""
    if key == BUNDLED_ID:
        shipped = _bundled_records()
        return shipped[0] if shipped else None
    if key.startswith(".") or os.sep in key or (os.altsep and os.altsep in key):
        return None  # ids are plain folder names: never a path out of the models folder
    folder = models_dir(directory) / key
    if not (folder / MODEL_FILE).is_file():
        return None
    return ModelRecord(folder, _read_metadata(folder), bundled=False)


def pinned_record(directory: str | os.PathLike | None = None) -> ModelRecord | None:
    """The model the operator pinned with ``MNIST_CNN_DEFAULT_MODEL``, if any."""
    key = settings.default_model()
    if key is None:
        return None
    record = find_record(key, directory)
    if record is None:
        raise ModelLoadError(
            f"{settings.DEFAULT_MODEL_ENV}={key!r} names no model; "
            "`python -m mnist_cnn models` lists the ids."
        )
    return record


def active_record(directory: str | os.PathLike | None = None) -> ModelRecord:
    """The server default, where new sessions and the CLI start.

    The pinned model if the operator set one; else the bundled model in public mode (so one
    visitor's run never changes what the next visitor gets) and the newest trained model
    locally. Called on every page run, so it reads only the chosen folder's metadata.
    """
    pinned = pinned_record(directory)
    if pinned is not None:
        return pinned
    newest = [] if settings.public_mode() else _model_folders(models_dir(directory))[:1]
    if not newest:
        return bundled_record()
    return ModelRecord(newest[0], _read_metadata(newest[0]), bundled=False)


def _read_metadata(folder: Path) -> ModelMetadata:
    return ModelMetadata.from_dict(_read_metadata_file(folder))


def _read_metadata_file(folder: Path) -> object:
    """The folder's ``metadata.json`` as parsed JSON; {} when it is missing or not JSON."""
    try:
        return json.loads((folder / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}


def load_keras_file(path: str | os.PathLike) -> keras.Model:
    """Load one ``.keras`` file in safe mode and check it is an MNIST classifier."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"No model file at {path}.")
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive
        raise ModelLoadError(
            f"Could not load the model in {path}: it is corrupt or not a Keras model "
            f"({type(error).__name__}: {error})."
        ) from error
    input_shape = tuple(model.input_shape) if hasattr(model, "input_shape") else None
    output_shape = tuple(model.output_shape) if hasattr(model, "output_shape") else None
    expected_input, expected_output = (None, *INPUT_SHAPE), (None, NUM_CLASSES)
    if input_shape != expected_input or output_shape != expected_output:
        raise ModelLoadError(
            f"{path} is a Keras model for inputs {input_shape} and outputs {output_shape}; "
            f"an MNIST model takes {expected_input} and gives {expected_output}."
        )
    # A model in a saved folder: its temperature (calibration.py) comes with it.
    calibration = _read_metadata(path.parent).calibration
    if calibration is not None:
        set_temperature(model, calibration.temperature)
    return model


def load_record(record: ModelRecord) -> keras.Model:
    return load_keras_file(record.model_file)


def load_active(directory: str | os.PathLike | None = None) -> LoadedModel:
    """Load the server default, falling back (with warnings) past any that will not load.

    A pinned model is the operator's explicit choice: it loads or raises. Otherwise the
    candidates are the newest trained models (local mode only), then the bundled one.
    """
    pinned = pinned_record(directory)
    if pinned is not None:
        return LoadedModel(load_record(pinned), pinned)
    trained = [] if settings.public_mode() else trained_records(directory)
    candidates = [*trained, *_bundled_records()]
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
    """Load a model: the ``.keras`` file at ``path``, or else the server default.

    An explicit ``path`` that will not load raises ``ModelLoadError``. Without one, the
    default is that of ``load_active``: the pinned model (``MNIST_CNN_DEFAULT_MODEL``), which
    loads or raises; else, in local mode, the newest trained model, falling back with a
    warning past any that will not load; in public mode (``MNIST_CNN_PUBLIC``), and in the
    end, the bundled model.
    """
    if path is not None:
        return load_keras_file(path)
    return load_active(directory).model


def resolve_model(id_or_path: str, directory: str | os.PathLike | None = None) -> keras.Model:
    """Load a model named by its id (``python -m mnist_cnn models``) or a ``.keras`` path."""
    record = find_record(id_or_path, directory)
    if record is not None:
        return load_record(record)
    if Path(id_or_path).suffix == ".keras" or Path(id_or_path).exists():
        return load_keras_file(id_or_path)
    raise ModelLoadError(
        f"No model with id {id_or_path!r} and no .keras file there; "
        "`python -m mnist_cnn models` lists the ids."
    )


# --- Managing saved models -----------------------------------------------------------------


def rename_model(record: ModelRecord, name: str) -> ModelRecord:
    """Give a trained model a readable name (kept in its metadata; its id does not change)."""
    if record.bundled:
        raise ValueError("The bundled model cannot be renamed.")
    name = name.strip()
    if not name:
        raise ValueError("A model's name cannot be empty.")
    return _with_metadata(record, name=name)


def save_calibration(record: ModelRecord, calibration: Calibration) -> ModelRecord:
    """Keep a model's fitted temperature in its metadata, so that it loads calibrated.

    The bundled model too: `python -m mnist_cnn calibrate` is how its temperature was fitted.
    """
    return _with_metadata(record, calibration=calibration.to_dict())


def _with_metadata(record: ModelRecord, **changes: object) -> ModelRecord:
    """Rewrite the model's ``metadata.json`` atomically with ``changes``; the new record."""
    saved = _read_metadata_file(record.folder)  # every key, known to this version or not
    metadata = {**(saved if isinstance(saved, dict) else {}), **changes}
    write_atomically(record.folder / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    return ModelRecord(record.folder, ModelMetadata.from_dict(metadata), bundled=record.bundled)


def delete_model(record: ModelRecord) -> None:
    """Delete a trained model; it vanishes from listings in one step (a rename), then its files."""
    if record.bundled:
        raise ValueError("The bundled model cannot be deleted.")
    doomed = record.folder.with_name(f"{PARTIAL_PREFIX}deleted-{record.folder.name}")
    os.rename(record.folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def prune_models(
    directory: str | os.PathLike | None = None,
    keep: int | None = None,
    protected: Iterable[str] = (),
) -> list[ModelRecord]:
    """Delete trained models beyond the newest ``keep`` (``MNIST_CNN_KEEP_MODELS``).

    Never deletes the pinned model or any whose id is in ``protected`` (the models live
    sessions use), so more than ``keep`` may remain. Returns what was deleted.
    """
    keep = settings.keep_models() if keep is None else keep
    spared = set(protected)
    if settings.default_model():
        spared.add(settings.default_model())
    older = trained_records(directory)[keep:]
    doomed = [record for record in older if record.key not in spared]
    for record in doomed:
        try:
            delete_model(record)
        except OSError:
            continue  # another process removed it first
    return doomed


def remove_stale_partials(
    directory: str | os.PathLike | None = None, older_than_s: float = STALE_PARTIAL_S
) -> int:
    """Remove the ``.partial-*`` leftovers of killed saves from the models folder; how many."""
    return remove_stale_partials_from(models_dir(directory), older_than_s)


def remove_stale_partials_from(folder: Path, older_than_s: float = STALE_PARTIAL_S) -> int:
    """Remove ``.partial-*`` entries of ``folder`` older than ``older_than_s``; returns how many.

    Both kinds: a model save leaves a folder, while ``check_writable``'s probe, a metadata
    rewrite and a drawing save leave a file. Younger ones may belong to a save in progress (in
    this process or another) and are kept.
    """
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for leftover in folder.glob(f"{PARTIAL_PREFIX}*"):
        try:
            if leftover.lstat().st_mtime >= cutoff:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed += 1
        except OSError:
            continue  # another process removed it first, or it is not ours to remove
    return removed


def check_writable(directory: str | os.PathLike | None = None) -> Path:
    """Make sure a model can be saved, before a run spends minutes training one.

    Creates the folder if needed and writes and removes a probe file in it.
    """
    folder = models_dir(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_fd, probe = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=folder)
        os.close(probe_fd)
        os.unlink(probe)
    except OSError as error:
        raise ModelsDirError(
            f"Models cannot be saved in {folder} ({error.strerror or error}). "
            f"Set {MODELS_DIR_ENV} to a writable folder."
        ) from error
    return folder


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the new one, whole."""
    fd, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if isinstance(content, bytes) else "w") as output:
            output.write(content)
            output.flush()
            os.fsync(output.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
