"""Training recipes and counts in words, the same in the web app and on the command line.

``describe_config`` is the one describer of a training recipe. It takes the recipe as a saved
model records it (``TrainConfig.to_dict()`` in its ``metadata.json``), not a ``TrainConfig``:
files written before a setting existed hold fewer keys, and a default filled in for a missing
one would be a claim about a model that nobody made. Free of TensorFlow, since the sidebar's
model card describes a model before TensorFlow has loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_RECORDED = "Training settings not recorded."
# What TrainConfig.recipe says of settings that match no named recipe: nothing to show.
CUSTOM_RECIPE = "custom"


def count(number: object, noun: str) -> str:
    """'1 epoch', '10,000 test images'; '? epochs' when the number was not recorded."""
    if not isinstance(number, int) or isinstance(number, bool):
        return f"? {noun}s"
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def epochs_text(epochs: float) -> str:
    """A length in epochs: 'half an epoch', '1 epoch', '2.5 epochs'."""
    if epochs == 0.5:
        return "half an epoch"
    return f"{epochs:g} epoch{'' if epochs == 1 else 's'}"


def describe_config(config: Mapping[str, Any]) -> str:
    """A recorded training recipe in one line.

    'tuned recipe · 5 epochs · batch 64 · learning rate 0.005 (peak; warm-up over half an epoch
    + cosine decay) · 10% validation · seed 42 · light augmentation'; a setting the record
    lacks shows as '?'.
    """
    if not config:
        return NOT_RECORDED
    split = config.get("validation_split")
    augmentation = config.get("augmentation")
    augmented = f"{augmentation} augmentation" if augmentation else "augmented"
    parts = [
        count(config.get("epochs"), "epoch"),
        f"batch {config.get('batch_size', '?')}",
        _learning_rate_text(config),
        f"{split:.0%} validation" if _is_number(split) else "validation ?",
        f"seed {config.get('seed', '?')}",
        augmented if config.get("augment") else "no augmentation",
    ]
    scans = config.get("coarse_scans")
    if _is_number(scans) and scans > 0:
        parts.append(f"+ {scans:,} coarse scans")
    recipe = config.get("recipe")
    if isinstance(recipe, str) and recipe != CUSTOM_RECIPE:
        parts.insert(0, f"{recipe} recipe")
    return " · ".join(parts)


def _learning_rate_text(config: Mapping[str, Any]) -> str:
    rate = config.get("learning_rate")
    text = f"learning rate {rate:g}" if _is_number(rate) else "learning rate ?"
    if config.get("schedule", "constant") == "constant":
        return text
    warmup = config.get("warmup_epochs")
    over = f" over {epochs_text(warmup)}" if _is_number(warmup) and warmup > 0 else ""
    return f"{text} (peak; warm-up{over} + cosine decay)"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
