"""When the acquisition thread reads: batch waits, the approach hook and the bounded busy poll."""

from __future__ import annotations

import pytest

from acquisition.read_plan import MAX_BATCH_WAIT_S, WAKE_MARGIN_SAMPLES, ReadPlanner

RATE = 500.0
PERIOD = 1.0 / RATE


def test_far_from_a_window_the_thread_waits_for_the_batch_that_leads_up_to_it() -> None:
    planner = ReadPlanner(RATE, 0.005)
    step = planner.next_read(40, now=10.0)
    assert step.min_samples == 40 - WAKE_MARGIN_SAMPLES
    assert step.wait_s == pytest.approx(38 / RATE + 0.005)
    assert planner.next_read(10_000, now=10.0).wait_s == MAX_BATCH_WAIT_S


def test_without_busy_poll_the_last_samples_are_read_with_blocking_waits() -> None:
    planner = ReadPlanner(RATE, 0.005)
    planner.arrived(10.0)
    for remaining in (2, 1):
        step = planner.next_read(remaining, now=10.0 + PERIOD)
        assert not step.spins and step.wait_s == 0.005 and step.min_samples == 1


def test_busy_poll_spins_only_around_the_expected_last_sample() -> None:
    planner = ReadPlanner(RATE, 0.005, busy_poll_s=0.0005)
    planner.arrived(10.0)  # the second-to-last sample came at 10.0: the last is expected at 10.002
    early = planner.next_read(1, now=10.0001)
    assert not early.spins and early.wait_s == pytest.approx(0.002 - 0.0005 - 0.0001)
    assert planner.next_read(1, now=10.0016).spins
    assert planner.next_read(1, now=10.0024).spins  # still within busy_poll after the expected time
    late = planner.next_read(1, now=10.0026)  # a late or chunked sender: block again, bounded spin
    assert not late.spins and late.wait_s == 0.005
    planner.arrived(10.002)
    assert not planner.next_read(2, now=10.0056).spins  # in the window of the sample after next: no spin


def test_the_approach_hook_runs_once_per_window_with_the_time_left() -> None:
    seen: list[float] = []

    def approach(due_in_s: float) -> bool:
        seen.append(due_in_s)
        return True  # it did work (a warm-up)

    planner = ReadPlanner(RATE, 0.005, on_approach=approach)
    planner.arrived(10.0)
    after_hook = planner.next_read(2, now=10.001)
    assert after_hook.wait_s == 0.0 and not after_hook.spins  # re-planned at once with a fresh clock
    planner.next_read(1, now=10.003)
    assert seen == [pytest.approx(2 * PERIOD - 0.001)] and planner.approaches == 1
    planner.next_read(30, now=10.004)  # the window was cut: the next one approaches later
    planner.arrived(10.05)
    planner.next_read(2, now=10.05)
    assert len(seen) == 2


def test_spin_time_is_counted_and_a_negative_busy_poll_is_refused() -> None:
    planner = ReadPlanner(RATE, 0.005, busy_poll_s=0.001)
    planner.spun(0.0002)
    planner.spun(0.0003)
    assert planner.spin_reads == 2 and planner.spin_s == pytest.approx(0.0005)
    with pytest.raises(ValueError, match="busy_poll_s"):
        ReadPlanner(RATE, 0.005, busy_poll_s=-1.0)
