"""Train page: pick a network and a recipe, train in the background and watch it live."""

import streamlit as st

from mnist_cnn import settings
from mnist_cnn.background import BusyError
from mnist_cnn.describe import epochs_text
from mnist_cnn.memory_budget import MemoryRefusedError
from mnist_cnn.store import ModelsDirError
from mnist_cnn.training import (
    BATCH_SIZES,
    RECIPES,
    SCHEDULES,
    TUNED_WARMUP_EPOCHS,
    TrainConfig,
)
from studio import messages, network_editor, resources, run_controls, session, training_view

RECIPE_KEY = "train-recipe"
RECIPE_LABELS = {"seed": "Seed recipe", "tuned": "Tuned recipe"}
SEED, TUNED = TrainConfig(), TrainConfig.tuned()
RECIPE_CAPTIONS = {
    "seed": f"Adam at a constant learning rate of {SEED.learning_rate:g}, no augmentation: the "
    "project's reference recipe.",
    "tuned": f"Batches of {TUNED.batch_size}; the learning rate warms up to "
    f"{TUNED.learning_rate:g} over {epochs_text(TUNED.warmup_epochs)}, then decays to zero "
    "along a cosine; light random shifts and rotations. Same CNN and epochs: higher accuracy, "
    "in less time.",
}
SCHEDULE_LABELS = {"constant": "Constant", "warmup_cosine": "Warm-up + cosine decay"}

st.title("Train a model")
st.caption(
    "Train a network on MNIST's 60,000 handwritten digits: the seed CNN, a preset, or one "
    "you build. Training runs on the server in the background, one run at a time: switch "
    "pages or open another tab and it carries on. "
    "A finished run is tested on the 10,000 test digits and becomes your model; other "
    "visitors keep theirs."
)

registry = resources.training_registry()
running = registry.latest is not None and registry.latest.snapshot().active
max_epochs = settings.max_epochs()

st.subheader("Network")
st.caption(
    "The layers the recipe trains. Start from a preset, then add, remove or change blocks: "
    "the figures follow every change, before anything is trained. The time per epoch is for "
    "the recipe picked below."
)
spec = network_editor.network_section(
    TrainConfig.from_recipe(st.session_state.get(RECIPE_KEY, RECIPES[0])), running
)

# Outside the form, so that picking a recipe fills the form with that recipe's settings.
st.subheader("Recipe")
recipe = st.radio(
    "Recipe",
    RECIPES,
    format_func=RECIPE_LABELS.get,
    captions=[RECIPE_CAPTIONS[name] for name in RECIPES],
    horizontal=True,
    key=RECIPE_KEY,
)
defaults = TrainConfig.from_recipe(recipe)

with st.form("recipe", border=True):
    first, second, third = st.columns(3, gap="medium")
    epochs = first.number_input(
        "Epochs",
        min_value=1,
        max_value=max_epochs,
        value=min(defaults.epochs, max_epochs),
        help=f"At most {max_epochs} on this server.",
    )
    batch_size = first.select_slider("Batch size", options=BATCH_SIZES, value=defaults.batch_size)
    learning_rate = second.select_slider(
        "Learning rate",
        options=[1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2],
        value=defaults.learning_rate,
        format_func=lambda rate: f"{rate:g}",
        help="With the warm-up + cosine schedule, the peak the rate warms up to.",
    )
    schedule = second.selectbox(
        "Learning-rate schedule",
        SCHEDULES,
        index=SCHEDULES.index(defaults.schedule),
        format_func=SCHEDULE_LABELS.get,
        help="Warm-up + cosine decay: the rate climbs from zero to the learning rate over "
        f"{epochs_text(TUNED_WARMUP_EPOCHS)}, then falls to zero by the last batch along a "
        "cosine curve.",
    )
    validation_percent = second.slider(
        "Validation split",
        min_value=0,
        max_value=50,
        value=round(defaults.validation_split * 100),
        format="%d%%",
        help="Training images held out to check for overfitting after each epoch.",
    )
    seed = third.number_input("Random seed", min_value=0, value=defaults.seed)
    augment = third.toggle(
        "Augmentation",
        value=defaults.augment,
        help="Seed recipe: random shifts, zoom, rotation and stroke width (slower, copes "
        "better with drawn digits). Tuned recipe: light shifts and rotations.",
    )
    start = st.form_submit_button(
        "Start training", type="primary", icon=":material/play_arrow:", disabled=running
    )
    if settings.public_mode():
        st.caption(
            f"This is a shared server: runs are limited to {max_epochs} epochs, and only you "
            "can stop a run you start."
        )

if start and spec is None:
    st.error("Fix the network above first: this one cannot be trained.", icon=":material/error:")
elif start:
    config = TrainConfig.from_recipe(
        recipe,
        epochs=int(epochs),
        batch_size=batch_size,
        learning_rate=learning_rate,
        schedule=schedule,
        warmup_epochs=TUNED_WARMUP_EPOCHS if schedule != "constant" else 0.0,
        validation_split=validation_percent / 100,
        seed=int(seed),
        augment=augment,
    )
    try:
        registry.start(config, owner=session.session_id(), spec=spec)
        running = True
    except BusyError as busy:
        st.warning(str(busy), icon=":material/hourglass_top:")
        running = True
    except (ModelsDirError, MemoryRefusedError, ValueError) as problem:
        st.error(messages.for_visitor(str(problem)), icon=":material/error:")

job = registry.latest
ours = job is not None and job.owner == session.session_id()
can_stop = ours or not settings.public_mode()
if job is None:
    st.info("No training run on this server yet. Pick a recipe and press Start.")
elif running:
    st.info(
        "A training run is in progress on this server. It carries on while you switch pages "
        "or close the tab; "
        + ("you can stop it here." if can_stop else "only the visitor who started it can stop it."),
        icon=":material/model_training:",
    )
    run_controls.stop_button(job, "Stop training", can_stop)
    st.fragment(training_view.live_run, run_every=run_controls.LIVE_REFRESH_S)(job, ours)
else:
    training_view.outcome(job.snapshot(), ours)
