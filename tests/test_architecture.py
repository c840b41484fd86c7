"""The network as data: presets, round trips, validation, and the figures the Train page shows
before anything is built (checked against Keras for every preset)."""

import json

import pytest

from mnist_cnn.architecture import (
    CUSTOM,
    PRESETS,
    SEED,
    ConvBlock,
    DenseLayer,
    ModelSpec,
    architecture_label,
    preset,
)

# The seed CNN's forward pass, counted by hand: a multiply and an add per weight used.
SEED_MULTIPLY_ADDS = 26 * 26 * 32 * 9 + 11 * 11 * 64 * 32 * 9 + 1600 * 64 + 64 * 10


def test_the_default_spec_is_the_seed_cnn():
    assert ModelSpec() == SEED == preset("seed")
    assert SEED.parameters == 121_930
    assert SEED.flops_per_sample == 2 * SEED_MULTIPLY_ADDS
    assert [layer.name for layer in SEED.layers()] == [
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "max_pooling2d_1",
        "flatten",
        "dense",
        "dense_1",
    ]
    assert SEED.shapes_text() == (
        "28x28x1 -> 26x26x32 -> 13x13x32 -> 11x11x64 -> 5x5x64 -> 1600 -> 64 -> 10"
    )
    assert SEED.describe() == "conv 32 3x3 + pool · conv 64 3x3 + pool · dense 64"


def test_the_presets_are_what_the_lab_promises():
    assert list(PRESETS) == ["seed", "tiny", "wide", "deep", "lenet5", "dense"]
    assert PRESETS["tiny"].parameters <= 10_000
    assert not PRESETS["dense"].conv_blocks
    deep = PRESETS["deep"]
    assert len(deep.conv_blocks) == 3
    assert all(block.batch_norm and block.dropout for block in deep.conv_blocks)
    assert PRESETS["lenet5"].parameters == 61_706  # LeCun et al.'s layer sizes on 28x28
    assert PRESETS["wide"].parameters > SEED.parameters
    for name, spec in PRESETS.items():
        assert spec.preset == name


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_spec_survives_json(name):
    spec = PRESETS[name]
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_an_edited_spec_is_custom_and_lists_become_tuples():
    spec = ModelSpec(conv_blocks=[ConvBlock(16, kernel=5)], dense_layers=[DenseLayer(32, 0.2)])
    assert spec.preset == CUSTOM
    assert isinstance(spec.conv_blocks, tuple) and hash(spec)
    assert spec.describe() == "conv 16 5x5 + pool · dense 32 + dropout 0.2"
    assert architecture_label(spec.to_dict()) == "Custom"
    assert architecture_label(PRESETS["lenet5"].to_dict()) == "LeNet-5"
    assert architecture_label(None) == "Seed"  # saved before the lab: the seed CNN


def test_maps_that_shrink_below_one_pixel_are_refused_naming_the_block():
    with pytest.raises(ValueError, match=r"conv block 4 \(3x3, no padding\) would shrink"):
        ModelSpec(conv_blocks=(ConvBlock(8),) * 4)  # 28 -> 13 -> 5 -> 1 -> nothing
    # 28 -> 12 -> 4 -> 1, and block 4's 1x1 maps cannot be pooled.
    blocks = (ConvBlock(8, kernel=5),) * 2 + (ConvBlock(8), ConvBlock(8, padding="same"))
    with pytest.raises(ValueError, match=r"conv block 4's pooling would shrink its 1x1 maps"):
        ModelSpec(conv_blocks=blocks)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"filters": 0}, "conv block 1: filters must be a whole number from 1 to 256"),
        ({"filters": 2.5}, "filters must be a whole number"),
        ({"kernel": 4}, "kernel must be one of 3, 5"),
        ({"padding": "reflect"}, "padding must be one of valid, same"),
        ({"pool": "yes"}, "pool must be true or false"),
        ({"dropout": 0.95}, "dropout must be a fraction from 0 to 0.8"),
    ],
)
def test_a_bad_block_is_refused_with_its_field(change, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(conv_blocks=(ConvBlock(**{"filters": 8, **change}),))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "a network spec is a JSON object"),
        ({"layers": []}, "unknown network spec keys: layers"),
        ({"conv_blocks": {"filters": 8}}, "conv_blocks must be a list of objects"),
        ({"conv_blocks": [{"filters": 8, "size": 3}]}, "conv_blocks item 1: unknown keys size"),
        ({"dense_layers": [{"dropout": 0.1}]}, "dense_layers item 1: .*units"),
        ({"dense_layers": [{"units": 5000}]}, "dense layer 1: units must be"),
        ({"dense_layers": [{"units": 8}] * 4}, "at most 3 dense layers"),
    ],
)
def test_a_bad_file_is_refused_clearly(values, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec.from_dict(values)


def test_no_hidden_layers_at_all_is_a_network_too():
    spec = ModelSpec(conv_blocks=(), dense_layers=())
    assert spec.parameters == 784 * 10 + 10  # logistic regression on the pixels
    assert spec.describe() == "no hidden layers"


def test_public_mode_caps_parameters_and_flops(monkeypatch):
    from mnist_cnn import settings

    wide_and_costly = ModelSpec(
        conv_blocks=(ConvBlock(128), ConvBlock(256)), dense_layers=(DenseLayer(256),)
    )
    assert settings.network_problem(wide_and_costly) is None  # local mode: no caps
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    assert settings.network_problem(SEED) is None
    for name in PRESETS:
        assert settings.network_problem(PRESETS[name]) is None, name
    assert "parameters; this shared server trains at most 1,000,000" in (
        settings.network_problem(wide_and_costly)
    )
    costly = ModelSpec(
        conv_blocks=(ConvBlock(64, padding="same", pool=False),) * 2, dense_layers=()
    )
    problem = settings.network_problem(costly)
    assert costly.parameters < 1_000_000
    assert problem is not None and "x the seed CNN's FLOPs per digit" in problem
    monkeypatch.setenv(settings.MAX_FLOPS_RATIO_ENV, "100")
    assert settings.network_problem(costly) is None
    monkeypatch.setenv(settings.MAX_PARAMETERS_ENV, "many")
    with pytest.raises(settings.SettingError, match=settings.MAX_PARAMETERS_ENV):
        settings.network_problem(SEED)
