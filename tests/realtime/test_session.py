"""The session folder writer: layout, trace lines, events flushed as written."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from brain3d.pointcloud import PointCloud
from brain3d.results import Cloud, Decoded, Described, Trace
from brain3d.sim.scenes import generate_scene
from realtime.session import SessionWriter, new_session_dir, trace_record


def test_session_dirs_are_named_by_utc_time_and_source_and_never_reused(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = new_session_dir(tmp_path, "replay:a b", now=now)
    second = new_session_dir(tmp_path, "replay:a b", now=now)
    assert first.name == "20260102T030405Z-replay_a_b" and first.is_dir()
    assert second != first and second.name.startswith(first.name)


def test_trace_record_has_latencies_from_the_window_end() -> None:
    trace = Trace(window_end=10.0)
    trace.mark("buffered", 10.001)
    trace.mark("inference", 10.004)
    record = trace_record(7, trace)
    assert record["seq"] == 7 and record["window_end"] == 10.0
    assert record["stamps"] == {"buffered": 10.001, "inference": 10.004}
    assert abs(record["latency_ms"]["inference"] - 4.0) < 1e-6


def test_writer_saves_images_descriptions_clouds_events_and_traces(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path / "s", config_yaml="a: 1\n")
    scene = generate_scene(3)
    trace = Trace(window_end=1.0)
    trace.mark("inference", 1.003)
    writer.on_decoded(Decoded(seq=5, latent=np.zeros(512, np.float32), image=scene.image, trace=trace))
    writer.on_described(Described(seq=5, description=scene.description, image=scene.image, trace=trace))
    cloud = PointCloud(points=np.zeros((10, 3), np.float32), colors=np.full((10, 3), 200, np.uint8), source="t")
    writer.on_cloud(Cloud(seq=5, cloud=cloud, description=scene.description, trace=trace))
    writer.event("stream_stalled", 2.0, "engine", {"no_window_for_s": 2.5})
    # event lines are on disk before close (a killed run keeps them)
    assert json.loads((tmp_path / "s" / "events.jsonl").read_text())["event"] == "stream_stalled"
    writer.trace(5, trace)
    writer.write_json("summary.json", {"windows": 1})
    writer.close()
    writer.close()  # idempotent
    folder = tmp_path / "s"
    assert np.array_equal(np.asarray(Image.open(folder / "images" / "00000005.png")), scene.image)
    saved = json.loads((folder / "descriptions" / "00000005.json").read_text())
    assert saved["seq"] == 5 and saved["description"]["objects"]
    assert (folder / "clouds" / "00000005.ply").stat().st_size > 0
    assert json.loads((folder / "traces.jsonl").read_text())["seq"] == 5
    assert json.loads((folder / "summary.json").read_text()) == {"windows": 1}
    assert (folder / "config.yaml").read_text() == "a: 1\n" and (folder / "frames").is_dir()


def test_a_folder_that_holds_a_run_is_refused_not_mixed(tmp_path: Path) -> None:
    import pytest

    from brain3d.errors import ConfigError

    first = SessionWriter(tmp_path / "s")
    first.trace(1, Trace(window_end=1.0))
    first.close()
    before = (tmp_path / "s" / "traces.jsonl").read_text()
    with pytest.raises(ConfigError, match="already holds a run"):
        SessionWriter(tmp_path / "s")
    assert (tmp_path / "s" / "traces.jsonl").read_text() == before  # the first run is untouched
    SessionWriter(tmp_path / "empty-but-existing").close()  # an existing folder without a run is fine
    SessionWriter(tmp_path / "empty-but-existing-2" / "nested").close()
