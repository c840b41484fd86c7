"""The engine's reliance on what TensorFlow, Keras and glibc do not promise, in one place.

Each patch below names the versions it was checked against (``*_CHECKED_WITH``, the exact pins
of requirements.txt where the dependency is pinned there). ``tests/test_compat.py`` fails loudly
when a private name it uses moves, or when a pin moves away from the checked version; the
README's "Moving the pinned versions" says how to re-check. Studio's patches of Streamlit are
in ``studio/compat.py``.

Nothing here imports TensorFlow at import time: ``memory`` uses this module too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterable

# --- TensorFlow's gradient registry (traced_steps.releasing_traced_steps) -------------------
# ``tf.custom_gradient``, inside a traced function, registers its gradient function under a
# fresh "CustomGradient-N" in ``tensorflow.python.framework.ops._gradient_registry._registry``
# (a dict, name -> function) and never removes it; Keras' all-reduce of the gradients it
# applies goes through it on every traced train step.
GRADIENT_REGISTRY_CHECKED_WITH = {"tensorflow": "2.21.0", "keras": "3.15.1"}
# tf.custom_gradient's names in the registry (tensorflow/python/ops/custom_gradient.py).
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def custom_gradient_names() -> set[str]:
    """The names that ``tf.custom_gradient`` has registered so far in this process."""
    return {name for name in list(_registrations()) if name.startswith(CUSTOM_GRADIENT_PREFIX)}


def drop_custom_gradients(names: Iterable[str]) -> None:
    """Remove these registrations from TensorFlow's gradient registry (if still there)."""
    registrations = _registrations()
    for name in names:
        registrations.pop(name, None)


def _registrations() -> dict:
    """TensorFlow's gradient registry (name -> gradient function), or {} if it has moved."""
    from tensorflow.python.framework import ops

    registry = getattr(ops, "_gradient_registry", None)
    return getattr(registry, "_registry", {})


# --- glibc's malloc_trim (memory.give_back_freed_memory) ------------------------------------
# ``int malloc_trim(size_t pad)``, a GNU extension: other C libraries (macOS, musl) lack it,
# and there trimming does nothing.
MALLOC_TRIM_CHECKED_WITH = {"glibc": "2.36"}


def malloc_trim(pad: int) -> None:
    """Return the free memory in ``malloc``'s arenas, but ``pad`` bytes, to the system."""
    trim = _malloc_trim()
    if trim is not None:
        trim(pad)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    trim = getattr(ctypes.CDLL(library), "malloc_trim", None)
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
