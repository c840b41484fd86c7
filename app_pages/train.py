"""Train page: pick a recipe, train in the background and watch it live."""

import streamlit as st

from mnist_cnn import settings
from mnist_cnn.jobs import TrainingBusyError
from mnist_cnn.store import ModelsDirError
from mnist_cnn.training import TrainConfig
from studio import messages, resources, session, training_view

DEFAULTS = TrainConfig()
# Seconds between live updates while a run is in progress.
LIVE_REFRESH_S = 0.5

st.title("Train a model")
st.caption(
    "Train the CNN on MNIST's 60,000 handwritten digits. Training runs on the server in the "
    "background, one run at a time: switch pages or open another tab and it carries on. "
    "A finished run is tested on the 10,000 test digits and becomes your model; other "
    "visitors keep theirs."
)

registry = resources.training_registry()
running = registry.latest is not None and registry.latest.snapshot().active
max_epochs = settings.max_epochs()

with st.form("recipe", border=True):
    first, second, third = st.columns(3, gap="medium")
    epochs = first.number_input(
        "Epochs",
        min_value=1,
        max_value=max_epochs,
        value=min(DEFAULTS.epochs, max_epochs),
        help=f"At most {max_epochs} on this server.",
    )
    batch_size = first.select_slider(
        "Batch size", options=[16, 32, 64, 128, 256], value=DEFAULTS.batch_size
    )
    learning_rate = second.select_slider(
        "Learning rate",
        options=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        value=DEFAULTS.learning_rate,
        format_func=lambda rate: f"{rate:g}",
    )
    validation_percent = second.slider(
        "Validation split",
        min_value=0,
        max_value=50,
        value=round(DEFAULTS.validation_split * 100),
        format="%d%%",
        help="Training images held out to check for overfitting after each epoch.",
    )
    seed = third.number_input("Random seed", min_value=0, value=DEFAULTS.seed)
    augment = third.toggle(
        "Augmentation",
        value=DEFAULTS.augment,
        help="Random shifts, zoom, rotation and stroke width: slower, but copes better with "
        "drawn digits.",
    )
    start = st.form_submit_button(
        "Start training", type="primary", icon=":material/play_arrow:", disabled=running
    )
    if settings.public_mode():
        st.caption(
            f"This is a shared server: runs are limited to {max_epochs} epochs, and only you "
            "can stop a run you start."
        )

if start:
    config = TrainConfig(
        epochs=int(epochs),
        batch_size=batch_size,
        learning_rate=learning_rate,
        validation_split=validation_percent / 100,
        seed=int(seed),
        augment=augment,
    )
    try:
        registry.start(config, owner=session.session_id())
        running = True
    except TrainingBusyError as busy:
        st.warning(str(busy), icon=":material/hourglass_top:")
        running = True
    except (ModelsDirError, ValueError) as problem:
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
    st.fragment(training_view.live_run, run_every=LIVE_REFRESH_S)(job, can_stop)
else:
    training_view.outcome(job.snapshot(), ours)
