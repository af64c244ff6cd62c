"""Slow stages in child processes: results come back; a dying process is restarted, then fatal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brain3d.errors import BackendError
from realtime.engine import Engine
from tests.fakes import FakeDescriber
from tests.realtime.conftest import make_config

FACTORIES = {"description": "tests.fakes:build_fake_describer",
             "cloud": "tests.fakes:build_fake_generator"}


@pytest.mark.slow
def test_stages_built_from_a_factory_run_in_their_own_processes(tmp_path: Path, fast_path: Any) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, stage_factories=FACTORIES, lsl_outputs=False)
    engine.start()
    try:
        assert engine.wait_stages_ready(120)  # spawned children import torch and build their model
        assert not engine.wait(2.5)
    finally:
        summary = engine.stop()
    assert summary.error is None
    assert summary.stage_modes == {"description": "process", "cloud": "process"}
    assert summary.backends == {"description": "fake-describer", "cloud": "fake-generator"}
    assert summary.stages["description"]["count"] > 0 and summary.stages["cloud"]["count"] > 0
    # an exception inside the child comes back as a stage error with the child's traceback
    assert summary.stages["cloud"]["errors"] >= 1 and summary.stages["cloud"]["restarts"] == 0
    events = [json.loads(line) for line in (Path(summary.session_dir) / "events.jsonl").read_text().splitlines()]
    error = next(e for e in events if e["event"] == "stage_error")
    assert error["stage"] == "cloud" and "fake generator failure" in error["error"]
    assert "fakes.py" in error["traceback"]
    assert len(list((Path(summary.session_dir) / "clouds").glob("*.ply"))) == summary.stages["cloud"]["count"]
    for worker in engine.workers.values():
        assert worker.runner.pid is None  # children joined


@pytest.mark.slow
def test_a_crashing_stage_process_is_restarted_then_the_run_stops(tmp_path: Path, fast_path: Any) -> None:
    factories = {**FACTORIES, "cloud": "tests.fakes:build_crashing_generator"}
    engine = Engine(make_config(tmp_path), fast_path=fast_path, stage_factories=factories, lsl_outputs=False)
    summary = engine.run(60.0)
    assert summary.stopped_by == "error"
    assert "cloud stage failed" in summary.error and "exit code 3" in summary.error
    assert summary.events["stage_crashed"] == 3 and summary.events["stage_restarted"] == 2
    assert summary.stages["inference"]["count"] > 0  # the fast path ran all along


def test_thread_mode_builds_stages_from_the_factories_in_this_process(tmp_path: Path, fast_path: Any) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, stage_factories=FACTORIES, stage_mode="thread",
                    lsl_outputs=False)
    summary = engine.run(2.5)
    assert summary.stage_modes == {"description": "thread", "cloud": "thread"}
    assert summary.stages["description"]["count"] > 0
    assert all(w.runner.instance.closed for w in engine.workers.values())  # built here, closed here


@pytest.mark.parametrize(("factories", "message"), [
    ({"description": "no_such_package_xyz:build"},
     "description stage cannot start: importing no_such_package_xyz failed (ModuleNotFoundError: "
     "No module named 'no_such_package_xyz')"),
    ({"cloud": "tests.fakes:no_such_factory"},
     "cloud stage cannot start: tests.fakes has no callable 'no_such_factory'"),
    ({"cloud": "tests.realtime.broken_stage:build"},
     "cloud stage cannot start: importing tests.realtime.broken_stage failed (ImportError: "
     "cannot import name 'no_such_name' from 'brain3d.generate3d'"),
])
def test_a_configured_stage_that_cannot_be_imported_fails_the_start_with_the_import_error(
        tmp_path: Path, fast_path: Any, factories: dict[str, str], message: str) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, stage_factories=factories, lsl_outputs=False)
    with pytest.raises(BackendError) as caught:
        engine.start()
    assert message in str(caught.value)
    assert engine.acquisition is None and not engine.workers  # nothing left running


def test_a_stage_turned_off_by_the_caller_is_not_built(tmp_path: Path, fast_path: Any) -> None:
    engine = Engine(make_config(tmp_path), fast_path=fast_path, describer=FakeDescriber(),
                    stage_factories={"cloud": None}, lsl_outputs=False)
    summary = engine.run(1.5)
    assert summary.error is None and list(engine.workers) == ["description"]


def test_a_stage_busy_too_long_while_inputs_wait_is_reported_stuck(tmp_path: Path, fast_path: Any) -> None:
    from realtime.engine import HealthSettings

    engine = Engine(make_config(tmp_path), fast_path=fast_path, describer=FakeDescriber(delay_s=2.5),
                    slow_stages=True, stage_factories={"cloud": None}, lsl_outputs=False,
                    health=HealthSettings(stuck_s=0.8))
    summary = engine.run(3.0)
    assert summary.events.get("stage_stuck", 0) >= 1 and summary.error is None
    assert summary.stages["inference"]["count"] >= 10  # the fast path went on meanwhile


def test_missing_weights_stop_the_run_at_once_without_pointless_restarts(tmp_path: Path, fast_path: Any) -> None:
    factories = {"description": "tests.fakes:build_describer_without_weights", "cloud": None}
    engine = Engine(make_config(tmp_path), fast_path=fast_path, stage_factories=factories, stage_mode="thread",
                    lsl_outputs=False)
    summary = engine.run(30.0)
    assert summary.stopped_by == "error" and summary.events.get("stage_restarted", 0) == 0
    assert "description stage cannot start" in summary.error and "do not exist; ship them" in summary.error


def test_an_object_that_is_not_a_describer_fails_the_start_with_the_seam_to_use(tmp_path) -> None:
    from brain3d.errors import BackendError
    from realtime.slow_stages import SlowStages

    def ignore(*_args: object) -> None:
        pass

    with pytest.raises(BackendError, match="has no describe_with_problems.*brain3d.describe.base.Describer subclass"):
        SlowStages(make_config(tmp_path), describer=object(), generator=None,  # type: ignore[arg-type]
                   factories={"description": None, "cloud": None}, mode="thread", pacing=None,
                   on_described=ignore, on_cloud=ignore, on_event=ignore, on_fatal=ignore, clock=lambda: 0.0)
