"""The default CNN: two conv/pool blocks and a small dense head (121,930 parameters)."""

from __future__ import annotations

import keras

from mnist_cnn.shapes import INPUT_SHAPE, NUM_CLASSES


def build_model(
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Build and compile the default CNN.

    ``learning_rate`` is Adam's: a number, or a schedule of the step (the tuned recipe's).

    ``steps_per_execution`` > 1 runs several batches per compiled call, which
    trains the same model faster on a CPU; it changes speed, not the maths.
    """
    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="mnist_cnn",
    )
    return compile_model(model, learning_rate, steps_per_execution)


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
