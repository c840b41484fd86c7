"""Command line: ``python -m mnist_cnn train | evaluate | calibrate | predict | read | models |
presets``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mnist_cnn.architecture import PRESET_LABELS, PRESETS, SEED, ModelSpec, preset
from mnist_cnn.augment import AUGMENTATIONS
from mnist_cnn.calibration import calibrate
from mnist_cnn.data import DataError, load_mnist, load_test_set
from mnist_cnn.describe import describe_config
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.evaluation import evaluate, format_calibration, format_report
from mnist_cnn.images import ImageReadError, read_image
from mnist_cnn.inference import predict
from mnist_cnn.jobs import train_evaluate_save
from mnist_cnn.numbers import NumberReading, read_number
from mnist_cnn.store import (
    ModelLoadError,
    ModelRecord,
    ModelsDirError,
    active_record,
    all_records,
    find_record,
    load_model,
    load_record,
    remove_stale_partials,
    resolve_model,
    save_calibration,
)
from mnist_cnn.training import (
    RECIPES,
    SCHEDULES,
    BatchProgress,
    EpochProgress,
    TrainConfig,
    split_validation,
)

DEFAULTS = TrainConfig()
FLOPS_PER_MEGAFLOP = 1_000_000
# The models table's network column: 'Dense only · 109,386 parameters' and a little more.
NETWORK_WIDTH = 32
TUNED = TrainConfig.tuned()
# Options that override a field of the chosen recipe when given (argparse dest = field name).
RECIPE_OPTIONS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "validation_split",
    "seed",
    "augment",
    "augmentation",
    "schedule",
    "warmup_epochs",
    "steps_per_execution",
    "coarse_scans",
)


class ProgressBar:
    """A tqdm bar per epoch, fed by the training listener."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def on_batch(self, progress: BatchProgress) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=progress.batches_per_epoch,
                desc=f"epoch {progress.epoch}/{progress.epochs}",
                unit="batch",
            )
        self.bar.update(progress.batch - self.bar.n)
        self.bar.set_postfix(
            loss=f"{progress.loss:.4f}",
            acc=f"{progress.accuracy:.4f}",
            lr=f"{progress.learning_rate:.2e}" if progress.learning_rate is not None else "?",
            samples_s=f"{progress.samples_per_second:.0f}",
        )

    def on_epoch(self, progress: EpochProgress) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        validation = (
            f", val_loss {progress.val_loss:.4f}, val_acc {progress.val_accuracy:.4f}"
            if progress.val_loss is not None
            else ""
        )
        print(
            f"epoch {progress.epoch}/{progress.epochs}: loss {progress.loss:.4f}, "
            f"acc {progress.accuracy:.4f}{validation} ({progress.seconds:.1f} s)"
        )


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The chosen recipe with the options given on the command line changed."""
    changes = {name: getattr(args, name) for name in RECIPE_OPTIONS}
    if changes["augmentation"] is not None and changes["augment"] is None:
        changes["augment"] = True  # naming the distortions asks for them
    return TrainConfig.from_recipe(
        args.recipe, **{name: value for name, value in changes.items() if value is not None}
    )


def network_spec(args: argparse.Namespace) -> ModelSpec:
    """``--spec FILE``'s network, else ``--preset``'s (the seed CNN by default); a file that
    cannot be read or is not a network is a ``ValueError`` naming it."""
    if args.spec is None:
        return preset(args.preset)
    try:
        values = json.loads(args.spec.read_text())
    except OSError as error:
        raise ValueError(f"--spec {args.spec}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"--spec {args.spec}: not JSON ({error})") from None
    try:
        return ModelSpec.from_dict(values)
    except ValueError as error:
        raise ValueError(f"--spec {args.spec}: not a network spec: {error}") from None


def flops_text(flops: int) -> str:
    """FLOPs in millions: '5.06 MFLOPs'."""
    return f"{flops / FLOPS_PER_MEGAFLOP:.2f} MFLOPs"


def network_lines(spec: ModelSpec) -> list[str]:
    """The network before a run: its layers, its size and cost, its shapes."""
    ratio = spec.flops_per_sample / SEED.flops_per_sample
    return [
        f"Network: {PRESET_LABELS[spec.preset]}: {spec.describe()}",
        f"  {spec.parameters:,} parameters, {flops_text(spec.flops_per_sample)} per digit "
        f"({ratio:.2f}x the seed CNN's)",
        f"  shapes: {spec.shapes_text()}",
    ]


def run_train(args: argparse.Namespace) -> int:
    spec = network_spec(args)  # a bad file fails before anything else is done
    remove_stale_partials(args.models_dir)
    config = train_config(args)
    print("\n".join(network_lines(spec)))
    print(f"Recipe: {describe_config(config.to_dict())}")
    outcome = train_evaluate_save(
        config,
        listener=ProgressBar(),
        data_path=args.data,
        models_directory=args.models_dir,
        made_with=args.command_line,
        spec=spec,
    )
    print(f"Test accuracy: {outcome.evaluation.accuracy:.4f}")
    print(f"Saved to {outcome.record.folder}")
    return 0


def chosen_model(args: argparse.Namespace):
    """``--model`` (an id or a .keras path), else the server default; ids and the default are
    looked up in ``--models-dir``, as ``models --models-dir`` lists them."""
    if args.model:
        return resolve_model(args.model, args.models_dir)
    return load_model(directory=args.models_dir)


def run_evaluate(args: argparse.Namespace) -> int:
    model = chosen_model(args)
    x_test, y_test = load_test_set(args.data)  # the training split is never read
    evaluation = evaluate(model, x_test, y_test)
    print(format_report(evaluation))
    print()
    print(format_calibration(evaluation))
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Fit a saved model's temperature on the last part of the training set and keep it."""
    key = args.model or active_record(args.models_dir).key
    record = find_record(key, args.models_dir)
    if record is None:
        raise ModelLoadError(f"No model with id {key!r}; `python -m mnist_cnn models` lists them.")
    (x_train, y_train), _ = load_mnist(args.data)  # the test set is never used to fit
    _, (x_held, y_held) = split_validation(x_train, y_train, args.held_out)
    if not len(y_held):
        raise ValueError("--held-out leaves no digits to fit the temperature on")
    calibration = calibrate(load_record(record), x_held, y_held)
    save_calibration(record, calibration)
    print(
        f"{record.key}: temperature {calibration.temperature:.3f}, fitted on the last "
        f"{calibration.images:,} training digits: NLL {calibration.nll_before:.4f} -> "
        f"{calibration.nll_after:.4f}, ECE {calibration.ece_before:.2%} -> "
        f"{calibration.ece_after:.2%}"
    )
    return 0


