"""The Number page's pieces: a wide canvas, an upload or a camera photo, and the number read.

The reading is cached per image and model (``read_number`` is the heavy part: one batched
prediction and the preprocessing of every candidate digit), so a rerun that changes nothing,
a click on a correction button say, does not read the number again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from mnist_cnn.images import ImageReadError, read_image
from studio import digit_images, inputs, model_card, runtime
from studio.calibration_view import sure_at

if TYPE_CHECKING:  # read_number imports TensorFlow: after the canvas is on the page
    from mnist_cnn.numbers import NumberReading, ReadDigit
    from mnist_cnn.store import LoadedModel

CANVAS_WIDTH, CANVAS_HEIGHT = 840, 280  # about 3:1, room for a year or a phone number
DEFAULT_BRUSH = 14
SOURCES = ("Draw", "Upload an image", "Take a photo")
ROUND = "number_canvas_round"
SURE_COLOUR, UNSURE_COLOUR = (34, 197, 94), (245, 158, 11)  # green, amber
BOX_WIDTH = 3  # pixels, on the picture as shown


def clear_canvas() -> None:
    """A new key gives a new, empty canvas."""
    st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1


@st.fragment
def number_board() -> None:
    """Input (canvas, upload, camera) and the number read: a stroke reruns only this."""
    draw_tab, upload_tab, camera_tab = st.tabs(
        list(SOURCES), key="number_source", on_change="rerun"
    )
    with draw_tab:
        brush = st.session_state.get("number_brush", DEFAULT_BRUSH)
        key = f"number-canvas-{st.session_state.get(ROUND, 0)}"
        canvas = inputs.drawing_canvas(CANVAS_WIDTH, CANVAS_HEIGHT, brush, key)
        inputs.canvas_controls(st, (6, 30, DEFAULT_BRUSH), "number_brush", clear_canvas)
    with upload_tab:
        upload = inputs.image_uploader("a number", key="number_upload")
    with camera_tab:
        photo = st.camera_input("Photograph a number written on paper", key="number_camera")

    # Tabs track which one is open, so the answer follows the input the visitor is looking at.
    drawing = not (upload_tab.open or camera_tab.open)
    chosen = upload if upload_tab.open else photo
    image, problem = None, None
    if drawing:
        image = canvas.image_data
    elif chosen is not None:
        try:
            image = read_image(chosen.getvalue())
        except ImageReadError as error:
            problem = str(error)

    runtime.page_drawn()  # TensorFlow loads from here on, after the canvas is shown
    from studio import your_drawings

    your_drawings.last_saved()
    if problem:
        st.error(problem, icon=":material/broken_image:")
        return
    if image is None:
        st.info(
            "Write a number on the canvas, upload a picture of one, or take a photo.",
            icon=":material/draw:",
        )
        return
    loaded = model_card.model_or_stop()
    result = reading(loaded, image)
    if not result.digits:
        if drawing and result.reason.startswith("No writing"):
            st.info("Write a number on the canvas to see it read.", icon=":material/draw:")
        else:
            st.warning(result.reason, icon=":material/image_search:")
        return
    show(result, image)


def reading(loaded: LoadedModel, image: np.ndarray) -> NumberReading:
    """``read_number`` for this image and model, once: cached on both."""
    return _reading(loaded.record.id, image, loaded)


@st.cache_data(max_entries=32, show_spinner=False)
def _reading(record_id: str, image: np.ndarray, _loaded: LoadedModel) -> NumberReading:
    from mnist_cnn.numbers import read_number

    return read_number(image, _loaded.model)


def show(result: NumberReading, image: np.ndarray) -> None:
    """The number in large type, the boxes over the input, each digit and its correction."""
    unsure = [digit for digit in result.digits if not sure(digit)]
    st.metric(
        "Number",
        result.text,
        delta=f"{len(unsure)} of {len(result.digits)} digits unsure" if unsure else "all sure",
        delta_color="off",
        delta_arrow="off",
    )
    st.image(
        with_boxes(image, result),
        caption=f"Each digit found, in its box (amber: unsure, below {sure_at():.1%} sure or "
        "not like a digit; the threshold is set on the Evaluate page)",
    )
    st.subheader("Digit by digit")
    st.caption(
        "Each digit as the model sees it. Say what a digit really was with one click: it is "
        "kept in Your drawings, to measure the model on your handwriting or teach it."
    )
    for position, digit in enumerate(result.digits):
        digit_row(position, digit)


def sure(digit: ReadDigit) -> bool:
    """Whether the digit looks like one and is read at least as surely as this session asks."""
    return digit.confidence >= sure_at() and digit.looks_like_digit


def digit_caption(digit: ReadDigit) -> str:
    """'7 · 98%', or '? 7 · 41%, or 1' for an unsure digit."""
    if sure(digit):
        return f"{digit.digit} · {digit.confidence:.0%}"
    second = digit.probabilities[digit.runner_up]
    return f"? {digit.digit} · {digit.confidence:.0%}, or {digit.runner_up} · {second:.0%}"


def digit_row(position: int, digit: ReadDigit) -> None:
    """One digit's model input, its answer, and buttons that save it with its true label."""
    from studio import your_drawings

    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.image(
            digit_images.enlarge(digit.image, digit_images.DIGIT_WIDTH),
            caption=digit_caption(digit),
            width=digit_images.DIGIT_WIDTH,
        )
        for label in range(10):
            st.button(
                str(label),
                key=f"number-{position}-{label}",
                type="primary" if label == digit.digit else "secondary",
                help=f"Save this digit as a {label}",
                on_click=your_drawings.save,
                args=(digit.stages, label),
            )


def with_boxes(image: np.ndarray, result: NumberReading) -> np.ndarray:
    """The input as RGB (a transparent canvas over black), each digit's box drawn on it."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    picture = Image.fromarray(pixels[..., :3])
    if pixels.shape[-1] == 4:  # a canvas: its transparent parts show as black
        picture = Image.new("RGB", picture.size)
        picture.paste(Image.fromarray(pixels[..., :3]), mask=Image.fromarray(pixels[..., 3]))
    draw = ImageDraw.Draw(picture)
    for digit in result.digits:
        x0, y0, x1, y1 = digit.box
        colour = SURE_COLOUR if sure(digit) else UNSURE_COLOUR
        draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=colour, width=BOX_WIDTH)
        draw.text((x0, max(0, y0 - 14)), str(digit.digit), fill=colour)
    return np.asarray(picture)
