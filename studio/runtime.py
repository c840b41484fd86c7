"""Adapt Streamlit's script runner to an app that keeps TensorFlow models in memory.

(And, in public mode, keep tracebacks from visitors: ``hide_error_details_in_public_mode``.)

TensorFlow itself loads in a background thread started by the first visit
(``start_loading_tensorflow``), while the first page draws; its start-up lines on stderr
(the oneDNN notice, the missing CUDA driver of a CPU-only server) are kept out of the log.

Streamlit cleans up after every run, and two of its clean-ups hurt an app that keeps
TensorFlow models in memory and trains in a background thread: ``keras.backend.clear_session()``
(training hangs) and ``gc.collect(2)`` (a 200-300 ms stall). ``studio.compat`` takes them away,
with the Streamlit version it was checked against. The freeze that ends the stall happens as
soon as TensorFlow has loaded: a stroke on the Draw page reruns only its fragment, never the
entry point, so a visitor who only draws would otherwise pay that stall after every stroke.
"""

from __future__ import annotations

import gc
import sys
import threading

import streamlit as st

from mnist_cnn import settings
from studio import compat

ERROR_DETAILS_OPTION = "client.showErrorDetails"
# What an uncaught error shows a visitor in public mode: its type and a generic message. The
# default ("full") and Community Cloud's legacy False ("stacktrace") show a traceback, which
# names server paths.
PUBLIC_ERROR_DETAILS = "type"
_REDACTED_ERROR_DETAILS = {"type", "none"}
_loader: threading.Thread | None = None
_loader_lock = threading.Lock()
# How long TensorFlow's import waits for the first page to draw its title and controls, at most
# (see start_loading_tensorflow); page_drawn ends the wait sooner.
HEAD_START_S = 2.0
_page_drawn = threading.Event()


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
    filter (``compat.start_up_noise_filtered``) starts before the head start: a page may import
    TensorFlow during it.
    """
    with compat.start_up_noise_filtered():
        _page_drawn.wait(HEAD_START_S)
        import keras  # noqa: F401  (the app's models are Keras models)
        import tensorflow as tf

        tf.constant(0.0).numpy()  # sets up the device, where a missing GPU is reported
        compat.freeze_long_lived_objects()


def adapt_streamlit_to_tensorflow() -> None:
    """Apply both adaptations; cheap and idempotent, so the entry point calls it every run.

    The freeze normally happens in the thread that loads TensorFlow; a run that finds
    TensorFlow loaded some other way (a page imported it first) freezes here.
    """
    compat.keep_keras_state_between_runs()
    if not compat.objects_frozen() and tensorflow_loaded():
        gc.collect()  # runs before this one may have left garbage: do not freeze it
        compat.freeze_long_lived_objects()


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
