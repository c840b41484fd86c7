"""Does the real server survive Streamlit Community Cloud's smallest box at public mode's
heaviest load?

    python benchmarks/bench_cloud_box.py [--scenario load|visitors] [--memory-mb 690]
        [--cpus 1] [--visitors N] [--duration S] [--epochs 1] [--batch-size 256] [--augment]
        [--data PATH]
    python benchmarks/bench_cloud_box.py --matrix

Why: Community Cloud gives an app a box of about 690 MB (1 GB on some plans) and kills the
whole app when it goes over; every visitor then sees "Connection error" until it restarts. The
other benchmarks measure memory from outside, on this machine's 24 GB; this one puts the real
server (`streamlit run streamlit_app.py`, public mode, the full MNIST) inside a memory cgroup
of that size, with no swap and optionally a one-core CPU quota, and drives it with headless
Chromium visitors, so that a run that goes over is killed by the kernel exactly as on the
Cloud. MNIST_CNN_MEMORY_MB is left unset: the app reads its budget from the cgroup itself.

Scenarios (each configuration gets a fresh server in a fresh cgroup):

- ``load`` (default, --visitors 4): one visitor starts a training run on the Train page as the
  run begins (--epochs, and the page's seed recipe but for --batch-size and --augment); one,
  who drew and answered 10 digits beforehand, starts teaching on the Your drawings page 5 s
  later, so that both run at once; the rest draw a digit every 2 s on the Draw page, opening
  the Evaluate and Inside pages once each meanwhile. It lasts until training and teaching have
  both ended (or been refused), or --duration (default 360 s) has passed.
- ``visitors`` (--visitors N, default 5): N visitors only drawing, a digit every 2 s each, for
  --duration (default 60 s).
- ``--matrix``: load at 690 and 1024 MB with all cores and with 1 CPU, then visitors 5, 10 and
  20 at 690 MB with all cores.

Stroke -> answer is timed in the browser's own clock, as bench_browser.py does: from the
stroke's mouseup to the "Prediction" metric appearing. A drawing with no answer within 15 s, a
Streamlit exception box or a "Connection error" counts as an error, and so does a first page
that did not load within 60 s (retried up to 3 times). Reported per configuration: memory three
ways, OOM kills (the kernel's count), whether the server died, the CPU it used (in cores, over
the run), each visitor's answers, errors and p50/p95 latency, tracebacks in the server's log,
how the training and teaching runs ended, and any queue or refusal message (QUEUE_OR_REFUSAL)
the Train or Your drawings page showed. A markdown table, one row per configuration, ends it.

The memory figures: the cgroup's peak (the kernel's, what the limit is checked against; it
includes page cache, which the kernel reclaims before it kills), the peak of its anonymous
memory (memory.stat, sampled: what cannot be reclaimed without swap, so what an OOM kill is
about), and the server's peak resident memory (sampled; counts shared libraries in full, so it
can exceed the cgroup's figure). A page is charged to the cgroup that read it first, so before
each server starts the machine's clean page cache is dropped (as root; --warm-cache keeps it):
the box then pays for TensorFlow's libraries, as a fresh Cloud container does.

The cgroup is made inside the one this script runs in (v1: memory.limit_in_bytes and
memory.memsw.limit_in_bytes, cpu.cfs_quota_us; v2: memory.max, memory.swap.max, cpu.max) and
removed at the end, its processes killed first, even on Ctrl-C. Without root or a memory
controller it says so and exits 0 without figures. The browsers run outside the cgroup, on the
same machine: with all cores they compete with the server for the CPU, as they would not on the
Cloud, so the latencies are an upper bound. On 2 cores, 10 or 20 Chromiums are themselves most
of the load: high latencies while the server used well under its cores mean the browsers, not
the server, were the bottleneck. Everything goes to localhost only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
# This file runs as a script: the package, and the browser tests' helpers, go on the path.
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from bench_browser import INSTRUMENT, ONE_STROKE_DIGITS, clear  # noqa: E402  (benchmarks/)
from bench_browser import prediction as prediction_metric  # noqa: E402
from browser_support import (  # noqa: E402
    MATRIX_SQUARES,
    VIEWPORT,
    draw_digit,
    launch_chromium,
    open_app,
    show_canvas,
    wait_until_idle,
)
from peak_memory import PeakMemory  # noqa: E402
from streamlit_server import (  # noqa: E402
    SAMPLE_NPZ,
    SERVER_START_TIMEOUT_S,
    Server,
    free_port,
    stop_server,
)
from test_browser import start_training  # noqa: E402
from test_your_drawings import answer, open_your_drawings  # noqa: E402

# What the Train or Your drawings page says when a run has to wait for memory (QUEUED), or is
# refused (REFUSED: the watch of that run then ends). Matched case-insensitively, line by line.
QUEUED = r"starts when"
REFUSED = r"not enough memory|memory.*this server|this server.*memory"
QUEUE_OR_REFUSAL = re.compile(f"{QUEUED}|{REFUSED}", re.IGNORECASE)

MB = 1024 * 1024
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "bench-cloud-box"
CPU_PERIOD_US = 100_000
MEMORY_ENV = "MNIST_CNN_MEMORY_MB"  # unset, so that the app reads the cgroup's limit
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
FREE_PAGE_CACHE = "1"  # drop_caches: clean page cache only

DRAW_EVERY_S = 2.0
ANSWER_TIMEOUT_MS = 15_000  # a drawing without an answer by then is an error
EXPECT_TIMEOUT_MS = 60_000  # page loads and clicks on a busy 2-core machine
READY_TIMEOUT_S = 300  # every visitor's first page shown (20 browsers start slowly)
OPEN_STAGGER_S = 1.0  # between visitors' first visits, so 20 do not all land at once
OPEN_ATTEMPTS = 3  # at a visitor's first page (each failure is one of its errors)
POLL_S = 1.0  # how often the trainer and the teacher read their page
SAMPLE_EVERY_S = 0.25  # the server's resident memory, for its peak
JOIN_TIMEOUT_S = 120  # for the visitors to wind up once the run is over
KILL_TIMEOUT_S = 10
MAX_DRAWINGS = 1_000  # per visitor: a bound on the loop, never reached at one every 2 s
MAX_PROBLEMS = 3  # errors described per visitor
MESSAGE_CHARS = 240  # of a page's message kept for the report
DEFAULT_VISITORS = {"load": 4, "visitors": 5}
DEFAULT_DURATION_S = {"load": 360, "visitors": 60}  # load: the most it may last

# In the load scenario each drawer opens these pages, in turn (the second drawer the other way
# round), at these seconds into the run plus VISIT_STAGGER_S per drawer: while training runs.
PAGES_TO_VISIT = ("Evaluate", "Inside")
VISIT_AT_S = (8, 20)
VISIT_STAGGER_S = 4
TEACH_DRAWINGS = 10  # studio/your_drawings.MIN_DRAWINGS_TO_TEACH
# The teacher answers its drawings before the run begins, and presses Teach this long into it,
# as the trainer presses Start at once: teaching then starts during the training run (past its
# start-up, into its batches), the heaviest moment, rather than after a 1-epoch run has ended.
TEACH_AFTER_S = 5.0
# The Train page's "Batch size" options: a copy of mnist_cnn.training.BATCH_SIZES, because this
# driver stays free of TensorFlow (tests/test_training.py checks the two agree).
BATCH_SIZES = (16, 32, 64, 128, 256)
TRAINING_OUTCOMES = {"finished": "Training finished", "stopped": "Training stopped"}
TEACHING_OUTCOMES = {"finished": "Taught on your handwriting", "stopped": "Teaching stopped"}
EXCEPTION_BOX = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
CONNECTION_ERROR = "Connection error"

# The table: (scenario, memory MB, CPUs (None: all), visitors).
MATRIX = (
    ("load", 690, None, 4),
    ("load", 690, 1.0, 4),
    ("load", 1024, None, 4),
    ("load", 1024, 1.0, 4),
    ("visitors", 690, None, 5),
    ("visitors", 690, None, 10),
    ("visitors", 690, None, 20),
)


# --- The box: a memory cgroup, and a CPU quota -------------------------------------------------


class CgroupError(Exception):
    """No cgroup can be made here: the reason, for the one line printed instead of figures."""


def own_cgroup(controller: str | None) -> str:
    """This process's cgroup path from /proc/self/cgroup: in the v1 hierarchy that has
    ``controller``, or (None) the v2 one."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or controller in controllers.split(","):
            return path
    raise CgroupError(f"no {controller or 'v2'} cgroup in /proc/self/cgroup")


