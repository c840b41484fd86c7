"""The operator's settings, all from environment variables, read when asked (never cached).

On Streamlit Community Cloud a root-level secret becomes an environment variable, so the same
names work there. Every setting has a default that suits one person running the app locally;
``MNIST_CNN_PUBLIC=1`` switches on the rules for a server that anonymous visitors share.

- ``MNIST_CNN_PUBLIC``: 1/true/yes/on turns public mode on (see ``public_mode``). Default off.
- ``MNIST_CNN_MAX_EPOCHS``: the most epochs a run may have in public mode. Default 10.
- ``MNIST_CNN_MAX_PARAMETERS``: the most parameters a network may have in public mode.
  Default 1,000,000.
- ``MNIST_CNN_MAX_FLOPS_RATIO``: in public mode, the most a network may cost per digit, as a
  multiple of the seed CNN's FLOPs. Default 4.
- ``MNIST_CNN_KEEP_MODELS``: how many trained models to keep; older ones are pruned after each
  save. Default 20.
- ``MNIST_CNN_DEFAULT_MODEL``: the model id every new session starts on
  (``python -m mnist_cnn models`` lists ids; ``bundled`` is the bundled model). Default unset.
- ``MNIST_CNN_MODELS_DIR``: where trained models are saved. Default ./trained_models.
- ``MNIST_CNN_DRAWINGS_DIR``: where your drawings are kept in local mode (read by
  ``mnist_cnn.drawings_store``). Default ``my_drawings/`` beside the models folder.
- ``MNIST_CNN_MEMORY_MB``: the memory the server may use, in MB, for its budget of heavy jobs
  (``mnist_cnn.memory_budget``); ``unlimited`` turns the budget off. Default: the memory
  cgroup's limit where there is one (Community Cloud, a container), else unlimited.
- ``MNIST_CNN_FAMILIARITY``: on/off for the "not a digit" check's familiarity part
  (``mnist_cnn.familiarity``), which keeps about 100 MB once made. Default: on, but off where
  the memory above is under ``FAMILIARITY_MIN_MEMORY_MB`` (see ``familiarity_check``).
- ``MNIST_NPZ``: a local mnist.npz to use instead of the Keras download. Default unset.

A value that cannot be used raises ``SettingError`` naming the variable, rather than silently
falling back to a default the operator did not choose.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mnist_cnn import memory_limit

if TYPE_CHECKING:
    from mnist_cnn.architecture import ModelSpec

PUBLIC_ENV = "MNIST_CNN_PUBLIC"
MAX_EPOCHS_ENV = "MNIST_CNN_MAX_EPOCHS"
MAX_PARAMETERS_ENV = "MNIST_CNN_MAX_PARAMETERS"
MAX_FLOPS_RATIO_ENV = "MNIST_CNN_MAX_FLOPS_RATIO"
KEEP_MODELS_ENV = "MNIST_CNN_KEEP_MODELS"
DEFAULT_MODEL_ENV = "MNIST_CNN_DEFAULT_MODEL"
MEMORY_MB_ENV = "MNIST_CNN_MEMORY_MB"
FAMILIARITY_ENV = "MNIST_CNN_FAMILIARITY"
UNLIMITED = "unlimited"

# A public run of 10 epochs takes about 3 minutes on Community Cloud's CPU: long enough to learn
# from, short enough that one visitor cannot hold the server's only training slot for an hour.
PUBLIC_MAX_EPOCHS = 10
# Locally the Train form still stops somewhere; 100 epochs is hours of CPU.
LOCAL_MAX_EPOCHS = 100
# A public network's size and cost: a million parameters is ~12 MB on disk and a few seconds
# more to load; 4x the seed's FLOPs makes an epoch about 4x as long, so the epoch cap above
# still bounds a run to well under an hour.
PUBLIC_MAX_PARAMETERS = 1_000_000
PUBLIC_MAX_FLOPS_RATIO = 4
# ~1.5 MB each on disk: 20 trained models stay far below any disk quota.
KEEP_MODELS = 20
# Below this much memory the familiarity check is off unless asked for: on the 690 MB box its
# ~100 MB left TensorFlow's libraries too little room (bench_cloud_box.py: 5 answers, 9 errors).
FAMILIARITY_MIN_MEMORY_MB = 1_000

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingError(ValueError):
    """An environment variable holds a value that cannot be used; the message names it."""


def public_mode() -> bool:
    """True when anonymous visitors share this server (``MNIST_CNN_PUBLIC``).

    In public mode only the session that started a run can stop it, runs are capped at
    ``max_epochs()``, models cannot be renamed or deleted, new sessions start on the bundled (or
    pinned) model, and messages shown to visitors carry no server paths.
    """
    value = os.environ.get(PUBLIC_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(f"{PUBLIC_ENV}={value!r}: use 1 (public mode) or 0 (local mode).")


def max_epochs() -> int:
    """The most epochs one run may have: ``MNIST_CNN_MAX_EPOCHS`` (default 10) in public mode."""
    if not public_mode():
        return LOCAL_MAX_EPOCHS
    return _positive_int(MAX_EPOCHS_ENV, PUBLIC_MAX_EPOCHS)


def max_parameters() -> int | None:
    """The most parameters a network may have: ``MNIST_CNN_MAX_PARAMETERS`` (default 1M) in
    public mode, None (no cap) locally."""
    if not public_mode():
        return None
    return _positive_int(MAX_PARAMETERS_ENV, PUBLIC_MAX_PARAMETERS)


def max_flops_ratio() -> int | None:
    """The most a network may cost per digit, in seed CNNs: ``MNIST_CNN_MAX_FLOPS_RATIO``
    (default 4) in public mode, None (no cap) locally."""
    if not public_mode():
        return None
    return _positive_int(MAX_FLOPS_RATIO_ENV, PUBLIC_MAX_FLOPS_RATIO)


def network_problem(spec: ModelSpec) -> str | None:
    """Why this server will not train ``spec`` (its public caps, with the figures), else None."""
    from mnist_cnn.architecture import SEED

    most_parameters, most_ratio = max_parameters(), max_flops_ratio()
    if most_parameters is not None and spec.parameters > most_parameters:
        return (
            f"This network has {spec.parameters:,} parameters; this shared server trains at "
            f"most {most_parameters:,} ({MAX_PARAMETERS_ENV} sets it). Use fewer filters or "
            "units, or pool before the dense layers."
        )
    ratio = spec.flops_per_sample / SEED.flops_per_sample
    if most_ratio is not None and ratio > most_ratio:
        return (
            f"This network costs {ratio:.1f}x the seed CNN's FLOPs per digit; this shared "
            f"server trains at most {most_ratio}x ({MAX_FLOPS_RATIO_ENV} sets it), so that one "
            "run cannot hold the training slot for long. Use fewer filters, or pool earlier."
        )
    return None


def keep_models() -> int:
    """How many trained models to keep (``MNIST_CNN_KEEP_MODELS``, default 20, at least 1)."""
    return _positive_int(KEEP_MODELS_ENV, KEEP_MODELS)


def default_model() -> str | None:
    """The model id the operator pinned as every new session's model, if any."""
    return os.environ.get(DEFAULT_MODEL_ENV, "").strip() or None


