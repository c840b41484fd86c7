"""The installed package is the product alone: ``mnist_cnn`` never imports ``sketchbook`` (the
made-up drawings and the detector's training side), and only ``mnist_cnn`` is packaged."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "mnist_cnn"
OUTSIDE = "sketchbook"
# Importing it runs the command line, so the walk below leaves it out.
ENTRY_POINT = "mnist_cnn.__main__"
# Imports every engine module and every public name, then says what was loaded. Run from the
# repository root, where ``sketchbook`` could be imported: nothing may ask for it.
EVERY_ENGINE_MODULE = f"""
import importlib, json, pkgutil, sys
import mnist_cnn
names = [m.name for m in pkgutil.walk_packages(mnist_cnn.__path__, "mnist_cnn.")]
for name in names:
    if name != {ENTRY_POINT!r}:
        importlib.import_module(name)
for name in mnist_cnn.__all__:
    getattr(mnist_cnn, name)
print(json.dumps({{"walked": names, "loaded": sorted(sys.modules)}}))
"""


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, at any depth (a function's lazy imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_engine_file_imports_the_sketchbook() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 20  # the whole engine, not an empty glob
    for path in files:
        outside = {name for name in imported_names(path) if name.split(".")[0] == OUTSIDE}
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_importing_the_whole_engine_loads_nothing_from_the_sketchbook() -> None:
    done = subprocess.run(
        [sys.executable, "-c", EVERY_ENGINE_MODULE], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    modules = {path.stem for path in ENGINE.glob("*.py")} - {"__init__"}
    assert {name.removeprefix("mnist_cnn.") for name in report["walked"]} == modules
    assert [n for n in report["loaded"] if n.split(".")[0] == OUTSIDE] == []


def test_only_the_engine_is_packaged() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    assert setuptools["packages"] == ["mnist_cnn"]
    assert (ENGINE / "digit_check.npz").is_file()  # the detector's weights ship with the engine
    assert "digit_check.npz" in setuptools["package-data"]["mnist_cnn"]