def write(path: Path, value: object) -> None:
    try:
        path.write_text(f"{value}\n")
    except OSError as error:
        raise CgroupError(f"cannot write {value} to {path}: {error.strerror}") from error


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_field(path: Path, name: str) -> int | None:
    """``name``'s value in a flat-keyed file such as memory.oom_control or memory.events."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    values = dict(line.split(maxsplit=1) for line in lines if " " in line)
    return int(values[name]) if name in values else None


def make_folder(path: Path) -> None:
    try:
        path.mkdir()
    except OSError as error:
        raise CgroupError(f"cannot make {path}: {error.strerror}") from error


class Box:
    """A memory cgroup (and, with ``cpus``, a CPU quota), made inside this process's own.

    ``folders`` are the cgroup's folders (one per v1 hierarchy; one in v2), the first of
    them the memory one; processes join by writing their pid to each one's cgroup.procs.
    """

    folders: list[Path]

    def __init__(self, name: str, memory_mb: int, cpus: float | None) -> None:
        self.name, self.memory_mb, self.cpus = name, memory_mb, cpus
        self.folders = []

    @property
    def memory(self) -> Path:
        return self.folders[0]

    def join_command(self) -> str:
        """Shell words that put the shell itself ($$) into the box, before it execs."""
        return " && ".join(
            f"echo $$ > {shlex.quote(str(folder / 'cgroup.procs'))}" for folder in self.folders
        )

    def pids(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.memory / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self) -> list[str]:
        """Kill whatever is still inside, then remove the folders; what could not be done."""
        problems = []
        for folder in reversed(self.folders):
            if not folder.exists():
                continue
            kill_all(folder)
            try:
                folder.rmdir()
            except OSError as error:
                problems.append(f"could not remove {folder}: {error.strerror}")
        return problems


class BoxV1(Box):
    """cgroup v1: /sys/fs/cgroup/memory/... and, with a CPU quota, /sys/fs/cgroup/cpu/..."""

    def create(self) -> None:
        self.folders = []
        memory = CGROUP_ROOT / "memory" / own_cgroup("memory").lstrip("/") / self.name
        make_folder(memory)
        self.folders.append(memory)
        limit = self.memory_mb * MB
        write(memory / "memory.limit_in_bytes", limit)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # memory + swap: no swap at all
            write(memory / "memory.memsw.limit_in_bytes", limit)
        if self.cpus is not None:
            cpu = CGROUP_ROOT / "cpu" / own_cgroup("cpu").lstrip("/") / self.name
            make_folder(cpu)
            self.folders.append(cpu)
            write(cpu / "cpu.cfs_period_us", CPU_PERIOD_US)
            write(cpu / "cpu.cfs_quota_us", round(self.cpus * CPU_PERIOD_US))

    def peak_mb(self) -> float | None:
        peak = read_int(self.memory / "memory.max_usage_in_bytes")
        return None if peak is None else peak / MB

    def anon_mb(self) -> float:
        return (read_field(self.memory / "memory.stat", "rss") or 0) / MB

    def oom_kills(self) -> int | None:
        kills = read_field(self.memory / "memory.oom_control", "oom_kill")
        if kills is None:  # kernels before 4.13: how often the limit was hit, at least
            kills = read_int(self.memory / "memory.failcnt")
        return kills


class BoxV2(Box):
    """cgroup v2: one folder with memory.max, memory.swap.max and cpu.max."""

    def create(self) -> None:
        parent = CGROUP_ROOT / own_cgroup(None).lstrip("/")
        wanted = ["memory"] + (["cpu"] if self.cpus is not None else [])
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        for controller in wanted:
            if controller not in enabled:
                write(parent / "cgroup.subtree_control", f"+{controller}")
        folder = parent / self.name
        make_folder(folder)
        self.folders = [folder]
        write(folder / "memory.max", self.memory_mb * MB)
        if (folder / "memory.swap.max").exists():
            write(folder / "memory.swap.max", 0)
        if self.cpus is not None:
            write(folder / "cpu.max", f"{round(self.cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")

    def peak_mb(self) -> float | None:
        peak = read_int(self.memory / "memory.peak")  # Linux 5.19 and later
        return None if peak is None else peak / MB

    def anon_mb(self) -> float:
        return (read_field(self.memory / "memory.stat", "anon") or 0) / MB

    def oom_kills(self) -> int | None:
        return read_field(self.memory / "memory.events", "oom_kill")


def make_box(memory_mb: int, cpus: float | None) -> Box:
    """An empty box of this size, or CgroupError saying why none can be made here."""
    if os.geteuid() != 0:
        raise CgroupError("not root")
    name = f"{CGROUP_PREFIX}-{os.getpid()}-{time.monotonic_ns()}"
    kind = BoxV2 if (CGROUP_ROOT / "cgroup.controllers").exists() else BoxV1
    if kind is BoxV1 and not (CGROUP_ROOT / "memory").is_dir():
        raise CgroupError(f"no memory controller mounted at {CGROUP_ROOT / 'memory'}")
    box = kind(name, memory_mb, cpus)
    try:
        box.create()
    except (CgroupError, OSError) as error:
        box.remove()  # what was made before the failure
        raise CgroupError(str(error)) from error
    return box


def kill_all(folder: Path) -> None:
    """SIGKILL every process left in a cgroup folder (the server and its children only)."""
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            pids = [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def box_cpu_s(box: Box) -> float:
    """CPU seconds (user and system) used so far by the processes in the box."""
    total = 0.0
    for pid in box.pids():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def box_rss_mb(box: Box) -> float:
    """Resident memory of every process in the box."""
    total = 0
    for pid in box.pids():
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total / MB


# --- The server, inside the box ----------------------------------------------------------------


class ServerStartError(Exception):
    pass


def start_boxed_server(box: Box, data: Path, workdir: Path) -> Server:
    """`streamlit run streamlit_app.py` in public mode, joining the box before it execs, so
    that everything it loads and every child it starts is counted; waits until healthy."""
    port = free_port()
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "MNIST_CNN_PUBLIC": "1",
        "MNIST_NPZ": str(data),
        "MNIST_CNN_MODELS_DIR": str(workdir / "trained_models"),
        "PYTHONPATH": python_path,
    }
    env.pop(MEMORY_ENV, None)
    streamlit = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.headless", "true", "--server.port", str(port),
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    command = ["sh", "-c", f'{box.join_command()} && exec "$@"', "sh", *streamlit]
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(f"http://localhost:{port}", workdir / "trained_models", log, process)
    wait_until_healthy(server)
    return server


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"the server exited with {server.process.returncode} while starting:\n"
                + server.log.read_text()[-3000:]
            )
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise ServerStartError(f"the server was not healthy after {SERVER_START_TIMEOUT_S} s")


# --- Visitors ----------------------------------------------------------------------------------


@dataclass
class Visitor:
    """One visitor's figures. Written by its own thread only, read once it has ended."""

    name: str
    role: str  # "trainer", "teacher" or "drawer"
    latencies_ms: list[float] = field(default_factory=list)
    recognised: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # "Evaluate 6 s"
    outcome: str = "-"  # how the trainer's or the teacher's run ended
    queue_message: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(one_line(what, MESSAGE_CHARS))

    def answered(self, latency_ms: float, right: bool) -> None:
        self.latencies_ms.append(latency_ms)
        self.recognised += right


