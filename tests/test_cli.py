import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_cnn.architecture import PRESETS, SEED, ModelSpec
from mnist_cnn.cli import build_parser, main, network_spec, train_config
from mnist_cnn.model import build_model
from mnist_cnn.store import bundled_record, save_model
from mnist_cnn.training import TrainConfig
from sketchbook.composed_numbers import compose, on_paper, sketch_digit_ink
from sketchbook.sketches import render_sketch


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "read", "models", "presets"])
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
    lines = output.splitlines()
    assert lines[:3] == [
        "Network: Seed: conv 32 3x3 + pool · conv 64 3x3 + pool · dense 64",
        "  121,930 parameters, 5.06 MFLOPs per digit (1.00x the seed CNN's)",
        "  shapes: 28x28x1 -> 26x26x32 -> 13x13x32 -> 11x11x64 -> 5x5x64 -> 1600 -> 64 -> 10",
    ]
    assert lines[3].startswith("Recipe: ")
    (folder,) = isolated_models_dir.iterdir()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["made_with"] == f"python -m mnist_cnn train --epochs 1 --data {sample_npz}"
    assert metadata["architecture"] == SEED.to_dict() and metadata["parameters"] == 121_930


def test_train_takes_the_tuned_recipe_and_records_it(sample_npz, isolated_models_dir, capsys):
    args = ["train", "--recipe", "tuned", "--epochs", "1", "--data", str(sample_npz)]
    assert main(args) == 0
    output = capsys.readouterr().out
    assert "Recipe: tuned recipe · 1 epoch · batch 64 · learning rate 0.005 (peak; " in output
    (folder,) = isolated_models_dir.iterdir()
    config = json.loads((folder / "metadata.json").read_text())["config"]
    assert config["recipe"] == "tuned" and config["schedule"] == "warmup_cosine"
    assert config["augmentation"] == "light" and config["epochs"] == 1


def test_options_change_the_chosen_recipe():
    parser = build_parser()
    tuned = train_config(parser.parse_args(["train", "--recipe", "tuned", "--no-augment"]))
    assert tuned.schedule == "warmup_cosine" and not tuned.augment and tuned.recipe == "custom"
    seed = train_config(parser.parse_args(["train", "--learning-rate", "0.002"]))
    assert seed.learning_rate == 0.002 and seed.schedule == "constant"
    drawn = train_config(
        parser.parse_args(["train", "--recipe", "tuned", "--augmentation", "drawn"])
    )
    assert drawn.augment and drawn.augmentation == "drawn"
    assert train_config(parser.parse_args(["train"])) == TrainConfig()


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


def test_evaluate_and_predict_find_ids_in_the_models_dir_that_models_lists(
    tmp_path, sample_npz, capsys
):
    """An id listed with ``models --models-dir X`` works with ``--model`` and the same X."""
    elsewhere = tmp_path / "elsewhere"
    key = "20260101T000000000000Z"
    shutil.copytree(bundled_record().folder, elsewhere / key)  # a good model, cheaply
    assert main(["models", "--json", "--models-dir", str(elsewhere)]) == 0
    assert key in [m["id"] for m in json.loads(capsys.readouterr().out)]

    seven = tmp_path / "seven.png"
    Image.fromarray(render_sketch(7)).save(seven)
    assert main(["predict", str(seven), "--model", key, "--models-dir", str(elsewhere)]) == 0
    assert capsys.readouterr().out.startswith(f"{seven}: 7 (")
    evaluate = ["evaluate", "--model", key, "--data", str(sample_npz)]
    assert main([*evaluate, "--models-dir", str(elsewhere)]) == 0
    assert "Test accuracy:" in capsys.readouterr().out
    # Without the folder the id means nothing ($MNIST_CNN_MODELS_DIR is another, empty folder).
    assert main(evaluate) == 2 and "No model with id" in capsys.readouterr().err
    assert main(["predict", str(seven), "--model", key]) == 2
    assert "No model with id" in capsys.readouterr().err


def test_the_default_model_comes_from_the_models_dir(tmp_path, sample_npz, capsys):
    untrained = save_model(build_model(), {}, tmp_path / "elsewhere")  # scores near chance
    evaluate = ["evaluate", "--data", str(sample_npz)]
    assert main([*evaluate, "--models-dir", str(untrained.folder.parent)]) == 0
    by_default = capsys.readouterr().out
    assert main([*evaluate, "--model", str(untrained.model_file)]) == 0
    assert capsys.readouterr().out == by_default
    assert main(evaluate) == 0  # the bundled model: a different score
    assert capsys.readouterr().out != by_default


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


