"""The engine end to end, headless, from the simulator, with fake slow stages."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brain3d.normalization import prepare_windows
from brain3d.results import Cloud, Decoded, Described, Window
from realtime.engine import Engine, RunSummary
from realtime.sinks import EngineStatus
from tests.fakes import FakeDescriber, FakeGenerator
from tests.realtime.conftest import make_config


class RecordingSink:
    """Keeps what the engine hands out; marks ``display`` like a viewer would."""

    def __init__(self) -> None:
        self.decoded: list[Decoded] = []
        self.described: list[Described] = []
        self.clouds: list[Cloud] = []
        self.statuses: list[EngineStatus] = []
        self.closed = False

    def on_decoded(self, item: Decoded) -> None:
        from brain3d.clock import lsl_clock

        item.trace.mark("display_image", lsl_clock())  # as a viewer does once the image is on screen
        self.decoded.append(item)

    def on_described(self, item: Described) -> None:
        self.described.append(item)

    def on_cloud(self, item: Cloud) -> None:
        from brain3d.clock import lsl_clock

        item.trace.mark("display_cloud", lsl_clock())
        self.clouds.append(item)

    def on_status(self, status: EngineStatus) -> None:
        self.statuses.append(status)

    def close(self) -> None:
        self.closed = True


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_simulator_run_fills_a_complete_session_folder(tmp_path: Path, fast_path: Any) -> None:
    sink = RecordingSink()
    describer = FakeDescriber(fail_every=4)  # an erroring stage is counted, the run goes on
    generator = FakeGenerator()
    engine = Engine(make_config(tmp_path), sinks=[sink], fast_path=fast_path, describer=describer,
                    generator=generator, lsl_outputs=False)
    summary = engine.run(3.5)
    folder = Path(summary.session_dir)
    assert folder.parent == tmp_path and folder.name.endswith("-simulate")
    assert summary.error is None and summary.stopped_by == "duration reached" and summary.simulated
    # ~1 s to fill the first window, then 8 windows/s
    assert summary.windows >= 12 and summary.windows == len(sink.decoded)
    first = sink.decoded[0]
    assert first.image.dtype == np.uint8 and first.image.shape == (64, 64, 3)
    assert first.latent.shape == (512,) and first.latent.dtype == np.float32 and first.simulated
    stamps = first.trace.stamps
    assert stamps["buffered"] <= stamps["preprocessed"] <= stamps["inference"]
    assert [d.seq for d in sink.decoded] == sorted(d.seq for d in sink.decoded)
    # the describer failed every 4th call: errors counted, never fatal
    assert summary.stages["description"]["errors"] == describer.calls // 4 > 0
    assert summary.stages["description"]["count"] == len(sink.described) > 0
    assert summary.stages["cloud"]["count"] == len(sink.clouds) > 0
    # a window's image and its cloud share one trace but are stamped apart
    assert summary.stages["display_image"]["count"] == len(sink.decoded)
    assert summary.stages["display_cloud"]["count"] == len(sink.clouds)
    assert all(c.trace.stamps["display_image"] < c.trace.stamps["display_cloud"] for c in sink.clouds)
    assert all(c.trace.stamps["inference"] <= c.trace.stamps["description"] <= c.trace.stamps["cloud"]
               for c in sink.clouds)
    assert sink.closed and sink.statuses and sink.statuses[-1].windows > 0
    assert describer.closed is False  # injected objects belong to the caller
    # the folder
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(folder / "recording.xdf"))
    assert streams[0]["time_series"].shape[1] == 64 and len(streams[0]["time_stamps"]) > 1000
    assert len(list((folder / "images").glob("*.png"))) == summary.windows
    assert len(list((folder / "descriptions").glob("*.json"))) == len(sink.described)
    assert len(list((folder / "clouds").glob("*.ply"))) == len(sink.clouds)
    traces = _lines(folder / "traces.jsonl")
    assert sorted(t["seq"] for t in traces) == [d.seq for d in sink.decoded]
    assert all(set(t) == {"seq", "window_end", "latency_ms", "stamps"} for t in traces)
    assert all(t["latency_ms"]["inference"] > 0 for t in traces)
    events = [e["event"] for e in _lines(folder / "events.jsonl")]
    assert events[0] == "run_started" and events[-1] == "run_stopped"
    assert events.count("stage_error") == summary.stages["description"]["errors"]
    saved = json.loads((folder / "summary.json").read_text())
    assert saved["windows"] == summary.windows and saved["stages"]["inference"]["count"] == summary.windows
    assert (folder / "config.yaml").is_file()


class WindowKeepingEngine(Engine):
    """The engine, keeping a copy of every window the acquisition hands it (by sequence number)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.windows: dict[int, np.ndarray] = {}

    def _on_window(self, window: Window) -> None:
        self.windows[window.seq] = np.array(window.data, copy=True)  # ring-buffer views are reused
        super()._on_window(window)


