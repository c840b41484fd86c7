"""The web app's shared pieces: cached resources, Plotly figures and Streamlit widgets.

Pages in ``app_pages/`` stay thin by composing these; the model, data and training logic lives in
the ``mnist_cnn`` package.
"""
