"""Your drawings: the digits you corrected on the Draw page, how your model reads them, and
teaching it your handwriting."""

import streamlit as st

from mnist_cnn import settings
from mnist_cnn.background import BusyError
from mnist_cnn.data import DataError
from mnist_cnn.drawings_store import DrawingCollection, DrawingsFileError
from mnist_cnn.fine_tune_jobs import FineTuneJob
from mnist_cnn.memory_budget import MemoryRefusedError, MemoryShortError
from mnist_cnn.shapes import DIGITS
from mnist_cnn.store import LoadedModel, ModelsDirError
from studio import (
    chart_display,
    charts,
    digit_images,
    messages,
    model_card,
    resources,
    run_controls,
    styles,
    your_drawings,
)

IMPORTED = "imported_file"

st.title("Your drawings")
st.caption(
    "Every drawing you answered on the Draw page, with the digit you said it was. "
    + (
        "They live in this browser tab only: nobody else sees them, and they are gone when "
        "you close it, so export them to keep them."
        if settings.public_mode()
        else "They are saved on this computer and kept across restarts."
    )
)

loaded = model_card.model_or_stop()
your_drawings.last_saved()
drawings = your_drawings.collection()
for problem in getattr(drawings, "problems", []):
    st.warning(messages.for_visitor(problem))
counts = drawings.counts()

# --- Teach the model ---------------------------------------------------------------------------


def teaching_progress(job: FineTuneJob) -> None:
    """Progress while the session's fine-tune runs. Once it ends, one full rerun shows how
    (and, through the entry point, switches to the new model); that rerun polls no more."""
    snapshot = job.snapshot()
    if not snapshot.active:
        st.rerun(scope="app")
    if run_controls.waiting_notice(snapshot, "Your teaching"):
        return
    step = snapshot.progress.step if snapshot.progress else 0
    steps = snapshot.progress.steps if snapshot.progress else 0
    text = (
        f"Teaching on {snapshot.drawings} drawings: batch {step} of {steps}"
        if steps
        else "Loading MNIST to replay alongside your drawings…"
    )
    st.progress(snapshot.fraction_done, text=text)


def scores_and_gallery(loaded: LoadedModel, drawings: DrawingCollection) -> None:
    """How the session's model reads the drawings, next to MNIST's, and the drawings by digit."""
    counts = drawings.counts()
    st.subheader("How your model reads them")
    try:
        mnist = resources.evaluation(loaded.record)
    except (DataError, MemoryShortError) as error:
        mnist = None
        st.warning(messages.for_visitor(str(error)))
    yours = your_drawings.scores(loaded, drawings)
    mine_column, mnist_column = st.columns(2, gap="large")
    with mine_column:
        st.metric(
            "Accuracy on your drawings", f"{yours.accuracy:.1%}", help=f"{counts.sum()} drawings"
        )
        chart_display.plotly(charts.confusion_figure(yours.confusion), width="content", key="yours")
    with mnist_column:
        if mnist is not None:
            st.metric(
                "Accuracy on MNIST test",
                f"{mnist.accuracy:.2%}",
                help=f"{len(mnist.labels):,} MNIST test digits",
            )
            chart_display.plotly(
                charts.confusion_figure(mnist.confusion), width="content", key="mnist"
            )

    st.subheader("Gallery")
    by_digit = st.tabs([f"{digit} ({counts[digit]})" for digit in DIGITS])
    for digit, tab in enumerate(by_digit):
        if counts[digit] == 0:
            tab.caption(f"No drawings of {digit} yet.")
        with tab, st.container(horizontal=True, gap="small"):
            for drawing in drawings.drawings():
                if drawing.label != digit:
                    continue
                with st.container(width=digit_images.DIGIT_WIDTH + 16):
                    st.image(digit_images.enlarge(drawing.image, digit_images.DIGIT_WIDTH))
                    st.button(
                        "Delete",
                        key=f"delete-{drawing.id}",
                        icon=":material/delete:",
                        on_click=drawings.delete,
                        args=(drawing.id,),
                        type="tertiary",
                    )


