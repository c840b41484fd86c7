"""Start and stop `streamlit run` servers for the browser tests (see conftest.py), the browser
benchmark and docs/screenshots.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE_NPZ = REPO / "tests" / "data" / "mnist_sample.npz"
# Importing TensorFlow on a busy 2-core machine takes a while; a broken server fails sooner.
SERVER_START_TIMEOUT_S = 180


@dataclass(frozen=True)
class Server:
    url: str
    models_dir: Path
    log: Path
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    models_dir: Path,
    log: Path,
    data: Path = SAMPLE_NPZ,
    script: str = "streamlit_app.py",
    env: dict[str, str] | None = None,
) -> Server:
    """Start `streamlit run script` and wait (bounded) until /_stcore/health is ok.

    The repository is on the server's PYTHONPATH, so a script outside its root (such as
    benchmarks/bare_draw_page.py) imports the package and the app's modules too. ``env`` adds
    settings (``{"MNIST_CNN_PUBLIC": "1"}`` for public mode).
    """
    port = free_port()
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "MNIST_NPZ": str(data),
        "MNIST_CNN_MODELS_DIR": str(models_dir),
        "PYTHONPATH": python_path,
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true", "--server.port", str(port),
        "--server.fileWatcherType", "none",  # nothing to reload; watching only costs CPU
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(f"http://localhost:{port}", models_dir, log, process)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_server(server)
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    stop_server(server)
    pytest.fail(
        f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
    )


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
