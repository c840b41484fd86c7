"""Draw page: draw a digit (or upload a picture of one) and see what the model makes of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_cnn.images import ImageReadError, read_image
from mnist_cnn.inference import predict
from studio import digit_images, inputs, model_card, prediction_view, runtime

if TYPE_CHECKING:  # SciPy loads after the canvas is on the page (see drawing_board)
    from streamlit_drawable_canvas import CanvasResult

    from mnist_cnn.drawing import DrawingStages

CANVAS_SIZE = 280
DEFAULT_BRUSH = 18
COLUMNS = [5, 6]  # input and answer


def clear_canvas() -> None:
    """A new key gives a new, empty canvas; the old one's state is dropped."""
    st.session_state.canvas_round += 1


@st.fragment
def drawing_board() -> None:
    """Canvas, upload and answer: a stroke reruns only this fragment, not the whole app.

    The canvas is on the page before the model is asked for: on a server's first visit, the
    model (and TensorFlow) load while the visitor draws, and the answer follows.
    """
    input_column, answer_column = st.columns(COLUMNS, gap="large")
    with input_column:
        draw_tab, upload_tab = st.tabs(["Draw", "Upload an image"], key="source", on_change="rerun")
    with draw_tab:
        canvas = drawing_canvas()

    # Tabs track which one is open, so the answer follows the input the visitor is looking at.
    using_upload = bool(upload_tab.open)
    image, upload_problem = uploaded_image() if using_upload else (canvas.image_data, None)

    # From here on the page imports TensorFlow, SciPy and pandas (here and in `answer`): after
    # the canvas, so that a first visit shows the page and can draw meanwhile.
    runtime.page_drawn()
    from mnist_cnn.drawing import canvas_to_mnist

    stages = canvas_to_mnist(image, return_stages=True) if image is not None else None
    with answer_column:
        answer(stages, image is not None, using_upload)

    # The controls come after the answer, in the script so that a prediction reaches the browser
    # first, and on the page so that on a phone, where columns stack, the answer shows right
    # under the canvas. On a wide screen they sit under the canvas's column.
    if not using_upload:
        canvas_controls()
    with upload_tab:
        upload_box(upload_problem)

    if stages is not None:
        st.subheader("What the model sees")
        digit_images.drawing_stages(stages)


def drawing_canvas() -> CanvasResult:
    """The black square to draw on; Clear (or a saved correction) gives a new, empty one."""
    return inputs.drawing_canvas(
        CANVAS_SIZE,
        CANVAS_SIZE,
        st.session_state.get("brush", DEFAULT_BRUSH),
        key=f"canvas-{st.session_state.canvas_round}",
    )


def uploaded_image() -> tuple[np.ndarray | None, str | None]:
    """The uploaded picture's pixels, or why it cannot be read.

    Read from session state: the uploader itself is drawn after the answer.
    """
    upload = st.session_state.get("upload")
    if upload is None:
        return None, None
    try:
        return read_image(upload.getvalue()), None
    except ImageReadError as error:
        return None, str(error)


def answer(stages: DrawingStages | None, has_image: bool, using_upload: bool) -> None:
    """What the model makes of the input: a prompt while there is no digit, else its
    prediction (or "not a digit") and the bar to correct it."""
    from mnist_cnn.digit_check import looks_like_digit  # SciPy, then TensorFlow: after the canvas
    from studio import inside_view, neighbours_view, your_drawings

    your_drawings.last_saved()
    if stages is None:
        no_digit_yet(has_image, using_upload)
    loaded = model_card.model_or_stop()
    if stages is None:
        return
    predicted = None
    if looks_like_digit(stages.centred, stages.ink):
        probabilities = predict(loaded.model, stages.centred[np.newaxis])[0]
        prediction_view.prediction(probabilities, head_start=True)
        predicted = int(np.argmax(probabilities))
        inside_view.see_inside_link(
            stages.centred, "your upload" if using_upload else "your drawing"
        )
    else:
        your_drawings.not_a_digit()
    your_drawings.correction_bar(stages, predicted, on_saved=clear_canvas)
    if predicted is not None:
        st.markdown("**Like which training digits**")
        neighbours_view.like_which(loaded, stages.centred, predicted, compact=True)


def no_digit_yet(has_image: bool, using_upload: bool) -> None:
    """Why there is no answer: an uploaded picture with no ink to find, or nothing given yet."""
    if has_image and using_upload:
        st.warning(
            "No digit found: the picture looks blank (no ink stands out from its "
            "background). Upload a photo or scan of one dark digit on a light background, "
            "or the other way round.",
            icon=":material/image_search:",
        )
        return
    st.info(
        "Upload a picture of a digit to see the model's prediction."
        if using_upload
        else "Draw a digit on the canvas to see the model's prediction.",
        icon=":material/draw:",
    )


def canvas_controls() -> None:
    """Brush width and Clear, in a row as wide as the canvas's column."""
    controls, _ = st.columns(COLUMNS, gap="large")
    inputs.canvas_controls(controls, (8, 40, DEFAULT_BRUSH), "brush", clear_canvas)


def upload_box(problem: str | None) -> None:
    """The uploader, with Streamlit's own refusals made visible and why the last upload could
    not be read."""
    inputs.image_uploader("one digit", key="upload")
    if problem:
        st.error(problem, icon=":material/broken_image:")


st.session_state.setdefault("canvas_round", 0)

st.title("Draw a digit")
st.caption(
    "Draw one digit, 0 to 9, on the black square; the model answers when you lift the mouse "
    "or finger. Your drawing becomes a 28x28 MNIST digit first (below)."
)
drawing_board()