@dataclass
class Run:
    """What the visitors share: the server, when the measured part began, and when to stop."""

    server: Server
    go: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    training_ended: threading.Event = field(default_factory=threading.Event)
    teaching_ended: threading.Event = field(default_factory=threading.Event)
    started: float = 0.0  # time.monotonic() at go

    def runs_ended(self) -> bool:
        return self.training_ended.is_set() and self.teaching_ended.is_set()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait_for_go(self, visitor: Visitor) -> None:
        visitor.ready.set()
        while not self.go.wait(0.5):
            if self.stop.is_set():
                return

    def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the run is over."""
        self.stop.wait(max(seconds, 0.0))


Behaviour = Callable[[Run, Visitor, Page], None]


def visit(run: Run, visitor: Visitor, behaviour: Behaviour, delay_s: float) -> None:
    """A visitor's thread: its own Playwright and Chromium (Playwright's sync API is one per
    thread), one context, one tab; whatever goes wrong becomes one of its errors."""
    try:
        run.pause(delay_s)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                context = browser.new_context(viewport=VIEWPORT)
                context.set_default_timeout(EXPECT_TIMEOUT_MS)
                behaviour(run, visitor, context.new_page())
            finally:
                browser.close()
    except Exception as error:  # a visitor's failure is one of its figures, not a crash
        if not run.stop.is_set():
            visitor.error(f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}")
    finally:
        visitor.ready.set()


def page_trouble(page: Page) -> str | None:
    """Streamlit's exception box or its "Connection error" dialog, if the page shows one."""
    if page.locator(EXCEPTION_BOX).count():
        return "exception box: " + page.locator(EXCEPTION_BOX).first.inner_text()
    if page.get_by_text(CONNECTION_ERROR).count():
        return CONNECTION_ERROR
    return None


