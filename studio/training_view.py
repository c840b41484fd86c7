"""The Train page's live view of a run: progress, charts and the outcome.

Everything here draws a ``JobSnapshot``, a consistent copy of the job's state; the training
thread itself never touches Streamlit.
"""

from __future__ import annotations

import streamlit as st

from mnist_cnn.jobs import JobSnapshot, TrainingJob
from studio import charts, resources, widgets


def format_duration(seconds: float) -> str:
    """'45 s', '3 min 20 s' or '1 h 5 min': precise enough for a progress bar."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def progress_text(snapshot: JobSnapshot) -> str:
    """'Epoch x of N · batch b of B · samples/s · time left' for the progress bar."""
    if snapshot.status == "stopping":
        return "Stopping…"
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


def live_run(job: TrainingJob) -> None:
    """Progress, a Stop button and live charts; hands back to a full rerun when the run ends."""
    snapshot = job.snapshot()
    if not snapshot.active:
        st.rerun()  # a full rerun shows the outcome and the new active model on the whole page
    st.progress(snapshot.fraction_done, text=progress_text(snapshot))
    st.button(
        "Stop training",
        on_click=job.stop,
        icon=":material/stop_circle:",
        disabled=snapshot.status == "stopping",
    )
    charts_of(snapshot)


def charts_of(snapshot: JobSnapshot) -> None:
    """Per-batch curves and, once an epoch has ended, the per-epoch comparison."""
    if snapshot.batches:
        st.markdown("**Training, per batch** (faint: each report; bold: smoothed)")
        widgets.plotly(charts.batch_figure(snapshot.batches))
    if snapshot.epochs:
        st.markdown("**Train and validation, per epoch**")
        widgets.plotly(charts.epoch_figure(snapshot.epochs))


def outcome(snapshot: JobSnapshot) -> None:
    """How the last run ended: final figures and a download, a stop notice, or the error."""
    if snapshot.status == "failed":
        st.error(snapshot.message, icon=":material/error:")
        return
    if snapshot.status == "stopped":
        when = (
            f"in epoch {snapshot.batches[-1].epoch} of {snapshot.config.epochs}"
            if snapshot.batches
            else "before the first batch"
        )
        active = resources.current_model().record
        st.info(
            f"Training stopped {when}. Nothing was saved, so the active model is still the "
            f"previous one: {widgets.describe_origin(active)}.",
            icon=":material/stop_circle:",
        )
        charts_of(snapshot)
        return
    record = snapshot.record
    last = snapshot.epochs[-1] if snapshot.epochs else None
    st.success(
        f"Training finished: test accuracy {snapshot.test_accuracy:.2%} on "
        f"{widgets.count(record.metadata.get('test_images'), 'test image')}. "
        "It is now the active model on every page.",
        icon=":material/check_circle:",
    )
    figures = st.columns(4)
    figures[0].metric("Test accuracy", f"{snapshot.test_accuracy:.2%}")
    if last is not None:
        figures[1].metric("Training accuracy", f"{last.accuracy:.2%}")
        if last.val_accuracy is not None:
            figures[2].metric("Validation accuracy", f"{last.val_accuracy:.2%}")
    figures[3].metric("Training time", format_duration(record.metadata.get("training_seconds", 0)))
    if record.model_file.is_file():
        st.download_button(
            "Download the model (.keras)",
            data=record.model_file.read_bytes,  # read on click, not on every rerun
            file_name=f"mnist_cnn_{record.folder.name}.keras",
            mime="application/octet-stream",
            icon=":material/download:",
            on_click="ignore",
        )
    charts_of(snapshot)
