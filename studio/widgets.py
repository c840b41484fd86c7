"""Streamlit pieces shared by the pages: the model card, charts, digit images, the prediction."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import streamlit as st

from mnist_cnn.store import LoadedModel, ModelLoadError, ModelRecord
from studio import compat, messages, session

if TYPE_CHECKING:  # pandas, Plotly and SciPy load when a chart or a drawing first needs them
    import pandas as pd
    import plotly.graph_objects as go
    from streamlit.navigation.page import StreamlitPage

    from mnist_cnn.drawing import DrawingStages

# Below this probability for the top digit the page says the model is unsure.
UNSURE_BELOW = 0.6
# Digits in galleries are shown this wide; drawing stages a little wider.
DIGIT_WIDTH = 84
STAGE_WIDTH = 120
STAGE_CAPTIONS = {
    "ink": "1. Your ink",
    "cropped": "2. Cropped to the digit",
    "scaled": "3. Scaled to 20 px, MNIST's stroke width",
    "centred": "4. Centred in 28x28: the model's input",
}


# On a phone held upright, Streamlit's generous top margin, large title and wide gaps between
# stacked columns push the Draw page's answer below the fold: all three shrink there.
PHONE_STYLE = """<style>
@media (max-width: 640px) {
    [data-testid="stMainBlockContainer"] { padding-top: 4rem; }
    [data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding-top: 0; }
    [data-testid="stHorizontalBlock"] { row-gap: 0.5rem; }
}
</style>"""


def compact_on_phones() -> None:
    """Apply PHONE_STYLE to the page (a style only: it takes no room)."""
    st.html(PHONE_STYLE)


# --- A page's end ----------------------------------------------------------------------------


class PageEnded(Exception):
    """Raised by `end_page` (not an error: the page has said all it can); `run_page` catches it."""


def end_page() -> NoReturn:
    """End the page's script here, and let the entry point go on with the sidebar.

    ``st.stop()`` would end the whole run. On a server's first visit the entry point draws the
    sidebar's model card after the page, so a page that stopped (Inside with no digit) left no
    "Model" box and a "Starting up" notice that stayed. Call it only from a page's own script:
    a fragment's rerun runs the fragment alone, not through `run_page`.
    """
    raise PageEnded


def run_page(page: StreamlitPage) -> None:
    """Run the page chosen in the navigation, up to its end or to `end_page`."""
    with contextlib.suppress(PageEnded):
        page.run()


# --- The session's model ---------------------------------------------------------------------


def model_or_stop() -> LoadedModel:
    """This session's model, or an explanation and the end of this run when it will not load."""
    try:
        return session.current_model()
    except ModelLoadError as error:
        st.error(
            "This model could not be loaded: pick another in the sidebar's Model box, or train "
            f"one on the Train page. ({messages.for_visitor(str(error))})",
            icon=":material/error:",
        )
        st.stop()  # not end_page: the Draw page calls this inside a fragment


def model_card() -> None:
    """The sidebar's "Model" picker and a card for the chosen model, shown on every page."""
    with st.sidebar:
        st.subheader("Active model")
        try:
            session.adopt_finished_run()
            record = session.picker()
            problems = session.model_warnings()
        except ModelLoadError as error:
            st.warning(messages.for_visitor(f"No model yet: train one on the Train page. {error}"))
            return
        for notice in session.notices():
            st.info(notice, icon=":material/swap_horiz:")
        metadata = record.metadata
        accuracy = metadata.get("test_accuracy")
        st.metric(
            "Test accuracy",
            f"{accuracy:.2%}" if isinstance(accuracy, float) else "unknown",
            help=f"On {count(metadata.get('test_images'), 'MNIST test image')}.",
        )
        st.caption(describe_origin(record))
        st.caption(describe_recipe(record))
        for problem in problems:
            st.warning(messages.for_visitor(problem))


def model_download(
    record: ModelRecord, label: str, container: Any = st, key: str | None = None
) -> None:
    """A button that downloads the model's .keras file, read on click, not on every rerun."""
    if record.model_file.is_file():
        container.download_button(
            label,
            data=record.model_file.read_bytes,
            file_name=f"mnist_cnn_{record.key}.keras",
            mime="application/octet-stream",
            icon=":material/download:",
            on_click="ignore",
            key=key,
        )


def describe_origin(record: ModelRecord) -> str:
    """Where a model came from, in words: bundled with the app or trained here, and when."""
    created = record.metadata.get("created_at")
    when = ""
    if created:
        try:
            when = datetime.fromisoformat(created).strftime(" on %d %b %Y at %H:%M UTC")
        except ValueError:
            when = f" at {created}"
    if record.bundled:
        return f"Bundled with the app, trained{when}" if when else "Bundled with the app"
    return f"Trained here{when}"


def describe_recipe(record: ModelRecord) -> str:
    """How the model was made: its training recipe, or what a fine-tuned one was taught from
    (it has no recipe of its own; its parent's would mislead)."""
    return record.taught_from or describe_config(record.training_config)


