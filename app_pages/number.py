"""Number page: write, upload or photograph a whole number and see it read, digit by digit."""

import streamlit as st

from studio import number_view

st.title("Read a number")
st.caption(
    "Write a number on the wide canvas, a year or a phone number, or upload or photograph one "
    "written on paper. Each digit is found, prepared as a 28x28 MNIST digit and read by the "
    "model; digits that touch are parted where the model is most sure of both halves."
)
number_view.number_board()
