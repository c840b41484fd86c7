"""Each visitor's own model under Streamlit's AppTest: the sidebar "Model" picker, runs that
become their starter's model only, notices, public mode's rules and the Models page.

Two AppTest instances in one process are two browser sessions on one server: they share the
training registry and the model caches, as visitors do.
"""

from __future__ import annotations

import shutil

import pytest
from apptest_support import (
    DRAW,
    EVALUATE,
    TRAIN,
    USE_APP_ENVIRONMENT,
    open_page,
    sidebar_text,
    start_training,
    wait_for_batches,
    wait_until_ended,
)
from streamlit.testing.v1 import AppTest

from mnist_cnn.store import find_record, trained_records
from studio import session

pytestmark = USE_APP_ENVIRONMENT
MODELS = "app_pages/models.py"


def model_box(app: AppTest):
    return next(box for box in app.sidebar.selectbox if box.label == "Model")


def chosen_text(app: AppTest) -> str:
    box = model_box(app)
    return box.format_func(box.value)


def finish_a_run(app: AppTest) -> None:
    job = start_training(app, epochs=1)
    wait_until_ended(job)
    app.run()
    assert job.snapshot().status == "finished", job.snapshot().message


@pytest.mark.parametrize("page", [DRAW, TRAIN, EVALUATE, MODELS])
def test_every_page_has_the_model_box_starting_on_the_bundled_model(page: str) -> None:
    app = open_page(page)
    assert "Bundled" in chosen_text(app)
    assert model_box(app).value == "bundled"
    assert not app.exception


def test_a_run_becomes_its_starters_model_only() -> None:
    starter, watcher = open_page(TRAIN), open_page(DRAW)
    finish_a_run(starter)

    (saved,) = trained_records()
    assert model_box(starter).value == saved.key
    assert any("Your training run finished" in i.value for i in starter.sidebar.info)
    assert any("It is now your model" in s.value for s in starter.success)
    assert "Trained here" in sidebar_text(starter)

    watcher.run()
    assert model_box(watcher).value == "bundled" and "Bundled" in chosen_text(watcher)
    assert not watcher.sidebar.info
    # The notice is shown once; the choice stays.
    starter.switch_page(EVALUATE).run()
    assert model_box(starter).value == saved.key and not starter.sidebar.info


def test_picking_a_model_switches_every_page() -> None:
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()
    app = open_page(EVALUATE)  # a new local session starts on the newest model
    assert model_box(app).value == saved.key
    model_box(app).select("bundled").run()
    assert "Bundled with the app" in sidebar_text(app)
    bundled_accuracy = next(m.value for m in app.metric if m.label == "Test accuracy")
    model_box(app).select(saved.key).run()
    assert "Trained here" in sidebar_text(app)
    trained_accuracy = next(m.value for m in app.metric if m.label == "Test accuracy")
    assert trained_accuracy != bundled_accuracy  # the page scored the other model
    app.switch_page(DRAW).run()
    assert model_box(app).value == saved.key


def test_a_vanished_model_falls_back_to_the_default_with_a_notice() -> None:
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()
    shutil.rmtree(saved.folder)
    trainer.switch_page(DRAW).run()
    assert model_box(trainer).value == "bundled"
    assert any("no longer on this server" in i.value for i in trainer.sidebar.info)
    assert not trainer.exception


def test_public_mode_new_sessions_get_the_bundled_model_and_a_capped_form(monkeypatch) -> None:
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    monkeypatch.setenv("MNIST_CNN_MAX_EPOCHS", "3")
    starter = open_page(TRAIN)
    epochs = next(w for w in starter.number_input if w.label == "Epochs")
    assert epochs.max == 3 and "At most 3" in epochs.help
    assert any("limited to 3 epochs" in c.value for c in starter.caption)
    finish_a_run(starter)
    (saved,) = trained_records()
    assert model_box(starter).value == saved.key
    newcomer = open_page(DRAW)
    assert model_box(newcomer).value == "bundled"  # not the newest, as locally


def test_public_mode_only_the_starter_can_stop(monkeypatch) -> None:
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    starter = open_page(TRAIN)
    job = start_training(starter, epochs=3)
    wait_for_batches(job)
    starter.run()
    other = open_page(TRAIN)
    assert other.progress, "the other visitor does not see the run"
    assert next(b for b in other.button if b.label == "Stop training").disabled
    assert any("only the visitor who started it" in i.value for i in other.info)
    stop = next(b for b in starter.button if b.label == "Stop training")
    assert not stop.disabled
    stop.click()
    starter.run()
    wait_until_ended(job)
    assert job.snapshot().status == "stopped"


