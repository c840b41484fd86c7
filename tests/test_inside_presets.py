"""The Inside page's engine on every network preset, not only the seed CNN: activations,
saliency, receptive fields, filters, penultimate features, the probe and the page's layer
titles (mnist_cnn/explain.py, features.py, probe.py, studio/inside_view.py).

Each preset is fitted for one quick epoch on a few sample digits, so batch normalisation holds
running statistics of its own and a dropout layer that ran in training mode would show.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_cnn.architecture import PRESETS, ModelSpec
from mnist_cnn.explain import activations, conv_filters, logits, receptive_field, saliency
from mnist_cnn.features import feature_size, features
from mnist_cnn.inference import predict
from mnist_cnn.model import build_model
from mnist_cnn.probe import SWEEP_ANGLES, rotation_sweep
from studio.inside_view import has_convolutions, layer_titles, mosaic_columns

FIT_IMAGES = 64
# Integrated gradients' sum misses the logit's change by a 32-point midpoint sum's error; as
# tests/test_explain.py allows the bundled model.
COMPLETENESS_RELATIVE_ERROR = 0.05
# What the last layer is fed: the last hidden dense layer, else (Tiny) the flattened maps.
FEATURE_SIZES = {"seed": 64, "tiny": 400, "wide": 128, "deep": 128, "lenet5": 84, "dense": 64}
# Units whose fields are checked: the corners and the middle of each layer's maps.
CORNERS_AND_MIDDLE = ((0, 0), (0, -1), (-1, 0), (-1, -1), (0.5, 0.5))


@pytest.fixture(scope="module")
def digits(sample_mnist) -> np.ndarray:
    _, (images, _) = sample_mnist
    return images[:8].astype(np.float32) / 255.0


@pytest.fixture(scope="module", params=list(PRESETS))
def preset(request, sample_mnist) -> tuple[str, ModelSpec, keras.Model]:
    """A preset's model, fitted one epoch on a few sample digits."""
    (images, labels), _ = sample_mnist
    spec = PRESETS[request.param]
    model = build_model(spec=spec)
    keras.utils.set_random_seed(0)
    model.fit(images[:FIT_IMAGES, ..., None] / 255.0, labels[:FIT_IMAGES], batch_size=16, verbose=0)
    return request.param, spec, model


def map_layers(model: keras.Model) -> list[str]:
    """The layers with (height, width, maps) outputs: conv, batch norm, pool, dropout."""
    return [layer.name for layer in model.layers if len(layer.output.shape) == 4]


def test_activations_are_every_layer_with_the_specs_shapes(preset, digits) -> None:
    _, spec, model = preset
    outputs = activations(model, digits[0])
    assert {name: value.shape for name, value in outputs.items()} == {
        layer.name: layer.shape for layer in spec.layers()
    }
    again = activations(model, digits[0])
    for name, value in outputs.items():  # dropout passes everything: the same every time
        np.testing.assert_array_equal(again[name], value)
    np.testing.assert_allclose(
        list(outputs.values())[-1], predict(model, digits[:1], calibrated=False)[0], atol=1e-6
    )


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_saliency_is_a_finite_map_for_every_preset(preset, digits, method) -> None:
    _, _, model = preset
    for digit in (3, 7):
        heat = saliency(model, digits[1], digit, method=method)
        assert heat.shape == (28, 28) and heat.dtype == np.float32
        assert np.isfinite(heat).all() and np.abs(heat).max() > 0
        # Dropout passes everything at inference: asking again gives the same map.
        np.testing.assert_array_equal(saliency(model, digits[1], digit, method=method), heat)


def test_integrated_gradients_add_up_for_every_preset(preset, digits) -> None:
    _, _, model = preset
    black = np.zeros((28, 28), np.float32)
    for image in digits[:4]:
        digit = int(predict(model, image[np.newaxis])[0].argmax())
        change = logits(model, np.stack([image, black]))[:, digit] @ [1, -1]
        total = saliency(model, image, digit).sum()
        assert total == pytest.approx(change, rel=COMPLETENESS_RELATIVE_ERROR, abs=1e-3)


def test_a_unit_depends_on_its_receptive_field_only(preset, digits) -> None:
    """Whatever the pixels outside a unit's field, every map's value at the unit stays."""
    _, _, model = preset
    image = digits[2]
    outputs = activations(model, image)
    noise = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    for name in map_layers(model):
        height, width = outputs[name].shape[:2]
        for row_at, col_at in CORNERS_AND_MIDDLE:
            row, col = int(row_at * height) % height, int(col_at * width) % width
            rows, cols = receptive_field(model, name, row, col)
            assert 0 <= rows.start < rows.stop <= 28 and 0 <= cols.start < cols.stop <= 28
            changed = noise.copy()
            changed[rows, cols] = image[rows, cols]
            np.testing.assert_allclose(
                activations(model, changed)[name][row, col],
                outputs[name][row, col],
                atol=1e-4,
                err_msg=f"{name} unit ({row}, {col}) sees beyond {rows}, {cols}",
            )