st.subheader("Teach the model my handwriting")
total = int(counts.sum())
job = your_drawings.teaching_job()
busy = job is not None and job.snapshot().active
st.caption(
    f"You have {total} drawing{'s' if total != 1 else ''} ({your_drawings.counts_text(counts)}). "
    "Teaching fine-tunes a copy of your model on them, each turned into many shifted, turned "
    "and rescaled variants, mixed with MNIST digits so that it does not forget MNIST. "
    f"{your_drawings.held_out_text(counts)} Takes under a minute."
)
teach = st.button(
    "Teach the model my handwriting",
    type="primary",
    icon=":material/school:",
    disabled=busy or total < your_drawings.MIN_DRAWINGS_TO_TEACH,
    help=None
    if total >= your_drawings.MIN_DRAWINGS_TO_TEACH
    else f"Answer at least {your_drawings.MIN_DRAWINGS_TO_TEACH} drawings on the Draw page.",
)
if teach:
    try:
        your_drawings.start_teaching(loaded)
    except (BusyError, MemoryRefusedError, ModelsDirError, ValueError) as error:
        st.warning(messages.for_visitor(str(error)), icon=":material/hourglass_top:")
    else:
        st.rerun()  # draw the page again as busy: the button off, the progress polling
snapshot = None if job is None else job.snapshot()
if snapshot is not None and snapshot.active:
    # The page shows only this session's run, so whoever sees the button started the run.
    run_controls.stop_button(job, "Stop teaching")
    # Only a page showing a fine-tune in progress reruns on a timer; an idle one never polls.
    st.fragment(teaching_progress, run_every=run_controls.LIVE_REFRESH_S)(job)
elif snapshot is not None and snapshot.status == "failed":
    st.error(messages.for_visitor(snapshot.message), icon=":material/error:")
elif snapshot is not None and snapshot.status == "stopped":
    st.info(
        "Teaching stopped. Nothing was saved, so your model is still the one you had: "
        f"{loaded.record.name}.",
        icon=":material/stop_circle:",
    )
elif snapshot is not None and snapshot.status == "finished":
    result = snapshot.result
    columns = st.columns(3)
    columns[0].metric(
        "MNIST test",
        f"{result.mnist_test_after:.2%}",
        delta=f"{(result.mnist_test_after - result.mnist_test_before) * 100:+.2f} points",
    )
    if result.held_out_after is not None:
        columns[1].metric(
            f"Your {result.drawings_held_out} held-out drawings",
            f"{result.held_out_after:.0%}",
            delta=f"{(result.held_out_after - result.held_out_before) * 100:+.0f} points",
        )
    else:
        columns[1].metric(
            "Your held-out drawings",
            "not measured",
            help="No digit had enough drawings to hold some out.",
        )
    columns[2].metric("Time", f"{result.seconds:.0f} s")

if total == 0:
    st.info(
        "No drawings yet. On the Draw page, draw a digit and answer with **Right** or the "
        "digit it really is, or import drawings you exported before (below).",
        icon=":material/draw:",
    )
else:
    scores_and_gallery(loaded, drawings)

# --- Export and import -------------------------------------------------------------------------

st.subheader("Export and import")
export_column, import_column = st.columns(2, gap="large")
export_column.download_button(
    "Export as .npz",
    disabled=total == 0,
    data=drawings.export_npz,  # built on click, not on every rerun
    file_name="my_drawings.npz",
    mime="application/octet-stream",
    icon=":material/download:",
    on_click="ignore",
    help="images (N, 28, 28) uint8 and labels (N,) uint8, for numpy.load",
)
with import_column:
    upload = st.file_uploader("Import an exported .npz", type=["npz"], key="import_drawings")
    styles.show_upload_errors()
    # Each uploaded file is imported once, however often the page reruns while it is shown.
    if upload is not None and st.session_state.get(IMPORTED) != upload.file_id:
        st.session_state[IMPORTED] = upload.file_id
        try:
            added = drawings.import_npz(upload.getvalue())
        except DrawingsFileError as error:
            st.error(str(error), icon=":material/broken_image:")
        except OSError as error:  # the drawings folder is full or not writable
            st.error(
                "Not imported, nothing was added: the drawings could not be saved "
                f"({error.strerror or type(error).__name__}).",
                icon=":material/error:",
            )
        else:
            st.session_state[your_drawings.LAST_SAVED] = (True, f"Imported {added} drawings.")
            st.rerun()
