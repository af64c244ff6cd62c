"""Text panels and the latest-wins slots (no rendering)."""

from __future__ import annotations

import threading

from brain3d.config import ViewerConfig
from realtime.mailbox import LatestMailbox
from realtime.sinks import EngineStatus, StageFigures
from tests.viewer.conftest import description
from viewer.display import want_headless
from viewer.scene import MAX_DESCRIPTION_LINES, format_description, format_status
from viewer.slots import SinkSlots


def test_description_text_names_scene_objects_and_relations():
    from brain3d.schema import Color, Description, Position, SceneObject, relations_from_positions

    objs = [
        SceneObject(id="obj0", category="box", shape="cube", color=Color.from_name("red"),
                    position=Position(x=-0.6, y=0.2, z=0.0), size=0.4),
        SceneObject(id="obj1", category="ball", shape="sphere", color=Color.from_name("blue"),
                    position=Position(x=0.6, y=0.2, z=0.0), size=0.4),
    ]
    desc = Description(scene_type="indoor", objects=objs, spatial_relations=relations_from_positions(objs),
                       source="grounded-head", timing_ms=12.0)
    text = format_description(desc, 42)
    assert "#42" in text and "scene: indoor" in text and "grounded-head" in text
    assert "red cube" in text and "blue sphere" in text
    assert "obj0 left of obj1" in text
    assert format_description(None).startswith("description: waiting")


def test_long_descriptions_are_cut_to_the_panel():
    from brain3d.schema import Color, Description, Position, SceneObject, relations_from_positions

    objs = [
        SceneObject(id=f"o{i}", category="box", shape="cube", color=Color.from_name("red"),
                    position=Position(x=-1.4 + 0.18 * i, y=0.1 * (i % 5), z=0.1 * (i % 3)), size=0.1)
        for i in range(16)
    ]
    desc = Description(scene_type="outdoor", objects=objs, spatial_relations=relations_from_positions(objs),
                       source="x")
    text = format_description(desc)
    assert len(text.splitlines()) <= MAX_DESCRIPTION_LINES
    assert "more" in text


def test_status_text_shows_stream_rate_and_stage_percentiles():
    status = EngineStatus(
        source="simulator", simulated=True, stream="ok", sfreq=256.0, elapsed_s=3.2, windows=50,
        stages={"inference": StageFigures(50, 11.6, 19.2, 0, 0), "cloud": StageFigures(3, float("nan"), float("nan"), 7, 1)},
        provider="CPUExecutionProvider",
    )
    text = format_status(status)
    assert "SIMULATED EEG" in text and "stream ok" in text and "256 Hz" in text
    inference = next(line for line in text.splitlines() if line.startswith("inference"))
    assert inference.split()[1:] == ["12", "19", "0", "0"]
    cloud = next(line for line in text.splitlines() if line.startswith("cloud"))
    assert cloud.split()[1:] == ["-", "-", "7", "1"]


def test_status_text_names_the_weights_and_says_untrained():
    status = EngineStatus(source="lsl: amp", simulated=False, stream="ok", sfreq=500.0, elapsed_s=1.0, windows=3,
                          weights="UNTRAINED: random initialisation (seed 0), no checkpoint: decoded images are "
                                  "meaningless")
    assert "weights: UNTRAINED: random initialisation" in format_status(status)
    trained = EngineStatus(source="lsl: amp", simulated=False, stream="ok", sfreq=500.0, elapsed_s=1.0, windows=3,
                           weights="trained on recorded EEG: lab-7 (1200 trials)")
    assert "weights: trained on recorded EEG: lab-7 (1200 trials)" in format_status(trained)


def test_a_viewer_slot_keeps_the_newest_and_counts_overwrites():
    slot: LatestMailbox[int] = SinkSlots.create().status  # type: ignore[assignment]
    assert slot.take() is None
    threads = [threading.Thread(target=lambda k=k: [slot.put(k * 1000 + i) for i in range(1000)]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slot.take() is not None and slot.take() is None
    assert slot.put_count == 4000 and slot.overwritten == 3999 and slot.taken == 1


def test_headless_decision(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert want_headless(ViewerConfig(headless="auto"))
    assert not want_headless(ViewerConfig(headless=False))
    monkeypatch.setenv("DISPLAY", ":5")
    assert not want_headless(ViewerConfig(headless="auto"))
    assert want_headless(ViewerConfig(headless="auto"), headless=True)
    assert want_headless(ViewerConfig(headless=True))
    assert description().objects[0].shape == "cube"


def test_a_missing_or_unreachable_display_is_an_error_not_an_abort(monkeypatch):
    import pytest

    from brain3d.errors import BackendError
    from viewer.display import check_qt_display

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(BackendError, match="--headless"):
        check_qt_display()
    monkeypatch.setenv("DISPLAY", ":987")  # no X server there
    with pytest.raises(BackendError, match="cannot connect to the X display"):
        check_qt_display()
