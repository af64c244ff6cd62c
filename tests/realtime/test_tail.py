"""The latency-tail guards: pinning, the collector off the hot path, the acquisition knobs."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from brain3d.config import RealtimeConfig
from realtime.tail import FULL_COLLECT_EVERY, TailGuards, split_cpus


def test_the_fast_path_gets_the_first_cpu_and_the_rest_go_to_the_stages() -> None:
    assert split_cpus([3, 0, 1]) == ({0}, {1, 3})
    assert split_cpus([2]) is None


def test_pinning_puts_the_hot_thread_and_every_thread_of_the_stages_on_different_cpus() -> None:
    calls: list[tuple[int, set[int]]] = []
    pids = [222, None]
    guards = TailGuards(RealtimeConfig(pin_cores=True), set_affinity=lambda pid, cpus: calls.append((pid, cpus)),
                        allowed_cpus=lambda: {0, 1}, threads_of=lambda pid: [pid, pid + 1])
    guards.start([111, None], lambda: pids)
    assert calls == [(111, {0}), (222, {1}), (223, {1})]
    assert guards.stats()["pinned"]["fast_path_cpus"] == [0]
    calls.clear()
    pids[:] = [444]  # a restarted stage has a new process: read again at the next pinning
    guards.apply(RealtimeConfig())
    guards.apply(RealtimeConfig(pin_cores=True))
    assert calls[-3:] == [(111, {0}), (444, {1}), (445, {1})]
    assert (111, {0, 1}) in calls  # unpinned in between


def test_pinning_on_one_cpu_or_a_refusing_system_pins_nothing_and_says_why() -> None:
    calls: list[Any] = []
    one = TailGuards(RealtimeConfig(pin_cores=True), set_affinity=lambda *a: calls.append(a), allowed_cpus=lambda: {0})
    one.start([111], lambda: [222])
    assert calls == [] and "fewer than two" in one.stats()["pinned"]["skipped"]

    def refuse(_pid: int, _cpus: set[int]) -> None:
        raise PermissionError("not allowed")

    refused = TailGuards(RealtimeConfig(pin_cores=True), set_affinity=refuse, allowed_cpus=lambda: {0, 1})
    refused.start([111])
    assert "not allowed" in refused.stats()["pinned"]["skipped"]


def test_with_the_collector_off_the_hot_path_it_collects_after_windows_and_is_restored_at_stop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert gc.isenabled()
    guards = TailGuards(RealtimeConfig(gc_off_hot_path=True))
    guards.start([])
    generations: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: generations.append(generation) or real_collect(generation))
    try:
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        for _ in range(FULL_COLLECT_EVERY):
            guards.after_window()
        assert guards.collections == FULL_COLLECT_EVERY
        assert generations == [1] * (FULL_COLLECT_EVERY - 1) + [2]  # young ones each window, all every 64
    finally:
        guards.stop()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    guards.apply(RealtimeConfig())  # too late: the run has stopped
    guards.apply(RealtimeConfig(gc_off_hot_path=True))
    assert gc.isenabled()
    untouched = TailGuards(RealtimeConfig())
    untouched.start([])
    untouched.after_window()
    assert gc.isenabled() and untouched.collections == 0


@pytest.mark.parametrize("warm", [True, False])
def test_busy_poll_and_warm_up_reach_the_acquisition_thread_as_configured(warm: bool) -> None:
    warmed: list[float] = []
    guards = TailGuards(RealtimeConfig(busy_poll_ms=1.5, warm_before_due=warm),
                        warm=lambda due: warmed.append(due) or True)
    kwargs = guards.acquisition_kwargs()
    assert kwargs["busy_poll_s"] == pytest.approx(0.0015)
    kwargs["on_approach"](0.004)
    assert warmed == ([0.004] if warm else [])


def test_knobs_switch_during_a_run() -> None:
    from acquisition.read_plan import ReadPlanner

    warmed: list[float] = []
    reads = ReadPlanner(500.0, 0.005)
    guards = TailGuards(RealtimeConfig(), warm=lambda due: warmed.append(due) or True)
    on_approach = guards.acquisition_kwargs()["on_approach"]
    guards.start([], reads=reads)
    guards.apply(RealtimeConfig(busy_poll_ms=2.0, warm_before_due=True, gc_off_hot_path=True))
    try:
        on_approach(0.003)
        assert reads.busy_poll_s == 0.002 and warmed == [0.003] and not gc.isenabled()
    finally:
        guards.apply(RealtimeConfig())
    on_approach(0.003)
    assert reads.busy_poll_s == 0.0 and warmed == [0.003] and gc.isenabled()
