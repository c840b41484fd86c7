"""Command line: ``python -m mnist_cnn train | evaluate | predict``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mnist_cnn.data import DataError, load_mnist
from mnist_cnn.drawing import canvas_to_mnist
from mnist_cnn.evaluation import evaluate, format_report
from mnist_cnn.images import ImageReadError, read_image
from mnist_cnn.inference import predict
from mnist_cnn.jobs import train_evaluate_save
from mnist_cnn.store import ModelLoadError, load_model
from mnist_cnn.training import BatchProgress, EpochProgress, TrainConfig

DEFAULTS = TrainConfig()


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


def run_train(args: argparse.Namespace) -> int:
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_split=args.validation_split,
        seed=args.seed,
        augment=args.augment,
        steps_per_execution=args.steps_per_execution,
    )
    outcome = train_evaluate_save(
        config,
        listener=ProgressBar(),
        data_path=args.data,
        models_directory=args.models_dir,
        made_with=args.command_line,
    )
    print(f"Test accuracy: {outcome.evaluation.accuracy:.4f}")
    print(f"Saved to {outcome.record.folder}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    _, (x_test, y_test) = load_mnist(args.data)
    print(format_report(evaluate(model, x_test, y_test)))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    model = load_model(args.model)
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
        probabilities = predict(model, digit_image[np.newaxis])[0]
        digit = int(probabilities.argmax())
        print(f"{path}: {digit} ({probabilities[digit]:.1%})")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnist_cnn",
        description="Train, evaluate and use the MNIST CNN. MNIST comes from --data, "
        "else $MNIST_NPZ, else a Keras download.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train a model, evaluate it and save it")
    train_parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    train_parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    train_parser.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    train_parser.add_argument("--validation-split", type=float, default=DEFAULTS.validation_split)
    train_parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    train_parser.add_argument(
        "--augment", action="store_true", help="random shifts, zoom, rotation, stroke width"
    )
    train_parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=DEFAULTS.steps_per_execution,
        help="batches per compiled call (speed only)",
    )
    train_parser.add_argument(
        "--models-dir", help="where to save (default: $MNIST_CNN_MODELS_DIR or ./trained_models)"
    )
    train_parser.set_defaults(handler=run_train)

    evaluate_parser = commands.add_parser("evaluate", help="score a model on the MNIST test set")
    evaluate_parser.set_defaults(handler=run_evaluate)

    predict_parser = commands.add_parser("predict", help="classify digit images (PNG/JPEG)")
    predict_parser.add_argument("images", nargs="+", type=Path)
    predict_parser.set_defaults(handler=run_predict)

    for sub in (train_parser, evaluate_parser):
        sub.add_argument("--data", help="path to mnist.npz (default: $MNIST_NPZ, else download)")
    for sub in (evaluate_parser, predict_parser):
        sub.add_argument(
            "--model", help=".keras file (default: newest trained model, else the bundled one)"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.command_line = "python -m mnist_cnn " + shlex.join(argv)
    try:
        return args.handler(args)
    except (DataError, ModelLoadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
