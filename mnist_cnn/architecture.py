"""The network as data: a ``ModelSpec`` says which layers to build, before anything is built.

A spec is convolution blocks, then dense layers, then the ten-way softmax output:

* a ``ConvBlock`` is a convolution (``filters`` maps, a 3x3 or 5x5 kernel, ReLU) that keeps the
  map's size (``padding="same"``) or trims its edge (``"valid"``, the seed's), optionally
  followed by batch normalisation, a 2x2 max pooling that halves the maps, and dropout;
* a ``DenseLayer`` is ``units`` ReLU units, optionally followed by dropout.

The default spec is the seed CNN, the product's model: Conv2D(32) and Conv2D(64), each with
pooling, and Dense(64): 121,930 parameters. ``PRESETS`` are the lab's starting points, from
Tiny (under 10k parameters) to Wide, and Dense only, the baseline without convolutions that
shows what they buy.

Everything here is arithmetic on the spec, free of TensorFlow: the Train page shows a spec's
parameters, its cost and its layer shapes live while the visitor edits it, and refuses one that
cannot be built (maps that shrink below 1x1, with the layer named) before a run starts.
``mnist_cnn.model.build_model`` turns a spec into Keras layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from mnist_cnn.shapes import IMAGE_SIDE, NUM_CLASSES

KERNEL_SIZES = (3, 5)
PADDINGS = ("valid", "same")
POOL_SIZE = 2
# Batch normalisation keeps a scale, an offset, a running mean and a running variance per map.
BATCH_NORM_WEIGHTS_PER_MAP = 4
# A multiply and an add per weight used: how FLOPs are counted (biases, ReLU, pooling and
# normalisation are left out, a few % of the total).
FLOPS_PER_MULTIPLY_ADD = 2
# Bounds that keep a spec something this demo can train; public mode is stricter (settings).
MAX_CONV_BLOCKS = 4
MAX_DENSE_LAYERS = 3
MAX_FILTERS = 256
MAX_UNITS = 1024
MAX_DROPOUT = 0.8
CUSTOM = "custom"


@dataclass(frozen=True)
class ConvBlock:
    """Conv2D(filters, kernel x kernel, ReLU), then batch norm, 2x2 max pooling, dropout."""

    filters: int
    kernel: int = 3
    padding: str = "valid"
    pool: bool = True
    batch_norm: bool = False
    dropout: float = 0.0

    def problems(self) -> list[str]:
        return [
            *_whole_number_problems("filters", self.filters, MAX_FILTERS),
            *_choice_problems("kernel", self.kernel, KERNEL_SIZES),
            *_choice_problems("padding", self.padding, PADDINGS),
            *_flag_problems("pool", self.pool),
            *_flag_problems("batch_norm", self.batch_norm),
            *_dropout_problems(self.dropout),
        ]


@dataclass(frozen=True)
class DenseLayer:
    """Dense(units, ReLU), then dropout."""

    units: int
    dropout: float = 0.0

    def problems(self) -> list[str]:
        return [
            *_whole_number_problems("units", self.units, MAX_UNITS),
            *_dropout_problems(self.dropout),
        ]


@dataclass(frozen=True)
class LayerShape:
    """One layer of a built spec: its Keras class, its name in the model, its output shape."""

    kind: str  # "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Flatten", "Dense"
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelSpec:
    """A network: convolution blocks, then dense layers, then the softmax output.

    The default is the seed CNN. Construction checks every field and that the maps stay at
    least 1x1, raising ``ValueError`` that names the block at fault.
    """

    conv_blocks: tuple[ConvBlock, ...] = (ConvBlock(32), ConvBlock(64))
    dense_layers: tuple[DenseLayer, ...] = (DenseLayer(64),)

    def __post_init__(self) -> None:
        # Lists from a caller become tuples, so that a spec stays hashable and immutable.
        object.__setattr__(self, "conv_blocks", tuple(self.conv_blocks))
        object.__setattr__(self, "dense_layers", tuple(self.dense_layers))
        problems = []
        if len(self.conv_blocks) > MAX_CONV_BLOCKS:
            problems.append(f"at most {MAX_CONV_BLOCKS} convolution blocks")
        if len(self.dense_layers) > MAX_DENSE_LAYERS:
            problems.append(f"at most {MAX_DENSE_LAYERS} dense layers")
        for number, block in enumerate(self.conv_blocks, 1):
            if not isinstance(block, ConvBlock):
                problems.append(f"conv block {number} is not a ConvBlock")
                continue
            problems += [f"conv block {number}: {problem}" for problem in block.problems()]
        for number, layer in enumerate(self.dense_layers, 1):
            if not isinstance(layer, DenseLayer):
                problems.append(f"dense layer {number} is not a DenseLayer")
                continue
            problems += [f"dense layer {number}: {problem}" for problem in layer.problems()]
        if problems:
            raise ValueError("; ".join(problems))
        self.layers()  # the maps must stay at least 1x1

    # --- Shapes, size and cost ------------------------------------------------------------

    def layers(self) -> tuple[LayerShape, ...]:
        """Every layer ``build_model`` makes, in order, named as Keras names them in a fresh
        session (the seed's: conv2d, max_pooling2d, conv2d_1, ..., dense_1)."""
        names = _LayerNames()
        side, channels = IMAGE_SIDE, 1
        shapes = []
        for number, block in enumerate(self.conv_blocks, 1):
            if block.padding == "valid":
                side -= block.kernel - 1
            if side < 1:
                raise ValueError(
                    f"conv block {number} ({block.kernel}x{block.kernel}, no padding) would "
                    "shrink its maps below 1x1: remove a block, pad it, or pool less before it"
                )
            channels = block.filters
            shapes.append(LayerShape("Conv2D", names.next("conv2d"), (side, side, channels)))
            if block.batch_norm:
                shapes.append(
                    LayerShape(
                        "BatchNormalization",
                        names.next("batch_normalization"),
                        (side, side, channels),
                    )
                )
            if block.pool:
                if side < POOL_SIZE:
                    raise ValueError(
                        f"conv block {number}'s pooling would shrink its {side}x{side} maps "
                        "below 1x1: remove a block, or pool less"
                    )
                side //= POOL_SIZE
                shapes.append(
                    LayerShape("MaxPooling2D", names.next("max_pooling2d"), (side, side, channels))
                )
            if block.dropout:
                shapes.append(LayerShape("Dropout", names.next("dropout"), (side, side, channels)))
        shapes.append(LayerShape("Flatten", names.next("flatten"), (side * side * channels,)))
        for layer in self.dense_layers:
            shapes.append(LayerShape("Dense", names.next("dense"), (layer.units,)))
            if layer.dropout:
                shapes.append(LayerShape("Dropout", names.next("dropout"), (layer.units,)))
        shapes.append(LayerShape("Dense", names.next("dense"), (NUM_CLASSES,)))
        return tuple(shapes)

    @property
    def parameters(self) -> int:
        """Every weight the model holds, trainable or not, as Keras' ``count_params``."""
        return sum(self._weights_and_multiply_adds()[0])

    @property
    def activations_per_sample(self) -> int:
        """Numbers every layer's output holds for one digit: what training keeps per image
        for its backward pass."""
        total = 0
        for layer in self.layers():
            size = 1
            for side in layer.shape:
                size *= side
            total += size
        return total

    @property
    def flops_per_sample(self) -> int:
        """Floating-point operations of one digit's forward pass: a multiply and an add for
        every weight each output uses, in the convolutions and dense layers."""
        return FLOPS_PER_MULTIPLY_ADD * sum(self._weights_and_multiply_adds()[1])

    def _weights_and_multiply_adds(self) -> tuple[list[int], list[int]]:
        """Per convolution, normalisation and dense layer: its weights, and the multiply-adds
        one digit costs it (a convolution uses its kernel once per output position)."""
        weights, multiply_adds = [], []
        kernels = iter(block.kernel for block in self.conv_blocks)
        before: tuple[int, ...] = (IMAGE_SIDE, IMAGE_SIDE, 1)
        for layer in self.layers():
            if layer.kind == "Conv2D":
                kernel = next(kernels)
                height, width, maps = layer.shape
                kernel_weights = kernel * kernel * before[-1] * maps
                weights.append(kernel_weights + maps)
                multiply_adds.append(kernel_weights * height * width)
            elif layer.kind == "BatchNormalization":
                weights.append(BATCH_NORM_WEIGHTS_PER_MAP * layer.shape[-1])
            elif layer.kind == "Dense":
                inputs, units = before[0], layer.shape[0]
                weights.append(inputs * units + units)
                multiply_adds.append(inputs * units)
            before = layer.shape
        return weights, multiply_adds

    # --- In words -------------------------------------------------------------------------

    @property
    def preset(self) -> str:
        """The preset this spec is ("seed", "tiny", ...), else "custom"."""
        return next((name for name, spec in PRESETS.items() if spec == self), CUSTOM)

    def describe(self) -> str:
        """The layers in one line: 'conv 32 3x3 + pool · conv 64 3x3 + pool · dense 64'."""
        parts = [_block_text(block) for block in self.conv_blocks]
        parts += [_dense_text(layer) for layer in self.dense_layers]
        return " · ".join(parts) or "no hidden layers"

    def shapes_text(self) -> str:
        """The output shapes through the network: '28x28x1 -> 26x26x32 -> 13x13x32 -> ...'."""
        shapes = [(IMAGE_SIDE, IMAGE_SIDE, 1)]
        shapes += [layer.shape for layer in self.layers() if layer.kind not in _SAME_SHAPE]
        return " -> ".join("x".join(str(size) for size in shape) for shape in shapes)

    # --- Saved and read back --------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain JSON: the blocks, the dense layers, and the preset's name (for people)."""
        return {
            "preset": self.preset,
            "conv_blocks": [asdict(block) for block in self.conv_blocks],
            "dense_layers": [asdict(layer) for layer in self.dense_layers],
        }

    @classmethod
    def from_dict(cls, values: object) -> ModelSpec:
        """Back from ``to_dict`` (or a hand-written JSON file); ``ValueError`` says what is
        wrong. "preset" is ignored: the layers say what the network is."""
        if not isinstance(values, dict):
            raise ValueError("a network spec is a JSON object with conv_blocks and dense_layers")
        unknown = set(values) - {"preset", "conv_blocks", "dense_layers"}
        if unknown:
            raise ValueError(f"unknown network spec keys: {', '.join(sorted(unknown))}")
        return cls(
            conv_blocks=_items(values, "conv_blocks", ConvBlock),
            dense_layers=_items(values, "dense_layers", DenseLayer),
        )


# Layers whose output has their input's shape: left out of ``shapes_text``.
_SAME_SHAPE = ("BatchNormalization", "Dropout")


class _LayerNames:
    """Keras' default layer names: a class's first layer 'dense', then 'dense_1', 'dense_2'."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def next(self, stem: str) -> str:
        count = self._counts.get(stem, 0)
        self._counts[stem] = count + 1
        return stem if count == 0 else f"{stem}_{count}"


def _items(values: dict, key: str, kind: type) -> tuple:
    items = values.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{key} must be a list of objects")
    known = {item.name for item in fields(kind)}
    made = []
    for number, item in enumerate(items, 1):
        unknown = set(item) - known
        if unknown:
            raise ValueError(f"{key} item {number}: unknown keys {', '.join(sorted(unknown))}")
        try:
            made.append(kind(**item))
        except TypeError as error:  # a required field missing
            raise ValueError(f"{key} item {number}: {error}") from None
    return tuple(made)


def _whole_number_problems(name: str, value: object, most: int) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        return [f"{name} must be a whole number from 1 to {most}, not {value!r}"]
    return []


def _choice_problems(name: str, value: object, choices: tuple) -> list[str]:
    if value not in choices or isinstance(value, bool):
        return [f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}"]
    return []


def _flag_problems(name: str, value: object) -> list[str]:
    return [] if isinstance(value, bool) else [f"{name} must be true or false, not {value!r}"]


def _dropout_problems(value: object) -> list[str]:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_DROPOUT
    ):
        return [f"dropout must be a fraction from 0 to {MAX_DROPOUT}, not {value!r}"]
    return []


def _block_text(block: ConvBlock) -> str:
    extras = [
        "same padding" if block.padding == "same" else "",
        "batch norm" if block.batch_norm else "",
        "pool" if block.pool else "",
        f"dropout {block.dropout:g}" if block.dropout else "",
    ]
    return " + ".join(
        [f"conv {block.filters} {block.kernel}x{block.kernel}", *filter(None, extras)]
    )


def _dense_text(layer: DenseLayer) -> str:
    return f"dense {layer.units}" + (f" + dropout {layer.dropout:g}" if layer.dropout else "")


SEED = ModelSpec()
PRESETS: dict[str, ModelSpec] = {
    "seed": SEED,
    # 8 and 16 filters straight into the output: 5,258 parameters, a 23rd of the seed's.
    "tiny": ModelSpec(conv_blocks=(ConvBlock(8), ConvBlock(16)), dense_layers=()),
    # Twice the seed's filters and dense units.
    "wide": ModelSpec(conv_blocks=(ConvBlock(64), ConvBlock(128)), dense_layers=(DenseLayer(128),)),
    # Three padded blocks, each normalised and dropped out, and a dropped-out dense layer.
    "deep": ModelSpec(
        conv_blocks=tuple(
            ConvBlock(filters, padding="same", batch_norm=True, dropout=0.1)
            for filters in (32, 64, 64)
        ),
        dense_layers=(DenseLayer(128, dropout=0.3),),
    ),
    # LeCun et al. (1998) with today's ReLU and max pooling: 6 padded 5x5 maps, 16 5x5 maps,
    # then 120 and 84 units.
    "lenet5": ModelSpec(
        conv_blocks=(ConvBlock(6, kernel=5, padding="same"), ConvBlock(16, kernel=5)),
        dense_layers=(DenseLayer(120), DenseLayer(84)),
    ),
    # No convolution at all: every pixel to 128 units, then 64. About the seed's size.
    "dense": ModelSpec(conv_blocks=(), dense_layers=(DenseLayer(128), DenseLayer(64))),
}
PRESET_LABELS = {
    "seed": "Seed",
    "tiny": "Tiny",
    "wide": "Wide",
    "deep": "Deep",
    "lenet5": "LeNet-5",
    "dense": "Dense only",
    CUSTOM: "Custom",
}


def preset(name: str) -> ModelSpec:
    """A preset by its name ("seed", "tiny", "wide", "deep", "lenet5", "dense")."""
    if name not in PRESETS:
        raise ValueError(f"network preset must be one of {', '.join(PRESETS)}, not {name!r}")
    return PRESETS[name]


def architecture_label(spec_dict: object) -> str:
    """A saved model's network in a word ('Seed', 'Tiny', 'Custom'), from its metadata's
    ``architecture``; models saved before the lab are all the seed CNN."""
    if not isinstance(spec_dict, dict):
        return PRESET_LABELS["seed"]
    return PRESET_LABELS.get(spec_dict.get("preset"), PRESET_LABELS[CUSTOM])