def describe_config(config: dict[str, Any]) -> str:
    """A training recipe in one line: '5 epochs · batch 32 · learning rate 0.001 · ...'."""
    if not config:
        return "Training settings not recorded."
    rate = config.get("learning_rate")
    split = config.get("validation_split")
    rate_text = f"learning rate {rate:g}" if isinstance(rate, int | float) else "learning rate ?"
    if config.get("schedule", "constant") != "constant":
        rate_text += " (peak; warm-up + cosine decay)"
    augmentation = config.get("augmentation")
    augmented = f"{augmentation} augmentation" if augmentation else "augmented"
    parts = [
        count(config.get("epochs"), "epoch"),
        f"batch {config.get('batch_size', '?')}",
        rate_text,
        f"{split:.0%} validation" if isinstance(split, int | float) else "validation ?",
        f"seed {config.get('seed', '?')}",
        augmented if config.get("augment") else "no augmentation",
    ]
    if config.get("recipe") in ("seed", "tuned"):
        parts.insert(0, f"{config['recipe']} recipe")
    return " · ".join(parts)


def count(number: object, noun: str) -> str:
    """'1 epoch', '10,000 test images'; '? epochs' when the number was not recorded."""
    if not isinstance(number, int):
        return f"? {noun}s"
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


# --- Charts and images -----------------------------------------------------------------------


def plotly(figure: go.Figure, **kwargs: Any) -> Any:
    """Show a figure without Plotly's toolbar, which only clutters these small charts."""
    kwargs.setdefault("width", "stretch")
    return st.plotly_chart(figure, config={"displayModeBar": False}, **kwargs)


def vega(data: pd.DataFrame, spec: dict) -> None:
    """A Vega-Lite chart as wide as its column.

    Pass the same ``spec`` on every run and only ``data`` changing: Streamlit then updates the
    chart in place instead of drawing a new one (see studio/charts.py).
    """
    st.vega_lite_chart(data, spec, width="stretch")


def enlarge(image: np.ndarray, width: int) -> np.ndarray:
    """A grey image as uint8, padded to a square and enlarged by repeating pixels.

    Browsers blur small images they scale up; whole-pixel enlargement keeps 28x28 digits crisp,
    and the square keeps cropped stages from being stretched.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    height, breadth = pixels.shape
    side = max(height, breadth)
    if height != breadth:
        square = np.zeros((side, side), dtype=np.uint8)
        top, left = (side - height) // 2, (side - breadth) // 2
        square[top : top + height, left : left + breadth] = pixels
        pixels = square
    scale = max(1, -(-width // side))
    return np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))


def digit_grid(images: Sequence[np.ndarray], captions: Sequence[str]) -> None:
    """Digits side by side, wrapping onto new rows, each with its caption underneath."""
    with st.container(horizontal=True, gap="small"):
        for image, caption in zip(images, captions, strict=True):
            st.image(enlarge(image, DIGIT_WIDTH), caption=caption, width=DIGIT_WIDTH)


# --- Uploads ---------------------------------------------------------------------------------

# Streamlit refuses an over-size file in the browser (it never reaches Python) and puts the
# reason in a visually hidden alert that shows only as a tooltip on hover. This shows that alert
# under the file's name. data-testid attributes are the ones Streamlit's own tests rely on.
_VISIBLE_UPLOAD_ERRORS = """<style>
[data-testid="stFileChip"][aria-invalid="true"] { flex-wrap: wrap; }
[data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {
    position: static; width: auto; height: auto; margin: 0.25rem 0 0; clip: auto;
    clip-path: none; overflow: visible; white-space: normal; flex-basis: 100%;
    color: #B91C1C; font-size: 0.875rem;
}
</style>"""


def show_upload_errors() -> None:
    """Make the file uploader's own refusals (too large, wrong type) visible, not hover-only."""
    st.html(_VISIBLE_UPLOAD_ERRORS)


# --- The prediction --------------------------------------------------------------------------


def prediction(probabilities: np.ndarray, *, head_start: bool = False) -> None:
    """The predicted digit as the "Prediction" metric, a note when unsure, all ten as bars.

    With ``head_start``, the metric gets a moment to show before the rest
    (``compat.give_answer_head_start``): for a page that answers each stroke and then redraws
    much else.
    """
    ranked = np.argsort(probabilities)[::-1]
    digit, runner_up = int(ranked[0]), int(ranked[1])
    confidence = float(probabilities[digit])
    st.metric(
        "Prediction",
        str(digit),
        delta=f"{confidence:.0%} confident",
        delta_color="off",
        delta_arrow="off",
    )
    if head_start:
        compat.give_answer_head_start()
    if confidence < UNSURE_BELOW:
        st.warning(
            f"The model is unsure: {digit} at {confidence:.0%}, {runner_up} at "
            f"{probabilities[runner_up]:.0%}. Try a larger, centred digit.",
            icon=":material/help:",
        )
    from studio import charts  # pandas: not needed before the first prediction

    vega(charts.probability_frame(probabilities), charts.PROBABILITY_SPEC)


def drawing_stages(stages: DrawingStages) -> None:
    """The steps from canvas to model input, left to right."""
    with st.container(horizontal=True, gap="medium"):
        for name, caption in STAGE_CAPTIONS.items():
            st.image(
                enlarge(getattr(stages, name), STAGE_WIDTH), caption=caption, width=STAGE_WIDTH
            )
