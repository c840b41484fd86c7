import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_cnn.cli import main
from mnist_cnn.sketches import render_sketch


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_help_for_each_command(command):
    done = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", command, "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert f"usage: python -m mnist_cnn {command}" in done.stdout


def test_train_saves_a_model_that_says_how_it_was_made(sample_npz, isolated_models_dir, capsys):
    assert main(["train", "--epochs", "1", "--data", str(sample_npz)]) == 0
    output = capsys.readouterr().out
    assert "epoch 1/1: loss" in output and "Test accuracy:" in output
    (folder,) = isolated_models_dir.iterdir()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["made_with"] == f"python -m mnist_cnn train --epochs 1 --data {sample_npz}"


def test_evaluate_prints_accuracy_report_and_confusion_matrix(sample_npz, capsys):
    assert main(["evaluate", "--data", str(sample_npz)]) == 0
    output = capsys.readouterr().out
    assert "Test accuracy:" in output and "(300 images)" in output
    assert "precision" in output and "Confusion matrix" in output


def test_predict_reads_drawn_digits(tmp_path, capsys):
    paths = []
    for digit in (3, 7):
        path = tmp_path / f"digit{digit}.png"
        Image.fromarray(render_sketch(digit)).save(path)
        paths.append(path)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(blank)
    assert main(["predict", *map(str, paths), str(blank)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{paths[0]}: 3 (") and lines[1].startswith(f"{paths[1]}: 7 (")
    assert lines[2] == f"{blank}: no digit found (the image is blank)"


def test_predict_reports_unreadable_files(tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert main(["predict", str(text)]) == 1
    assert "not an image that can be read" in capsys.readouterr().err


def test_bad_data_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert main(["evaluate", "--data", str(tmp_path / "missing.npz")]) == 2
    assert capsys.readouterr().err.startswith("error: MNIST file not found")


def test_corrupt_model_file_is_a_clear_error(tmp_path, sample_npz, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"junk")
    assert main(["evaluate", "--model", str(broken), "--data", str(sample_npz)]) == 2
    assert "corrupt or not a Keras model" in capsys.readouterr().err
