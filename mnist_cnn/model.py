"""Build a network from its spec: by default the seed CNN, two conv/pool blocks and a small
dense head (121,930 parameters)."""

from __future__ import annotations

import keras

from mnist_cnn.architecture import POOL_SIZE, SEED, ModelSpec
from mnist_cnn.shapes import INPUT_SHAPE, NUM_CLASSES


def build_model(
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    steps_per_execution: int = 1,
    spec: ModelSpec = SEED,
) -> keras.Model:
    """Build and compile the network ``spec`` describes (the seed CNN by default).

    ``learning_rate`` is Adam's: a number, or a schedule of the step (the tuned recipe's).

    ``steps_per_execution`` > 1 runs several batches per compiled call, which
    trains the same model faster on a CPU; it changes speed, not the maths.
    """
    return compile_model(network(spec), learning_rate, steps_per_execution)


def network(spec: ModelSpec = SEED) -> keras.Sequential:
    """The uncompiled layers of ``spec``, each named as ``spec.layers()`` says: the seed's are
    the names Keras gave it in a fresh session, which every saved model of it carries."""
    names = iter(layer.name for layer in spec.layers())
    layers: list[keras.layers.Layer] = [keras.Input(shape=INPUT_SHAPE)]
    for block in spec.conv_blocks:
        layers.append(
            keras.layers.Conv2D(
                block.filters,
                kernel_size=(block.kernel, block.kernel),
                padding=block.padding,
                activation="relu",
                name=next(names),
            )
        )
        if block.batch_norm:
            layers.append(keras.layers.BatchNormalization(name=next(names)))
        if block.pool:
            layers.append(keras.layers.MaxPooling2D(pool_size=POOL_SIZE, name=next(names)))
        if block.dropout:
            layers.append(keras.layers.Dropout(block.dropout, name=next(names)))
    layers.append(keras.layers.Flatten(name=next(names)))
    for dense in spec.dense_layers:
        layers.append(keras.layers.Dense(dense.units, activation="relu", name=next(names)))
        if dense.dropout:
            layers.append(keras.layers.Dropout(dense.dropout, name=next(names)))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", name=next(names)))
    return keras.Sequential(layers, name="mnist_cnn")


def compile_model(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile ``model`` with the recipe's optimizer, loss and metric: Adam, sparse CE, accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model
