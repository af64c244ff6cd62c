"""Figures of an engine session, from hand-made traces with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brain3d_app.bench.figures import Section
from brain3d_app.bench.pipeline import (
    SessionRun,
    add_session_figures,
    push_times_of,
    read_jsonl,
    stage_latencies,
    timeline,
)


def _trace(seq: int, image_ms: float, description_ms: float | None, cloud_ms: float | None) -> dict:
    lat = {"buffered": 1.0, "preprocessed": 1.5, "inference": image_ms}
    if description_ms is not None:
        lat["description"] = description_ms
    if cloud_ms is not None:
        lat["cloud"] = cloud_ms
    end = 100.0 + seq * 0.125
    return {"seq": seq, "window_end": end, "latency_ms": lat, "stamps": {k: end + v / 1e3 for k, v in lat.items()}}


def _run(traces: list[dict], *, summary: dict | None = None, recorded: int | None = 1000) -> SessionRun:
    return SessionRun(session_dir=Path("."), slow_stages=True, traces=traces, summary=summary or {},
                      samples_sent=1000, samples_recorded=recorded, wall_s=2.0, usage=None, hop_s=0.125,
                      provider="CPUExecutionProvider")


def test_session_figures_count_behind_real_time_not_reached_and_lost_samples() -> None:
    traces = [_trace(0, 3.0, 50.0, 400.0), _trace(1, 4.0, None, None), _trace(2, 200.0, 60.0, None),
              _trace(3, 5.0, None, None)]
    summary = {"samples_received": 990, "stages": {"inference": {"skipped": 0},
                                                   "description": {"skipped": 2, "errors": 0},
                                                   "cloud": {"skipped": 1, "errors": 0}}}
    section = Section("pipeline", "P")
    add_session_figures(section, "on", _run(traces, summary=summary))
    assert section.value("on.windows_decoded") == 4
    assert section.value("on.windows_behind_real_time") == 1  # 200 ms > one hop (125 ms)
    assert section.value("on.not_reached.description") == 2
    assert section.value("on.not_reached.cloud") == 3
    assert section.value("on.skipped.description") == 2
    assert section.value("on.sample_to_cloud.p50") == 400.0
    assert section.value("on.samples.lost") == 10  # sent 1000, received 990, recorded 1000
    assert section.value("on.throughput.cloud") == 0.5
    assert section.figures["on.sample_to_image.p50"].device == "CPUExecutionProvider"


def test_unreadable_recording_is_reported_missing() -> None:
    section = Section("pipeline", "P")
    add_session_figures(section, "off", _run([_trace(0, 3.0, None, None)], recorded=None))
    assert "off.samples.recorded" in section.missing
    assert "off.samples.received" in section.missing


def test_stage_latencies_keep_data_path_order_and_timeline_marks_unreached_windows() -> None:
    traces = [_trace(1, 4.0, None, None), _trace(0, 3.0, 50.0, None)]
    assert list(stage_latencies(traces)) == ["buffered", "preprocessed", "inference", "description"]
    series = timeline(traces)
    np.testing.assert_allclose(series["t_s"], [0.0, 0.125])
    assert np.isnan(series["description_ms"][1]) and series["description_ms"][0] == 50.0


def test_read_jsonl_ignores_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_text('{"seq": 0}\n{"seq": 1}\n{"seq": ', encoding="utf-8")
    assert read_jsonl(path) == [{"seq": 0}, {"seq": 1}]


def test_a_windows_last_sample_is_pushed_with_the_first_chunk_due_at_or_after_it() -> None:
    due = np.array([100.0, 100.010, 100.020, 100.030])  # chunks of 10 ms; due = their last sample
    pushed = due + np.array([0.001, 0.002, 0.0105, 0.003])
    ends = np.array([100.0, 100.004, 100.010, 100.025, 100.040])
    got = push_times_of(ends, due, pushed)
    np.testing.assert_allclose(got[:4], [100.001, 100.012, 100.012, 100.033])
    assert np.isnan(got[4])  # after the last push: unknown, left out


def test_push_to_image_is_measured_from_the_push_not_the_due_time() -> None:
    traces = [_trace(k, 3.0, None, None) for k in range(4)]  # image 3 ms after each window's due time
    ends = np.array([t["window_end"] for t in traces])
    late = np.array([0.5, 1.0, 2.0, 0.25]) / 1e3  # the sender pushed these late
    run = _run(traces)
    run.push_log = (ends, ends + late)
    section = Section("pipeline", "P")
    add_session_figures(section, "on", run)
    assert section.value("on.sample_to_image.p50") == 3.0
    np.testing.assert_allclose(section.value("on.push_to_image.max"), 2.75, atol=1e-4)
    np.testing.assert_allclose(section.value("on.sender_lateness_at_window_end.max"), 2.0, atol=1e-4)
    assert section.value("on.push_to_image.n") == 4
    replay = _run(traces)
    section = Section("pipeline", "P")
    add_session_figures(section, "replay", replay)
    assert "replay.push_to_image" in section.missing


def test_push_to_window_is_the_window_cut_minus_the_push_of_its_last_sample() -> None:
    traces = [_trace(k, 3.0, None, None) for k in range(3)]  # cut 1 ms after the due time
    ends = np.array([t["window_end"] for t in traces])
    run = _run(traces)
    run.push_log = (ends, ends + 0.0004)
    section = Section("pipeline", "P")
    add_session_figures(section, "on", run)
    np.testing.assert_allclose(section.value("on.push_to_window.p50"), 0.6, atol=1e-4)
    assert section.value("on.push_to_window.n") == 3
