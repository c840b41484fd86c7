"""Corrections on the Draw page and the Your drawings page, under Streamlit's AppTest."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest
from apptest_support import DRAW, USE_APP_ENVIRONMENT, open_page, png_bytes
from streamlit.testing.v1 import AppTest

from mnist_cnn import canvas_to_mnist, fine_tune_jobs, fine_tuning
from mnist_cnn.drawings_store import DrawingCollection, DrawingFolder
from mnist_cnn.store import trained_records
from sketchbook.sketches import quirky_writer_set, render_non_digit, render_sketch
from studio import resources

pytestmark = USE_APP_ENVIRONMENT
YOUR_DRAWINGS = "app_pages/your_drawings.py"


def upload(app: AppTest, name: str, pixels: np.ndarray) -> AppTest:
    app.session_state["source"] = "Upload an image"
    app.file_uploader[0].set_value((name, png_bytes(pixels), "image/png"))
    return app.run()


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


@pytest.fixture
def timed_fragments(monkeypatch) -> list[str]:
    """The names of the fragments the pages register with a ``run_every`` timer (a poll)."""
    import streamlit as st

    fragment = st.fragment
    timed = []

    def recording_fragment(func=None, *, run_every=None):
        if run_every is not None:
            timed.append(getattr(func, "__name__", "a decorated fragment"))
        return fragment(func, run_every=run_every)

    monkeypatch.setattr(st, "fragment", recording_fragment)
    return timed


def test_an_idle_page_never_polls(timed_fragments) -> None:
    app = open_page(YOUR_DRAWINGS)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert timed_fragments == []


def test_right_and_a_correction_each_keep_the_drawing_with_its_label(
    isolated_models_dir,
) -> None:
    app = upload(open_page(DRAW), "seven.png", render_sketch(7))
    assert next(m for m in app.metric if m.label == "Prediction").value == "7"
    assert [b.label for b in app.button if b.key and b.key.startswith("correct-")] == [
        "Right",
        *map(str, range(10)),
    ]

    button(app, "Right").click()
    app.run()
    assert not app.exception
    assert any("Saved as a 7" in s.value for s in app.success)

    button(app, "1").click()  # the visitor says it was really a 1
    app.run()
    assert any("Saved as a 1" in s.value for s in app.success)

    folder = DrawingFolder(isolated_models_dir.parent / "my_drawings")
    assert [d.label for d in folder.drawings()] == [7, 1]
    assert all(d.ink is not None for d in folder.drawings())


def test_a_non_digit_gets_no_prediction_but_can_still_be_labelled() -> None:
    app = upload(open_page(DRAW), "blob.png", render_non_digit("blob", seed=4))
    assert not [m for m in app.metric if m.label == "Prediction"]
    assert any("doesn't look like a digit" in w.value for w in app.warning)
    labels = [b.label for b in app.button if b.key and b.key.startswith("correct-")]
    assert labels == list(map(str, range(10)))  # no "Right": there was no answer


def test_your_drawings_page_scores_shows_and_deletes_them() -> None:
    app = open_page(YOUR_DRAWINGS)
    assert any("No drawings yet" in info.value for info in app.info)
    assert button(app, "Teach the model my handwriting").disabled

    app = upload(open_page(DRAW), "seven.png", render_sketch(7))
    button(app, "7").click()
    app.run()
    app.switch_page(YOUR_DRAWINGS).run()
    assert not app.exception, [e.value for e in app.exception]
    accuracy = next(m for m in app.metric if m.label == "Accuracy on your drawings")
    assert accuracy.value == "100.0%"
    assert any(m.label == "Accuracy on MNIST test" for m in app.metric)
    assert [t.label for t in app.tabs][7] == "7 (1)"

    button(app, "Delete").click()
    app.run()
    assert any("No drawings yet" in info.value for info in app.info)


def test_scores_are_cached_per_collection_even_when_an_id_is_reused(
    monkeypatch, sample_mnist
) -> None:
    """The scores cache is shared by every visitor. A freed collection's ``id()`` can come back
    as another visitor's new collection, at the same version: that visitor must get scores of
    their own drawings, not the first visitor's. (``id`` is pinned here to force the reuse.)"""
    from mnist_cnn.store import load_active
    from studio import your_drawings

    monkeypatch.setattr(your_drawings, "id", lambda _: 1, raising=False)
    (_, _), (x_test, y_test) = sample_mnist
    image, label = np.squeeze(x_test[0]), int(y_test[0])
    first, second = DrawingCollection(), DrawingCollection()
    first.add(image, label)
    second.add(image, (label + 1) % 10)
    assert first.version == second.version
    loaded = load_active()
    assert your_drawings.scores_key(loaded, first) != your_drawings.scores_key(loaded, second)
    first_scores = your_drawings.scores(loaded, first)
    second_scores = your_drawings.scores(loaded, second)
    assert first_scores.confusion[label].sum() == 1
    assert second_scores.confusion[(label + 1) % 10].sum() == 1


