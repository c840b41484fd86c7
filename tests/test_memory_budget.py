"""The memory budget's arithmetic, its queue and refusals, and how runs wait in it.

Every figure here is made up; every wait is driven by events (the timeouts only keep a broken
build from hanging, they time nothing).
"""

from __future__ import annotations

import threading
import time

import pytest

from mnist_cnn import memory_budget, memory_limit, settings
from mnist_cnn.background import Job, Registry, Snapshot
from mnist_cnn.memory_budget import (
    MemoryBudget,
    MemoryBusyError,
    MemoryRefusedError,
    Need,
    Wait,
)

GUARD_S = 20.0  # how long a test waits for a thread before calling the build broken
BIG = Need("the training run", 300)
MEDIUM = Need("the teaching run", 200)
SMALL = Need("the neighbour index", 50)


class Waiter:
    """``reserve`` in a thread, recording each ``Wait`` it reports and what it got."""

    def __init__(self, budget: MemoryBudget, need: Need, stop: threading.Event | None = None):
        self.waits: list[Wait] = []
        self.waited = threading.Event()
        self.ticket: int | None = None
        self._thread = threading.Thread(target=self._run, args=(budget, need, stop))
        self._thread.start()

    def _run(self, budget, need, stop) -> None:
        self.ticket = budget.reserve(need, stop_event=stop, on_wait=self._on_wait)

    def _on_wait(self, wait: Wait) -> None:
        self.waits.append(wait)
        self.waited.set()

    def join(self) -> int | None:
        self._thread.join(GUARD_S)
        assert not self._thread.is_alive(), "reserve never returned"
        return self.ticket

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()


def test_without_a_limit_everything_starts_at_once():
    budget = MemoryBudget(None, server_mb=10_000)
    tickets = [budget.reserve(BIG) for _ in range(5)]
    assert None not in tickets and len(set(tickets)) == 5
    budget.check(Need("anything", 10**9))  # never refused


def test_a_job_that_could_never_fit_is_refused_with_the_figures():
    budget = MemoryBudget(690, server_mb=500)
    with pytest.raises(MemoryRefusedError) as refused:
        budget.reserve(Need("the training run", 230))
    message = str(refused.value)
    assert "690 MB" in message and "230 MB" in message and "500 MB" in message
    assert settings.MEMORY_MB_ENV in message
    assert budget.waiting() == 0
    budget.check(Need("the teaching run", 190))  # 500 + 190 = 690: fits exactly


def test_a_second_job_waits_for_the_first_then_starts():
    budget = MemoryBudget(950, server_mb=500)
    first = budget.reserve(BIG, seconds_left=lambda: 40.0)
    second = Waiter(budget, MEDIUM)  # 500 + 300 + 200 > 950
    assert second.waited.wait(GUARD_S)
    assert not second.done and budget.waiting() == 1
    assert second.waits[-1] == Wait(("the training run",), 40.0)
    assert second.waits[-1].text == "the training run ends, about 40 s"
    budget.release(first)
    assert second.join() is not None
    assert budget.waiting() == 0
    assert budget.used_mb() == 700


def test_jobs_that_fit_together_run_together():
    budget = MemoryBudget(1100, server_mb=500)
    assert budget.reserve(BIG) is not None
    assert budget.reserve(MEDIUM) is not None  # 500 + 300 + 200 <= 1100, no wait
    assert budget.used_mb() == 1000


def test_jobs_wait_in_the_order_they_asked():
    budget = MemoryBudget(950, server_mb=500)
    first = budget.reserve(BIG)
    medium = Waiter(budget, MEDIUM)
    assert medium.waited.wait(GUARD_S)
    small = Waiter(budget, SMALL)  # would fit beside BIG now, but MEDIUM asked first
    assert small.waited.wait(GUARD_S)
    assert not small.done and budget.waiting() == 2
    budget.release(first)
    assert medium.join() is not None
    assert small.join() is not None  # 500 + 200 + 50 fits once it is its turn


def test_a_stop_ends_the_wait_and_holds_nothing():
    budget = MemoryBudget(950, server_mb=500)
    budget.reserve(BIG)
    stop = threading.Event()
    waiter = Waiter(budget, MEDIUM, stop)
    assert waiter.waited.wait(GUARD_S)
    stop.set()
    assert waiter.join() is None
    assert budget.waiting() == 0
    assert budget.used_mb() == 800


