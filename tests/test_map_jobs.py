"""Background maps: one computation per key, one at a time, failures shown and retried, and
memory bounded. Driven by events, never by timing."""

from __future__ import annotations

import threading

from mnist_cnn.map_jobs import MapJobs

WAIT_S = 10.0  # a bound on how long a test waits for a thread, never a measurement


def settled(jobs: MapJobs, key: str):
    """``key``'s progress once its run is done (the thread has reported)."""
    for _ in range(1000):
        progress = jobs.progress(key)
        if progress is not None and progress.done:
            return progress
        threading.Event().wait(0.01)
    raise AssertionError(f"{key} never finished")


def test_a_map_is_computed_once_however_often_it_is_asked_for():
    jobs, calls, release = MapJobs(keep=4), [], threading.Event()

    def compute():
        calls.append(1)
        release.wait(WAIT_S)
        return "map"

    first = jobs.request("model-a", compute)
    assert first.status in ("waiting", "running") and first.result is None
    for _ in range(5):
        assert not jobs.request("model-a", compute).done
    release.set()
    done = settled(jobs, "model-a")
    assert done.status == "finished" and done.result == "map" and done.started_at is not None
    assert calls == [1]


def test_maps_are_computed_one_at_a_time_and_the_second_waits():
    jobs, release, running = MapJobs(keep=4), threading.Event(), threading.Event()

    def slow():
        running.set()
        release.wait(WAIT_S)
        return "a"

    jobs.request("model-a", slow)
    assert running.wait(WAIT_S)
    assert jobs.request("model-b", lambda: "b").status == "waiting"
    assert jobs.request("model-b", lambda: "b").status == "waiting"  # still: a holds the turn
    release.set()
    assert settled(jobs, "model-a").result == "a"
    assert settled(jobs, "model-b").result == "b"


def test_a_failure_says_why_and_the_next_request_tries_again():
    jobs = MapJobs(keep=4)

    def broken():
        raise MemoryError("no room")

    jobs.request("model-a", broken)
    failed = settled(jobs, "model-a")
    assert failed.status == "failed" and failed.message == "MemoryError: no room"
    jobs.request("model-a", lambda: "map")
    assert settled(jobs, "model-a").result == "map"


def test_only_the_last_maps_asked_for_are_kept():
    jobs = MapJobs(keep=2)
    for key in ("a", "b", "c"):
        jobs.request(key, lambda key=key: key)
        settled(jobs, key)
    calls = []
    jobs.request("a", lambda: calls.append(1) or "a again")  # forgotten: computed again
    assert settled(jobs, "a").result == "a again" and calls == [1]
