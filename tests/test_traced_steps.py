import gc

import pytest
from tensorflow.python.framework.func_graph import FuncGraph

from mnist_cnn.compat import custom_gradient_names
from mnist_cnn.traced_steps import releasing_traced_steps
from mnist_cnn.training import TrainConfig, train


def live_traced_graphs() -> int:
    gc.collect()
    return sum(isinstance(thing, FuncGraph) for thing in gc.get_objects())


def test_finished_runs_leave_no_traced_train_step_behind(sample_mnist, caplog):
    (x_train, y_train), _ = sample_mnist
    config = TrainConfig(epochs=1)
    train(x_train, y_train, config)  # whatever TensorFlow builds once per process
    graphs, registered = live_traced_graphs(), custom_gradient_names()
    for _ in range(2):
        train(x_train, y_train, config)  # each result dropped at once
    assert custom_gradient_names() == registered
    # Without the release, each run kept its two traced train steps (full and short batches).
    assert live_traced_graphs() <= graphs
    # Three new models' train steps traced: TensorFlow's retracing advice does not apply.
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_the_release_also_happens_when_the_block_fails(sample_mnist):
    (x_train, y_train), _ = sample_mnist
    registered = custom_gradient_names()

    class Failed(Exception):
        pass

    with pytest.raises(Failed), releasing_traced_steps():
        train(x_train[:320], y_train[:320], TrainConfig(epochs=1))  # registers, then
        raise Failed
    assert custom_gradient_names() == registered
