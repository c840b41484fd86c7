"""MNIST's shapes, defined once: every module that checks, builds, draws or shows a digit uses
these rather than its own 28 or 10. Importing this module imports nothing else."""

IMAGE_SIDE = 28  # pixels, each way
IMAGE_SHAPE = (IMAGE_SIDE, IMAGE_SIDE)
INPUT_SHAPE = (*IMAGE_SHAPE, 1)  # what the model takes: one grey channel
NUM_CLASSES = 10
DIGITS = tuple(range(NUM_CLASSES))
