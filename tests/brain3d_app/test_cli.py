"""The brain3d command: help, config errors, export and the interim main job."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from brain3d_app.cli import build_parser, main


def test_help_lists_every_subcommand_with_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("run", "export", "config"):
        assert any(line.strip().startswith(command + " ") for line in text.splitlines()), command
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert all(action.help for action in subparsers._choices_actions)


def test_console_script_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "brain3d_app", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "brain3d" in result.stdout


def test_config_error_exits_2_with_the_key(capsys):
    assert main(["config", "--set", "window.samples=64"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "window.samples = 64" in err


def test_config_prints_the_resolved_config(capsys):
    assert main(["config", "--set", "window.hop=16"]) == 0
    assert "hop: 16" in capsys.readouterr().out


def test_export_writes_a_graph_and_reports_parity(tmp_path, capsys):
    out = tmp_path / "graph.onnx"
    args = ["export", "--output", str(out), "--set", f"model.weights={tmp_path / 'none.safetensors'}"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    # onnx.precision is auto: the fp32 graph at --output, and the CPU's static int8 variant beside it
    assert out.is_file() and summary["path"] == str(out.with_name("graph.int8_static.onnx"))
    assert summary["precision"] == "int8_static"
    assert summary["trained_weights"] is False
    assert "PASSED" in summary["parity"]
    assert main([*args, "--precision", "fp32"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(out)


@pytest.fixture(scope="module")
def untrained_graph(tmp_path_factory):
    """--set options pointing at an untrained model and one shared exported graph."""
    folder = tmp_path_factory.mktemp("run")
    return [
        "--set", f"model.weights={folder / 'none.safetensors'}",
        "--set", f"onnx.path={folder / 'fp.onnx'}",
        "--set", "onnx.providers=[cpu]",
    ]


def test_run_decodes_the_simulator_live_and_scores_it(tmp_path, capsys, untrained_graph):
    report = tmp_path / "run.json"
    args = ["run", "--duration", "3.5", "--fast-path-only", "--headless", "--json", str(report),
            "--set", f"output.dir={tmp_path}", *untrained_graph]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "SIMULATED EEG" in out and "UNTRAINED" in out and "last sample of the window -> result" in out
    figures = json.loads(report.read_text())
    assert figures["simulated"] is True
    assert figures["windows"] >= 15  # 8 windows/s after the first full second
    inference = figures["stages"]["inference"]
    assert 0 < inference["p50_ms"] <= inference["p99_ms"]
    assert figures["identification"] is not None  # the simulator sends ground truth
    assert figures["identification"]["n_candidates"] >= 2
    assert figures["session_dir"] in out and (tmp_path / figures["session_dir"]).is_dir()


def test_run_replays_a_recording_through_the_fast_path(tmp_path, capsys, untrained_graph):
    import mne
    import numpy as np

    from brain3d.channels import STANDARD_64

    info = mne.create_info(list(STANDARD_64), 256.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(1).standard_normal((64, 256 * 6)) * 1e-5, info)
    recording = tmp_path / "session_raw.fif"
    raw.save(recording)
    report = tmp_path / "run.json"
    args = ["run", "--source", f"replay:{recording}", "--duration", "3", "--fast-path-only", "--headless",
            "--json", str(report), "--set", f"output.dir={tmp_path / 'sessions'}", *untrained_graph]
    assert main(args) == 0
    figures = json.loads(report.read_text())
    assert figures["simulated"] is False and figures["windows"] >= 5
    assert figures["identification"] is None
    assert "not scored" in capsys.readouterr().out


def test_unknown_source_is_refused_clearly(capsys):
    assert main(["run", "--source", "tape"]) == 2
    assert "use simulate, lsl, brainflow or replay:FILE" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "key"), [("--describer", "describer.backend"), ("--generator", "generator3d.backend")])
def test_an_unknown_backend_option_is_a_configuration_error_with_the_choices(capsys, option, key):
    assert main(["run", option, "nope", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert f"brain3d: configuration error: {key} 'nope' is unknown; choose one of" in err and "Traceback" not in err


def test_simulate_streams_and_says_it_is_simulated(capsys):
    assert main(["simulate", "--duration", "0.5", "--speed", "4", "--set", "source.simulate.sfreq=250"]) == 0
    out = capsys.readouterr().out
    assert "streamed 125 samples" in out and "SIMULATED EEG" in out


def test_training_commands_are_listed_with_help(capsys):
    for command in ("train", "evaluate", "calibrate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--data-dir" in capsys.readouterr().out


def test_replay_then_record_round_trip(tmp_path, capsys):
    """brain3d replay publishes a FIF file; brain3d record captures it to XDF."""
    import threading

    import mne
    import numpy as np
    import pyxdf

    info = mne.create_info(["Cz", "Pz"], 200.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((2, 400)) * 1e-5, info)
    # a unique stream name (the file's stem): other LSL streams on this machine must not be recorded
    source_file = tmp_path / f"brain3d-test-{uuid.uuid4().hex[:8]}_raw.fif"
    raw.save(source_file)
    recorded = tmp_path / "out.xdf"
    recorder = threading.Thread(
        target=main, args=(["record", "--output", str(recorded), "--name", source_file.stem, "--duration", "3.5"],)
    )
    recorder.start()
    import time

    time.sleep(1.0)  # the recorder resolves the stream first; give it a head start
    assert main(["replay", str(source_file)]) == 0
    recorder.join(timeout=20)
    streams, _ = pyxdf.load_xdf(str(recorded))
    eeg = [s for s in streams if s["info"]["type"][0] == "EEG"]
    assert len(eeg) == 1 and eeg[0]["info"]["name"][0] == source_file.stem
    assert eeg[0]["time_series"].shape[1] == 2
    assert "replayed" in capsys.readouterr().out
