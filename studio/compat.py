"""The app's reliance on what Streamlit (and the server process around it) does not promise.

Streamlit assumes a script that builds what it needs on each run, and cleans up after every
run (each click, each stroke on the canvas, each live-chart refresh). With TensorFlow loaded
and a model training in a background thread, two of those clean-ups hurt, and the patches
below take them away; two more adapt to how TensorFlow starts and how the front end draws.

Each patch names the versions it was checked against (``*_CHECKED_WITH``, the exact pins of
requirements.txt). ``tests/test_compat.py`` fails loudly when a private name it uses moves, or
when a pin moves away from the checked version; the README's "Moving the pinned versions" says
how to re-check. The engine's patches of TensorFlow are in ``mnist_cnn/compat.py``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

from streamlit.runtime.scriptrunner import script_runner

# --- Streamlit's clean-up after every run: keras.backend.clear_session() ---------------------
# ``script_runner._clean_problem_modules()``, looked up by name after every run, resets Keras'
# global state, TensorFlow's default graph and kernel caches while the training thread is
# building its graph: training hangs before its first batch (see streamlit/streamlit#8974).
# Models here are cached, so nothing needs it. (It also closes matplotlib's figures; no page
# uses pyplot.)
SCRIPT_RUNNER_CLEANUP_CHECKED_WITH = {"streamlit": "1.67.0"}


def _keep_keras_state() -> None:
    """Streamlit's post-run cleanup hook, minus ``keras.backend.clear_session()``."""


def keep_keras_state_between_runs() -> None:
    """Replace Streamlit's post-run clean-up with one that leaves Keras alone (idempotent)."""
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError(
            "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone: "
            "check whether this Streamlit version still clears the Keras session after runs."
        )
    script_runner._clean_problem_modules = _keep_keras_state


# --- Streamlit's full garbage collection after every run: gc.freeze() ------------------------
# With ``runner.postScriptGC`` (on by default) Streamlit calls ``gc.collect(2)`` after every
# run, which walks the ~440,000 objects alive once TensorFlow has loaded and holds the GIL for
# 200-300 ms, stalling the messages to the browser and the training thread. Freezing the objects
# alive once TensorFlow has loaded takes them out of every collection; new garbage is still
# freed. (CPython's ``gc.freeze``, Python 3.7 and later.)
GC_FREEZE_CHECKED_WITH = {"streamlit": "1.67.0"}
# gc.get_freeze_count() walks the frozen objects (~40 ms), so remember instead of asking.
_frozen = False
_freeze_lock = threading.Lock()


def objects_frozen() -> bool:
    """Whether ``freeze_long_lived_objects`` has run in this process."""
    return _frozen


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


# --- TensorFlow's start-up lines on file descriptor 2 ----------------------------------------
# TensorFlow's C++ logging writes to fd 2 before it honours any setting, on every start of a
# CPU-only server: not news to anyone, and it buries the server's real messages.
START_UP_NOISE_CHECKED_WITH = {"tensorflow": "2.21.0"}
START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
)


@contextlib.contextmanager
def start_up_noise_filtered() -> Iterator[None]:
    """Send fd 2 to a temporary file while the block runs, then pass on all but START_UP_NOISE.

    Every line that is not start-up noise (a real warning, or another thread's log) is written
    to stderr as it was, once the block has finished.
    """
    sys.stderr.flush()
    stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(stderr, 2)
            os.close(stderr)
        captured.seek(0)
        for line in captured.read().decode(errors="replace").splitlines(keepends=True):
            if not any(noise in line for noise in START_UP_NOISE):
                sys.stderr.write(line)
        sys.stderr.flush()


# --- The front end's render of a fragment: the answer's head start ---------------------------
# Streamlit's front end draws the elements that reach it together in one React render. After a
# stroke, the Draw page's answer arrives with the rest of its fragment (the chart, the buttons,
# the canvas's controls and the drawing's stages) and would show only once all of them were
# drawn. Pausing this long after the answer lets it reach the browser, and be drawn, alone; the
# rest follows as much later. benchmarks/bench_browser.py's Draw/bare ratio measures the effect
# (README).
ANSWER_HEAD_START_CHECKED_WITH = {"streamlit": "1.67.0"}
ANSWER_HEAD_START_S = 0.04


def give_answer_head_start() -> None:
    """Pause so that the element just sent reaches the browser before the next ones."""
    time.sleep(ANSWER_HEAD_START_S)
