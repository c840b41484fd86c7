"""The notebook: committed clean, and it runs top to bottom as a reader would run it.

The run trains for one epoch on a few thousand images (``NOTEBOOK_EPOCHS`` and
``NOTEBOOK_TRAIN_LIMIT``, read by the notebook's first cell) on ``$MNIST_NPZ`` when set
(CI: the full MNIST), else on the committed sample. The kernel is this interpreter's own
Python, from a kernel spec written for the test, so a ``python3`` kernel spec elsewhere on
the machine (another Python, another venv) cannot be picked up by mistake. The executed
notebook goes to a temporary folder, never back into the repository.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "mnist_cnn.ipynb"
SAMPLE_NPZ = ROOT / "tests" / "data" / "mnist_sample.npz"
BUNDLED_DIR = ROOT / "mnist_cnn" / "bundled"
KERNEL_NAME = "mnist-cnn-notebook-test"
TRAIN_LIMIT = 3000  # images; one epoch on these takes seconds and still learns a lot
CELL_TIMEOUT_S = 600
TEXT_TYPES = ("text/plain", "text/html")
PACKAGE_CALLS = (
    "load_mnist(",
    "prepare_images(",
    "build_model(",
    "train(",
    "evaluate(",
    "canvas_to_mnist(",
    "predict(",
    "load_model(",
)
PROBE = "import json, sys\nprint('PROBE ' + json.dumps({'prefix': sys.prefix}))"


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell_text(cell) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.extend(output.data[key] for key in TEXT_TYPES if key in output.data)
    return "\n".join(parts)


def png_count(cell) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def cell_running(nb, snippet: str):
    """The one code cell whose source contains ``snippet``."""
    (cell,) = [cell for cell in code_cells(nb) if snippet in cell.source]
    return cell


# --- The committed file --------------------------------------------------------------------


def test_notebook_is_valid_and_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in code_cells(nb):
        assert cell.outputs == [], f"clear the outputs before committing:\n{cell.source}"
        assert cell.execution_count is None, f"clear the execution counts:\n{cell.source}"


def test_first_code_cell_sets_up_colab_and_local_runs():
    first = code_cells(nbformat.read(NOTEBOOK, as_version=4))[0].source
    assert re.search(r'^REPO_URL = "https://github\.com/[^"]+"$', first, re.MULTILINE)
    assert '"google.colab" in sys.modules' in first
    assert 'f"git+{REPO_URL}"' in first
    # The notebook's own default is the full recipe; only the test shortens it.
    assert 'os.environ.get("NOTEBOOK_EPOCHS", "5")' in first


def test_notebook_uses_the_package_instead_of_copying_its_code():
    source = "\n".join(cell.source for cell in code_cells(nbformat.read(NOTEBOOK, as_version=4)))
    for call in PACKAGE_CALLS:
        assert f"mnist_cnn.{call}" in source, f"the notebook should call mnist_cnn.{call}...)"
    for copied in ("keras.layers", "Conv2D(", "model.fit(", "load_data(", "/ 255"):
        assert copied not in source, f"{copied!r}: use the package rather than copying its code"


# --- A run from top to bottom ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_npz() -> Path:
    # Absolute: the kernel runs in notebooks/, as Jupyter would.
    return Path(os.environ.get("MNIST_NPZ") or SAMPLE_NPZ).resolve()


@pytest.fixture(scope="module")
def executed(tmp_path_factory, mnist_npz):
    """The notebook after running every cell, plus a probe cell that reports the kernel."""
    work = tmp_path_factory.mktemp("notebook")
    kernels = work / "kernels"
    kernels.mkdir()
    write_kernel_spec(kernels / KERNEL_NAME)  # its argv is this sys.executable
    manager = KernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    env = {
        **os.environ,
        "MNIST_NPZ": str(mnist_npz),
        "NOTEBOOK_EPOCHS": "1",
        "NOTEBOOK_TRAIN_LIMIT": str(TRAIN_LIMIT),
        "MNIST_CNN_MODELS_DIR": str(work / "trained_models"),  # so load_model() is the bundled one
        # Figures must come back as PNG outputs: the inline backend, as in Jupyter and Colab
        # (a non-interactive MPLBACKEND=Agg from the environment would swallow them).
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # cwd, as in Jupyter
    )
    out = work / "mnist_cnn.executed.ipynb"
    try:
        client.execute(env=env)
    except CellExecutionError as error:
        nbformat.write(nb, out)
        pytest.fail(f"a notebook cell failed (executed notebook: {out}):\n{error}")
    nbformat.write(nb, out)
    return nb


def test_runs_in_this_python_on_the_checkout(executed):
    probe = cell_text(executed.cells[-1])
    reported = json.loads(probe.split("PROBE ", 1)[1])
    assert Path(reported["prefix"]).resolve() == Path(sys.prefix).resolve()
    setup = cell_text(cell_running(executed, "import mnist_cnn\n"))
    assert f"mnist_cnn from {ROOT / 'mnist_cnn'}" in setup
    assert "Epochs: 1, training images: 3000" in cell_text(code_cells(executed)[0])


def test_every_figure_is_drawn(executed):
    plotting = [cell for cell in code_cells(executed) if "plt.show()" in cell.source]
    assert len(plotting) >= 8
    for cell in plotting:
        assert png_count(cell) >= 1, f"no figure came out of:\n{cell.source}"


def test_shows_the_data_and_the_model(executed, mnist_npz):
    with np.load(mnist_npz) as npz:
        n_train = min(len(npz["y_train"]), TRAIN_LIMIT)
    loading = cell_text(cell_running(executed, "mnist_cnn.load_mnist()"))
    assert f"training images: ({n_train}, 28, 28) uint8" in loading
    preprocessing = cell_text(cell_running(executed, "mnist_cnn.prepare_images("))
    assert f"after:  ({n_train}, 28, 28, 1) float32 values 0.0..1.0" in preprocessing
    summary = cell_text(cell_running(executed, "model.summary()"))
    assert "Parameters: 121,930" in summary
    assert "conv2d" in summary.lower() and "dense" in summary.lower()


def test_trains_and_evaluates(executed, mnist_npz):
    training = cell_text(
        cell_running(executed, "result = mnist_cnn.train(x_train, y_train, config,")
    )
    assert re.search(r"^epoch 1/1: loss [\d.]+, accuracy [\d.]+, val_loss [\d.]+", training, re.M)
    assert "Trained 1 epochs" in training

    with np.load(mnist_npz) as npz:
        n_test = len(npz["y_test"])
    report = cell_text(cell_running(executed, "mnist_cnn.evaluate(model"))
    match = re.search(r"Test accuracy: ([\d.]+)% on ([\d,]+) test images", report)
    assert match, report
    assert int(match[2].replace(",", "")) == n_test
    assert float(match[1]) > 50  # one short epoch already learns far beyond chance (10%)
    assert "precision" in report and "Confusion matrix" in report

    confused = cell_text(cell_running(executed, "evaluation.most_confused("))
    assert re.search(r"^\d taken for \d: \d+ times$", confused, re.M)


def test_compares_the_seed_and_the_tuned_recipe(executed):
    comparison = cell_running(executed, "mnist_cnn.TrainConfig.tuned(")
    text = cell_text(comparison)
    for recipe in ("seed", "tuned"):
        assert re.search(rf"^{recipe} recipe: test accuracy [\d.]+%, trained in \d+ s$", text, re.M)
    assert png_count(comparison) == 1


def test_classifies_a_drawn_digit(executed):
    prediction = cell_text(cell_running(executed, "stages.centred[np.newaxis]"))
    assert re.search(r"^Prediction: \d \([\d.]+% confident\)$", prediction, re.M)
    every_digit = cell_text(cell_running(executed, "drawn_right = 0"))
    assert re.search(r"^\d+ of 10 drawn digits recognised$", every_digit, re.M)


def test_reads_a_composed_number(executed):
    cell = cell_running(executed, "mnist_cnn.read_number(photo)")
    assert re.search(r"^Wrote 2026, read 2026$", cell_text(cell), re.M), cell_text(cell)
    assert png_count(cell) == 1


def test_offers_the_pretrained_model(executed):
    pretrained = cell_text(cell_running(executed, "mnist_cnn.load_model()"))
    match = re.search(r"Pretrained model, test accuracy: ([\d.]+)%", pretrained)
    if match:
        assert float(match[1]) > 95
    else:  # only acceptable while no model is bundled
        assert not any(BUNDLED_DIR.rglob("*.keras")), pretrained
        assert "No pretrained model available" in pretrained
