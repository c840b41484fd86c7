"""The operator's settings, all from environment variables, read when asked (never cached).

On Streamlit Community Cloud a root-level secret becomes an environment variable, so the same
names work there. Every setting has a default that suits one person running the app locally;
``MNIST_CNN_PUBLIC=1`` switches on the rules for a server that anonymous visitors share.

- ``MNIST_CNN_PUBLIC``: 1/true/yes/on turns public mode on (see ``public_mode``). Default off.
- ``MNIST_CNN_MAX_EPOCHS``: the most epochs a run may have in public mode. Default 10.
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
- ``MNIST_NPZ``: a local mnist.npz to use instead of the Keras download. Default unset.

A value that cannot be used raises ``SettingError`` naming the variable, rather than silently
falling back to a default the operator did not choose.
"""

from __future__ import annotations

import os

from mnist_cnn import memory_limit

PUBLIC_ENV = "MNIST_CNN_PUBLIC"
MAX_EPOCHS_ENV = "MNIST_CNN_MAX_EPOCHS"
KEEP_MODELS_ENV = "MNIST_CNN_KEEP_MODELS"
DEFAULT_MODEL_ENV = "MNIST_CNN_DEFAULT_MODEL"
MEMORY_MB_ENV = "MNIST_CNN_MEMORY_MB"
UNLIMITED = "unlimited"

# A public run of 10 epochs takes about 3 minutes on Community Cloud's CPU: long enough to learn
# from, short enough that one visitor cannot hold the server's only training slot for an hour.
PUBLIC_MAX_EPOCHS = 10
# Locally the Train form still stops somewhere; 100 epochs is hours of CPU.
LOCAL_MAX_EPOCHS = 100
# ~1.5 MB each on disk: 20 trained models stay far below any disk quota.
KEEP_MODELS = 20

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
    return memory_limit.cgroup_limit_mb()


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