@pytest.mark.parametrize(("fast_path_thread", "reuse_buffers"), [("acquisition", False), ("own", False),
                                                                ("acquisition", True)])
def test_each_decoded_window_is_the_fast_path_on_the_prepared_window(
        tmp_path: Path, fast_path: Any, fast_path_thread: str, reuse_buffers: bool) -> None:
    """The live input is prepare_windows(window) with the configured reference and normalisation
    (also when each window is prepared into kept buffers)."""
    sink = RecordingSink()
    config = make_config(tmp_path, f"realtime.reuse_buffers={str(reuse_buffers).lower()}")
    engine = WindowKeepingEngine(config, sinks=[sink], fast_path=fast_path, slow_stages=False, lsl_outputs=False,
                                 fast_path_thread=fast_path_thread)  # type: ignore[arg-type]
    engine.run(2.5)
    assert len(sink.decoded) >= 8
    prep = config.preprocessing
    for decoded in sink.decoded:
        window = engine.windows[decoded.seq]
        expected = fast_path.run(prepare_windows(window, prep.reference, prep.normalization))
        np.testing.assert_allclose(decoded.latent, expected.latent[0], rtol=0, atol=1e-5)
        image = np.clip(np.rint((expected.image[0].transpose(1, 2, 0) + 1.0) * 127.5), 0, 255)
        assert np.abs(decoded.image.astype(int) - image.astype(int)).max() <= 1


@pytest.mark.parametrize("data", ["recorded EEG: lab-7 (1200 trials)", None])
def test_summary_status_and_lsl_streams_name_the_weights_from_the_checkpoint(tmp_path: Path, data: str | None) -> None:
    """What trained the weights comes from the checkpoint; no checkpoint shows UNTRAINED everywhere."""
    import pylsl

    from brain3d.models import save_checkpoint
    from export_onnx import open_fast_path
    from tests.conftest import make_model

    config = make_config(tmp_path, f"model.weights={tmp_path / 'w.safetensors'}",
                         f"onnx.path={tmp_path / 'fp.onnx'}", "onnx.precision=fp32", "onnx.warmup_runs=1")
    if data is not None:
        save_checkpoint(make_model(seed=5), config.model.weights, {"data": data})
    expected = f"trained on {data}" if data else "UNTRAINED: random initialisation (seed 0)"
    sink = RecordingSink()
    engine = Engine(config, sinks=[sink], fast_path=open_fast_path(config), slow_stages=False)
    engine.start()
    try:
        (info,) = pylsl.resolve_byprop("source_id", f"{engine.lsl.source_id}-latent", 1, 5.0)
        stream_weights = pylsl.StreamInlet(info).info(5.0).desc().child_value("weights")
        engine.wait(1.0)
    finally:
        summary = engine.stop()
    assert summary.weights.startswith(expected) and stream_weights == summary.weights
    assert sink.statuses and sink.statuses[-1].weights == summary.weights
    assert json.loads((Path(summary.session_dir) / "summary.json").read_text())["weights"] == summary.weights
    assert summary.trained_weights is (data is not None)