def test_models_lists_ids_for_people_and_scripts(sample_npz, isolated_models_dir, capsys):
    assert main(["train", "--epochs", "1", "--data", str(sample_npz)]) == 0
    (folder,) = isolated_models_dir.iterdir()
    capsys.readouterr()
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "made", "test", "acc", "network", "recipe"]
    assert lines[1].startswith("bundled ") and " 10 epochs · " in lines[1]
    assert "  Seed · 121,930 parameters  " in lines[1]
    assert lines[2].startswith(folder.name) and " 1 epoch · " in lines[2]
    assert "  Seed · 121,930 parameters  " in lines[2]
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in listed] == ["bundled", folder.name]
    assert listed[1]["config"]["epochs"] == 1 and 0 < listed[1]["test_accuracy"] <= 1
    assert listed[1]["parameters"] == 121_930 and listed[1]["architecture"] == SEED.to_dict()
    assert main(["evaluate", "--model", folder.name, "--data", str(sample_npz)]) == 0
    assert f"{listed[1]['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["evaluate", "--model", "no-such-id", "--data", str(sample_npz)]) == 2
    assert "No model with id 'no-such-id'" in capsys.readouterr().err


def test_train_a_preset_says_its_network_and_models_lists_it(
    sample_npz, isolated_models_dir, capsys
):
    assert main(["train", "--preset", "tiny", "--epochs", "1", "--data", str(sample_npz)]) == 0
    output = capsys.readouterr().out
    assert output.startswith(
        "Network: Tiny: conv 8 3x3 + pool · conv 16 3x3 + pool\n"
        "  5,258 parameters, 0.38 MFLOPs per digit (0.08x the seed CNN's)\n"
    )
    assert "Test accuracy:" in output
    (folder,) = isolated_models_dir.iterdir()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["architecture"] == PRESETS["tiny"].to_dict()
    assert metadata["parameters"] == 5_258
    assert main(["models"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if folder.name in line]
    assert "  Tiny · 5,258 parameters  " in line


def test_train_a_network_from_a_spec_file(sample_npz, isolated_models_dir, tmp_path, capsys):
    spec_file = tmp_path / "small.json"
    spec_file.write_text(
        json.dumps({"conv_blocks": [{"filters": 4}], "dense_layers": [{"units": 16}]})
    )
    args = ["train", "--spec", str(spec_file), "--epochs", "1", "--data", str(sample_npz)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "Network: Custom: conv 4 3x3 + pool · dense 16",
        "  11,042 parameters, 0.07 MFLOPs per digit (0.01x the seed CNN's)",
        "  shapes: 28x28x1 -> 26x26x4 -> 13x13x4 -> 676 -> 16 -> 10",
    ]
    (folder,) = isolated_models_dir.iterdir()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["parameters"] == 11_042  # what Keras counted in the built model
    assert ModelSpec.from_dict(metadata["architecture"]) == ModelSpec.from_dict(
        json.loads(spec_file.read_text())
    )
    assert metadata["architecture"]["preset"] == "custom"
    assert main(["models", "--json"]) == 0
    (listed,) = [m for m in json.loads(capsys.readouterr().out) if m["id"] == folder.name]
    assert listed["parameters"] == 11_042 and listed["architecture"]["preset"] == "custom"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it (No such file or directory)"),
        ("conv 32, dense 64", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        (
            json.dumps({"conv_blocks": [{"filters": 8}] * 4}),
            "not a network spec: conv block 4 (3x3, no padding) would shrink its maps below 1x1",
        ),
        (
            json.dumps({"conv_blocks": [{"filters": 8, "size": 3}]}),
            "not a network spec: conv_blocks item 1: unknown keys size",
        ),
        (json.dumps([{"filters": 8}]), "not a network spec: a network spec is a JSON object"),
    ],
    ids=["missing", "not-json", "maps-below-1x1", "unknown-key", "not-an-object"],
)
def test_a_bad_spec_file_is_a_one_line_error_before_anything_runs(
    sample_npz, isolated_models_dir, tmp_path, capsys, content, message
):
    spec_file = tmp_path / "network.json"
    if content is not None:
        spec_file.write_text(content)
    args = ["train", "--spec", str(spec_file), "--epochs", "1", "--data", str(sample_npz)]
    assert main(args) == 2
    output = capsys.readouterr()
    assert output.out == ""
    (line,) = output.err.splitlines()
    assert line.startswith(f"error: --spec {spec_file}: {message}")
    assert not isolated_models_dir.exists() or not any(isolated_models_dir.iterdir())


