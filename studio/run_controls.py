"""What a page shows around a background run (training, teaching): how often its live view
redraws, and its Stop button. The runs themselves are ``mnist_cnn.background``'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from mnist_cnn.background import Job, Snapshot

# Seconds between live updates while a run is in progress.
LIVE_REFRESH_S = 0.5


def stop_button(job: Job, label: str, can_stop: bool = True) -> None:
    """The Stop button, drawn by the page rather than the live view's fragment: a click then
    reruns the page once, which shows the run stopped (from inside the fragment it would take a
    run of the fragment and then one of the page).

    Without ``can_stop`` (someone else's run, in public mode) the button is disabled and has
    no callback: a crafted click from this session cannot stop the run either.
    """
    st.button(
        label,
        on_click=job.stop if can_stop else None,
        icon=":material/stop_circle:",
        disabled=not can_stop,
        help=None if can_stop else "Only the visitor who started this run can stop it.",
    )


def waiting_notice(snapshot: Snapshot, run: str) -> bool:
    """While ``run`` ("Your teaching") waits for the server's memory, say what it waits for and
    about how long, and return True."""
    if snapshot.waiting is None:
        return False
    st.info(
        f"{run} starts when {snapshot.waiting.text}: this server has too little memory for "
        "both at once, so it waits its turn (nothing is lost meanwhile).",
        icon=":material/hourglass_top:",
    )
    return True