def test_slow_stages_take_the_newest_input_and_the_fast_path_keeps_its_rate(tmp_path: Path, fast_path: Any) -> None:
    sink = RecordingSink()
    engine = Engine(make_config(tmp_path), sinks=[sink], fast_path=fast_path,
                    describer=FakeDescriber(delay_s=0.3), generator=FakeGenerator(delay_s=0.7), lsl_outputs=False)
    summary = engine.run(4.0)
    stages = summary.stages
    acquired = engine.acquisition.windows_delivered
    # the fast path decoded every window the acquisition delivered (none waited behind the slow stages)
    assert stages["inference"]["skipped"] <= 1 and summary.windows >= acquired - 1
    # latest wins: the slow stages skipped inputs, counted, and always took the newest
    assert stages["description"]["skipped"] > 0 and stages["cloud"]["skipped"] > 0
    assert stages["description"]["count"] + stages["description"]["skipped"] <= summary.windows
    assert stages["cloud"]["count"] < stages["description"]["count"]
    described = [d.seq for d in sink.described]
    assert described == sorted(described) and len(set(described)) == len(described)
    # each description started from the newest decoded window at the time: gaps > 1 between them
    assert max(np.diff(described)) > 1


def test_a_stage_that_always_raises_is_restarted_then_stops_the_run_with_a_clear_message(
    tmp_path: Path, fast_path: Any
) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, describer=FakeDescriber(),
                    generator=FakeGenerator(always_fail=True), lsl_outputs=False)
    started = time.monotonic()
    summary = engine.run(30.0)
    assert time.monotonic() - started < 20  # stopped by the failure, not by the duration
    assert summary.stopped_by == "error" and engine.finished
    assert "cloud stage failed" in summary.error and "restarted 2 times" in summary.error
    assert "generator3d" in summary.error and "always fails" in summary.error
    cloud = summary.stages["cloud"]
    assert cloud["errors"] == 15 and cloud["restarts"] == 2 and cloud["count"] == 0
    events = _lines(Path(summary.session_dir) / "events.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds.count("stage_error") == 15 and kinds.count("stage_restarted") == 2 and "run_failed" in kinds
    assert "ValueError" in next(e for e in events if e["event"] == "stage_error")["traceback"]
    assert (Path(summary.session_dir) / "summary.json").is_file()


def test_stop_is_idempotent_and_safe_from_other_threads(tmp_path: Path, fast_path: Any) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, slow_stages=False, lsl_outputs=False)
    engine.start()
    assert not engine.finished and not engine.wait(0.5)
    results: list[RunSummary | None] = []
    threads = [threading.Thread(target=lambda: results.append(engine.stop())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert engine.finished and engine.wait(0)
    assert len(results) == 3 and all(r is engine.summary for r in results)
    assert engine.stop() is engine.summary
    assert engine.status.stream == "stopped"
    with pytest.raises(RuntimeError, match="already"):
        engine.start()


def test_stream_stall_is_reported_as_an_event(tmp_path: Path, fast_path: Any) -> None:
    from acquisition.sim_source import SimulatorSource
    from realtime.engine import HealthSettings

    config = make_config(tmp_path)

    class PausingSource(SimulatorSource):
        """Stops delivering for a while after 1.5 s (as a headset losing its radio link)."""

        def read(self, timeout: float = 0.0, min_samples: int = 1) -> Any:
            elapsed = time.monotonic() - self.opened_at
            if 1.5 < elapsed < 2.8:
                time.sleep(timeout)
                return None
            return super().read(timeout, min_samples)

        def open(self) -> None:
            self.opened_at = time.monotonic()
            super().open()

    engine = Engine(config, source=PausingSource(config.source.simulate), fast_path=fast_path, slow_stages=False,
                    lsl_outputs=False, health=HealthSettings(stall_s=0.6, behind_s=0.3))
    summary = engine.run(4.0)
    events = summary.events
    assert events.get("stream_stalled", 0) >= 1 and events.get("stream_resumed", 0) >= 1
    # the simulator catches up with its backlog: those windows arrive late
    assert events.get("falling_behind", 0) >= 1


class _ScriptedFastPath:
    """A fast-path session whose first ``slow_calls`` calls take ``delay_s`` longer (a
    stalled provider) and whose calls after ``good_calls`` fail (a lost device)."""

    def __init__(self, session: Any, *, slow_calls: int = 0, delay_s: float = 0.0,
                 good_calls: int | None = None) -> None:
        self.session, self.slow_calls, self.delay_s, self.good_calls = session, slow_calls, delay_s, good_calls
        self.calls = 0

    def run(self, eeg: np.ndarray) -> Any:
        self.calls += 1
        if self.good_calls is not None and self.calls > self.good_calls:
            raise RuntimeError("provider lost its device")
        if self.calls <= self.slow_calls:
            time.sleep(self.delay_s)
        return self.session.run(eeg)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.mark.parametrize("thread", ["acquisition", "own"])
def test_a_stalled_fast_path_catches_up_on_the_newest_window_and_counts_the_rest(
    tmp_path: Path, fast_path: Any, thread: str
) -> None:
    sink = RecordingSink()
    session = _ScriptedFastPath(fast_path, slow_calls=2, delay_s=0.45)
    engine = Engine(make_config(tmp_path), sinks=[sink], fast_path=session, slow_stages=False,
                    lsl_outputs=False, fast_path_thread=thread)
    summary = engine.run(4.0)
    seqs = [d.seq for d in sink.decoded]
    skipped = summary.stages["inference"]["skipped"]
    assert summary.error is None and seqs == sorted(seqs)
    # two 0.45 s stalls at 8 windows/s: ~3 windows each were passed over for the newest one
    assert skipped >= 4 and max(np.diff(seqs)) > 1
    # nothing silent: every delivered window was decoded or counted as skipped
    assert abs(summary.windows + skipped - engine.acquisition.windows_delivered) <= 1


@pytest.mark.parametrize("thread", ["acquisition", "own"])
def test_a_failing_fast_path_stops_the_run_with_a_clear_message_and_a_complete_folder(
    tmp_path: Path, fast_path: Any, thread: str
) -> None:
    session = _ScriptedFastPath(fast_path, good_calls=3)
    engine = Engine(make_config(tmp_path), fast_path=session, slow_stages=False, lsl_outputs=False,
                    fast_path_thread=thread)
    started = time.monotonic()
    summary = engine.run(20.0)
    assert time.monotonic() - started < 10.0  # stopped by the failure, not by the duration
    assert summary.error is not None and "provider lost its device" in summary.error
    assert summary.windows == 3 and session.calls == 4  # the failing call was the last one
    events = [json.loads(line)["event"] for line in (Path(summary.session_dir) / "events.jsonl").read_text().splitlines()]
    assert events.count("stage_error") == 1 and "run_failed" in events and events[-1] == "run_stopped"
    assert (Path(summary.session_dir) / "summary.json").is_file()


def test_tail_guards_warm_the_fast_path_collect_after_windows_and_report_what_they_did(
        tmp_path: Path, fast_path: Any) -> None:
    import gc

    sink = RecordingSink()
    config = make_config(tmp_path, "realtime.busy_poll_ms=1.0", "realtime.warm_before_due=true",
                         "realtime.gc_off_hot_path=true", "realtime.pin_cores=true")
    engine = Engine(config, sinks=[sink], fast_path=fast_path, slow_stages=False, lsl_outputs=False)
    summary = engine.run(3.0)
    assert summary.error is None and summary.windows >= 8 and summary.windows == len(sink.decoded)
    guards = summary.realtime
    assert guards["busy_poll_ms"] == 1.0 and guards["warm_before_due"] and guards["gc_off_hot_path"]
    # the simulator releases 10 ms blocks: a block that completes a window skips the approach
    assert 0 < guards["warm_runs"] <= guards["busy_poll"]["approaches"] <= summary.windows
    assert guards["warm_s"] > 0
    assert guards["gc_collections"] >= summary.windows
    assert guards["pinned"]  # pinned, or the reason it could not be
    assert gc.isenabled()  # restored at stop
    saved = json.loads((Path(summary.session_dir) / "summary.json").read_text())
    assert saved["realtime"]["warm_runs"] == guards["warm_runs"]
