"""The Train page's live view of a run: progress, charts and the outcome.

Everything here draws a ``TrainingSnapshot``, a consistent copy of the job's state; the training
thread itself never touches Streamlit.
"""

from __future__ import annotations

import streamlit as st

from mnist_cnn.architecture import PRESET_LABELS, ModelSpec
from mnist_cnn.describe import count
from mnist_cnn.jobs import TrainingJob, TrainingSnapshot
from studio import chart_display, charts, messages, model_card, run_controls, session


def format_duration(seconds: float) -> str:
    """'45 s', '3 min 20 s' or '1 h 5 min': precise enough for a progress bar."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def progress_text(snapshot: TrainingSnapshot) -> str:
    """'Epoch x of N · batch b of B · samples/s · time left' for the progress bar."""
    if not snapshot.batches:
        return "Loading MNIST and compiling the model (a few seconds)…"
    last = snapshot.batches[-1]
    parts = [
        f"Epoch {last.epoch} of {last.epochs}",
        f"batch {last.batch:,} of {last.batches_per_epoch:,}",
        f"{snapshot.samples_per_second:,.0f} samples/s",
    ]
    if snapshot.seconds_left is not None:
        parts.append(f"about {format_duration(snapshot.seconds_left)} left")
    return " · ".join(parts)


def live_run(job: TrainingJob, ours: bool = True) -> None:
    """Progress and live charts (or its place in the queue for memory); hands back to a full
    rerun when the run ends."""
    snapshot = job.snapshot()
    if not snapshot.active:
        st.rerun()  # a full rerun shows the outcome and the new model on the whole page
    if run_controls.waiting_notice(snapshot, "Your training run" if ours else "This training run"):
        return
    st.caption(network_text(snapshot.spec))
    st.progress(snapshot.fraction_done, text=progress_text(snapshot))
    charts_of(snapshot)


def network_text(spec: ModelSpec) -> str:
    """'Network: Tiny, 5,258 parameters (conv 8 3x3 + pool · conv 16 3x3 + pool)'."""
    return (
        f"Network: {PRESET_LABELS[spec.preset]}, {spec.parameters:,} parameters ({spec.describe()})"
    )


def charts_of(snapshot: TrainingSnapshot) -> None:
    """Per-batch curves and, once an epoch has ended, the per-epoch comparison.

    The charts keep their specs and get new data on each refresh, so they update in place.
    """
    if snapshot.batches:
        st.markdown("**Training, per batch** (faint: each report; bold: smoothed)")
        rates = charts.rate_frame(snapshot.batches)
        loss, accuracy, *rate = st.columns(2 if rates is None else 3)
        with loss:
            chart_display.vega(charts.batch_frame(snapshot.batches, "loss"), charts.BATCH_LOSS_SPEC)
        with accuracy:
            chart_display.vega(
                charts.batch_frame(snapshot.batches, "accuracy"), charts.BATCH_ACCURACY_SPEC
            )
        if rates is not None:
            with rate[0]:
                chart_display.vega(rates, charts.LEARNING_RATE_SPEC)
    if snapshot.epochs:
        st.markdown("**Train and validation, per epoch**")
        loss, accuracy = st.columns(2)
        with loss:
            chart_display.vega(charts.epoch_frame(snapshot.epochs, "loss"), charts.EPOCH_LOSS_SPEC)
        with accuracy:
            chart_display.vega(
                charts.epoch_frame(snapshot.epochs, "accuracy"), charts.EPOCH_ACCURACY_SPEC
            )


def outcome(snapshot: TrainingSnapshot, ours: bool = True) -> None:
    """How the last run ended: final figures and a download, a stop notice, or the error.

    ``ours``: this session started the run, so a finished run is now its model.
    """
    if snapshot.status == "failed":
        st.error(messages.for_visitor(snapshot.message), icon=":material/error:")
        return
    if snapshot.status == "stopped":
        when = (
            f"in epoch {snapshot.batches[-1].epoch} of {snapshot.config.epochs}"
            if snapshot.batches
            else "before the first batch"
        )
        current = session.current_record()
        st.info(
            f"Training stopped {when}. Nothing was saved, so your model is still the "
            f"previous one: {current.name} ({model_card.describe_origin(current)}).",
            icon=":material/stop_circle:",
        )
        charts_of(snapshot)
        return
    record = snapshot.record
    last = snapshot.epochs[-1] if snapshot.epochs else None
    st.success(
        f"Training finished: test accuracy {snapshot.test_accuracy:.2%} on "
        f"{count(record.metadata.test_images, 'test image')}. "
        + (
            f"It is now your model on every page: {record.name}."
            if ours
            else f"It was saved as {record.name}; pick it in the sidebar's Model box to use it."
        ),
        icon=":material/check_circle:",
    )
    figures = st.columns(4)
    figures[0].metric("Test accuracy", f"{snapshot.test_accuracy:.2%}")
    if last is not None:
        figures[1].metric("Training accuracy", f"{last.accuracy:.2%}")
        if last.val_accuracy is not None:
            figures[2].metric("Validation accuracy", f"{last.val_accuracy:.2%}")
    figures[3].metric("Training time", format_duration(record.metadata.training_seconds or 0))
    st.caption(network_text(snapshot.spec))
    model_card.model_download(record, "Download the model (.keras)")
    charts_of(snapshot)
