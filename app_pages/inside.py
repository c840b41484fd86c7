"""Inside page: what each layer makes of one digit, which pixels decided, and what breaks it."""

import numpy as np
import streamlit as st

from studio import inside_view, map_view, model_card, neighbours_view, page_end

st.title("Inside the CNN")
st.caption(
    "One digit on its way through the model: what every layer makes of it, which pixels "
    "decided the answer, and how far it can be pushed before the answer changes."
)

loaded = model_card.model_or_stop()
digit = inside_view.current_digit()
if digit is None:
    st.info(
        "Nothing to look inside yet. Draw a digit on the Draw page and follow "
        '"See inside", or open a test digit from a gallery on the Evaluate page.',
        icon=":material/visibility:",
    )
    st.page_link("app_pages/draw.py", label="Draw a digit", icon=":material/draw:")
    st.page_link("app_pages/evaluate.py", label="Evaluate", icon=":material/analytics:")
    page_end.end_page()

outputs = inside_view.overview(loaded, digit)

convolutional = inside_view.has_convolutions(loaded.model)
st.subheader("Layer by layer")
st.caption(
    "Each small square is one feature map: bright where the filter behind it found what it "
    "looks for. One colour scale per layer, from black (0) to its brightest unit."
    if convolutional
    else "This network has no convolutions, so no feature maps: flatten lays the pixels out in "
    "one row, and each bar is one dense unit, long where it fires for this digit (ReLU switches "
    "a unit off at 0)."
)
inside_view.layers(loaded.model, outputs)

if convolutional:
    st.subheader("One feature map up close")
    inside_view.feature_map(loaded, digit)

    st.subheader("Conv 1's filters")
    inside_view.conv1_filters(loaded.model)
else:
    st.subheader("No feature maps or filters")
    inside_view.no_convolutions(loaded.model)

st.subheader("Which pixels decided")
inside_view.why(loaded, digit, list(outputs.values())[-1])

st.subheader("Like which training digits")
neighbours_view.like_which(loaded, digit.image, int(np.argmax(list(outputs.values())[-1])))

st.subheader("A map of what the model learnt")
map_view.digit_map(loaded, digit.image)

st.subheader("What breaks it")
st.caption(
    "Push the digit around and watch the answer. "
    + (
        "Convolutions forgive small shifts; "
        if convolutional
        else "Without convolutions, only what MNIST's variety taught it forgives a shift; "
    )
    + "nothing in MNIST taught the model a digit on its side."
)
inside_view.probe(loaded, digit)
