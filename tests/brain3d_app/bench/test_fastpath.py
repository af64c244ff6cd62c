"""The fast-path timer: budget and sample count (no timing assertions on the values)."""

from __future__ import annotations

import time

from brain3d_app.bench.fastpath import time_calls


def test_time_calls_returns_one_sample_per_timed_call_after_warmup() -> None:
    calls = []
    samples = time_calls(lambda: calls.append(1), runs=7, warmup=3)
    assert len(calls) == 10 and samples.shape == (7,)


def test_time_calls_stops_at_the_budget_and_says_how_many_it_timed() -> None:
    samples = time_calls(lambda: time.sleep(0.005), runs=10_000, warmup=0, budget_s=0.02)
    assert 1 <= samples.size < 10_000
