"""Draw page: draw a digit (or upload a picture of one) and see what the model makes of it."""

import numpy as np
import streamlit as st

from mnist_cnn.images import ImageReadError, read_image
from mnist_cnn.inference import predict
from studio import inputs, runtime, widgets

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
        canvas = inputs.drawing_canvas(
            CANVAS_SIZE,
            CANVAS_SIZE,
            st.session_state.get("brush", DEFAULT_BRUSH),
            key=f"canvas-{st.session_state.canvas_round}",
        )

    # Tabs track which one is open, so the answer follows the input the visitor is looking at.
    # The uploaded file is read from session state: its widget is drawn after the answer.
    using_upload = bool(upload_tab.open)
    upload = st.session_state.get("upload")
    image: np.ndarray | None = None
    upload_problem = None
    if not using_upload:
        image = canvas.image_data
    elif upload is not None:
        try:
            image = read_image(upload.getvalue())
        except ImageReadError as error:
            upload_problem = str(error)

    # These import TensorFlow, SciPy and pandas: here, after the canvas, so that a first visit
    # shows the page and can draw meanwhile.
    runtime.page_drawn()
    from mnist_cnn.digit_check import looks_like_digit
    from mnist_cnn.drawing import canvas_to_mnist
    from studio import inside_view, your_drawings

    stages = canvas_to_mnist(image, return_stages=True) if image is not None else None
    with answer_column:
        your_drawings.last_saved()
        if stages is None and image is not None and using_upload:
            st.warning(
                "No digit found: the picture looks blank (no ink stands out from its "
                "background). Upload a photo or scan of one dark digit on a light background, "
                "or the other way round.",
                icon=":material/image_search:",
            )
        elif stages is None:
            st.info(
                "Upload a picture of a digit to see the model's prediction."
                if using_upload
                else "Draw a digit on the canvas to see the model's prediction.",
                icon=":material/draw:",
            )
        model = widgets.model_or_stop().model
        if stages is not None:
            predicted = None
            if looks_like_digit(stages.centred, stages.ink):
                probabilities = predict(model, stages.centred[np.newaxis])[0]
                widgets.prediction(probabilities, head_start=True)
                predicted = int(np.argmax(probabilities))
                inside_view.see_inside_link(
                    stages.centred, "your upload" if using_upload else "your drawing"
                )
            else:
                your_drawings.not_a_digit()
            your_drawings.correction_bar(stages, predicted, on_saved=clear_canvas)

    # The controls come after the answer, in the script so that a prediction reaches the browser
    # first, and on the page so that on a phone, where columns stack, the answer shows right
    # under the canvas. On a wide screen they sit under the canvas's column.
    if not using_upload:
        controls, _ = st.columns(COLUMNS, gap="large")
        inputs.canvas_controls(controls, (8, 40, DEFAULT_BRUSH), "brush", clear_canvas)
    with upload_tab:
        inputs.image_uploader("one digit", key="upload")
        if upload_problem:
            st.error(upload_problem, icon=":material/broken_image:")

    if stages is not None:
        st.subheader("What the model sees")
        widgets.drawing_stages(stages)


st.session_state.setdefault("canvas_round", 0)

st.title("Draw a digit")
st.caption(
    "Draw one digit, 0 to 9, on the black square; the model answers when you lift the mouse "
    "or finger. Your drawing becomes a 28x28 MNIST digit first (below)."
)
drawing_board()