def test_what_the_server_holds_now_counts_when_it_is_more():
    live = {"mb": 0.0}
    budget = MemoryBudget(1000, server_mb=500, live_mb=lambda: live["mb"])
    budget.reserve(SMALL)
    assert budget.used_mb() == 550
    live["mb"] = 850.0  # visitors' caches have grown
    assert budget.used_mb() == 850
    waiter = Waiter(budget, MEDIUM)  # 550 + 200 would fit; 850 + 200 does not
    assert waiter.waited.wait(GUARD_S)
    assert not waiter.done
    live["mb"] = 600.0
    assert waiter.join() is not None  # re-read at its next report


def test_with_nothing_running_a_job_that_passes_the_check_starts():
    # What the last job left behind reads high, but no reservation holds it: nothing to wait for.
    budget = MemoryBudget(700, server_mb=400, live_mb=lambda: 650.0)
    assert budget.reserve(BIG) is not None


def test_a_quick_step_that_cannot_fit_in_time_says_until_when():
    budget = MemoryBudget(1000, server_mb=500)
    budget.reserve(BIG, seconds_left=lambda: 12.0)
    budget.reserve(MEDIUM)
    with pytest.raises(MemoryBusyError) as busy, budget.hold(Need("the map", 100), wait_s=0):
        pass
    message = str(busy.value)
    assert "the training run and the teaching run end" in message
    assert "about" not in message  # one holder cannot say how long: no figure is made up


def test_a_quick_step_holds_its_need_only_while_it_runs():
    budget = MemoryBudget(1000, server_mb=500)
    with budget.hold(SMALL):
        assert budget.used_mb() == 550
    assert budget.used_mb() == 500


class SlowJob(Job[Snapshot]):
    """A run whose work waits for the test to let it finish."""

    need = MEDIUM

    def __init__(self) -> None:
        super().__init__(Snapshot("running", 0.0), None, name="test-job", failure="It failed")
        self.worked = threading.Event()
        self.finish = threading.Event()

    def work(self) -> None:
        self.worked.set()
        self.finish.wait(GUARD_S)
        self.settle()


def until(condition, what: str) -> None:
    """Wait for a background thread to get somewhere (a guard, not a measurement)."""
    deadline = time.monotonic() + GUARD_S
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def test_a_run_waits_for_memory_active_then_begins_when_it_is_free():
    budget = MemoryBudget(950, server_mb=500)
    other = budget.reserve(BIG, seconds_left=lambda: 40.0)
    job = Registry("busy", budget).launch(SlowJob())
    until(lambda: job.snapshot().waiting is not None, "the run says it waits")
    snapshot = job.snapshot()
    assert snapshot.active and snapshot.waiting.text == "the training run ends, about 40 s"
    assert not job.worked.is_set()
    budget.release(other)
    assert job.worked.wait(GUARD_S)
    assert job.snapshot().waiting is None and job.snapshot().started_at > 0
    job.finish.set()
    job.join(GUARD_S)
    assert job.snapshot().status == "finished"
    assert budget.used_mb() == 500  # its reservation went back when it ended


def test_a_run_stopped_while_it_waits_never_begins():
    budget = MemoryBudget(950, server_mb=500)
    budget.reserve(BIG)
    job = Registry("busy", budget).launch(SlowJob())
    until(lambda: job.snapshot().waiting is not None, "the run says it waits")
    assert job.stop()
    job.join(GUARD_S)
    assert job.snapshot().status == "stopped" and not job.worked.is_set()
    assert budget.waiting() == 0 and budget.used_mb() == 800


def test_a_registry_refuses_a_run_that_could_never_fit_before_starting_it():
    job = SlowJob()
    registry = Registry("busy", MemoryBudget(600, server_mb=500))
    with pytest.raises(MemoryRefusedError):
        registry.launch(job)
    assert registry.latest is None and not job.worked.is_set()


# --- The limit, from the environment or the memory cgroup ---------------------------------------


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_cgroup_v1_limit_is_read_for_the_process_own_group(tmp_path):
    write(tmp_path / "memory/box/memory.limit_in_bytes", f"{690 * 2**20}\n")
    write(tmp_path / "self", "4:memory:/box\n3:cpu:/\n0::/\n")
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "self") == 690


def test_cgroup_v1_says_no_limit_with_a_huge_number(tmp_path):
    write(tmp_path / "memory/box/memory.limit_in_bytes", "9223372036854771712\n")
    write(tmp_path / "self", "4:memory:/box\n")
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "self") is None