def test_public_mode_keeps_drawings_in_the_session_only(monkeypatch, isolated_models_dir) -> None:
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    first = upload(open_page(DRAW), "seven.png", render_sketch(7))
    button(first, "Right").click()
    first.run()
    first.switch_page(YOUR_DRAWINGS).run()
    assert next(t for t in first.tabs if t.label.startswith("7")).label == "7 (1)"
    assert not (isolated_models_dir.parent / "my_drawings").exists()

    second = open_page(YOUR_DRAWINGS)  # another visitor
    assert any("No drawings yet" in info.value for info in second.info)


def test_teaching_makes_a_new_model_this_sessions_model(timed_fragments, monkeypatch) -> None:
    # The run waits for the test's go, so the page is seen while it is surely in progress.
    go = threading.Event()
    monkeypatch.setattr(
        fine_tune_jobs, "fine_tune", lambda *a, **k: go.wait() and fine_tuning.fine_tune(*a, **k)
    )
    app = open_page(DRAW)
    canvases, labels = quirky_writer_set(n_per_digit=2, seed=4)
    for canvas, label in zip(canvases, labels, strict=True):
        app = upload(app, "digit.png", canvas)
        button(app, str(label)).click()
        app.run()
    app.switch_page(YOUR_DRAWINGS).run()
    assert timed_fragments == []  # drawings, but nothing being taught: no polling
    teach = button(app, "Teach the model my handwriting")
    assert not teach.disabled
    # Two drawings a digit: too few to hold any out, and the page says so before and after.
    assert any("that takes 5 drawings of a digit" in c.value for c in app.caption)
    teach.click()
    app.run()
    job = resources.fine_tune_registry().run_of(app.session_state["session_id"])
    assert timed_fragments == ["teaching_progress"]  # the progress redraws while it runs
    assert button(app, "Teach the model my handwriting").disabled  # one run at a time
    go.set()
    job.join(timeout=600)
    assert job.snapshot().status == "finished", job.snapshot().message
    timed_fragments.clear()
    app.run()
    assert timed_fragments == []  # ended: the page stops polling
    assert not app.exception, [e.value for e in app.exception]
    assert any("Taught on your handwriting" in info.value for info in app.sidebar.info)
    assert app.session_state["model_choice"] == job.snapshot().record.key
    assert any(m.label == "MNIST test" for m in app.metric)
    held_out = next(m for m in app.metric if m.label == "Your held-out drawings")
    assert held_out.value == "not measured"