def memory_budget_mb() -> float | None:
    """The memory the server may use for its jobs, in MB; None: no budget (see module doc)."""
    value = os.environ.get(MEMORY_MB_ENV, "").strip().lower()
    if value == UNLIMITED:
        return None
    if value:
        try:
            return float(_positive_int(MEMORY_MB_ENV, 0))
        except SettingError as error:
            raise SettingError(f"{error} Or {UNLIMITED!r}, for no budget.") from None
    return memory_limit.own_limit_mb()


def familiarity_check() -> bool:
    """Whether the "not a digit" check asks the familiarity part (``MNIST_CNN_FAMILIARITY``).

    Unset, it is on unless the memory budget is under ``FAMILIARITY_MIN_MEMORY_MB``: there the
    references' ~100 MB, kept for the life of the process, squeeze the server until drawings
    go unanswered, and the check keeps its measured limits and learned detector.
    """
    value = os.environ.get(FAMILIARITY_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE - {""}:
        return False
    if value:
        raise SettingError(f"{FAMILIARITY_ENV}={value!r}: use 1 (on) or 0 (off), or leave unset.")
    budget = memory_budget_mb()
    return budget is None or budget >= FAMILIARITY_MIN_MEMORY_MB


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SettingError(f"{name}={value!r}: use a whole number of at least 1.")
    return number
