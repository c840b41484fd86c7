"""The session's model on every page: the sidebar's card, its words, its download button, and
the end of a page's run when it will not load."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from mnist_cnn.describe import count
from mnist_cnn.store import LoadedModel, ModelLoadError, ModelRecord
from studio import messages, session


def model_or_stop() -> LoadedModel:
    """This session's model, or an explanation and the end of this run when it will not load."""
    try:
        return session.current_model()
    except ModelLoadError as error:
        st.error(
            "This model could not be loaded: pick another in the sidebar's Model box, or train "
            f"one on the Train page. ({messages.for_visitor(str(error))})",
            icon=":material/error:",
        )
        st.stop()  # not end_page: the Draw page calls this inside a fragment


def in_sidebar() -> None:
    """The sidebar's "Model" picker and a card for the chosen model, shown on every page: its
    accuracy, its network (models differ in it since the network lab), where it came from and
    its recipe."""
    with st.sidebar:
        st.subheader("Active model")
        try:
            session.adopt_finished_run()
            record = session.picker()
            problems = session.model_warnings()
        except ModelLoadError as error:
            st.warning(messages.for_visitor(f"No model yet: train one on the Train page. {error}"))
            return
        for notice in session.notices():
            st.info(notice, icon=":material/swap_horiz:")
        st.metric(
            "Test accuracy",
            accuracy_text(record),
            help=f"On {count(record.metadata.test_images, 'MNIST test image')}.",
        )
        st.caption(record.architecture_text)
        st.caption(describe_origin(record))
        st.caption(record.recipe_text)
        for problem in problems:
            st.warning(messages.for_visitor(problem))


def model_download(
    record: ModelRecord, label: str, container: Any = st, key: str | None = None
) -> None:
    """A button that downloads the model's .keras file, read on click, not on every rerun."""
    if record.model_file.is_file():
        container.download_button(
            label,
            data=record.model_file.read_bytes,
            file_name=f"mnist_cnn_{record.key}.keras",
            mime="application/octet-stream",
            icon=":material/download:",
            on_click="ignore",
            key=key,
        )


def describe_origin(record: ModelRecord) -> str:
    """Where a model came from, in words: bundled with the app or trained here, and when."""
    created = record.metadata.created_at
    when = ""
    if created:
        try:
            when = datetime.fromisoformat(created).strftime(" on %d %b %Y at %H:%M UTC")
        except ValueError:
            when = f" at {created}"
    if record.bundled:
        return f"Bundled with the app, trained{when}" if when else "Bundled with the app"
    return f"Trained here{when}"


def accuracy_text(record: ModelRecord) -> str:
    """'99.41%', or 'unknown' when the model's test accuracy was not recorded."""
    accuracy = record.metadata.test_accuracy
    return f"{accuracy:.2%}" if accuracy is not None else "unknown"
