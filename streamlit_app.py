"""MNIST CNN Studio: `streamlit run streamlit_app.py`.

Draw opens first because it works without training, using the bundled model.

The pages live in ``app_pages/``, not ``pages/``: while a ``pages/`` folder exists, Streamlit
runs a deep link such as ``/train`` on a freshly started server as a legacy multipage app,
straight from that folder, skipping this file (no sidebar card, no page config).
"""

import streamlit as st

from studio import model_card, page_end, resources, runtime, styles

runtime.adapt_streamlit_to_tensorflow()
runtime.hide_error_details_in_public_mode()  # no tracebacks or server paths for visitors
runtime.start_loading_tensorflow()  # while the first page draws
st.set_page_config(page_title="MNIST CNN Studio", page_icon="✏️", layout="wide")
styles.compact_on_phones()
resources.remove_stale_partials()  # once per server start

page = st.navigation(
    [
        st.Page("app_pages/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("app_pages/number.py", title="Number", icon=":material/pin:"),
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page("app_pages/inside.py", title="Inside", icon=":material/visibility:"),
        st.Page("app_pages/models.py", title="Models", icon=":material/inventory_2:"),
        st.Page("app_pages/your_drawings.py", title="Your drawings", icon=":material/collections:"),
    ]
)
# On a server's first visit the page draws first, while TensorFlow and the model load (7-12 s on
# a small server), and the sidebar's model card follows; after that the card comes first, as its
# "Model" picker decides which model the page uses.
if runtime.tensorflow_loaded():
    model_card.in_sidebar()
    page_end.run_page(page)
else:
    notice = st.sidebar.empty()
    notice.info(
        "Starting up: TensorFlow and the model load on the first visit after a restart "
        "(a few seconds).",
        icon=":material/hourglass_top:",
    )
    page_end.run_page(page)
    runtime.page_drawn()
    notice.empty()
    model_card.in_sidebar()
