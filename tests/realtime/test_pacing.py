"""The 3D sampler's pacer: no denoiser step runs into a window that is due."""

from __future__ import annotations

import threading
import time

import pytest

from realtime.pacing import FastPathSchedule, StepPacer
from realtime.stages import ProcessRunner
from tests.fakes import pacer_job


def _pacer(budget_s: float = 1.0, step_s: float = 0.01) -> tuple[FastPathSchedule, StepPacer]:
    schedule = FastPathSchedule(budget_s=budget_s)
    pacer = schedule.pacer()
    pacer.step_s = step_s
    return schedule, pacer


def _timed(call) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def test_a_step_that_ends_before_the_window_is_due_runs_at_once() -> None:
    schedule, pacer = _pacer()
    schedule.expect(time.monotonic() + 0.5)
    assert _timed(pacer) < 0.05
    assert pacer.pauses == 0


def test_nothing_due_never_pauses() -> None:
    _, pacer = _pacer()
    assert _timed(pacer) < 0.05 and pacer.pauses == 0


def test_a_step_that_would_run_into_a_due_window_waits_for_the_fast_path() -> None:
    schedule, pacer = _pacer(budget_s=2.0)
    schedule.expect(time.monotonic() + 0.005)  # due in 5 ms, a step takes 10 ms
    done = threading.Timer(0.1, lambda: schedule.expect(time.monotonic() + 0.125))  # the fast path is done
    done.start()
    waited = _timed(pacer)
    done.join()
    assert 0.08 <= waited < 1.0  # resumed when the next window was published, not at the budget
    assert pacer.pauses == 1 and pacer.paused_s == pytest.approx(waited, abs=0.02)


def test_the_pause_ends_after_the_budget_when_the_window_never_reaches_the_fast_path() -> None:
    schedule, pacer = _pacer(budget_s=0.05)
    schedule.expect(time.monotonic() + 0.002)
    waited = _timed(pacer)
    assert 0.03 <= waited < 0.5
    assert pacer.pauses == 1


def test_clear_releases_a_paused_step() -> None:
    schedule, pacer = _pacer(budget_s=5.0)
    schedule.expect(time.monotonic() + 0.002)
    threading.Timer(0.05, schedule.clear).start()
    assert _timed(pacer) < 1.0


def test_the_pacer_learns_the_step_duration_from_consecutive_calls() -> None:
    _, pacer = _pacer(step_s=0.0)
    for _ in range(4):
        pacer()
        time.sleep(0.02)
    pacer()
    assert 0.015 <= pacer.step_s < 0.2


@pytest.mark.slow
def test_the_schedule_reaches_a_stage_process_and_its_model() -> None:
    schedule = FastPathSchedule()
    runner = ProcessRunner(pacer_job, "tests.fakes:build_stepping_model", None,
                           name="pacing-test", pacing=schedule)  # fmt: skip
    runner.start()
    try:
        schedule.expect(12345.0)
        hook, due = runner.call((), threading.Event())
    finally:
        runner.close()
    assert hook == "StepPacer"
    assert due == 12345.0  # the child reads the parent's shared memory
