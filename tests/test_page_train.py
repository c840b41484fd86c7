"""The Train page under Streamlit's AppTest: controls, live runs, Stop, failures."""

from __future__ import annotations

from apptest_support import (
    DRAW,
    EVALUATE,
    MAX_POLLS,
    POLL_SECONDS,
    TRAIN,
    USE_APP_ENVIRONMENT,
    open_page,
    sidebar_text,
    start_training,
    wait_for_batches,
    wait_until_ended,
)

from mnist_cnn import memory_budget, settings
from mnist_cnn.training import TrainConfig
from studio import resources

pytestmark = USE_APP_ENVIRONMENT


RECIPE_FIELDS = {"Epochs", "Batch size", "Learning rate", "Validation split", "Random seed"}


def test_train_controls_have_the_project_defaults() -> None:
    app = open_page(TRAIN)
    values = {
        w.label: w.value
        for w in [*app.number_input, *app.slider, *app.select_slider]
        if w.label in RECIPE_FIELDS
    }
    # The seed notebook's recipe, which TrainConfig's defaults also follow.
    assert values == {
        "Epochs": 5,
        "Batch size": 32,
        "Learning rate": 0.001,
        "Validation split": 10,
        "Random seed": 42,
    }
    defaults = TrainConfig()
    assert (defaults.epochs, defaults.batch_size, defaults.seed) == (5, 32, 42)
    assert next(t for t in app.toggle if t.label == "Augmentation").value is False
    assert any("No training run on this server yet" in info.value for info in app.info)


def test_tuned_recipe_fills_the_form_and_trains_with_it() -> None:
    app = open_page(TRAIN)
    recipe = next(r for r in app.radio if r.label == "Recipe")
    assert recipe.value == "seed" and recipe.options == ["Seed recipe", "Tuned recipe"]
    schedule = next(s for s in app.selectbox if s.label == "Learning-rate schedule")
    assert schedule.value == "constant"

    recipe.set_value("tuned").run()
    values = {w.label: w.value for w in [*app.number_input, *app.slider, *app.select_slider]}
    assert values["Learning rate"] == 0.005 and values["Epochs"] == 5
    assert values["Batch size"] == 64
    schedule = next(s for s in app.selectbox if s.label == "Learning-rate schedule")
    assert schedule.value == "warmup_cosine"
    assert next(t for t in app.toggle if t.label == "Augmentation").value is True
    job = start_training(app, epochs=1)
    assert job.snapshot().config == TrainConfig.tuned(epochs=1)
    wait_until_ended(job)
    assert job.snapshot().status == "finished", job.snapshot().message


def test_finished_run_becomes_the_active_model_everywhere() -> None:
    app = open_page(TRAIN)
    job = start_training(app, epochs=1)
    wait_until_ended(job)
    app.run()
    assert not app.exception, [e.value for e in app.exception]

    assert job.snapshot().status == "finished", job.snapshot().message
    assert any("Training finished" in s.value for s in app.success)
    assert {m.label for m in app.metric} >= {"Test accuracy", "Validation accuracy"}
    assert app.download_button[0].label == "Download the model (.keras)"
    assert "Trained here" in sidebar_text(app)
    assert "1 epoch ·" in sidebar_text(app)

    app.switch_page(DRAW).run()
    assert "Trained here" in sidebar_text(app)
    app.switch_page(EVALUATE).run()
    assert "Trained here" in sidebar_text(app)


def test_stop_ends_the_run_and_keeps_the_previous_model() -> None:
    app = open_page(TRAIN)
    job = start_training(app, epochs=50)
    wait_for_batches(job)
    app.run()  # the page now shows the live run: progress and a Stop button
    assert app.progress, "no progress bar while training"
    next(b for b in app.button if b.label == "Stop training").click()
    app.run()
    wait_until_ended(job)
    app.run()

    assert job.snapshot().status == "stopped"
    notice = next(i.value for i in app.info if "Training stopped" in i.value)
    assert "Nothing was saved" in notice
    assert "Bundled with the app" in sidebar_text(app)


def test_second_visitor_sees_the_run_in_progress_and_cannot_start_another() -> None:
    first = open_page(TRAIN)
    job = start_training(first, epochs=50)
    second = open_page(TRAIN)
    assert second.progress, "the second visitor does not see the run"
    assert any("A training run is in progress" in i.value for i in second.info)
    start = next(b for b in second.button if b.label == "Start training")
    assert start.disabled
    assert resources.training_registry().latest is job
    job.stop()
    wait_until_ended(job)


def test_start_on_a_stale_page_shows_the_run_in_progress_instead() -> None:
    idle = open_page(TRAIN)  # opened before anyone started: its Start button is enabled
    job = start_training(open_page(TRAIN), epochs=50)
    next(b for b in idle.button if b.label == "Start training").click()
    idle.run()
    assert any("A training run is in progress" in i.value for i in idle.info)
    assert idle.progress, "the stale page does not switch to the run in progress"
    assert resources.training_registry().latest is job
    job.stop()
    wait_until_ended(job)


def failed_run_message() -> str:
    """Start a one-epoch run that cannot get its data; the error the page then shows."""
    app = open_page(TRAIN)
    wait_until_ended(start_training(app, epochs=1))
    app.run()
    assert not app.exception
    return app.error[0].value


def test_missing_mnist_file_fails_the_run_with_a_clear_message(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    message = failed_run_message()
    assert "MNIST file not found" in message and "MNIST_NPZ" in message
    assert "Traceback" not in message


def test_no_network_and_no_mnist_file_fails_with_a_clear_message(monkeypatch) -> None:
    import keras

    def no_network():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("MNIST_NPZ")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    message = failed_run_message()
    assert "Could not download MNIST" in message and "MNIST_NPZ" in message


def test_a_run_that_must_wait_for_memory_says_so_then_trains(monkeypatch) -> None:
    # Room for a training run, but not beside the teaching run that holds memory now.
    limit = memory_budget.SERVER_MB + memory_budget.TRAINING_MB + memory_budget.TEACHING_MB - 1
    monkeypatch.setenv(settings.MEMORY_MB_ENV, str(int(limit)))
    budget = resources.memory_budget()
    teaching = budget.reserve(memory_budget.TEACHING, seconds_left=lambda: 40.0)
    app = open_page(TRAIN)
    job = start_training(app, epochs=1)
    for _ in range(MAX_POLLS):  # until its thread has asked for the memory
        if job.snapshot().waiting is not None:
            break
        job.join(timeout=POLL_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.active and snapshot.waiting is not None and not snapshot.batches
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    notices = [info.value for info in app.info]
    assert any(
        "Your training run starts when the teaching run ends, about 40 s" in notice
        for notice in notices
    ), notices
    budget.release(teaching)
    wait_until_ended(job)
    assert job.snapshot().status == "finished", job.snapshot().message
    app.run()
    assert any("Training finished" in s.value for s in app.success)


def test_a_run_that_could_never_fit_is_refused_clearly(monkeypatch) -> None:
    limit = memory_budget.SERVER_MB + memory_budget.TRAINING_MB - 1
    monkeypatch.setenv(settings.MEMORY_MB_ENV, str(int(limit)))
    app = open_page(TRAIN)
    epochs_input = next(w for w in app.number_input if w.label == "Epochs")
    epochs_input.set_value(1)
    next(b for b in app.button if b.label == "Start training").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    errors = [error.value for error in app.error]
    assert any(f"has {int(limit)} MB of memory" in e and "cannot run here" in e for e in errors)
    assert resources.training_registry().latest is None
