"""Adapt Streamlit's script runner to an app that keeps TensorFlow models in memory.

Streamlit assumes a script that builds what it needs on each run, and cleans up after every
run (each click, each stroke on the canvas, each live-chart refresh). With TensorFlow loaded
and a model training in a background thread, two of those clean-ups hurt:

- ``keras.backend.clear_session()`` resets Keras' global state, TensorFlow's default graph and
  kernel caches while the training thread is building its graph: training hangs before its
  first batch (see streamlit/streamlit#8974). Models here are cached, so nothing needs it.
- ``gc.collect(2)`` walks the ~450,000 objects TensorFlow leaves alive and holds the GIL for
  about 200 ms, stalling the messages to the browser and the training thread. Freezing the
  objects alive once TensorFlow has loaded takes them out of every collection; new garbage is
  still freed.
"""

from __future__ import annotations

import gc
import sys

from streamlit.runtime.scriptrunner import script_runner

# gc.get_freeze_count() walks the frozen objects (~40 ms), so remember instead of asking.
_frozen = False


def _keep_keras_state() -> None:
    """Streamlit's post-run cleanup hook, minus ``keras.backend.clear_session()``."""


def tensorflow_loaded() -> bool:
    """Whether this server process has imported TensorFlow yet (pages import it lazily)."""
    return "tensorflow" in sys.modules


def adapt_streamlit_to_tensorflow() -> None:
    """Apply both adaptations; cheap and idempotent, so the entry point calls it every run.

    The freeze waits for a run that starts with TensorFlow loaded (the second run on a fresh
    server): freezing earlier would leave TensorFlow's objects out of it.
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError(
            "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone: "
            "check whether this Streamlit version still clears the Keras session after runs."
        )
    script_runner._clean_problem_modules = _keep_keras_state
    global _frozen
    if not _frozen and tensorflow_loaded():
        gc.collect()  # do not freeze garbage
        gc.freeze()
        _frozen = True
