"""A page's end: run the chosen page, and let a page end early without ending the whole run."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from streamlit.navigation.page import StreamlitPage


class PageEnded(Exception):
    """Raised by `end_page` (not an error: the page has said all it can); `run_page` catches it."""


def end_page() -> NoReturn:
    """End the page's script here, and let the entry point go on with the sidebar.

    ``st.stop()`` would end the whole run. On a server's first visit the entry point draws the
    sidebar's model card after the page, so a page that stopped (Inside with no digit) left no
    "Model" box and a "Starting up" notice that stayed. Call it only from a page's own script:
    a fragment's rerun runs the fragment alone, not through `run_page`.
    """
    raise PageEnded


def run_page(page: StreamlitPage) -> None:
    """Run the page chosen in the navigation, up to its end or to `end_page`."""
    with contextlib.suppress(PageEnded):
        page.run()
