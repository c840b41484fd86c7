"""The smallest possible Draw page: the baseline that bench_browser.py measures the app against.

Just the canvas, ``canvas_to_mnist``, ``predict`` and an ``st.metric``, with the model cached
and Streamlit adapted to TensorFlow as in the app (studio.runtime), so that the comparison
measures what the real Draw page adds. Run by the benchmark with the repository on PYTHONPATH.
"""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.inference import predict
from mnist_cnn.store import load_model
from studio import runtime

runtime.adapt_streamlit_to_tensorflow()


@st.cache_resource
def model():
    return load_model()


canvas = st_canvas(
    stroke_width=18,
    stroke_color="#FFFFFF",
    background_color="#000000",
    height=280,
    width=280,
    return_image_data=True,
    key="canvas",
)
if canvas.image_data is not None:
    digit_image = canvas_to_mnist(canvas.image_data)
    if digit_image is not None:
        probabilities = predict(model(), digit_image[None])[0]
        st.metric("Prediction", str(int(probabilities.argmax())))