def test_only_layers_with_maps_have_fields(preset) -> None:
    _, _, model = preset
    for layer in model.layers:
        if layer.name not in map_layers(model):
            with pytest.raises(ValueError, match="no feature maps"):
                receptive_field(model, layer.name, 0, 0)
    for name in map_layers(model):
        height = model.get_layer(name).output.shape[1]
        with pytest.raises(ValueError, match="outside"):
            receptive_field(model, name, height, 0)


def test_conv1_maps_are_their_filters_over_the_field_even_where_it_is_clipped(
    preset, digits
) -> None:
    name, spec, model = preset
    if not spec.conv_blocks:
        assert not has_convolutions(model)
        return
    image, first = digits[3], spec.conv_blocks[0]
    filters = conv_filters(model, "conv2d")
    assert filters.shape == (first.filters, 1, first.kernel, first.kernel)
    bias = model.get_layer("conv2d").bias.numpy()
    maps = activations(model, image)["conv2d"]
    reach = (first.kernel - 1) // 2 if first.padding == "same" else 0  # zeros before the image
    for row, col in [(0, 0), (3, 20), (maps.shape[0] - 1, maps.shape[1] // 2)]:
        rows, cols = receptive_field(model, "conv2d", row, col)
        # The part of the kernel over the image: the rest lies on padding's zeros.
        top, left = rows.start - (row - reach), cols.start - (col - reach)
        kernel = filters[
            :, 0, top : top + rows.stop - rows.start, left : left + cols.stop - cols.start
        ]
        expected = np.maximum(0.0, (image[rows, cols] * kernel).sum(axis=(1, 2)) + bias)
        np.testing.assert_allclose(maps[row, col], expected, atol=1e-5, err_msg=name)


def test_every_convolution_has_its_kernels(preset) -> None:
    _, spec, model = preset
    channels = 1
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == len(spec.conv_blocks)
    for name, block in zip(convs, spec.conv_blocks, strict=True):
        assert conv_filters(model, name).shape == (
            block.filters,
            channels,
            block.kernel,
            block.kernel,
        )
        channels = block.filters


def test_features_are_what_the_last_layer_is_fed(preset, digits) -> None:
    name, _, model = preset
    assert feature_size(model) == FEATURE_SIZES[name]
    batch = features(model, digits)
    assert batch.shape == (len(digits), FEATURE_SIZES[name]) and batch.dtype == np.float32
    # Batch normalisation runs on its running statistics: one digit alone gets what it gets
    # among others (training mode would normalise by the batch's own).
    np.testing.assert_allclose(features(model, digits[:1])[0], batch[0], atol=1e-5)
    penultimate = list(activations(model, digits[0]).values())[-2]
    np.testing.assert_allclose(batch[0], penultimate, atol=1e-5)


def test_the_rotation_sweep_works_for_every_preset(preset, digits) -> None:
    _, _, model = preset
    sweep = rotation_sweep(model, digits[4])
    assert sweep.shape == (len(SWEEP_ANGLES), 10)
    np.testing.assert_allclose(sweep.sum(axis=1), 1.0, atol=1e-5)


def test_layer_titles_name_every_layer() -> None:
    titles = list(layer_titles(build_model(spec=PRESETS["deep"])).values())
    block = ["Conv {n}", "Batch norm {n}", "Pool {n}", "Dropout {n}"]
    expected = [title.format(n=n) for n in (1, 2, 3) for title in block]
    assert titles == [*expected, "Flatten", "Dense", "Dropout 4", "Output"]
    titles = list(layer_titles(build_model(spec=PRESETS["lenet5"])).values())
    assert titles[-4:] == ["Flatten", "Dense 1", "Dense 2", "Output"]
    assert list(layer_titles(build_model(spec=PRESETS["tiny"])).values())[-2:] == [
        "Flatten",
        "Output",
    ]


def test_mosaic_columns_suit_any_number_of_maps() -> None:
    assert {count: mosaic_columns(count) for count in (1, 6, 8, 16, 32, 64, 128, 256)} == {
        1: 1,
        6: 2,
        8: 2,
        16: 4,
        32: 4,
        64: 8,
        128: 8,
        256: 16,
    }
    for count in range(1, 257):
        columns = mosaic_columns(count)
        rows = -(-count // columns)
        assert columns <= rows <= 4 * columns, count