def run_models(args: argparse.Namespace) -> int:
    records = all_records(args.models_dir)
    if args.json:
        print(json.dumps([model_summary(record) for record in records], indent=2))
        return 0
    print(f"{'id':<24} {'made':<26} {'test acc':>8}  {'network':<{NETWORK_WIDTH}}  recipe")
    for record in records:
        summary = model_summary(record)
        accuracy = summary["test_accuracy"]
        print(
            f"{summary['id']:<24} {summary['created_at'] or '?':<26} "
            f"{f'{accuracy:.4f}' if accuracy is not None else '?':>8}  "
            f"{record.architecture_text:<{NETWORK_WIDTH}}  {record.recipe_text}"
        )
    return 0


def model_summary(record: ModelRecord) -> dict:
    """What ``models --json`` prints for one model."""
    metadata = record.metadata
    return {
        "id": record.key,
        "name": record.name,
        "bundled": record.bundled,
        "created_at": metadata.created_at,
        "test_accuracy": metadata.test_accuracy,
        "training_seconds": metadata.training_seconds,
        "parameters": metadata.parameters,
        "architecture": record.architecture,
        "config": record.training_config,
        "parent_model": metadata.parent.key if metadata.parent else None,
        "path": str(record.model_file),
    }


def run_presets(args: argparse.Namespace) -> int:
    """The networks ``train --preset`` offers: size, cost and shapes (nothing is built)."""
    if args.json:
        print(json.dumps([preset_summary(name) for name in PRESETS], indent=2))
        return 0
    print(f"{'preset':<8} {'network':<12} {'parameters':>10} {'FLOPs per digit':>16} {'x seed':>6}")
    for name, spec in PRESETS.items():
        print(
            f"{name:<8} {PRESET_LABELS[name]:<12} {spec.parameters:>10,} "
            f"{flops_text(spec.flops_per_sample):>16} "
            f"{spec.flops_per_sample / SEED.flops_per_sample:>6.2f}"
        )
        print(f"  layers: {spec.describe()}")
        print(f"  shapes: {spec.shapes_text()}")
    return 0


