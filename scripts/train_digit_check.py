"""Train the learned half of the "not a digit" check and save it as mnist_cnn/digit_check.npz.

Positives are digits as the Draw page sees them: MNIST training digits and drawn digits
(``sketches.drawn_digit_set`` and ``sketches.pen_digit_set``) passed through
``canvas_to_mnist``. Negatives are canvases that hold no digit, also passed through
``canvas_to_mnist``: the families of ``sketches.non_digit_set`` and three more made here
(letters rendered from the DejaVu/Liberation fonts with random affine and stroke changes,
letters drawn as strokes, doodles and shapes). Letters that pass for digits (O, I, l, S, Z, B,
G, b, g, q, ...) are never negatives.

The detector is a one-hidden-layer network (scikit-learn's ``MLPClassifier``) on the bundled
CNN's unit convolutional features of the 28x28 input (``mnist_cnn.conv_features``) and the
hand-made measurements of ``digit_check.digit_likeness``. Its refusal threshold
is set on digits kept out of training (the last 10,000 MNIST training digits and drawn digits
of other seeds), so that at most ``TARGET_DIGIT_REFUSAL`` of them are refused. The weights
and the threshold are saved with ``np.savez`` (no pickle) with this script's settings in the
metadata, beside the bundled model's fingerprint: train again after retraining that model.
Seeds used here (100 and up) never overlap the benchmark's (1).

It also sets the limit of the familiarity check (``mnist_cnn.familiarity``), which learns from
digits alone: the lowest distance at which the whole check (measured limits, detector and
familiarity) refuses at most ``TARGET_CHECK_REFUSAL`` of each held-out digit set.

Some kinds are kept out of training altogether, to show how the check fares on what nobody
thought of: the kinds of ``sketchbook.unseen_kinds`` (serif letters, arrows, smileys,
hatching, signatures, two digits, a crossed-out digit). So the font letters here come from the
Sans fonts only, and the doodles hold no smileys or arrows. ``--leave-one-out`` also trains
without each family in turn and reports how that family fares.

    MNIST_NPZ=/path/mnist.npz python scripts/train_digit_check.py            # train and save
    MNIST_NPZ=/path/mnist.npz python scripts/train_digit_check.py --leave-one-out  # report only
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_cnn import canvas_to_mnist, load_mnist
from mnist_cnn.conv_features import bundled_features
from mnist_cnn.digit_check import FEATURE_SCALE, WEIGHTS_PATH
from mnist_cnn.familiarity import REFERENCE_DIGITS, references
from sketchbook.detector import cnn_features, detector_inputs, features
from sketchbook.fonts import SANS, font_files
from sketchbook.sketches import (
    NON_DIGIT_KINDS,
    _in_box,
    drawn_digit_set,
    pen_digit_set,
    render_non_digit,
    render_strokes,
)
from sketchbook.unseen_kinds import UNSEEN_KINDS, unseen_set

CANVAS = 280
# Letters and signs no digit shares; left out: O o Q I i l j J S s Z z B b G g q C c U u D.
FONT_LETTERS = "AEFHKMNRTVWXYaefhkmnrtvwxyPpLdK&#@%?!{}<>+=$"
EXTRA_FAMILIES = ("font letter", "stroke letter", "doodle")
FAMILIES = NON_DIGIT_KINDS + EXTRA_FAMILIES

# Letters drawn as strokes, other than those in sketches.LETTER_STROKES (the benchmark's).
STROKE_LETTERS = {
    "N": [[(0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0)]],
    "V": [[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)]],
    "Y": [[(0.0, 0.0), (0.5, 0.5), (1.0, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
    "T": [[(0.0, 0.0), (1.0, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "L": [[(0.0, 0.0), (0.0, 1.0), (0.8, 1.0)]],
    "R": [[(0.0, 1.0), (0.0, 0.0), (0.8, 0.05), (0.9, 0.25), (0.8, 0.45), (0.0, 0.5), (1.0, 1.0)]],
    "P": [[(0.0, 1.0), (0.0, 0.0), (0.8, 0.05), (0.9, 0.25), (0.8, 0.45), (0.0, 0.5)]],
    "h": [[(0.0, 0.0), (0.0, 1.0)], [(0.0, 0.6), (0.5, 0.4), (0.9, 0.55), (0.9, 1.0)]],
    "n": [[(0.0, 1.0), (0.0, 0.3)], [(0.0, 0.5), (0.5, 0.3), (1.0, 0.5), (1.0, 1.0)]],
    "m": [
        [(0.0, 1.0), (0.0, 0.3), (0.25, 0.3), (0.5, 0.5), (0.5, 1.0)],
        [(0.5, 0.5), (0.75, 0.3), (1.0, 0.5), (1.0, 1.0)],
    ],
    "w": [[(0.0, 0.3), (0.2, 1.0), (0.5, 0.5), (0.8, 1.0), (1.0, 0.3)]],
    "k": [[(0.0, 0.0), (0.0, 1.0)], [(0.8, 0.3), (0.0, 0.7), (0.9, 1.0)]],
    "#": [
        [(0.3, 0.0), (0.2, 1.0)],
        [(0.75, 0.0), (0.65, 1.0)],
        [(0.0, 0.3), (1.0, 0.3)],
        [(0.0, 0.7), (1.0, 0.7)],
    ],
    "+": [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
}


def _circle(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 24) -> np.ndarray:
    angles = np.linspace(math.radians(a0), math.radians(a1), n)
    return np.column_stack((cx + r * np.cos(angles), cy + r * np.sin(angles)))


def _doodle(rng: np.random.Generator) -> list[np.ndarray]:
    """Unit-box strokes of a small drawing: star, heart, house, spiral, ... (no smiley or arrow:
    those are unseen kinds)."""
    shape = rng.integers(7)
    if shape == 0:  # a five-pointed star in one stroke
        angles = np.radians(-90 + 144 * np.arange(6))
        return [np.column_stack((0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)))]
    if shape == 1:  # a heart
        t = np.linspace(0, 2 * np.pi, 40)
        x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t)
        return [np.column_stack((0.5 + x / 34, 0.45 - y / 34))]
    if shape == 2:  # a house
        return [np.array([[0, 1], [0, 0.4], [0.5, 0], [1, 0.4], [1, 1], [0, 1]], float),
                np.array([[0.4, 1], [0.4, 0.7], [0.6, 0.7], [0.6, 1]], float)]  # fmt: skip
    if shape == 3:  # a spiral
        t = np.linspace(0, rng.uniform(3, 6) * np.pi, 60)
        r = t / t[-1] / 2
        return [np.column_stack((0.5 + r * np.cos(t), 0.5 + r * np.sin(t)))]
    if shape == 4:  # a triangle, maybe with a line through it
        tri = np.array([[0.5, 0], [1, 1], [0, 1], [0.5, 0]], float)
        return [tri, np.array([[0, 0.6], [1, 0.6]], float)] if rng.random() < 0.5 else [tri]
    if shape == 5:  # a wave or zigzag
        x = np.linspace(0, 1, 30)
        y = 0.5 + 0.4 * np.sin(x * np.pi * rng.uniform(2, 6))
        return [np.column_stack((x, y))]
    # random smooth curves crossing each other
    return [_smooth(rng.uniform(0, 1, (int(rng.integers(4, 8)), 2))) for _ in range(3)]


def _smooth(points: np.ndarray) -> np.ndarray:
    t = np.linspace(0, 1, len(points))
    fine = np.linspace(0, 1, 8 * len(points))
    return np.column_stack([np.interp(fine, t, points[:, i]) for i in range(2)])


def _stroked(rng: np.random.Generator, unit_strokes: list[np.ndarray]) -> np.ndarray:
    """Place unit strokes in a random box, shake them a little, draw them like a canvas."""
    width, height = rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)
    left, top = rng.uniform(0.05, 0.95 - width), rng.uniform(0.05, 0.95 - height)
    shear = rng.uniform(-0.3, 0.3)
    strokes = []
    for unit in unit_strokes:
        unit = np.asarray(unit, float) + rng.normal(0, 0.015, (len(unit), 2))
        unit[:, 0] += shear * (1 - unit[:, 1])
        strokes.append(_in_box(unit, (left, top, left + width, top + height), CANVAS))
    return render_strokes(strokes, brush=rng.uniform(6.0, 30.0))


def _font_letter(rng: np.random.Generator, fonts: list[str]) -> np.ndarray:
    """One or two letters from a random font, turned, sheared, thickened or thinned."""
    count = 1 if rng.random() < 0.7 else 2
    text = "".join(rng.choice(list(FONT_LETTERS), count))
    font = ImageFont.truetype(str(rng.choice(fonts)), int(rng.integers(80, 200)))
    image = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
    ImageDraw.Draw(image).text((CANVAS // 2, CANVAS // 2), text, fill=255, font=font)
    shear, angle = rng.uniform(-0.4, 0.4), rng.uniform(-25, 25)
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, shear, -shear * CANVAS, 0, 1, 0)
    )
    image = image.rotate(angle, resample=Image.Resampling.BILINEAR)
    grow = int(rng.integers(-1, 4)) * 2 + 1
    if grow > 1:
        image = image.filter(ImageFilter.MaxFilter(grow))
    box = image.getbbox()
    if box is None:
        return _font_letter(rng, fonts)
    image = image.crop(box)
    scale = rng.uniform(0.3, 0.9) * CANVAS / max(image.size)
    image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    x = int(rng.integers(0, CANVAS - image.width + 1))
    y = int(rng.integers(0, CANVAS - image.height + 1))
    canvas.paste(image, (x, y))
    grey = np.asarray(canvas, dtype=np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def extra_family(family: str, n: int, seed: int) -> np.ndarray:
    """``n`` canvases of one of EXTRA_FAMILIES."""
    rng = np.random.default_rng(seed)
    fonts = font_files(SANS)  # serif and mono letters are an unseen kind
    canvases = []
    for _ in range(n):
        if family == "font letter":
            canvases.append(_font_letter(rng, fonts))
        elif family == "stroke letter":
            letter = STROKE_LETTERS[str(rng.choice(list(STROKE_LETTERS)))]
            canvases.append(_stroked(rng, [np.asarray(s, float) for s in letter]))
        else:
            canvases.append(_stroked(rng, _doodle(rng)))
    return np.stack(canvases)


def canvas_features(canvases: np.ndarray) -> np.ndarray:
    """Each canvas as the Draw page prepares and measures it (``sketchbook.detector.features``);
    blank canvases are dropped."""
    rows = []
    for canvas in canvases:
        stages = canvas_to_mnist(canvas, return_stages=True)
        if stages is not None:
            rows.append(features(stages.centred, stages.ink))
    return np.stack(rows)


def non_digit_family(family: str, n: int, seed: int) -> np.ndarray:
    if family in NON_DIGIT_KINDS:  # as non_digit_set draws them, one seed a canvas
        seeds = np.random.default_rng(seed).integers(0, 2**31, n)
        return np.stack([render_non_digit(family, seed=int(s)) for s in seeds])
    return extra_family(family, n, seed)


def build_data(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Examples (pixels and measurements) of every set, kept in ``args.cache`` (generating
    them takes minutes).

    Every set comes from fixed seeds, so a cached set equals a regenerated one; delete the
    cache (or a set in it) after changing how a set is drawn.
    """
    cache = Path(args.cache)
    data = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as saved:
            data = dict(saved)
    makers = {
        "mnist fit": lambda: np.stack([features(x) for x in _mnist_train()[: args.mnist_fit]]),
        "mnist calibrate": lambda: np.stack([features(x) for x in _mnist_train()[-10_000:]]),
        "drawn fit": lambda: canvas_features(drawn_digit_set(n_per_digit=args.drawn, seed=100)[0]),
        "pen fit": lambda: canvas_features(pen_digit_set(n_per_digit=args.drawn, seed=101)[0]),
        "drawn calibrate": lambda: canvas_features(drawn_digit_set(n_per_digit=30, seed=102)[0]),
        "pen calibrate": lambda: canvas_features(pen_digit_set(n_per_digit=30, seed=103)[0]),
    }
    for i, family in enumerate(FAMILIES):
        makers[f"{family} fit"] = _family_maker(family, args.per_family, 200 + i)
        makers[f"{family} test"] = _family_maker(family, 100, 300 + i)
    for kind in UNSEEN_KINDS:
        makers[f"{kind} unseen"] = _unseen_maker(kind)
    missing = [name for name in makers if name not in data]
    for name in missing:
        print(f"preparing {name}", flush=True)
        data[name] = makers[name]()
    if missing:
        np.savez_compressed(cache, **data)
    return data