def first_visit(page: Page, visitor: Visitor, run: Run, path: str = "") -> None:
    """Open the visitor's first page, up to OPEN_ATTEMPTS times: on a busy machine 20
    browsers starting at once can miss Playwright's timeout. Raises after the last."""
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            open_app(page, run.server, path)
            return
        except (AssertionError, PlaywrightError) as error:
            if attempt == OPEN_ATTEMPTS or run.stop.is_set():
                raise
            visitor.error(f"first page not shown: {(str(error).splitlines() or [''])[0]}")


def open_draw_page(page: Page, run: Run) -> None:
    open_app(page, run.server)
    show_canvas(page)
    page.evaluate(INSTRUMENT)


def draw_once(page: Page, visitor: Visitor, run: Run, digit: int) -> None:
    """Clear the canvas, draw ``digit``, and wait (bounded) for the answer: its latency in the
    page's clock, or an error, after which the Draw page is opened afresh."""
    try:
        clear(page)
        draw_digit(page, digit)
        page.wait_for_function("() => window.__bench.shown !== null", timeout=ANSWER_TIMEOUT_MS)
        latency = page.evaluate("() => window.__bench.shown - window.__bench.up")
        value = prediction_metric(page).get_by_test_id("stMetricValue").inner_text()
        trouble = page_trouble(page)
    except PlaywrightError as error:
        if run.stop.is_set():
            return
        trouble = page_trouble_safely(page) or f"no answer: {error.message}"
    if trouble is None:
        visitor.answered(latency, value == str(digit))
        return
    visitor.error(trouble)
    reopen_draw_page(page, run)


def page_trouble_safely(page: Page) -> str | None:
    try:
        return page_trouble(page)
    except PlaywrightError:
        return None


def reopen_draw_page(page: Page, run: Run) -> None:
    """After an error, a fresh Draw page; if even that fails, the next drawing says so."""
    try:
        open_draw_page(page, run)
    except PlaywrightError:
        run.pause(DRAW_EVERY_S)


