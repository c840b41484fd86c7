"""Digits on the page: crisp at any size, in galleries and as the drawing's stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

if TYPE_CHECKING:  # SciPy loads when a drawing is first turned into a digit
    from mnist_cnn.drawing import DrawingStages

# Digits in galleries are shown this wide; drawing stages a little wider.
DIGIT_WIDTH = 84
STAGE_WIDTH = 120
STAGE_CAPTIONS = {
    "ink": "1. Your ink",
    "cropped": "2. Cropped to the digit",
    "scaled": "3. Scaled to 20 px, MNIST's stroke width",
    "centred": "4. Centred in 28x28: the model's input",
}


def enlarge(image: np.ndarray, width: int) -> np.ndarray:
    """A grey image as uint8, padded to a square and enlarged by repeating pixels.

    Browsers blur small images they scale up; whole-pixel enlargement keeps 28x28 digits crisp,
    and the square keeps cropped stages from being stretched.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    height, breadth = pixels.shape
    side = max(height, breadth)
    if height != breadth:
        square = np.zeros((side, side), dtype=np.uint8)
        top, left = (side - height) // 2, (side - breadth) // 2
        square[top : top + height, left : left + breadth] = pixels
        pixels = square
    scale = max(1, -(-width // side))
    return np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))


def digit_grid(
    images: Sequence[np.ndarray], captions: Sequence[str], width: int = DIGIT_WIDTH
) -> None:
    """Digits side by side, wrapping onto new rows, each with its caption underneath."""
    with st.container(horizontal=True, gap="small"):
        for image, caption in zip(images, captions, strict=True):
            st.image(enlarge(image, width), caption=caption, width=width)


def drawing_stages(stages: DrawingStages) -> None:
    """The steps from canvas to model input, left to right."""
    with st.container(horizontal=True, gap="medium"):
        for name, caption in STAGE_CAPTIONS.items():
            st.image(
                enlarge(getattr(stages, name), STAGE_WIDTH), caption=caption, width=STAGE_WIDTH
            )