def test_the_network_is_a_preset_or_a_spec_file_never_both(tmp_path):
    parser = build_parser()
    assert network_spec(parser.parse_args(["train"])) == SEED
    assert network_spec(parser.parse_args(["train", "--preset", "lenet5"])) == PRESETS["lenet5"]
    done = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "train", "--preset", "tiny", "--spec", "x.json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "argument --spec: not allowed with argument --preset" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "train", "--preset", "huge"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "argument --preset: invalid choice: 'huge'" in done.stderr


def test_presets_lists_each_network_with_its_size_cost_and_shapes(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "preset",
        "network",
        "parameters",
        "FLOPs",
        "per",
        "digit",
        "x",
        "seed",
    ]
    rows = {line.split()[0]: line for line in lines[1:] if not line.startswith(" ")}
    assert list(rows) == list(PRESETS)
    assert rows["seed"].split() == ["seed", "Seed", "121,930", "5.06", "MFLOPs", "1.00"]
    assert rows["tiny"].split() == ["tiny", "Tiny", "5,258", "0.38", "MFLOPs", "0.08"]
    assert rows["dense"].split() == ["dense", "Dense", "only", "109,386", "0.22", "MFLOPs", "0.04"]
    assert "  shapes: 28x28x1 -> 784 -> 128 -> 64 -> 10" in lines
    assert main(["presets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == list(PRESETS)
    for entry in listed:  # each "spec" is a file --spec reads back as that preset
        assert ModelSpec.from_dict(entry["spec"]) == PRESETS[entry["name"]]
        assert entry["parameters"] == PRESETS[entry["name"]].parameters
    assert listed[2]["label"] == "Wide" and listed[2]["flops_vs_seed"] == 3.8455


def test_train_into_an_unwritable_folder_fails_before_training(sample_npz, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ["train", "--epochs", "1", "--data", str(sample_npz), "--models-dir", f"{blocker}/m"]
    assert main(args) == 2
    output = capsys.readouterr()
    assert "epoch 1/1" not in output.out
    assert "Set MNIST_CNN_MODELS_DIR to a writable folder" in output.err


def test_predict_refuses_images_over_the_pixel_cap(tmp_path, capsys):
    big = tmp_path / "big.png"
    Image.new("L", (2500, 2000)).save(big)
    assert main(["predict", str(big)]) == 1
    assert "more than the 4 megapixels" in capsys.readouterr().err


def composed_photo(text: str) -> np.ndarray:
    ink = compose([sketch_digit_ink(int(d)) for d in text], "apart", np.random.default_rng(0))
    return on_paper(ink, np.random.default_rng(0))


def test_read_prints_the_number_and_each_digit(tmp_path, capsys):
    path = tmp_path / "year.png"
    Image.fromarray(composed_photo("2026")).save(path)
    assert main(["read", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{path}: 2026")
    assert [line.split()[0] for line in lines[1:]] == ["2", "0", "2", "6"]
    assert all("%" in line and " at (" in line for line in lines[1:])


def test_read_json_gives_the_number_digits_and_boxes(tmp_path, capsys):
    path = tmp_path / "number.png"
    Image.fromarray(composed_photo("317")).save(path)
    assert main(["read", str(path), "--json", "--model", str(bundled_record().model_file)]) == 0
    reading = json.loads(capsys.readouterr().out)
    assert reading["text"] == "317" and reading["reason"] == ""
    assert [d["digit"] for d in reading["digits"]] == [3, 1, 7]
    lefts = [d["box"][0] for d in reading["digits"]]
    assert lefts == sorted(lefts)
    assert all(0.0 <= d["confidence"] <= 1.0 for d in reading["digits"])


def test_read_says_why_a_blank_image_has_no_number(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 300), 240, np.uint8)).save(blank)
    assert main(["read", str(blank)]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"{blank}: No writing found: nothing stands out from the background."
    )
    assert main(["read", str(blank), "--json"]) == 0
    reading = json.loads(capsys.readouterr().out)
    assert reading["text"] == "" and reading["digits"] == [] and "No writing" in reading["reason"]


def test_read_reports_an_unreadable_file(tmp_path, capsys):
    text = tmp_path / "number.png"
    text.write_text("not an image")
    assert main(["read", str(text)]) == 1
    assert "not an image that can be read" in capsys.readouterr().err
