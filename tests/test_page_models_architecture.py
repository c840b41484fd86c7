"""The network lab on the Models page: the architecture column, the chart of every model with its
Pareto fronts, the comparison's layer lines and the sidebar's network; and the Pareto function.

Models of several presets are saved untrained, with made-up figures: the page shows what their
metadata says, and the figures decide the fronts.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from apptest_support import USE_APP_ENVIRONMENT, open_page, sidebar_text
from streamlit.testing.v1 import AppTest

from mnist_cnn.architecture import PRESETS, ConvBlock, ModelSpec
from mnist_cnn.store import ModelRecord, bundled_record, save_model
from studio import models_view
from studio.architecture_charts import FRONT_NAME, ModelPoint, pareto_front, tradeoff_figure

MODELS = "app_pages/models.py"
CUSTOM_SPEC = ModelSpec(conv_blocks=(ConvBlock(4),), dense_layers=())
TAUGHT = {"parent_model": "bundled", "parent_name": "Bundled model", "drawings": 40}


# --- The Pareto front, alone ----------------------------------------------------------------


def test_the_front_is_what_no_other_point_beats_cheapest_first() -> None:
    points = [(0.99, 120), (0.97, 5), (0.96, 100), (0.995, 400), (0.985, 60)]
    assert pareto_front(points) == [1, 4, 0, 3]


def test_an_equal_cost_point_is_beaten_by_a_more_accurate_one_and_twins_stay() -> None:
    # Every seed model has the same parameters: only the most accurate is on the front.
    assert pareto_front([(0.98, 121_930), (0.99, 121_930)]) == [1]
    assert pareto_front([(0.98, 10), (0.98, 20)]) == [0]
    assert pareto_front([(0.98, 10), (0.98, 10)]) == [0, 1]
    assert pareto_front([]) == []


def test_the_figure_draws_each_panels_front_and_leaves_off_what_it_lacks() -> None:
    points = [
        ModelPoint("small", "Tiny", 0.97, 5_000, 30.0),
        ModelPoint("big", "Wide", 0.99, 400_000, None),
        ModelPoint("unscored", "Custom", None, 1_000, 5.0),
    ]
    traces = tradeoff_figure(points).to_dict()["data"]
    fronts = [t for t in traces if t["name"] == FRONT_NAME]
    assert [list(front["text"]) for front in fronts] == [["small", "big"], ["small"]]
    assert sorted(t["name"] for t in traces if t["name"] != FRONT_NAME) == ["Tiny", "Tiny", "Wide"]
    assert models_view.left_off_text(points) == (
        "Left off both panels, 1 model without a recorded test accuracy; the training-time "
        "panel, 1 model without a training run's time (not recorded, or taught from another "
        "model: only the teaching was timed)."
    )
    assert models_view.left_off_text(points[:1]) == ""


# --- The page -------------------------------------------------------------------------------


def save(spec: ModelSpec, accuracy: float | None, seconds: float | None, **extra) -> ModelRecord:
    from mnist_cnn.model import build_model

    metadata = {"architecture": spec.to_dict(), **extra}
    if accuracy is not None:
        metadata["test_accuracy"] = accuracy
    if seconds is not None:
        metadata["training_seconds"] = seconds
    return save_model(build_model(spec=spec), metadata)


@pytest.fixture
def lab_models() -> dict[str, ModelRecord]:
    """Models of five networks besides the bundled one (the seed, 99.41%, 421.9 s)."""
    return {
        "tiny": save(PRESETS["tiny"], 0.97, 30.0, name="tiny run"),
        "dense": save(PRESETS["dense"], 0.96, 40.0, name="dense run"),  # beaten by tiny
        "lenet5": save(PRESETS["lenet5"], 0.985, None, name="lenet run"),  # no time
        "wide": save(PRESETS["wide"], 0.995, 200.0, name="wide run"),
        "custom": save(CUSTOM_SPEC, None, 10.0, name="custom run"),  # no accuracy
        # Taught: its 5 s are the teaching's alone, so it stays off the time panel.
        "taught": save(PRESETS["seed"], 0.9, 5.0, name="taught run", **TAUGHT),
    }


def plotly_array(value: list | dict) -> list:
    """A trace's array as Plotly sends it: a list, or typed binary (dtype, base64 bdata)."""
    if isinstance(value, list):
        return value
    return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()


def chart_traces(app: AppTest) -> list[dict]:
    (chart,) = [c for c in app.get("plotly_chart") if "Pareto front" in c.proto.spec]
    return json.loads(chart.proto.spec)["data"]


@USE_APP_ENVIRONMENT
def test_the_table_names_each_models_network_and_its_parameters(lab_models) -> None:
    app = open_page(MODELS)
    table = app.dataframe[0].value.set_index("Name")
    assert table.loc["Bundled model", "Architecture"] == "Seed"
    assert table.loc["Bundled model", "Parameters"] == 121_930
    assert table.loc["tiny run", "Architecture"] == "Tiny"
    assert table.loc["tiny run", "Parameters"] == PRESETS["tiny"].parameters == 5_258
    assert table.loc["lenet run", "Architecture"] == "LeNet-5"
    assert table.loc["dense run", "Architecture"] == "Dense only"
    assert table.loc["wide run", "Parameters"] == PRESETS["wide"].parameters
    assert table.loc["custom run", "Architecture"] == "Custom"
    assert table.loc["custom run", "Parameters"] == CUSTOM_SPEC.parameters
    assert table.loc["taught run", "Architecture"] == "Seed"


