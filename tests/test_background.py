"""The background runner on its own: snapshots, Stop, settling, owners and one run at a time.

``StepJob`` is a run that does nothing but wait for the test: each step it reports waits for a
go, so the test sees the run in whatever state it needs, without TensorFlow or a clock.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, replace

import pytest

from mnist_cnn import background
from mnist_cnn.background import WIND_DOWN_TIMEOUT_S, BusyError, Job, Registry, Snapshot
from mnist_cnn.data import DataError

# Bounds a hung thread; a healthy one ends long before.
JOIN_TIMEOUT_S = 60


@dataclass(frozen=True)
class StepSnapshot(Snapshot):
    steps: tuple[int, ...] = ()
    result: str | None = None


class StepJob(Job[StepSnapshot]):
    """Reports ``steps`` steps, each once the test says go, then settles with a result."""

    def __init__(self, steps: int = 2, owner: str | None = None, error: Exception | None = None):
        super().__init__(StepSnapshot("running", time.time()), owner, "test-job", "Test failed")
        self.steps = steps
        self.error = error
        self.go = threading.Semaphore(0)
        self.reported = threading.Semaphore(0)  # one release per step reported
        self.settled: list[bool] = []

    def work(self) -> None:
        for step in range(1, self.steps + 1):
            self.go.acquire()
            if self.stop_event.is_set():
                return
            self.report(lambda state, step=step: replace(state, steps=(*state.steps, step)))
            self.reported.release()
        if self.error is not None:
            raise self.error
        self.go.acquire()  # the result is "saved"; the run is settled after it
        self.settled.append(self.settle(result="saved"))

    def step(self) -> None:
        """Let one step go and wait until it is reported."""
        self.go.release()
        assert self.reported.acquire(timeout=JOIN_TIMEOUT_S), self.snapshot()

    def finish(self) -> StepJob:
        """Let every step and the settling go, and wait for the thread."""
        for _ in range(self.steps + 1):
            self.go.release()
        self.join(JOIN_TIMEOUT_S)
        return self


def test_a_run_reports_into_immutable_snapshots() -> None:
    job = StepJob(steps=2).start()
    before = job.snapshot()
    job.step()
    during = job.snapshot()
    assert before.steps == () and during.steps == (1,)  # a snapshot never changes later
    with pytest.raises(dataclasses.FrozenInstanceError):
        during.status = "finished"
    job.finish()
    finished = job.snapshot()
    assert finished.status == "finished" and finished.result == "saved" and not finished.active
    assert finished.steps == (1, 2) and during.steps == (1,) and job.settled == [True]


def test_a_stop_before_the_run_is_settled_discards_it() -> None:
    job = StepJob(steps=2).start()
    assert job.stop() is True
    stopped = job.snapshot()
    assert stopped.status == "stopped" and not stopped.active  # at once, not at the next step
    job.finish()
    assert job.snapshot().status == "stopped" and job.snapshot().result is None
    assert job.snapshot().steps == ()  # nothing reported after the Stop


def test_a_stop_while_the_result_is_saved_wins_over_the_settling() -> None:
    """The race the settling is for: the work has saved its result, the Stop lands before it
    settles. The run ends stopped and the work learns that it must discard the result."""
    job = StepJob(steps=1).start()
    job.step()
    job.stop()
    job.go.release()  # the save and the settling
    job.join(JOIN_TIMEOUT_S)
    assert job.settled == [False]
    assert job.snapshot().status == "stopped" and job.snapshot().result is None


def test_a_stop_once_settled_is_too_late() -> None:
    job = StepJob(steps=1).start().finish()
    assert job.stop() is False
    assert job.snapshot().status == "finished" and job.snapshot().result == "saved"


def test_an_error_fails_the_run_with_its_message() -> None:
    plain = StepJob(steps=1, error=DataError("MNIST file not found")).start().finish()
    assert plain.snapshot().status == "failed"
    assert plain.snapshot().message == "MNIST file not found"  # written for people: as it is
    named = StepJob(steps=1, error=KeyError("x")).start().finish()
    assert named.snapshot().message == "Test failed: KeyError: 'x'"
    assert named.stop() is False


def test_one_run_of_a_kind_at_a_time_and_each_owners_last_is_remembered() -> None:
    registry = Registry[StepJob]("Busy: try again.")
    first = registry.launch(StepJob(owner="a"))
    assert first.owner == "a" and registry.latest is first and registry.run_of("a") is first
    with pytest.raises(BusyError, match="Busy: try again"):
        registry.launch(StepJob(owner="b"))
    assert registry.latest is first and registry.run_of("b") is None
    first.finish()
    second = registry.launch(StepJob(owner="b")).finish()
    third = registry.launch(StepJob(owner="a")).finish()
    assert registry.run_of("a") is third and registry.run_of("b") is second
    assert registry.run_of("c") is None and registry.latest is third


def test_a_stopped_run_is_waited_for_before_the_next_starts() -> None:
    registry = Registry[StepJob]("Busy.")
    stopped = registry.launch(StepJob())
    stopped.stop()
    assert stopped.winding_down  # stopped, but its thread still waits for its step
    waits = []
    join = stopped.join

    def let_it_end_then_join(timeout=None) -> None:
        waits.append(timeout)
        stopped.go.release()  # the work sees the Stop at its next check and returns
        join(timeout)

    stopped.join = let_it_end_then_join
    following = registry.launch(StepJob())
    assert waits == [WIND_DOWN_TIMEOUT_S] and not stopped.winding_down
    following.finish()
    assert stopped.snapshot().status == "stopped"
    assert following.snapshot().status == "finished"


def test_a_run_still_winding_down_refuses_the_next(monkeypatch) -> None:
    monkeypatch.setattr(background, "WIND_DOWN_TIMEOUT_S", 0)
    registry = Registry[StepJob]("Busy.")
    stopped = registry.launch(StepJob())
    stopped.stop()
    with pytest.raises(BusyError, match="still winding down"):
        registry.launch(StepJob())
    assert registry.latest is stopped
    stopped.finish()
    assert registry.launch(StepJob()).finish().snapshot().status == "finished"


def test_registry_forgets_the_oldest_owners_beyond_its_limit(monkeypatch) -> None:
    monkeypatch.setattr(Registry, "REMEMBERED_OWNERS", 2)
    registry = Registry[StepJob]("Busy.")
    jobs = {owner: registry.launch(StepJob(owner=owner)).finish() for owner in "abc"}
    assert registry.run_of("a") is None
    assert registry.run_of("b") is jobs["b"] and registry.run_of("c") is jobs["c"]