def test_public_mode_hides_server_paths_from_visitors(monkeypatch) -> None:
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()
    saved.model_file.write_bytes(b"not a keras archive")
    trainer.switch_page(DRAW).run()  # this session uses the now corrupt model
    (error,) = trainer.error
    assert "could not be loaded" in error.value and "[server path]" in error.value
    assert str(saved.folder.parent) not in error.value
    assert model_box(trainer).value == saved.key  # the picker is still there to switch


def test_unwritable_models_folder_is_refused_when_start_is_pressed(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MNIST_CNN_MODELS_DIR", str(blocker / "models"))
    app = open_page(TRAIN)
    next(b for b in app.button if b.label == "Start training").click()
    app.run()
    assert any("MNIST_CNN_MODELS_DIR" in e.value for e in app.error)
    assert not app.progress


def test_use_model_switches_this_session_with_a_notice() -> None:
    """The function other features (fine-tuning) call when they save a model for a visitor."""
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()

    def use_the_trained_model(key: str) -> None:
        import streamlit as st

        from mnist_cnn.store import find_record
        from studio import session

        if st.button("Use it"):
            session.use_model(find_record(key), "Fine-tuned: now your model.")
            st.rerun()
        st.write(session.current_record().key)

    page = AppTest.from_function(use_the_trained_model, args=(saved.key,), default_timeout=60)
    page.session_state[session.CHOICE] = "bundled"  # this visitor had picked the bundled one
    page.run()
    assert page.markdown[0].value == "bundled"
    page.button[0].click().run()
    assert page.markdown[0].value == saved.key
    assert page.session_state[session.NOTICES] == ["Fine-tuned: now your model."]
    assert find_record(saved.key) is not None


# --- The Models page -------------------------------------------------------------------------


def test_models_page_lists_every_model() -> None:
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    app = open_page(MODELS)
    table = app.dataframe[0].value
    assert list(table["Id"]) == ["bundled", trained_records()[0].key]
    assert table["Name"][0] == "Bundled model" and table["Epochs"][1] == 1
    assert any("Choose a row" in i.value for i in app.info)


def details_and_comparison(keys: list[str]) -> AppTest:
    def page(keys: list[str]) -> None:
        from mnist_cnn.store import find_record
        from studio import models_view

        records = [find_record(key) for key in keys]
        if len(records) == 1:
            models_view.details(records[0])
        else:
            models_view.compare(records)

    app = AppTest.from_function(page, args=(keys,), default_timeout=120)
    return app.run()


def test_one_model_in_detail_with_rename_and_delete_locally() -> None:
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()
    app = details_and_comparison([saved.key])
    assert {m.label for m in app.metric} >= {"Test accuracy", "Training time", "Parameters"}
    assert app.download_button[0].label == "Download (.keras)"
    assert app.expander, "no Rename or delete section for a trained model"
    next(t for t in app.text_input if t.label == "New name").input("wide batches")
    next(b for b in app.button if b.label == "Rename").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert find_record(saved.key).name == "wide batches"
    next(b for b in app.button if b.label == "Delete this model").click().run()
    assert find_record(saved.key) is None


def test_bundled_model_and_public_mode_offer_no_rename_or_delete(monkeypatch) -> None:
    app = details_and_comparison(["bundled"])
    assert not app.expander and app.download_button
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    monkeypatch.setenv("MNIST_CNN_PUBLIC", "1")
    app = details_and_comparison([trained_records()[0].key])
    assert not app.expander and app.download_button


def test_a_taught_model_shows_its_parent_not_a_recipe() -> None:
    from mnist_cnn.model import build_model
    from mnist_cnn.store import save_model

    parent = {"parent_model": "bundled", "parent_name": "Bundled model", "drawings": 40}
    taught = save_model(build_model(), {**parent, "test_accuracy": 0.9})
    app = details_and_comparison([taught.key])
    assert not app.exception, [e.value for e in app.exception]
    assert app.subheader[0].value == "Taught on 40 drawings (from Bundled model)"
    assert "Taught from Bundled model on 40 drawings" in [c.value for c in app.caption]
    table = open_page(MODELS).dataframe[0].value
    row = table[table["Id"] == taught.key].iloc[0]
    assert row["Recipe"] == "fine-tuned" and row["Name"].startswith("Taught on 40 drawings")


def test_comparing_two_models_shows_curves_recipes_and_scores() -> None:
    trainer = open_page(TRAIN)
    finish_a_run(trainer)
    (saved,) = trained_records()
    app = details_and_comparison(["bundled", saved.key])
    assert not app.exception
    recipe = next(d.value for d in app.dataframe if "Setting" in d.value.columns)
    assert set(recipe["Setting"]) >= {"epochs", "augment"}
    accuracies = [m for m in app.metric if m.label.startswith("Test accuracy: ")]
    assert len(accuracies) == 2
    f1 = next(d.value for d in app.dataframe if "Digit" in d.value.columns)
    assert list(f1.columns) == ["Digit", "F1 Bundled model", f"F1 {saved.name}"]
    assert len(f1) == 10