def test_the_cgroup_v2_limit_is_read_and_max_means_none(tmp_path):
    write(tmp_path / "cgroup.controllers", "cpu memory\n")
    write(tmp_path / "app/memory.max", f"{1024 * 2**20}\n")
    write(tmp_path / "self", "0::/app\n")
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "self") == 1024
    write(tmp_path / "app/memory.max", "max\n")
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "self") is None


def test_a_container_that_shows_its_group_as_the_root_is_read_too(tmp_path):
    write(tmp_path / "memory/memory.limit_in_bytes", f"{2048 * 2**20}\n")
    write(tmp_path / "self", "4:memory:/docker/abc\n")
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "self") == 2048


def test_no_cgroup_to_read_means_no_limit(tmp_path):
    assert memory_limit.cgroup_limit_mb(tmp_path, tmp_path / "missing") is None


def test_the_setting_overrides_the_cgroup_and_can_turn_the_budget_off(monkeypatch):
    monkeypatch.setattr(memory_limit, "own_limit_mb", lambda: 690.0)
    monkeypatch.delenv(settings.MEMORY_MB_ENV, raising=False)
    assert settings.memory_budget_mb() == 690
    monkeypatch.setenv(settings.MEMORY_MB_ENV, "1024")
    assert settings.memory_budget_mb() == 1024
    monkeypatch.setenv(settings.MEMORY_MB_ENV, "unlimited")
    assert settings.memory_budget_mb() is None
    monkeypatch.setenv(settings.MEMORY_MB_ENV, "lots")
    with pytest.raises(settings.SettingError, match=settings.MEMORY_MB_ENV) as refused:
        settings.memory_budget_mb()
    assert "'unlimited'" in str(refused.value)


def test_the_process_own_memory_is_read():
    assert memory_limit.anonymous_mb() > 1


def test_larger_networks_need_more_memory_and_smaller_ones_keep_the_measured_figure():
    from mnist_cnn.architecture import PRESETS, SEED
    from mnist_cnn.jobs import TrainingJob
    from mnist_cnn.training import TrainConfig

    seed_need = memory_budget.training_need(SEED, memory_budget.SEED_BATCH_SIZE)
    assert seed_need == memory_budget.TRAINING
    assert memory_budget.training_need(PRESETS["tiny"], 64).mb == memory_budget.TRAINING_MB
    wide = memory_budget.training_need(PRESETS["wide"], 64)
    assert wide.what == memory_budget.TRAINING.what
    assert memory_budget.training_need(SEED, 64).mb < wide.mb
    job = TrainingJob(TrainConfig.tuned(), spec=PRESETS["deep"])
    assert job.need == memory_budget.training_need(PRESETS["deep"], 64)
    assert memory_budget.neighbour_index_need(64) == memory_budget.NEIGHBOUR_INDEX
    # Tiny's 400 features: 60,000 rows of 336 more float32 numbers each.
    assert memory_budget.neighbour_index_need(400).mb == pytest.approx(
        memory_budget.INDEX_MB + 60_000 * 336 * 4 / 1e6
    )


def test_the_speed_probe_needs_what_training_the_seed_at_its_batch_needs():
    from mnist_cnn.architecture import SEED

    for batch_size in (16, 32, 256):
        probe = memory_budget.speed_probe_need(batch_size)
        assert probe.mb == memory_budget.training_need(SEED, batch_size).mb
        assert probe.what == "measuring the training speed"
    # Batch 256's probe measured 255 MB: it cannot run on the smallest box, as training cannot.
    with pytest.raises(MemoryRefusedError, match="measuring the training speed"):
        MemoryBudget(690).check(memory_budget.speed_probe_need(256))
    MemoryBudget(690).check(memory_budget.speed_probe_need(32))


def test_the_smallest_box_trains_the_small_presets_and_refuses_wide_and_deep_at_start():
    from mnist_cnn.architecture import PRESETS

    smallest_box = MemoryBudget(690)
    for name in ("seed", "tiny", "lenet5", "dense"):
        smallest_box.check(memory_budget.training_need(PRESETS[name], 64))  # no refusal
    for name in ("wide", "deep"):
        with pytest.raises(MemoryRefusedError, match="the training run needs about 2"):
            smallest_box.check(memory_budget.training_need(PRESETS[name], 64))
    one_gigabyte = MemoryBudget(1000)
    for spec in PRESETS.values():
        one_gigabyte.check(memory_budget.training_need(spec, 64))