def preset_summary(name: str) -> dict:
    """What ``presets --json`` prints for one preset; its "spec" is what ``--spec`` reads."""
    spec = PRESETS[name]
    return {
        "name": name,
        "label": PRESET_LABELS[name],
        "parameters": spec.parameters,
        "flops_per_sample": spec.flops_per_sample,
        "flops_vs_seed": round(spec.flops_per_sample / SEED.flops_per_sample, 4),
        "layers": spec.describe(),
        "shapes": spec.shapes_text(),
        "spec": spec.to_dict(),
    }


def run_predict(args: argparse.Namespace) -> int:
    model = chosen_model(args)
    status = 0
    for path in args.images:
        try:
            canvas = read_image(path.read_bytes())
        except (OSError, ImageReadError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            status = 1
            continue
        digit_image = canvas_to_mnist(canvas)
        if digit_image is None:
            print(f"{path}: no digit found (the image is blank)")
            continue
        probabilities = predict(model, digit_image[np.newaxis], calibrated=not args.raw)[0]
        digit = int(probabilities.argmax())
        print(f"{path}: {digit} ({probabilities[digit]:.1%})")
    return status


def run_read(args: argparse.Namespace) -> int:
    try:
        image = read_image(args.image.read_bytes())
    except (OSError, ImageReadError) as error:
        print(f"{args.image}: {error}", file=sys.stderr)
        return 1
    reading = read_number(image, chosen_model(args))
    if args.json:
        print(json.dumps(reading_summary(reading), indent=2))
    elif not reading.digits:
        print(f"{args.image}: {reading.reason}")
    else:
        print(f"{args.image}: {reading.text}" + (" (unsure)" if reading.unsure else ""))
        for digit in reading.digits:
            note = "" if digit.confident else f", unsure: or {digit.runner_up}"
            if not digit.looks_like_digit:
                note += ", does not look like a digit"
            print(f"  {digit.digit} ({digit.confidence:.1%}{note}) at {digit.box}")
    return 0


def reading_summary(reading: NumberReading) -> dict:
    """What ``read --json`` prints: the number and each digit's answer and box."""
    return {
        "text": reading.text,
        "unsure": reading.unsure,
        "reason": reading.reason,
        "digits": [
            {
                "digit": digit.digit,
                "confidence": round(digit.confidence, 4),
                "runner_up": digit.runner_up,
                "confident": digit.confident,
                "looks_like_digit": digit.looks_like_digit,
                "box": list(digit.box),
            }
            for digit in reading.digits
        ],
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnist_cnn",
        description="Train, evaluate and use the MNIST CNN. MNIST comes from --data, "
        "else $MNIST_NPZ, else a Keras download.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train a model, evaluate it and save it")
    train_parser.add_argument(
        "--recipe",
        choices=RECIPES,
        default="seed",
        help=f"seed: Adam {DEFAULTS.learning_rate:g}, no augmentation (default); tuned: batch "
        f"{TUNED.batch_size}, warm-up + cosine learning rate to a {TUNED.learning_rate:g} peak, "
        "light shifts and rotations. The options below change it.",
    )
    network = train_parser.add_mutually_exclusive_group()
    network.add_argument(
        "--preset",
        choices=PRESETS,
        default="seed",
        help="the network: seed (the product's CNN, the default), tiny, wide, deep, lenet5, "
        "or dense (no convolutions); `presets` lists their sizes and shapes",
    )
    network.add_argument(
        "--spec",
        type=Path,
        metavar="FILE.json",
        help="a network of your own: a JSON object with conv_blocks and dense_layers, as a "
        'preset\'s "spec" in `presets --json`',
    )
    train_parser.add_argument("--epochs", type=int, help=f"default {DEFAULTS.epochs}")
    train_parser.add_argument("--batch-size", type=int, help=f"default {DEFAULTS.batch_size}")
    train_parser.add_argument(
        "--learning-rate", type=float, help="the constant rate, or the schedule's peak"
    )
    train_parser.add_argument(
        "--validation-split", type=float, help=f"default {DEFAULTS.validation_split}"
    )
    train_parser.add_argument("--seed", type=int, help=f"default {DEFAULTS.seed}")
    train_parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="random distortions of the training images (see --augmentation)",
    )
    train_parser.add_argument(
        "--augmentation",
        choices=AUGMENTATIONS,
        help="standard: shifts, zoom, rotation, stroke width; light: shifts and rotations; "
        "drawn: slant, scale, elastic wobble and stroke width, aimed at drawn digits; hands: "
        "drawn, plus barred 7s, broken strokes and low resolution",
    )
    train_parser.add_argument(
        "--coarse-scans",
        type=int,
        metavar="N",
        help="add N training digits as a coarse scan gives them, read as the app reads an "
        "upload (default 0)",
    )
    train_parser.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    train_parser.add_argument(
        "--warmup-epochs", type=float, help="warm-up length of the warmup_cosine schedule"
    )
    train_parser.add_argument(
        "--steps-per-execution",
        type=int,
        help=f"batches per compiled call (speed only; default {DEFAULTS.steps_per_execution})",
    )
    train_parser.add_argument(
        "--models-dir", help="where to save (default: $MNIST_CNN_MODELS_DIR or ./trained_models)"
    )
    train_parser.set_defaults(handler=run_train)

    evaluate_parser = commands.add_parser("evaluate", help="score a model on the MNIST test set")
    evaluate_parser.set_defaults(handler=run_evaluate)

    predict_parser = commands.add_parser("predict", help="classify digit images (PNG/JPEG)")
    predict_parser.add_argument("images", nargs="+", type=Path)
    predict_parser.add_argument(
        "--raw", action="store_true", help="the network's own probabilities, not calibrated"
    )
    predict_parser.set_defaults(handler=run_predict)

    calibrate_parser = commands.add_parser(
        "calibrate",
        help="fit a saved model's temperature (calibrated probabilities) on held-out training "
        "digits and keep it in its metadata",
    )
    calibrate_parser.add_argument(
        "--model", metavar="ID", help="a model id from `models` (default: the server default)"
    )
    calibrate_parser.add_argument(
        "--held-out",
        type=float,
        default=DEFAULTS.validation_split,
        help="the last share of the training set to fit on: the part a run with this "
        f"validation split never trained on (default {DEFAULTS.validation_split})",
    )
    calibrate_parser.add_argument(
        "--models-dir", help="trained models folder (default: $MNIST_CNN_MODELS_DIR)"
    )
    calibrate_parser.set_defaults(handler=run_calibrate)

    read_parser = commands.add_parser(
        "read", help="read a whole number written in an image (PNG/JPEG), digit by digit"
    )
    read_parser.add_argument("image", type=Path)
    read_parser.add_argument("--json", action="store_true", help="machine-readable output")
    read_parser.set_defaults(handler=run_read)

    models_parser = commands.add_parser(
        "models", help="list the models: id, made, score, network, recipe"
    )
    models_parser.add_argument("--json", action="store_true", help="machine-readable output")
    models_parser.add_argument(
        "--models-dir", help="trained models folder (default: $MNIST_CNN_MODELS_DIR)"
    )
    models_parser.set_defaults(handler=run_models)

    presets_parser = commands.add_parser(
        "presets", help="list the networks train --preset offers: parameters, FLOPs, shapes"
    )
    presets_parser.add_argument("--json", action="store_true", help="machine-readable output")
    presets_parser.set_defaults(handler=run_presets)

    for sub in (train_parser, evaluate_parser, calibrate_parser):
        sub.add_argument("--data", help="path to mnist.npz (default: $MNIST_NPZ, else download)")
    for sub in (evaluate_parser, predict_parser, read_parser):
        sub.add_argument(
            "--model",
            metavar="ID_OR_PATH",
            help="a model id from `models`, or a .keras file (default: the server default: "
            "$MNIST_CNN_DEFAULT_MODEL, else the newest trained model, else the bundled one; "
            "with $MNIST_CNN_PUBLIC set, the bundled one unless pinned)",
        )
        sub.add_argument(
            "--models-dir",
            help="trained models folder the id and the default come from "
            "(default: $MNIST_CNN_MODELS_DIR or ./trained_models)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.command_line = "python -m mnist_cnn " + shlex.join(argv)
    try:
        return args.handler(args)
    except (DataError, ModelLoadError, ModelsDirError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
