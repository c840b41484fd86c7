"""The inputs of the Draw and Number pages: the drawing canvas, its controls, the uploader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit_drawable_canvas import CanvasResult, st_canvas

from mnist_cnn.images import MAX_PIXELS
from studio import styles


def drawing_canvas(width: int, height: int, brush: float, key: str) -> CanvasResult:
    """A canvas of white ink on black, as MNIST's digits, that returns its pixels
    (``.image_data``, RGBA) after every stroke."""
    return st_canvas(
        stroke_width=brush,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=height,
        width=width,
        return_image_data=True,
        key=key,
    )


def canvas_controls(
    container: Any,
    brushes: tuple[int, int, int],
    brush_key: str,
    on_clear: Callable[[], None],
) -> None:
    """The brush width slider ((smallest, largest, default) px) and the Clear button."""
    brush_column, clear_column = container.columns([3, 1], vertical_alignment="bottom")
    smallest, largest, default = brushes
    brush_column.slider("Brush width", smallest, largest, default, key=brush_key)
    clear_column.button("Clear", on_click=on_clear, icon=":material/delete:")


def image_uploader(what: str, key: str) -> UploadedFile | None:
    """A PNG or JPEG of ``what`` ("one digit", "a number"), its refusals shown plainly."""
    upload = st.file_uploader(
        f"A PNG or JPEG of {what} (dark on light or light on dark), at most 2 MB and "
        f"{MAX_PIXELS / 1e6:g} megapixels",
        type=["png", "jpg", "jpeg"],
        key=key,
    )
    styles.show_upload_errors()
    return upload
