"""Adapt Streamlit's script runner to an app that keeps TensorFlow models in memory.

(And, in public mode, keep tracebacks from visitors: ``hide_error_details_in_public_mode``.)

TensorFlow itself loads in a background thread started by the first visit
(``start_loading_tensorflow``), while the first page draws; its start-up lines on stderr
(the oneDNN notice, the missing CUDA driver of a CPU-only server) are kept out of the log.

Streamlit assumes a script that builds what it needs on each run, and cleans up after every
run (each click, each stroke on the canvas, each live-chart refresh). With TensorFlow loaded
and a model training in a background thread, two of those clean-ups hurt:

- ``keras.backend.clear_session()`` resets Keras' global state, TensorFlow's default graph and
  kernel caches while the training thread is building its graph: training hangs before its
  first batch (see streamlit/streamlit#8974). Models here are cached, so nothing needs it.
- ``gc.collect(2)`` walks the ~440,000 objects alive once TensorFlow has loaded and holds the
  GIL for 200-300 ms, stalling the messages to the browser and the training thread. Freezing the
  objects alive once TensorFlow has loaded takes them out of every collection; new garbage is
  still freed. The freeze happens as soon as TensorFlow has loaded: a stroke on the Draw page
  reruns only its fragment, never the entry point, so a visitor who only draws would otherwise
  pay that stall after every stroke.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from mnist_cnn import settings

ERROR_DETAILS_OPTION = "client.showErrorDetails"
# What an uncaught error shows a visitor in public mode: its type and a generic message. The
# default ("full") and Community Cloud's legacy False ("stacktrace") show a traceback, which
# names server paths.
PUBLIC_ERROR_DETAILS = "type"
_REDACTED_ERROR_DETAILS = {"type", "none"}
# gc.get_freeze_count() walks the frozen objects (~40 ms), so remember instead of asking.
_frozen = False
_freeze_lock = threading.Lock()
_loader: threading.Thread | None = None
_loader_lock = threading.Lock()
# How long TensorFlow's import waits for the first page to draw its title and controls, at most
# (see start_loading_tensorflow); page_drawn ends the wait sooner.
HEAD_START_S = 2.0
_page_drawn = threading.Event()
# What TensorFlow writes to stderr on every start of a CPU-only server: not news to anyone.
START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
)


def _keep_keras_state() -> None:
    """Streamlit's post-run cleanup hook, minus ``keras.backend.clear_session()``."""


def tensorflow_loaded() -> bool:
    """Whether this server process has finished importing TensorFlow (pages import it lazily)."""
    loading = _loader is not None and _loader.is_alive()
    return "tensorflow" in sys.modules and not loading


def start_loading_tensorflow() -> None:
    """Import TensorFlow and Keras in a background thread, once per server process.

    The thread gives the first visit's script run a head start (``HEAD_START_S``, or until
    ``page_drawn``): imports hold the GIL, and one running beside that first run held back the
    page's title by about 2 s. A page that needs TensorFlow sooner simply imports it: Python's
    import lock makes it wait for this thread rather than import twice, and either way the
    start-up lines are filtered, since the thread takes over stderr at once.
    """
    global _loader
    with _loader_lock:
        if _loader is None and not tensorflow_loaded():
            _loader = threading.Thread(target=import_tensorflow_quietly, name="tensorflow-loader")
            _loader.start()


def page_drawn() -> None:
    """Called once a page has drawn what a visitor sees first: TensorFlow may load now."""
    _page_drawn.set()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and set up its CPU device, filtering its start-up lines from stderr.

    TensorFlow's C++ logging writes to file descriptor 2 before it honours any setting, so the
    descriptor itself goes to a temporary file meanwhile, from before the head start (a page
    may import TensorFlow during it); every line that is not START_UP_NOISE (a real warning,
    or another thread's log) is then written to stderr as it was.
    """
    sys.stderr.flush()
    stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            _page_drawn.wait(HEAD_START_S)
            import keras  # noqa: F401  (the app's models are Keras models)
            import tensorflow as tf

            tf.constant(0.0).numpy()  # sets up the device, where a missing GPU is reported
            freeze_long_lived_objects()
        finally:
            sys.stderr.flush()
            os.dup2(stderr, 2)
            os.close(stderr)
        captured.seek(0)
        for line in captured.read().decode(errors="replace").splitlines(keepends=True):
            if not any(noise in line for noise in START_UP_NOISE):
                sys.stderr.write(line)
        sys.stderr.flush()


def adapt_streamlit_to_tensorflow() -> None:
    """Apply both adaptations; cheap and idempotent, so the entry point calls it every run.

    The freeze normally happens in the thread that loads TensorFlow; a run that finds
    TensorFlow loaded some other way (a page imported it first) freezes here.
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError(
            "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone: "
            "check whether this Streamlit version still clears the Keras session after runs."
        )
    script_runner._clean_problem_modules = _keep_keras_state
    if not _frozen and tensorflow_loaded():
        gc.collect()  # runs before this one may have left garbage: do not freeze it
        freeze_long_lived_objects()


def freeze_long_lived_objects() -> None:
    """Take every object alive now (TensorFlow's, once it has loaded) out of garbage collection.

    Once per process: objects frozen are never collected, so freezing later would also keep
    whatever models and session objects were alive at that moment. Right after TensorFlow's
    import there is no garbage to collect first (0 of ~440,000 objects, measured), and the
    collection would hold the GIL for ~300 ms while the first visit loads its model.
    """
    global _frozen
    with _freeze_lock:
        if not _frozen:
            gc.freeze()
            _frozen = True


def hide_error_details_in_public_mode() -> None:
    """In public mode, show visitors an uncaught error's type only: no traceback, no paths.

    ``client.showErrorDetails`` may be set from a script (Streamlit 1.67 marks it scriptable)
    and is read when an error is shown, so the entry point calls this every run, before a page
    can fail. A stricter ``"none"`` set by the operator is kept; locally nothing changes, so a
    developer still sees the full traceback. The option is per process, like public mode.
    """
    if not settings.public_mode():
        return
    if st.get_option(ERROR_DETAILS_OPTION) not in _REDACTED_ERROR_DETAILS:
        st.set_option(ERROR_DETAILS_OPTION, PUBLIC_ERROR_DETAILS)
