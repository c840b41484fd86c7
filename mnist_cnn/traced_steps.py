"""Let a finished run's traced train steps go: without this, each ``fit`` leaks ~10 MB for good.

Keras (3, TensorFlow backend) applies gradients through ``tf.distribute``'s default replica
context, whose ``all_reduce`` wraps them in ``tf.custom_gradient``. Inside a traced function
that registers a gradient function under a fresh name ("CustomGradient-N") in TensorFlow's
global gradient registry, and nothing ever removes it. Its closure holds tensors of the traced
train step, so every train step traced since the process started stays in memory with its whole
graph (one a run: ``training.build_training_state`` spares ``train`` a second trace). Measured
here: about 10 MB more after each run of a new model, for good (tensorflow/tensorflow#80753 and
keras-team/keras#20552 report the same growth), and a web server that trains again and again
grows without bound.

That registration is only looked up to differentiate *through* the all-reduce, which nothing
does: the train step takes its gradients before it applies them, outside the gradient tape.
``releasing_traced_steps`` therefore drops the registrations made while its block ran, so a run's
graphs are freed with its model. The registry is TensorFlow's private state, reached through
``compat`` (with the versions checked); if a TensorFlow release moves it, this does nothing
(and the test that checks it fails).

Each run builds a new model, so its train function is traced anew by design, and from the third
run in a process TensorFlow warns "N out of the last M calls to <function
TensorFlowTrainer._make_function...> triggered tf.function retracing", advice meant for a
function retraced by mistake. ``quiet_new_model_retracing`` drops that warning, for the Keras
trainer's functions only: the web app's log and a notebook that trains twice stay clean, and any
other function's retracing is still reported.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from mnist_cnn.compat import custom_gradient_names, drop_custom_gradients

# What TensorFlow's retracing warning says, and how it names the functions Keras' fit traces.
RETRACING_WARNING = "triggered tf.function retracing"
KERAS_TRAIN_FUNCTIONS = "TensorFlowTrainer._make_function"


@contextlib.contextmanager
def releasing_traced_steps() -> Iterator[None]:
    """Drop the custom-gradient registrations made while the block ran (see the module).

    Safe with other runs training in other threads: a registration of theirs that this drops
    was not needed either, for the same reason.
    """
    before = custom_gradient_names()
    try:
        yield
    finally:
        drop_custom_gradients(custom_gradient_names() - before)


class _NewModelRetracing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (RETRACING_WARNING in message and KERAS_TRAIN_FUNCTIONS in message)


_NEW_MODEL_RETRACING = _NewModelRetracing()


def quiet_new_model_retracing() -> None:
    """Drop TensorFlow's retracing warning for the Keras trainer's functions (see the module)."""
    logging.getLogger("tensorflow").addFilter(_NEW_MODEL_RETRACING)  # added once, however often
