"""Every patch of a dependency's private state still finds what it patches, in the versions it
was checked against: when a pin moves, these fail loudly until each patch is checked again (the
README's "Moving the pinned versions")."""

from __future__ import annotations

import ast
import inspect
import os
import platform
from importlib.metadata import version
from pathlib import Path

import tensorflow as tf
from streamlit import config
from streamlit.runtime.scriptrunner import script_runner
from tensorflow.python.framework import ops

from mnist_cnn import compat as engine_compat
from studio import compat as studio_compat

ROOT = Path(__file__).resolve().parents[1]
COMPAT_MODULES = (engine_compat, studio_compat)


def pinned_versions() -> dict[str, str]:
    """requirements.txt's exact pins, package -> version."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            name, pinned = requirement.split("==")
            pins[name.lower()] = pinned
    return pins


def checked_versions() -> dict[str, dict[str, str]]:
    """Each patch's ``*_CHECKED_WITH``, keyed by module and name."""
    return {
        f"{module.__name__}.{name}": value
        for module in COMPAT_MODULES
        for name, value in vars(module).items()
        if name.endswith("_CHECKED_WITH")
    }


# --- Every patch, its versions ---------------------------------------------------------------


def test_every_patch_was_checked_with_the_pinned_and_installed_versions() -> None:
    pins = pinned_versions()
    patches = checked_versions()
    assert len(patches) == 6  # the gradient registry, malloc_trim; four in the studio
    for patch, versions in patches.items():
        assert versions, f"{patch} names no version"
        for package, checked in versions.items():
            if package not in pins:  # not a Python package: glibc
                continue
            assert pins[package] == checked, (
                f"requirements.txt pins {package}=={pins[package]}, but {patch} was checked "
                f"with {checked}: check the patch again, then update {patch}."
            )
            assert version(package) == checked, f"{package} {version(package)} is installed"


# --- mnist_cnn/compat.py ---------------------------------------------------------------------


def test_tensorflow_keeps_custom_gradients_in_the_registry_the_release_empties() -> None:
    assert isinstance(ops._gradient_registry._registry, dict)
    before = engine_compat.custom_gradient_names()

    @tf.custom_gradient
    def doubled(x):
        return 2.0 * x, lambda upstream: 2.0 * upstream

    tf.function(doubled).get_concrete_function(tf.TensorSpec((), tf.float32))
    registered = engine_compat.custom_gradient_names() - before
    assert len(registered) == 1, registered
    assert registered <= set(ops._gradient_registry._registry)
    engine_compat.drop_custom_gradients(registered)
    assert engine_compat.custom_gradient_names() == before


def test_malloc_trim_is_found_exactly_where_glibc_is() -> None:
    trim = engine_compat._malloc_trim()
    assert (trim is not None) == (platform.libc_ver()[0] == "glibc")
    if trim is not None:
        assert trim(0) in (0, 1)  # 1: memory was given back, 0: there was none to give


# --- studio/compat.py ------------------------------------------------------------------------


def test_streamlit_still_clears_keras_in_the_hook_the_patch_replaces() -> None:
    tree = ast.parse(inspect.getsource(script_runner))
    (hook,) = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "_clean_problem_modules"
    ]
    assert not hook.args.args and not hook.args.kwonlyargs  # called with no arguments
    assert "clear_session" in ast.unparse(hook)
    # Looked up by name when a run ends, so replacing the module's attribute takes effect.
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and any(getattr(arg, "id", None) == "_clean_problem_modules" for arg in node.args)
    ]
    assert calls, "the script runner no longer calls _clean_problem_modules by name"
    studio_compat.keep_keras_state_between_runs()
    assert script_runner._clean_problem_modules is studio_compat._keep_keras_state


def test_streamlit_still_collects_all_garbage_after_every_run() -> None:
    assert config.get_option("runner.postScriptGC") is True
    assert "gc.collect(2)" in inspect.getsource(script_runner.ScriptRunner)


def test_the_start_up_filter_passes_on_everything_but_the_noise(capfd) -> None:
    noise = f"{studio_compat.START_UP_NOISE[1]}: a notice\n"
    with studio_compat.start_up_noise_filtered():
        os.write(2, f"{noise}a real warning\n".encode())
        assert capfd.readouterr().err == ""  # held back while the block runs
    assert capfd.readouterr().err == "a real warning\n"