def test_the_visitor_teaching_can_stop_it_and_keeps_their_model(
    timed_fragments, monkeypatch
) -> None:
    """Public mode: only the visitor whose run it is sees a Stop button; a Stop saves nothing."""
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    go = threading.Event()  # the run waits for it: the Stop surely lands while it runs
    monkeypatch.setattr(
        fine_tune_jobs, "fine_tune", lambda *a, **k: go.wait() and fine_tuning.fine_tune(*a, **k)
    )
    app = open_page(YOUR_DRAWINGS)
    drawings = DrawingCollection()
    for canvas, label in zip(*quirky_writer_set(n_per_digit=1, seed=4), strict=True):
        drawings.add(canvas_to_mnist(canvas), int(label))
    app.session_state["your_drawings"] = drawings
    app.run()
    assert not [b for b in app.button if b.label == "Stop teaching"]  # nothing to stop yet
    button(app, "Teach the model my handwriting").click()
    app.run()
    job = resources.fine_tune_registry().run_of(app.session_state["session_id"])
    assert timed_fragments == ["teaching_progress"]
    other = open_page(YOUR_DRAWINGS)  # another visitor: nothing of this run to stop
    assert not [b for b in other.button if b.label == "Stop teaching"]

    stop = button(app, "Stop teaching")
    assert not stop.disabled
    timed_fragments.clear()
    stop.click()
    app.run()
    assert job.snapshot().status == "stopped"  # at once, while the run still waits
    assert timed_fragments == []  # stopped: the page polls no more
    go.set()
    job.join(timeout=600)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert job.snapshot().status == "stopped" and job.snapshot().record is None
    notice = next(i.value for i in app.info if "Teaching stopped" in i.value)
    assert "Nothing was saved" in notice and "Bundled model" in notice
    assert app.session_state["model_choice"] == "bundled" and trained_records() == []
    assert not any("Taught on your handwriting" in i.value for i in app.sidebar.info)
    assert not button(app, "Teach the model my handwriting").disabled  # free to try again


def test_a_full_collection_says_so_and_import_adds_drawings(monkeypatch) -> None:
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    app = upload(open_page(DRAW), "seven.png", render_sketch(7))
    app.session_state["your_drawings"] = DrawingCollection(limit=0)
    button(app, "Right").click()
    app.run()
    assert any("Not saved" in e.value and "room for 0 more" in e.value for e in app.error)

    exported = DrawingCollection()
    for digit in (3, 3, 5):
        exported.add(np.zeros((28, 28), np.uint8), digit)
    app.session_state["your_drawings"] = DrawingCollection()
    app.switch_page(YOUR_DRAWINGS).run()
    uploader = next(u for u in app.file_uploader if u.label == "Import an exported .npz")
    uploader.set_value(("mine.npz", exported.export_npz(), "application/octet-stream"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Imported 3 drawings" in s.value for s in app.success)
    assert [t.label for t in app.tabs][3] == "3 (2)"

    uploader = next(u for u in app.file_uploader if u.label == "Import an exported .npz")
    uploader.set_value(("bad.npz", b"not an npz", "application/octet-stream"))
    app.run()
    assert any("not an .npz file" in e.value for e in app.error)


def import_file(app: AppTest, name: str, data: bytes) -> AppTest:
    uploader = next(u for u in app.file_uploader if u.label == "Import an exported .npz")
    uploader.set_value((name, data, "application/octet-stream"))
    return app.run()


def test_import_shows_the_uploaders_refusals_as_the_draw_page_does() -> None:
    """An over-2 MB file never reaches Python: only the uploader's own message can say so."""
    draw = open_page(DRAW)
    draw_styles = [h.proto.body for h in draw.get("html") if "stFileChip" in h.proto.body]
    assert draw_styles
    app = draw.switch_page(YOUR_DRAWINGS).run()
    assert [h.proto.body for h in app.get("html") if "stFileChip" in h.proto.body] == draw_styles


def test_an_import_the_disk_cannot_hold_says_so_without_paths(monkeypatch) -> None:
    def disk_full(self, drawing) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/app/my_drawings/.partial-x")

    monkeypatch.setattr(DrawingFolder, "_persist", disk_full)
    exported = DrawingCollection()
    exported.add(np.zeros((28, 28), np.uint8), 3)
    app = import_file(open_page(YOUR_DRAWINGS), "mine.npz", exported.export_npz())
    assert not app.exception, [e.value for e in app.exception]
    errors = [e.value for e in app.error]
    assert any("Not imported" in e and "No space left on device" in e for e in errors), errors
    assert not any("/srv/app" in e for e in errors)
    assert any("No drawings yet" in i.value for i in app.info)
