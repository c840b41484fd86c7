"""The Train page's Network section under AppTest: presets, editing, live figures, refusals."""

from __future__ import annotations

from apptest_support import TRAIN, USE_APP_ENVIRONMENT, open_page, start_training, wait_until_ended

from mnist_cnn import memory_budget, settings, speed, store
from mnist_cnn.architecture import PRESETS, SEED
from mnist_cnn.training import TrainConfig
from studio import resources

pytestmark = USE_APP_ENVIRONMENT


def _metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _preset_picker(app):
    return next(g for g in app.get("button_group") if g.label == "Start from a preset")


def _diagram(app) -> str:
    return app.get("graphviz_chart")[0].proto.spec


def _captions(app) -> str:
    return " ".join(caption.value for caption in app.caption)


def _number(app, label: str):
    return next(w for w in app.number_input if w.label == label)


def test_the_seed_network_is_shown_with_its_figures_before_training() -> None:
    app = open_page(TRAIN)
    assert _preset_picker(app).value == "seed"
    metrics = _metrics(app)
    assert metrics["Parameters"] == "121,930"
    assert metrics["FLOPs per digit"] == "5.1M"
    assert metrics["Seconds per epoch"].startswith("≈ ") and metrics["Seconds per epoch"][2:-2]
    diagram = _diagram(app)
    for box in ("Input\\n28x28x1", "Conv 3x3\\n26x26x32", "Pool\\n5x5x64", "Output\\n10"):
        assert box in diagram
    assert "**Seed**." in _captions(app)


def test_a_server_short_of_memory_does_not_measure_its_speed_until_it_has_it(monkeypatch) -> None:
    monkeypatch.setattr(speed, "_measured", {})  # as a server that has not measured yet
    limit = memory_budget.SERVER_MB + memory_budget.TRAINING_MB
    monkeypatch.setenv(settings.MEMORY_MB_ENV, str(int(limit)))
    monkeypatch.setattr(memory_budget, "HOLD_WAIT_S", 0.0)
    training = resources.memory_budget().reserve(memory_budget.TRAINING, lambda: 40.0)
    app = open_page(TRAIN)
    assert not app.exception
    epoch = next(metric for metric in app.metric if metric.label == "Seconds per epoch")
    assert epoch.value == "not measured yet"
    assert "short of memory until the training run ends, about 40 s" in epoch.proto.help
    assert speed.measured_speed(TrainConfig().batch_size) is None

    resources.memory_budget().release(training)
    app.run()
    assert _metrics(app)["Seconds per epoch"].startswith("≈ ")
    assert speed.measured_speed(TrainConfig().batch_size) is not None


def test_tiny_is_picked_shown_and_trained_and_its_model_records_it() -> None:
    app = open_page(TRAIN)
    _preset_picker(app).set_value("tiny").run()
    assert _metrics(app)["Parameters"] == "5,258"
    assert "Dense\\n" not in _diagram(app)  # straight from the maps to the output
    assert _number(app, "Block 1: filters").value == 8
    job = start_training(app, epochs=1)
    assert job.snapshot().spec == PRESETS["tiny"]
    wait_until_ended(job)
    snapshot = job.snapshot()
    assert snapshot.status == "finished", snapshot.message
    assert snapshot.record.architecture["preset"] == "tiny"
    assert snapshot.record.metadata.parameters == 5_258
    assert store.load_record(snapshot.record).count_params() == 5_258
    app.run()
    assert "Network: Tiny, 5,258 parameters (conv 8 3x3 + pool" in _captions(app)


def test_editing_the_layers_updates_the_figures_and_trains_the_edit() -> None:
    app = open_page(TRAIN)
    _number(app, "Block 2: filters").set_value(16).run()
    assert _metrics(app)["Parameters"] != "121,930"
    assert "**Custom**. Edited from Seed" in _captions(app)
    app.button(key="network-add-dense").click().run()
    assert _number(app, "Dense 2: units").value == 64
    removes = [b for b in app.button if b.key.startswith("conv-") and b.key.endswith("-remove")]
    removes[0].click().run()  # the first block goes; the one of 16 filters stays
    assert _number(app, "Block 1: filters").value == 16
    assert not any(w.label == "Block 2: filters" for w in app.number_input)
    job = start_training(app, epochs=1)
    spec = job.snapshot().spec
    assert [block.filters for block in spec.conv_blocks] == [16]
    assert [layer.units for layer in spec.dense_layers] == [64, 64]
    assert _metrics(app)["Parameters"] == f"{spec.parameters:,}"
    wait_until_ended(job)
    assert job.snapshot().status == "finished", job.snapshot().message


def test_a_network_that_cannot_be_built_says_why_and_does_not_start() -> None:
    app = open_page(TRAIN)
    for _ in range(2):
        app.button(key="network-add-conv").click().run()
    for position in (2, 3):  # two more unpadded blocks: 28 -> 13 -> 5 -> 1 -> nothing
        paddings = [box for box in app.selectbox if box.label == "Padding"]
        paddings[position].set_value("valid").run()
    errors = [error.value for error in app.error]
    assert any("cannot be built: conv block 4 (3x3, no padding)" in e for e in errors), errors
    next(b for b in app.button if b.label == "Start training").click().run()
    assert any("Fix the network above first" in error.value for error in app.error)
    from studio import resources

    assert resources.training_registry().latest is None


def test_public_mode_refuses_a_network_over_its_caps(monkeypatch) -> None:
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    app = open_page(TRAIN)
    for label in ("Block 1: filters", "Block 2: filters"):
        _number(app, label).set_value(256).run()
    errors = " ".join(error.value for error in app.error)
    assert "this shared server trains at most 1,000,000" in errors
    assert SEED.parameters < 1_000_000  # the seed itself is fine
    next(b for b in app.button if b.label == "Start training").click().run()
    from studio import resources

    assert resources.training_registry().latest is None