def sidebar_link(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_role("link", name=name, exact=True).click()


def evaluate_shown(page: Page) -> None:
    expect(page.locator(MATRIX_SQUARES)).to_have_count(100)


def inside_shown(page: Page) -> None:
    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible()
    wait_until_idle(page)


PAGE_SHOWN = {"Evaluate": evaluate_shown, "Inside": inside_shown}


def visit_page(page: Page, visitor: Visitor, run: Run, name: str) -> None:
    """Open another page from the sidebar until its content shows, then go back to Draw."""
    started = time.monotonic()
    try:
        sidebar_link(page, name)
        PAGE_SHOWN[name](page)
        trouble = page_trouble(page)
    except PlaywrightError as error:
        trouble = page_trouble_safely(page) or f"{name} page not shown: {error.message}"
    if trouble is None:
        visitor.pages.append(f"{name} {time.monotonic() - started:.0f} s")
    elif not run.stop.is_set():
        visitor.error(f"{name} page: {trouble}")
    try:
        sidebar_link(page, "Draw")
        show_canvas(page)
        page.evaluate(INSTRUMENT)
    except PlaywrightError:
        reopen_draw_page(page, run)


def planned_visits(drawer_index: int) -> list[tuple[float, str]]:
    """(seconds into the run, page) for one drawer in the load scenario."""
    pages = PAGES_TO_VISIT if drawer_index % 2 == 0 else PAGES_TO_VISIT[::-1]
    offset = VISIT_STAGGER_S * drawer_index
    return [(at + offset, name) for at, name in zip(VISIT_AT_S, pages, strict=True)]


def drawer(visits: list[tuple[float, str]], phase_s: float) -> Behaviour:
    """A visitor drawing a one-stroke digit every DRAW_EVERY_S (at once when a drawing took
    longer), opening ``visits``' pages when their time comes, until the run is over."""

    def behave(run: Run, visitor: Visitor, page: Page) -> None:
        first_visit(page, visitor, run)
        show_canvas(page)
        page.evaluate(INSTRUMENT)
        run.wait_for_go(visitor)
        pending = list(visits)
        for i in range(MAX_DRAWINGS):
            run.pause(run.started + phase_s + i * DRAW_EVERY_S - time.monotonic())
            if run.stop.is_set():
                return
            if pending and run.elapsed() >= pending[0][0]:
                visit_page(page, visitor, run, pending.pop(0)[1])
            draw_once(page, visitor, run, ONE_STROKE_DIGITS[i % len(ONE_STROKE_DIGITS)])

    return behave


def one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def note_queue(page: Page, visitor: Visitor) -> bool:
    """Keep the first line of the page that matches QUEUE_OR_REFUSAL; whether one says the run
    is refused (REFUSED, not QUEUED)."""
    refused = False
    for line in page.locator("body").inner_text().splitlines():
        if QUEUE_OR_REFUSAL.search(line):
            if visitor.queue_message is None:
                visitor.queue_message = one_line(line, MESSAGE_CHARS)
            refused = refused or not re.search(QUEUED, line, re.IGNORECASE)
    return refused


def run_state(page: Page, visitor: Visitor, outcomes: dict[str, str]) -> tuple[str, str | None]:
    """("running", None) or how the run ended: one of ``outcomes`` (by its text on the page),
    "refused", or "failed"/"broken" with what the page shows (an error alert, an exception)."""
    refused = note_queue(page, visitor)
    for outcome, text in outcomes.items():
        if page.get_by_text(text).count():
            return outcome, None
    if refused:
        return "refused", None
    if page.locator(ERROR_ALERT).count():
        return "failed", one_line(page.locator(ERROR_ALERT).first.inner_text(), MESSAGE_CHARS)
    trouble = page_trouble(page)
    return ("broken", trouble) if trouble else ("running", None)


def watch_run(page: Page, visitor: Visitor, run: Run, outcomes: dict[str, str]) -> None:
    """Read the page every POLL_S until the run has ended or the whole run is over; the
    outcome (with when it ended, seconds into the run) goes to ``visitor.outcome``."""
    started = run.elapsed()
    while not run.stop.is_set():
        try:
            state, problem = run_state(page, visitor, outcomes)
        except PlaywrightError as error:
            state, problem = "broken", f"page unreadable: {error.message}"
        if state != "running":
            visitor.outcome = f"{state} ({started:.0f}-{run.elapsed():.0f} s)"
            if problem is not None:
                visitor.error(f"{state}: {problem}")
            return
        run.pause(POLL_S)
    visitor.outcome = f"not ended ({started:.0f}- s)"


@dataclass(frozen=True)
class Training:
    """The trainer's run: the Train page's default (seed) recipe but for these."""

    epochs: int = 1
    batch_size: int | None = None  # None: the recipe's
    augment: bool = False  # switch Augmentation on

    def text(self) -> str:
        batch = "" if self.batch_size is None else f", batch {self.batch_size}"
        return f"{self.epochs} epoch(s){batch}{', augmented' if self.augment else ''}"


def fill_training_form(page: Page, training: Training) -> None:
    """Batch size and Augmentation, as a visitor sets them (the slider by its keys)."""
    if training.batch_size is not None:
        slider = page.get_by_role("slider", name="Batch size")
        slider.focus()
        page.keyboard.press("Home")
        for _ in range(BATCH_SIZES.index(training.batch_size)):
            page.keyboard.press("ArrowRight")
        expect(slider).to_have_attribute("aria-valuetext", str(training.batch_size))
    if training.augment:
        # The form's columns lie over the switch's label: a click at its place is intercepted.
        page.get_by_role("switch", name="Augmentation").check(force=True)


def trainer(training: Training) -> Behaviour:
    """Starts a training run on the Train page as the run begins and watches it to its end."""

    def behave(run: Run, visitor: Visitor, page: Page) -> None:
        try:
            first_visit(page, visitor, run, "train")
            fill_training_form(page, training)
            run.wait_for_go(visitor)
            if not run.stop.is_set():
                start_training(page, training.epochs)
                watch_run(page, visitor, run, TRAINING_OUTCOMES)
        finally:
            run.training_ended.set()

    return behave


def teacher(run: Run, visitor: Visitor, page: Page) -> None:
    """Draws and answers TEACH_DRAWINGS digits before the run (in public mode they are this
    browser session's), then presses Teach on the Your drawings page TEACH_AFTER_S into the run
    and watches the teaching to its end."""
    try:
        first_visit(page, visitor, run)
        for digit in range(TEACH_DRAWINGS):
            draw_digit(page, digit)
            expect(page.get_by_text("Your answer keeps the drawing")).to_be_visible()
            answer(page, str(digit))
        open_your_drawings(page)
        run.wait_for_go(visitor)
        run.pause(TEACH_AFTER_S)
        if not run.stop.is_set():
            page.get_by_role("button", name="Teach the model my handwriting").click()
            watch_run(page, visitor, run, TEACHING_OUTCOMES)
    finally:
        run.teaching_ended.set()


def cast(scenario: str, visitors: int, training: Training) -> list[tuple[Visitor, Behaviour]]:
    """Who visits: in the load scenario a trainer, a teacher and drawers; else drawers only."""
    cast = []
    if scenario == "load":
        cast.append((Visitor("trainer", "trainer"), trainer(training)))
        cast.append((Visitor("teacher", "teacher"), teacher))
    drawers = visitors - len(cast)
    for i in range(drawers):
        visits = planned_visits(i) if scenario == "load" else []
        phase = DRAW_EVERY_S * i / max(drawers, 1)  # spread over the 2 s
        cast.append((Visitor(f"drawer {i + 1}", "drawer"), drawer(visits, phase)))
    return cast


# --- One configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    scenario: str
    memory_mb: int
    cpus: float | None
    visitors: int
    duration_s: float
    training: Training = Training()  # the load scenario's
    cold: bool = True  # the page cache dropped first (--warm-cache keeps it)

    def label(self) -> str:
        cpus = "all cores" if self.cpus is None else f"{self.cpus:g} CPU"
        label = f"{self.scenario}, {self.memory_mb} MB, {cpus}, {self.visitors} visitors"
        return label + (f", training {self.training.text()}" if self.scenario == "load" else "")


@dataclass
class Outcome:
    config: Config
    visitors: list[Visitor]
    seconds: float
    peak_mb: float | None
    peak_anon_mb: float
    peak_rss_mb: float
    oom_kills: int | None
    server_exit: int | None  # the server's exit code, when it died during the run
    server_cores: float  # the server's CPU seconds per second of the run
    tracebacks: int
    log: Path
    notes: list[str]


def cool_page_cache() -> list[str]:
    """Drop this machine's clean page cache, so that the box pays for the TensorFlow libraries
    it reads, as a fresh Cloud container does (cgroup v1 and v2 charge a page to the group that
    read it first). Returns a note when it could not."""
    os.sync()
    try:
        DROP_CACHES.write_text(FREE_PAGE_CACHE)
    except OSError as error:
        return [f"page cache not dropped ({error.strerror}): the libraries may count for nothing"]
    return []


def run_config(config: Config, data: Path) -> Outcome:
    """A fresh box and server, the visitors, then the figures; the box is always removed."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-cloud-box-"))
    print(f"\n== {config.label()} (server log: {workdir / 'server.log'})", flush=True)
    box = make_box(config.memory_mb, config.cpus)
    notes: list[str] = []
    if config.cold:
        notes += cool_page_cache()
    try:
        server = start_boxed_server(box, data, workdir)
        try:
            outcome = drive(config, box, server)
        finally:
            stop_server(server)
    finally:
        notes += box.remove()
        shutil.rmtree(workdir / "trained_models", ignore_errors=True)  # the log stays
    outcome.notes += notes
    return outcome


def drive(config: Config, box: Box, server: Server) -> Outcome:
    """Start every visitor, let them all reach their first page, then run until it is over."""
    run = Run(server)
    visitors = cast(config.scenario, config.visitors, config.training)
    threads = [
        threading.Thread(target=visit, args=(run, v, b, i * OPEN_STAGGER_S), daemon=True)
        for i, (v, b) in enumerate(visitors)
    ]
    everyone = [v for v, _ in visitors]
    notes = []
    with (
        PeakMemory(lambda: box_rss_mb(box), SAMPLE_EVERY_S) as rss,
        PeakMemory(box.anon_mb, SAMPLE_EVERY_S) as anon,
    ):
        try:
            for thread in threads:
                thread.start()
            notes += wait_until_ready(everyone, server)
            run.started, cpu_at_start = time.monotonic(), box_cpu_s(box)
            run.go.set()
            print(f"   {len(everyone)} visitors ready; running", flush=True)
            server_exit = wait_until_over(run, config)
            seconds = run.elapsed()
            server_cores = (box_cpu_s(box) - cpu_at_start) / max(seconds, 1e-3)
        finally:
            run.stop.set()
            wind_up = time.monotonic() + JOIN_TIMEOUT_S
            for thread in threads:
                thread.join(max(wind_up - time.monotonic(), 0.1))
    if server_exit is None and server.process.poll() is not None:
        server_exit = server.process.returncode
    log = server.log.read_text(errors="replace")
    return Outcome(
        config,
        everyone,
        seconds,
        box.peak_mb(),
        anon.peak,
        rss.peak,
        box.oom_kills(),
        server_exit,
        server_cores,
        log.count("Traceback"),
        server.log,
        notes,
    )


def wait_until_ready(visitors: list[Visitor], server: Server) -> list[str]:
    """Until every visitor has its first page (or has failed), READY_TIMEOUT_S at most, or
    until the server has died."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        if all(v.ready.is_set() for v in visitors):
            return []
        time.sleep(0.5)
    if server.process.poll() is not None:
        return ["the server died before every visitor was ready"]
    late = [v.name for v in visitors if not v.ready.is_set()]
    return [f"not ready within {READY_TIMEOUT_S} s: {', '.join(late)}"]


def wait_until_over(run: Run, config: Config) -> int | None:
    """Until --duration has passed, the server has died (its exit code), or, in the load
    scenario, training and teaching have both ended."""
    deadline = run.started + config.duration_s
    while time.monotonic() < deadline:
        if run.server.process.poll() is not None:
            return run.server.process.returncode
        if config.scenario == "load" and run.runs_ended():
            return None
        time.sleep(0.5)
    return None


# --- Report ------------------------------------------------------------------------------------


def percentile_ms(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.0f}" if values else "-"


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_visitors(outcome: Outcome) -> None:
    """One configuration's visitors, one line each, and what went wrong."""
    o = outcome
    print(
        f"   {o.config.label()}: {o.seconds:.0f} s; peak memory {megabytes(o.peak_mb)} MB "
        f"(cgroup), {o.peak_anon_mb:.0f} MB (anonymous), {o.peak_rss_mb:.0f} MB (RSS); OOM kills "
        f"{'-' if o.oom_kills is None else o.oom_kills}; {server_state(o)}, using "
        f"{o.server_cores:.2f} cores; {o.tracebacks} tracebacks in the log"
    )
    print(
        f"   {'visitor':<10} {'answers':>7} {'right':>5} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for v in outcome.visitors:
        print(
            f"   {v.name:<10} {len(v.latencies_ms):>7} {v.recognised:>5} {v.errors:>6} "
            f"{percentile_ms(v.latencies_ms, 50):>7} {percentile_ms(v.latencies_ms, 95):>7}"
            + (f"  pages: {', '.join(v.pages)}" if v.pages else "")
            + (f"  run: {v.outcome}" if v.role != "drawer" else "")
        )
        if v.queue_message:
            print(f"     queue/refusal seen: {v.queue_message}")
        for problem in v.problems:
            print(f"     error: {problem}")
    for note in outcome.notes:
        print(f"   note: {note}")


def server_state(outcome: Outcome) -> str:
    if outcome.server_exit is None:
        return "server up to the end"
    return f"server died (exit {outcome.server_exit})"


def run_cell(outcome: Outcome, role: str) -> str:
    runs = [v.outcome for v in outcome.visitors if v.role == role]
    return runs[0] if runs else "-"


def markdown_table(outcomes: list[Outcome]) -> str:
    header = (
        "| Scenario | Memory | CPUs | Visitors | Run s | Peak MB (cgroup) | Peak anon MB "
        "| Peak RSS MB | OOM kills | Server | Server cores | Answers | Errors | p50 ms | p95 ms "
        "| Tracebacks | Training | Teaching | Queue or refusal |"
    )
    rows = [header, "|" + " --- |" * (header.count("|") - 1)]
    for o in outcomes:
        drawers = [v for v in o.visitors if v.role == "drawer"]
        latencies = [ms for v in drawers for ms in v.latencies_ms]
        queue = [f"{v.name}: {v.queue_message}" for v in o.visitors if v.queue_message]
        cells = [
            o.config.scenario,
            f"{o.config.memory_mb} MB",
            "all" if o.config.cpus is None else f"{o.config.cpus:g}",
            str(o.config.visitors),
            f"{o.seconds:.0f}",
            megabytes(o.peak_mb),
            f"{o.peak_anon_mb:.0f}",
            f"{o.peak_rss_mb:.0f}",
            "-" if o.oom_kills is None else str(o.oom_kills),
            "up" if o.server_exit is None else f"died ({o.server_exit})",
            f"{o.server_cores:.2f}",
            str(len(latencies)),
            str(sum(v.errors for v in o.visitors)),
            percentile_ms(latencies, 50),
            percentile_ms(latencies, 95),
            str(o.tracebacks),
            run_cell(o, "trainer"),
            run_cell(o, "teacher"),
            "; ".join(queue) or "none",
        ]
        rows.append(
            "| " + " | ".join(one_line(c, MESSAGE_CHARS).replace("|", "/") for c in cells) + " |"
        )
    return "\n".join(rows)


# --- Command line ------------------------------------------------------------------------------


def configurations(args: argparse.Namespace) -> list[Config]:
    training = Training(args.epochs, args.batch_size, args.augment)
    if args.matrix:
        return [
            Config(
                s,
                mb,
                cpus,
                n,
                args.duration or DEFAULT_DURATION_S[s],
                training,
                not args.warm_cache,
            )
            for s, mb, cpus, n in MATRIX
        ]
    visitors = args.visitors or DEFAULT_VISITORS[args.scenario]
    duration = args.duration or DEFAULT_DURATION_S[args.scenario]
    return [
        Config(
            args.scenario,
            args.memory_mb,
            args.cpus,
            visitors,
            duration,
            training,
            not args.warm_cache,
        )
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("load", "visitors"), default="load")
    parser.add_argument("--memory-mb", type=int, default=690, help="the box's memory (690, 1024)")
    parser.add_argument("--cpus", type=float, help="a CPU quota, in cores (default: all cores)")
    parser.add_argument("--visitors", type=int, help="load: 4 (at least 2); visitors: 5")
    parser.add_argument("--duration", type=float, help="seconds: load 360 at most; visitors 60")
    parser.add_argument("--epochs", type=int, default=1, help="of the load scenario's training")
    parser.add_argument(
        "--batch-size", type=int, choices=BATCH_SIZES, help="its batch size (default: the page's)"
    )
    parser.add_argument("--augment", action="store_true", help="switch its augmentation on")
    parser.add_argument("--data", type=Path, help="MNIST .npz (default: $MNIST_NPZ, full MNIST)")
    parser.add_argument("--matrix", action="store_true", help="run the issue's whole table")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="keep the page cache (by default it is dropped before each server starts)",
    )
    args = parser.parse_args()
    if args.scenario == "load" and args.visitors is not None and args.visitors < 2:
        parser.error("the load scenario needs at least 2 visitors (a trainer and a teacher)")
    return args


def mnist_file(args: argparse.Namespace) -> Path:
    if args.data:
        return args.data
    if os.environ.get("MNIST_NPZ"):
        return Path(os.environ["MNIST_NPZ"])
    return SAMPLE_NPZ


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the run as Ctrl-C does, so the cgroup is still removed; and so
    does SIGINT even where the shell started this in the background with SIGINT ignored."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def main() -> int:
    args = parse_args()
    data = mnist_file(args)
    configs = configurations(args)
    try:
        make_box(configs[0].memory_mb, configs[0].cpus).remove()
    except CgroupError as error:
        print(f"No memory cgroup can be made here ({error}): nothing measured.")
        return 0
    stop_on_signals()
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    print(
        f"Cloud box benchmark: {len(configs)} configuration(s), {os.cpu_count()} CPUs here, "
        f"MNIST from {data}" + ("" if data != SAMPLE_NPZ else " (the sample: lighter than real)")
    )
    print(f"(load average at the start {os.getloadavg()[0]:.1f})")
    outcomes: list[Outcome] = []
    try:
        for config in configs:
            try:
                outcomes.append(run_config(config, data))
            except (CgroupError, ServerStartError) as error:
                print(f"   {config.label()}: not measured: {error}")
                continue
            print_visitors(outcomes[-1])
    except KeyboardInterrupt:
        done = "The configurations finished so far:" if outcomes else "None had finished."
        print(f"\nInterrupted: the cgroup was removed. {done}")
    if outcomes:
        print(f"\n(load average at the end {os.getloadavg()[0]:.1f})\n")
        print(markdown_table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