@USE_APP_ENVIRONMENT
def test_the_chart_plots_every_model_marks_the_fronts_and_says_what_it_left_off(
    lab_models,
) -> None:
    app = open_page(MODELS)
    assert not app.exception, [e.value for e in app.exception]
    assert any(s.value == "Accuracy against size and training time" for s in app.subheader)
    traces = chart_traces(app)
    by_panel = {"x": [], "x2": []}
    for trace in traces:
        by_panel[trace.get("xaxis", "x")].append(trace)

    def points(panel: str) -> dict[str, tuple[str, float, float]]:
        return {
            name: (trace["name"], x, y)
            for trace in by_panel[panel]
            if trace["name"] != FRONT_NAME
            for name, x, y in zip(
                trace["text"], plotly_array(trace["x"]), plotly_array(trace["y"]), strict=True
            )
        }

    def front(panel: str) -> list[str]:
        (line,) = [t for t in by_panel[panel] if t["name"] == FRONT_NAME]
        return list(line["text"])

    sizes = points("x")
    assert set(sizes) == {
        "Bundled model", "tiny run", "dense run", "lenet run", "wide run", "taught run"
    }  # fmt: skip
    assert sizes["tiny run"] == ("Tiny", 5_258, 0.97)
    assert sizes["lenet run"] == ("LeNet-5", PRESETS["lenet5"].parameters, 0.985)
    assert sizes["Bundled model"] == ("Seed", 121_930, 0.9941)
    assert sizes["taught run"][0] == "Seed"
    assert front("x") == ["tiny run", "lenet run", "Bundled model", "wide run"]

    times = points("x2")
    assert set(times) == {"Bundled model", "tiny run", "dense run", "wide run"}
    assert times["wide run"] == ("Wide", 200.0, 0.995)
    assert front("x2") == ["tiny run", "wide run"]

    left_off = next(c.value for c in app.caption if c.value.startswith("Left off"))
    assert "both panels, 1 model without a recorded test accuracy" in left_off
    assert "the training-time panel, 2 models without a training run's time" in left_off


@USE_APP_ENVIRONMENT
def test_the_sidebar_names_the_models_network(lab_models) -> None:
    app = open_page(MODELS)  # a new local session starts on the newest model: the taught one
    assert lab_models["taught"].architecture_text == "Seed · 121,930 parameters"
    assert "Seed · 121,930 parameters" in sidebar_text(app)
    tiny = lab_models["tiny"]
    app.sidebar.selectbox[0].set_value(tiny.key).run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Tiny · 5,258 parameters" in sidebar_text(app)


def compare_page(keys: list[str]) -> None:
    from mnist_cnn.store import find_record
    from studio import models_view

    records = [find_record(key) for key in keys]
    if len(records) == 1:
        models_view.details(records[0])
    else:
        models_view.compare(records)


@USE_APP_ENVIRONMENT
def test_comparing_shows_the_networks_line_by_line_marking_what_differs(lab_models) -> None:
    keys = ["bundled", lab_models["tiny"].key, lab_models["lenet5"].key]
    app = AppTest.from_function(compare_page, args=(keys,), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    headings = [s.value for s in app.subheader]
    assert headings.index("Network differences") + 1 == headings.index("Recipe differences")
    network = next(d.value for d in app.dataframe if "Layer" in d.value.columns)
    assert list(network.columns) == ["Layer", "Differs", "Bundled model", "tiny run", "lenet run"]
    rows = network.set_index("Layer")
    assert list(rows.index) == [
        "Network", "Parameters", "Conv block 1", "Conv block 2",
        "Dense layer 1", "Dense layer 2", "Shapes",
    ]  # fmt: skip
    assert list(rows.loc["Network"])[1:] == ["Seed", "Tiny", "LeNet-5"]
    assert list(rows.loc["Parameters"])[1:] == ["121,930", "5,258", "61,706"]
    assert list(rows.loc["Conv block 1"])[1:] == [
        "conv 32 3x3 + pool",
        "conv 8 3x3 + pool",
        "conv 6 5x5 + same padding + pool",
    ]
    assert list(rows.loc["Dense layer 1"])[1:] == ["dense 64", "—", "dense 120"]
    assert list(rows.loc["Dense layer 2"])[1:] == ["—", "—", "dense 84"]
    assert rows.loc["Shapes", "tiny run"] == PRESETS["tiny"].shapes_text()
    assert rows["Differs"].all()


@USE_APP_ENVIRONMENT
def test_comparing_the_same_network_says_so_and_details_name_it(lab_models) -> None:
    keys = ["bundled", lab_models["taught"].key]
    app = AppTest.from_function(compare_page, args=(keys,), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not any("Layer" in d.value.columns for d in app.dataframe)
    seed = PRESETS["seed"]
    same = next(c.value for c in app.caption if c.value.startswith("The same network"))
    assert seed.describe() in same and seed.shapes_text() in same

    app = AppTest.from_function(compare_page, args=([lab_models["tiny"].key],)).run()
    tiny = PRESETS["tiny"]
    assert f"Tiny network: {tiny.describe()}; shapes {tiny.shapes_text()}" in [
        c.value for c in app.caption
    ]


def test_the_bundled_model_counts_as_the_seed() -> None:
    assert models_view.parameters(bundled_record()) == PRESETS["seed"].parameters
