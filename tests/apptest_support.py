"""What the AppTest files (test_app.py, test_page_*.py) share: a clean app per test, helpers.

Test modules mark themselves with ``USE_APP_ENVIRONMENT`` (as ``pytestmark``), which asks for
the ``app_environment`` fixture of tests/conftest.py: the committed MNIST sample stands in for
MNIST (training runs take seconds) and Streamlit's caches, which are process-wide, are emptied,
so one test's model or training run never leaks into the next. Each test also gets its own
models folder from tests/conftest.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_cnn.jobs import TrainingJob
from studio import resources

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
DRAW, TRAIN, EVALUATE = "app_pages/draw.py", "app_pages/train.py", "app_pages/evaluate.py"
INSIDE = "app_pages/inside.py"
# A run on the sample ends in seconds; this bounds a hung run without timing a healthy one.
MAX_POLLS = 600
POLL_SECONDS = 0.5
USE_APP_ENVIRONMENT = pytest.mark.usefixtures("app_environment")


def open_page(page: str) -> AppTest:
    """Run the app as a visitor would arrive: through the entry point, then to ``page``."""
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    if page != DRAW:
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def wait_until_ended(job: TrainingJob) -> None:
    """Poll the job as the page's fragment does, a bounded number of times."""
    for _ in range(MAX_POLLS):
        if not job.snapshot().active:
            return
        job.join(timeout=POLL_SECONDS)
    pytest.fail(f"training still {job.snapshot().status} after {MAX_POLLS} polls")


def wait_for_batches(job: TrainingJob) -> None:
    for _ in range(MAX_POLLS):
        snapshot = job.snapshot()
        if snapshot.batches or not snapshot.active:
            return
        job.join(timeout=POLL_SECONDS)
    pytest.fail("training reported no batch")


def sidebar_text(app: AppTest) -> str:
    return " ".join(caption.value for caption in app.sidebar.caption)


def start_training(app: AppTest, epochs: int) -> TrainingJob:
    epochs_input = next(w for w in app.number_input if w.label == "Epochs")
    epochs_input.set_value(epochs)
    next(b for b in app.button if b.label == "Start training").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    job = resources.training_registry().latest
    assert job is not None, "pressing Start started no run"
    return job


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