def _family_maker(family: str, n: int, seed: int):
    return lambda: canvas_features(non_digit_family(family, n, seed))


def _unseen_maker(kind: str):
    def make() -> np.ndarray:
        canvases, kinds = unseen_set(n_per_kind=UNSEEN_PER_KIND, seed=UNSEEN_SEED)
        return canvas_features(canvases[np.array(kinds) == kind])

    return make


def familiarity_distances(unit_features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each set's familiarity distances, from its examples' CNN features."""
    shared = references()
    if shared is None:
        raise SystemExit("The familiarity check needs MNIST: set MNIST_NPZ.")
    return {name: shared.distances_of(rows) for name, rows in unit_features.items()}


def _mnist_train() -> np.ndarray:
    (x_train, _), _ = load_mnist()
    return x_train


def fit(data: dict[str, np.ndarray], families: tuple[str, ...], args) -> MLPClassifier:
    """Train on digits (label 0) and the given non-digit families (label 1), classes balanced."""
    digits = [data["mnist fit"], data["drawn fit"], data["pen fit"]]
    negatives = [data[f"{f} fit"] for f in families]
    x = np.concatenate(digits + negatives)
    y = np.concatenate([np.zeros(sum(len(d) for d in digits)), np.ones(sum(map(len, negatives)))])
    # Each drawn set weighs as much as a fifth of MNIST; the negatives as much as all digits.
    weights = np.concatenate(
        [np.full(len(data["mnist fit"]), 1.0)]
        + [np.full(len(d), 0.2 * len(data["mnist fit"]) / len(d)) for d in digits[1:]]
        + [
            np.full(len(n), 1.4 * len(data["mnist fit"]) / sum(map(len, negatives)))
            for n in negatives
        ]
    )
    model = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), alpha=1e-3, max_iter=args.epochs, random_state=args.seed,
        early_stopping=False, batch_size=256, learning_rate_init=1e-3,
    )  # fmt: skip
    model.fit(x, y, sample_weight=weights / weights.mean())
    return model


HIDDEN = 64
N_MEASURED = 5  # examples and detector inputs end with the logs of the measurements' five ratios
TARGET_DIGIT_REFUSAL = 0.003  # by the detector alone, of each held-out digit set
TARGET_CHECK_REFUSAL = 0.008  # by the whole check, of each held-out digit set
CALIBRATION_SETS = ("mnist calibrate", "drawn calibrate", "pen calibrate")
UNSEEN_PER_KIND, UNSEEN_SEED = 100, 400  # the benchmark's are seed 1


def logits(model: MLPClassifier, x: np.ndarray) -> np.ndarray:
    hidden = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0.0)
    return (hidden @ model.coefs_[1] + model.intercepts_[1])[:, 0]


def threshold_for(model: MLPClassifier, data: dict[str, np.ndarray]) -> float:
    """The logit above which at most TARGET_DIGIT_REFUSAL of each held-out digit set is refused."""
    return max(
        float(np.quantile(logits(model, data[s]), 1 - TARGET_DIGIT_REFUSAL))
        for s in CALIBRATION_SETS
    )


@dataclass(frozen=True)
class Limits:
    """The detector's logit threshold and the familiarity distance's limit."""

    detector: float
    familiarity: float


def limits_for(model: MLPClassifier, data, distances) -> Limits:
    """The detector's threshold, then the lowest familiarity limit that keeps the whole check's
    refusals of each held-out digit set at most TARGET_CHECK_REFUSAL."""
    detector = threshold_for(model, data)
    lowest = 0.0
    for name in CALIBRATION_SETS:
        refused_already = _refused_without_familiarity(model, detector, data[name])
        left = np.sort(distances[name][~refused_already])[::-1]  # descending
        allowed = int(TARGET_CHECK_REFUSAL * len(data[name])) - int(refused_already.sum())
        lowest = max(lowest, float(left[max(allowed, 0)]))
    return Limits(detector, lowest)


def _refused_without_familiarity(model, threshold: float, x: np.ndarray) -> np.ndarray:
    """The detector's refusals or a measured limit's: a limit is passed exactly when its log
    ratio, among the last features, is above 0."""
    return (logits(model, x) > threshold) | (x[:, -N_MEASURED:] > 0).any(axis=1)


def refusals(model, limits: Limits, x: np.ndarray, distance: np.ndarray) -> dict[str, float]:
    """Shares refused by the detector alone, the familiarity alone and the whole check."""
    by_familiarity = distance > limits.familiarity
    whole = _refused_without_familiarity(model, limits.detector, x) | by_familiarity
    return {
        "detector alone": float((logits(model, x) > limits.detector).mean()),
        "familiarity alone": float(by_familiarity.mean()),
        "whole check": float(whole.mean()),
    }


def report(model, limits: Limits, data, distances, names: list[str]) -> None:
    print(f"  {'set':<26} detector alone   familiarity alone   whole check")
    for name in names:
        rates = refusals(model, limits, data[name], distances[name])
        print(f"  {name:<26} " + "   ".join(f"{rate:>14.2%}" for rate in rates.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-fit", type=int, default=20_000, help="MNIST training digits")
    parser.add_argument("--drawn", type=int, default=80, help="drawn digits per digit, each set")
    parser.add_argument("--per-family", type=int, default=400, help="non-digits per family")
    parser.add_argument("--cache", default="/tmp/digit_check_features.npz")
    parser.add_argument("--leave-one-out", action="store_true", help="train without each family")
    parser.add_argument("--epochs", type=int, default=60, help="passes over the training data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    examples = build_data(args)
    unit_features = {name: cnn_features(rows) for name, rows in examples.items()}  # one pass
    distances = familiarity_distances(unit_features)
    data = {name: detector_inputs(rows, unit_features[name]) for name, rows in examples.items()}
    del unit_features
    unseen = [f"{kind} unseen" for kind in UNSEEN_KINDS]

    if args.leave_one_out:
        print("Leave one family out (limits from held-out digits; refusals of held-out seeds)")
        for family in FAMILIES:
            model = fit(data, tuple(f for f in FAMILIES if f != family), args)
            limits = limits_for(model, data, distances)
            print(f"without {family}:", flush=True)
            report(model, limits, data, distances, [*CALIBRATION_SETS, f"{family} test"])
        return

    model = fit(data, FAMILIES, args)
    limits = limits_for(model, data, distances)
    sets = [*CALIBRATION_SETS, *(f"{family} test" for family in FAMILIES), *unseen]
    report(model, limits, data, distances, sets)
    metadata = {
        "script": "scripts/train_digit_check.py",
        "arguments": {k: v for k, v in vars(args).items() if k != "cache"},
        "families": list(FAMILIES),
        "unseen_kinds": list(UNSEEN_KINDS),
        "detector_input": "the bundled CNN's 1,600 unit convolutional features x "
        f"{FEATURE_SCALE:g}, then the logs of the five measured ratios",
        "hidden_units": HIDDEN,
        "target_digit_refusal": TARGET_DIGIT_REFUSAL,
        "target_check_refusal": TARGET_CHECK_REFUSAL,
        "familiarity_references": REFERENCE_DIGITS,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = WEIGHTS_PATH.with_suffix(".tmp.npz")
    np.savez(
        temporary,
        w1=model.coefs_[0].astype(np.float32),
        b1=model.intercepts_[0].astype(np.float32),
        w2=model.coefs_[1][:, 0].astype(np.float32),
        b2=np.float32(model.intercepts_[1][0]),
        threshold=np.float32(limits.detector),
        familiarity_limit=np.float32(limits.familiarity),
        features_model=np.array(bundled_features().model_id),
        metadata=np.array(json.dumps(metadata)),
    )
    temporary.replace(WEIGHTS_PATH)
    print(f"saved {WEIGHTS_PATH.name} ({WEIGHTS_PATH.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
