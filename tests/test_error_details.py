"""Uncaught errors in public mode show visitors no traceback and no server path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from apptest_support import APP
from streamlit.testing.v1 import AppTest

from mnist_cnn import settings
from studio.runtime import ERROR_DETAILS_OPTION

SERVER_PATH = "/srv/app/trained_models/secret"


def failing_page() -> None:
    """The entry point's first call, then a page that fails with a path in its message.

    AppTest runs only this function's source: the path is spelled out, as SERVER_PATH.
    """
    from studio import runtime

    runtime.hide_error_details_in_public_mode()
    raise RuntimeError("cannot open /srv/app/trained_models/secret")


@pytest.fixture(autouse=True)
def restore_error_details() -> Iterator[None]:
    """The option is process-wide: leave it as it was for the tests that follow."""
    before = st.get_option(ERROR_DETAILS_OPTION)
    yield
    st.set_option(ERROR_DETAILS_OPTION, before)


def run_failing_page(monkeypatch, public: str) -> AppTest:
    monkeypatch.setenv(settings.PUBLIC_ENV, public)
    st.set_option(ERROR_DETAILS_OPTION, "full")  # Streamlit's default
    app = AppTest.from_function(failing_page).run()
    assert len(app.exception) == 1
    return app


def test_public_mode_shows_the_error_type_without_traceback_or_path(monkeypatch) -> None:
    app = run_failing_page(monkeypatch, "1")
    assert st.get_option(ERROR_DETAILS_OPTION) == "type"
    error = app.exception[0]
    assert SERVER_PATH not in error.message and error.stack_trace == []
    assert error.proto.type == "RuntimeError"


def test_local_mode_keeps_the_full_traceback(monkeypatch) -> None:
    app = run_failing_page(monkeypatch, "0")
    assert st.get_option(ERROR_DETAILS_OPTION) == "full"
    error = app.exception[0]
    assert SERVER_PATH in error.message and error.stack_trace


def test_an_operators_stricter_none_is_kept(monkeypatch) -> None:
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    st.set_option(ERROR_DETAILS_OPTION, "none")
    AppTest.from_function(failing_page).run()
    assert st.get_option(ERROR_DETAILS_OPTION) == "none"


@pytest.mark.usefixtures("app_environment")
def test_the_entry_point_hides_them_on_every_run_in_public_mode(monkeypatch) -> None:
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    st.set_option(ERROR_DETAILS_OPTION, "full")
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    assert st.get_option(ERROR_DETAILS_OPTION) == "type"
