"""One describer of a training recipe, for the sidebar, the Models page and the CLI."""

from mnist_cnn.describe import count, describe_config, epochs_text
from mnist_cnn.training import TUNED_WARMUP_EPOCHS, TrainConfig


def test_model_card_words() -> None:
    config = TrainConfig(epochs=1).to_dict()
    assert describe_config(config).startswith(
        "seed recipe · 1 epoch · batch 32 · learning rate 0.001 · "
    )
    tuned = describe_config(TrainConfig.tuned().to_dict())
    assert tuned.startswith("tuned recipe · 5 epochs · batch 64 · learning rate 0.005 (peak; ")
    assert tuned.endswith("light augmentation")
    old_card = {"epochs": 10, "batch_size": 32, "learning_rate": 0.001, "augment": True}
    assert describe_config(old_card).endswith("augmented")  # saved before recipes
    assert describe_config({}) == "Training settings not recorded."
    assert count(10000, "test image") == "10,000 test images"


def test_a_schedule_says_how_long_it_warms_up_and_a_custom_recipe_has_no_name() -> None:
    tuned = describe_config(TrainConfig.tuned().to_dict())
    assert f"(peak; warm-up over {epochs_text(TUNED_WARMUP_EPOCHS)} + cosine decay)" in tuned
    custom = describe_config(TrainConfig.tuned(warmup_epochs=2.0, validation_split=0.2).to_dict())
    assert custom.startswith("5 epochs · batch 64 · learning rate 0.005 (peak; warm-up over 2 ")
    assert " · 20% validation · seed 42 · " in custom
    assert epochs_text(0.5) == "half an epoch" and epochs_text(1) == "1 epoch"
    assert epochs_text(1.5) == "1.5 epochs"


def test_settings_a_record_lacks_or_garbled_show_as_unknown() -> None:
    garbled = {"epochs": "five", "learning_rate": "fast", "validation_split": None}
    assert describe_config(garbled) == (
        "? epochs · batch ? · learning rate ? · validation ? · seed ? · no augmentation"
    )
    assert count(True, "drawing") == "? drawings" and count(1, "drawing") == "1 drawing"
