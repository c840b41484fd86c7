"""Shared fixtures: the committed MNIST sample, the full MNIST when CI provides it,
a models folder of the test's own so no test touches ./trained_models, and a clean app for
the AppTest files (see apptest_support.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLE_NPZ = Path(__file__).parent / "data" / "mnist_sample.npz"


@pytest.fixture
def sample_npz() -> Path:
    return SAMPLE_NPZ


@pytest.fixture(scope="session")
def sample_mnist():
    """The sample's arrays, loaded once: ((x_train, y_train), (x_test, y_test))."""
    from mnist_cnn.data import load_mnist

    return load_mnist(SAMPLE_NPZ)


@pytest.fixture
def full_mnist_npz() -> Path:
    """The full MNIST file named by $MNIST_NPZ; CI always sets it, so there it never skips."""
    path = os.environ.get("MNIST_NPZ")
    if not path or not Path(path).is_file():
        if os.environ.get("CI"):
            pytest.fail("CI must set MNIST_NPZ to the full MNIST file")
        pytest.skip("set MNIST_NPZ to the full mnist.npz to run this test")
    return Path(path)


@pytest.fixture(autouse=True)
def isolated_models_dir(tmp_path, monkeypatch) -> Path:
    """Every test saves trained models into its own folder."""
    folder = tmp_path / "trained_models"
    monkeypatch.setenv("MNIST_CNN_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def app_environment(monkeypatch, sample_npz: Path, isolated_models_dir: Path) -> Iterator[None]:
    """The sample as MNIST, a fresh models folder, empty caches; stop any run left behind
    (training or teaching).

    The familiarity check's references are made from whichever MNIST the process reads first,
    so they are dropped before and after: made from the sample, they would make every later
    test's check refuse more digits.

    Imports inside: only the AppTest files ask for it, and Streamlit loads TensorFlow.
    """
    import streamlit as st

    from mnist_cnn import familiarity
    from studio import resources

    monkeypatch.setenv("MNIST_NPZ", str(sample_npz))
    familiarity._shared_references.cache_clear()
    st.cache_resource.clear()
    st.cache_data.clear()
    error_details = st.get_option("client.showErrorDetails")  # public-mode runs change it
    yield
    st.set_option("client.showErrorDetails", error_details)
    for registry in (resources.training_registry(), resources.fine_tune_registry()):
        job = registry.latest
        if job is not None:
            job.stop()
            job.join(timeout=60)
    st.cache_resource.clear()
    familiarity._shared_references.cache_clear()
    st.cache_data.clear()
