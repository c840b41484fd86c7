"""The Inside page under Streamlit's AppTest: with no digit yet, with a drawn (uploaded) one,
with a test digit opened from the Evaluate page's gallery, and with models of other network
presets than the seed CNN (Tiny, LeNet-5, Deep, and Dense only, which has no convolutions)."""

from __future__ import annotations

import base64
import json
import threading

import numpy as np
import pytest
from apptest_support import (
    APP,
    DRAW,
    EVALUATE,
    INSIDE,
    MAX_POLLS,
    POLL_SECONDS,
    USE_APP_ENVIRONMENT,
    open_page,
    png_bytes,
)
from streamlit.testing.v1 import AppTest

from mnist_cnn.architecture import PRESETS
from mnist_cnn.data import load_mnist
from mnist_cnn.model import build_model
from mnist_cnn.store import models_dir, save_model
from sketchbook.sketches import render_sketch
from studio import map_view, resources, runtime
from studio.inside_view import DIGIT_KEY, ROTATE_LABEL, InsideDigit

pytestmark = USE_APP_ENVIRONMENT

SECTIONS = [
    "Layer by layer",
    "One feature map up close",
    "Conv 1's filters",
    "Which pixels decided",
    "Like which training digits",
    "A map of what the model learnt",
    "What breaks it",
]


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def seven_from_the_draw_page() -> AppTest:
    """Upload a drawn 7 on the Draw page (as a visitor's drawing), then open Inside."""
    app = open_page(DRAW)
    app.session_state["source"] = "Upload an image"
    app.file_uploader[0].set_value(("seven.png", png_bytes(render_sketch(7)), "image/png"))
    app.run()
    assert metric(app, "Prediction") == "7"
    assert DIGIT_KEY in app.session_state, "the Draw page kept no digit for the Inside page"
    app.switch_page(INSIDE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_without_a_digit_it_says_where_to_get_one() -> None:
    app = open_page(INSIDE)
    assert any("Nothing to look inside yet" in info.value for info in app.info)
    assert not [m for m in app.metric if m.label == "Prediction"]
    assert not [s for s in app.subheader if s.value in SECTIONS]


def test_on_a_servers_first_visit_the_sidebar_follows_a_page_with_no_digit(monkeypatch) -> None:
    # The first visit draws the page before the sidebar's model card (TensorFlow still loading);
    # a page that ended early must not take the "Model" box with it.
    monkeypatch.setattr(runtime, "tensorflow_loaded", lambda: False)
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page(INSIDE).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Nothing to look inside yet" in info.value for info in app.info)
    assert [box.label for box in app.sidebar.selectbox] == ["Model"]
    assert not [info for info in app.sidebar.info if "Starting up" in info.value]


def test_a_drawn_seven_inside_every_layer_and_saliency() -> None:
    app = seven_from_the_draw_page()
    assert metric(app, "Prediction") == "7"
    assert [s.value for s in app.main.subheader] == SECTIONS
    # The input, four feature-map mosaics, one enlarged map, its filter, its patch, conv 1's
    # filters, two saliency maps and their legend, and the changed digit.
    assert len(app.image) >= 13
    assert metric(app, "After the changes") == "7"
    captions = [picture.caption for image in app.image for picture in image.proto.imgs]
    assert "The input: your upload" in captions


def test_turning_the_seven_far_enough_changes_the_answer() -> None:
    app = seven_from_the_draw_page()
    # Measured with the bundled model (trained on rotated digits): this 7 reads as 7 from -40°
    # to +45°, and as a 2 at -45°, 45° clockwise, the slider's end.
    next(s for s in app.slider if s.label == ROTATE_LABEL).set_value(-45).run()
    assert not app.exception
    assert metric(app, "After the changes") != "7"
    assert metric(app, "Prediction") == "7", "the original digit's answer must not change"
    next(b for b in app.button if b.label == "Reset").click().run()
    assert metric(app, "After the changes") == "7"


def test_other_controls_rerun_cleanly() -> None:
    app = seven_from_the_draw_page()
    app.segmented_control(key="saliency-method").set_value("occlusion").run()
    app.selectbox(key="why-not").set_value(1).run()
    app.segmented_control(key="map-layer").set_value("conv2d_1").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(m.value.startswith("**Why not 1**") for m in app.markdown)


def test_a_test_digit_opens_from_the_evaluate_gallery() -> None:
    app = open_page(EVALUATE)
    gallery_open = [b for b in app.button if b.label == "See inside"]
    assert gallery_open, "the Evaluate page's gallery offers no way to look inside a digit"
    gallery_open[-1].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(s.value == "Layer by layer" for s in app.subheader)
    inside = app.session_state[DIGIT_KEY]
    assert inside.source == "test digit #0" and inside.label == 7
    assert metric(app, "Prediction") == "7"


def map_traces(app: AppTest) -> list[dict]:
    """The traces of the page's map: the one Plotly chart drawn with WebGL."""
    charts = [json.loads(chart.proto.spec)["data"] for chart in app.get("plotly_chart")]
    maps = [traces for traces in charts if any(t["type"] == "scattergl" for t in traces)]
    assert len(maps) == 1, "expected one map of the test digits on the page"
    return maps[0]


def plotly_array(value: list | dict) -> np.ndarray:
    """A trace's array as Plotly sends it: a list, or typed binary (dtype, base64 bdata)."""
    if isinstance(value, list):
        return np.asarray(value)
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    if "shape" not in value:
        return array
    return array.reshape([int(side) for side in str(value["shape"]).split(",")])


def test_the_seven_shows_its_nearest_training_digits_and_its_place_on_the_map(sample_npz) -> None:
    from mnist_cnn.neighbours import NEIGHBOURS

    app = seven_from_the_draw_page()
    note = next(c.value for c in app.caption if "training digits the model finds most" in c.value)
    assert f"The {NEIGHBOURS} training digits" in note
    captions = [caption for element in app.image for caption in element.captions]
    neighbours = [c for c in captions if " · " in c]
    assert len(neighbours) == NEIGHBOURS
    assert sum(c.startswith("7 ·") for c in neighbours) > NEIGHBOURS // 2, neighbours
    traces = map_traces(app)
    assert [t["name"] for t in traces] == [str(d) for d in range(10)] + ["this digit"]
    assert all(t["type"] == "scattergl" for t in traces[:10])
    _, (_, y_test) = load_mnist(sample_npz)
    assert sum(len(plotly_array(t["x"])) for t in traces[:10]) == len(y_test)


def test_the_map_shows_only_misread_digits_on_request(sample_npz) -> None:
    from mnist_cnn.inference import predict
    from mnist_cnn.store import bundled_record, load_record

    _, (x_test, y_test) = load_mnist(sample_npz)
    misread = predict(load_record(bundled_record()), x_test).argmax(axis=1) != y_test
    app = seven_from_the_draw_page()
    toggle = app.toggle(key=map_view.MISREAD_ONLY_KEY)
    assert toggle.label == f"Only the {misread.sum()} misread test digits"
    toggle.set_value(True).run()
    assert not app.exception, [e.value for e in app.exception]
    traces = map_traces(app)
    shown = {int(index) for t in traces[:10] for index, _ in plotly_array(t["customdata"])}
    assert shown == set(np.flatnonzero(misread).tolist())


def test_the_tsne_layout_shows_progress_then_the_map_and_keeps_it_on_disk() -> None:
    app = seven_from_the_draw_page()
    next(b for b in app.get("button_group") if b.key == map_view.LAYOUT_KEY).set_value("tsne").run()
    assert not app.exception, [e.value for e in app.exception]
    for _ in range(MAX_POLLS):
        traces = [
            json.loads(chart.proto.spec)
            for chart in app.get("plotly_chart")
            if "scattergl" in chart.proto.spec
        ]
        if traces:
            break
        assert any("t-SNE" in p.proto.text for p in app.get("progress")) or any(
            "waits for another model" in i.value for i in app.info
        ), "no progress shown while the t-SNE map is computed"
        threading.Event().wait(POLL_SECONDS)
        app.run()
    else:
        raise AssertionError("the t-SNE map never came")
    assert traces[0]["layout"]["xaxis"]["title"]["text"].startswith("t-SNE 1")
    assert [t["name"] for t in traces[0]["data"]][-1] == "this digit"
    assert any("placed among its 10 nearest test digits" in c.value for c in app.caption)
    assert list((models_dir() / resources.MAPS_FOLDER).glob("*-tsne.npz"))


# --- Other networks than the seed CNN ---------------------------------------------------------

# What the page shows of each preset's layers, and what its feature-map section says: the
# mosaics' titles (conv and pool layers only, not batch norm or dropout), the hidden dense
# layers' titles, a caption only this network gets, conv 1's filter caption, and conv 2's
# kernels once picked.
PRESET_PAGES = {
    "tiny": (
        ["Conv 1", "Pool 1", "Conv 2", "Pool 2"],
        [],
        "No hidden dense layer: the ten scores come straight from flatten's 400 numbers",
        "8 filters of 3x3 weights",
        "Its 8 3x3 kernels",
    ),
    "lenet5": (
        ["Conv 1", "Pool 1", "Conv 2", "Pool 2"],
        ["Dense 1", "Dense 2"],
        "84 units, each fed by all 120 numbers of the layer before.",
        "6 filters of 5x5 weights",
        "Its 6 5x5 kernels",
    ),
    "deep": (
        ["Conv 1", "Pool 1", "Conv 2", "Pool 2", "Conv 3", "Pool 3"],
        ["Dense"],
        "The dropout after them drops units only in training",
        "32 filters of 3x3 weights",
        "Its 32 3x3 kernels",
    ),
}
NO_CONVOLUTIONS = "This network has no convolutions, so there are no feature maps or filters"


def inside_a_preset(name: str, sample_mnist) -> AppTest:
    """The Inside page on an untrained model of preset ``name`` (the newest model, so the
    session's), looking at the sample's first test digit, a 7."""
    spec = PRESETS[name]
    save_model(build_model(spec=spec), {"architecture": spec.to_dict(), "made_with": "test"})
    _, (images, labels) = sample_mnist
    app = open_page(INSIDE)
    assert any("Nothing to look inside yet" in info.value for info in app.info)
    app.session_state[DIGIT_KEY] = InsideDigit(
        images[0].astype(np.float32) / 255.0, "test digit #0", int(labels[0])
    )
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def bold_titles(app: AppTest) -> list[str]:
    return [m.value.strip("*") for m in app.main.markdown if m.value.startswith("**")]


def all_captions(app: AppTest) -> list[str]:
    pictures = [picture.caption for image in app.image for picture in image.proto.imgs]
    return pictures + [caption.value for caption in app.caption]


@pytest.mark.parametrize("name", list(PRESET_PAGES))
def test_a_convolutional_preset_shows_its_own_layers_and_kernels(name, sample_mnist) -> None:
    mosaics, dense, only_here, filters, kernels = PRESET_PAGES[name]
    app = inside_a_preset(name, sample_mnist)
    assert [s.value for s in app.main.subheader] == SECTIONS
    titles = bold_titles(app)
    assert titles[: len(mosaics) + len(dense) + 1] == [*mosaics, *dense, "Output"], titles
    captions = all_captions(app)
    assert any(only_here in caption for caption in captions), captions
    assert any(caption.startswith(filters) for caption in captions), captions
    conv = PRESETS[name].conv_blocks[0]
    assert f"Its {conv.kernel}x{conv.kernel} filter (red adds, blue subtracts)" in captions
    if conv.kernel != 3:
        assert not [caption for caption in captions if "3x3" in caption]
    app.segmented_control(key="map-layer").set_value("conv2d_1").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(caption.startswith(kernels) for caption in all_captions(app))
    assert sum(m.value.startswith("**Why") for m in app.markdown) == 2
    assert [m for m in app.metric if m.label == "After the changes"]


def test_a_network_without_convolutions_says_so_and_shows_the_rest(sample_mnist) -> None:
    from mnist_cnn.neighbours import NEIGHBOURS

    app = inside_a_preset("dense", sample_mnist)
    assert [s.value for s in app.main.subheader] == [
        "Layer by layer",
        "No feature maps or filters",
        *SECTIONS[3:],
    ]
    assert [i.value for i in app.info if NO_CONVOLUTIONS in i.value], [i.value for i in app.info]
    assert bold_titles(app)[:3] == ["Dense 1", "Dense 2", "Output"]
    captions = all_captions(app)
    assert not any("maps," in caption for caption in captions), "a dense network has no maps"
    assert any(
        "128 units. Before them, flatten lays the digit's 28x28 pixels out as one row of 784"
        in caption
        for caption in captions
    )
    assert any("no convolutions, so no feature maps" in caption for caption in captions)
    # The rest of the page works: saliency, neighbours, the map and the probe.
    assert sum(m.value.startswith("**Why") for m in app.markdown) == 2
    pictures = [caption for element in app.image for caption in element.captions]
    assert len([c for c in pictures if " · " in c]) == NEIGHBOURS
    assert len(map_traces(app)) == 11
    assert [m for m in app.metric if m.label == "After the changes"]
    app.segmented_control(key="saliency-method").set_value("occlusion").run()
    next(s for s in app.slider if s.label == ROTATE_LABEL).set_value(30).run()
    assert not app.exception, [e.value for e in app.exception]
