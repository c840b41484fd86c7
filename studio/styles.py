"""Page styles: CSS that Streamlit has no setting for, each applied by a function of its own."""

import streamlit as st

# On a phone held upright, Streamlit's generous top margin, large title and wide gaps between
# stacked columns push the Draw page's answer below the fold: all three shrink there.
PHONE_STYLE = """<style>
@media (max-width: 640px) {
    [data-testid="stMainBlockContainer"] { padding-top: 4rem; }
    [data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding-top: 0; }
    [data-testid="stHorizontalBlock"] { row-gap: 0.5rem; }
}
</style>"""


def compact_on_phones() -> None:
    """Apply PHONE_STYLE to the page (a style only: it takes no room)."""
    st.html(PHONE_STYLE)


# Streamlit refuses an over-size file in the browser (it never reaches Python) and puts the
# reason in a visually hidden alert that shows only as a tooltip on hover. This shows that alert
# under the file's name. data-testid attributes are the ones Streamlit's own tests rely on.
_VISIBLE_UPLOAD_ERRORS = """<style>
[data-testid="stFileChip"][aria-invalid="true"] { flex-wrap: wrap; }
[data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {
    position: static; width: auto; height: auto; margin: 0.25rem 0 0; clip: auto;
    clip-path: none; overflow: visible; white-space: normal; flex-basis: 100%;
    color: #B91C1C; font-size: 0.875rem;
}
</style>"""


def show_upload_errors() -> None:
    """Make the file uploader's own refusals (too large, wrong type) visible, not hover-only."""
    st.html(_VISIBLE_UPLOAD_ERRORS)
