"""The latent and event streams, read by a second inlet, carry the windows' end times."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.results import Decoded
from realtime.engine import Engine
from tests.fakes import FakeDescriber, FakeGenerator
from tests.realtime.conftest import make_config

pylsl = __import__("pytest").importorskip("pylsl")


def _inlet(source_id: str) -> Any:
    infos = pylsl.resolve_byprop("source_id", source_id, 1, 5.0)
    assert infos, f"stream {source_id} not found"
    inlet = pylsl.StreamInlet(infos[0], max_buflen=60)
    inlet.open_stream(5.0)
    return inlet


def test_a_second_inlet_reads_latents_and_events_stamped_with_window_ends(tmp_path: Path, fast_path: Any) -> None:
    decoded: list[Decoded] = []

    class DecodedSink:
        def on_decoded(self, item: Decoded) -> None:
            decoded.append(item)

        def on_described(self, item: object) -> None: ...
        def on_cloud(self, item: object) -> None: ...
        def on_status(self, status: object) -> None: ...
        def close(self) -> None: ...

    engine = Engine(make_config(tmp_path), sinks=[DecodedSink()], fast_path=fast_path, describer=FakeDescriber(),
                    generator=FakeGenerator())
    engine.start()
    try:
        info_latent = _inlet(f"{engine.lsl.source_id}-latent")
        info_events = _inlet(f"{engine.lsl.source_id}-events")
        desc = info_latent.info().desc()
        assert info_latent.info().channel_count() == 512 and info_latent.info().type() == "Latent"
        assert desc.child("channels").child("channel").child_value("label") == "latent_000"
        assert desc.child_value("simulated") == "true"
        assert desc.child_value("weights").startswith("trained on SIMULATED EEG")
        assert info_events.info().desc().child_value("weights") == desc.child_value("weights")
        latents: list[tuple[float, np.ndarray]] = []
        markers: list[tuple[float, dict[str, Any]]] = []
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            chunk, stamps = info_latent.pull_chunk(timeout=0.1)
            latents.extend((t, np.asarray(x, np.float32)) for x, t in zip(chunk, stamps, strict=True))
            chunk, stamps = info_events.pull_chunk(timeout=0.0)
            markers.extend((t, json.loads(x[0])) for x, t in zip(chunk, stamps, strict=True))
    finally:
        summary = engine.stop()
    chunk, stamps = info_events.pull_chunk(timeout=0.5)
    markers.extend((t, json.loads(x[0])) for x, t in zip(chunk, stamps, strict=True))
    traces = {t["seq"]: t for t in map(json.loads, (Path(summary.session_dir) / "traces.jsonl").read_text().splitlines())}
    ends = np.array(sorted(t["window_end"] for t in traces.values()))
    assert len(latents) >= 8
    by_end = {d.trace.window_end: d for d in decoded}
    for stamp, latent in latents:
        assert latent.shape == (512,) and np.isfinite(latent).all()
        assert np.min(np.abs(ends - stamp)) < 1e-6  # the window's last-sample time, exactly
        match = min(by_end, key=lambda end: abs(end - stamp))
        assert abs(match - stamp) < 1e-6
        np.testing.assert_array_equal(latent, by_end[match].latent)  # the decoded latent, bit for bit
    kinds = {m["event"] for _, m in markers}
    assert {"description", "cloud_ready"} <= kinds
    for stamp, marker in markers:
        assert abs(stamp - traces[marker["seq"]]["window_end"]) < 1e-6
        assert marker["available"] >= marker["window_end"]
        if marker["event"] == "cloud_ready":
            assert marker["n_points"] == 64 and "cloud" in marker["latency_ms"]
        else:
            assert marker["description"]["objects"]
