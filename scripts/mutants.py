"""Plant realistic bugs in a scratch copy of the repository and check that the tests catch each.

Each mutant replaces one exact piece of source text (the run stops with an error when the
text is no longer there, so a refactoring cannot turn a mutant into a silent no-op) and
runs the tests that guard it. A mutant is *caught* when pytest reports failed tests
(exit status 1) and none of them timed out; it *survives* when they pass; it *hangs*
when a test hits the time limit (pytest-timeout) or pytest does not finish; anything else
(the guarding tests not found, collection errors) is *broken*: the run did not test what
it names. The script exits 1 unless every mutant is caught.

The scratch copy is ``git archive HEAD`` (the committed code: commit first), plus the
ignored ``build/`` folder when present (exported ONNX graphs; they are re-exported when
stale). It runs with this repository's ``.venv`` and ``PYTHONPATH`` pointing at the copy.

Usage::

    bash scripts/mutants.sh                 # every mutant
    bash scripts/mutants.sh --only 4 6a     # some of them
    bash scripts/mutants.sh --list          # what each plants and which tests guard it
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    """One planted bug: ``edits`` are (file, exact old text, new text); ``tests`` guard it."""

    key: str
    bug: str
    edits: tuple[tuple[str, str, str], ...]
    tests: tuple[str, ...]
    timeout_s: float = 600.0


MUTANTS: tuple[Mutant, ...] = (
    Mutant("1a", "the engine feeds raw microvolts to the model instead of prepare_windows(...)",
           (("realtime/fast_path.py",
             "eeg = prepare_windows(window.data, self.preprocessing.reference, self.preprocessing.normalization)",
             "eeg = window.data"),),
           ("tests/realtime/test_engine.py::test_each_decoded_window_is_the_fast_path_on_the_prepared_window",)),
    Mutant("1b", "prepare_windows forgets the average reference",
           (("brain3d/normalization.py", "data = data - data.mean(axis=-2, keepdims=True)", "data = data"),),
           ("tests/brain3d/test_normalization.py",)),
    Mutant("1c", "the fast path silently decodes with untrained weights",
           (("export_onnx/fastpath.py", "    if path.is_file():\n        model, checkpoint_metadata = load_checkpoint_and_metadata(path)",
             "    if False:\n        model, checkpoint_metadata = load_checkpoint_and_metadata(path)"),),
           ("tests/brain3d_app/test_cli_run.py::test_the_shipped_weights_identify_the_stimuli_live",)),
    Mutant("2", "the int8 graphs' latent is all zeros",
           (("export_onnx/session.py", "        return self._validate_output(outputs, batch.shape[0])",
             "        out = self._validate_output(outputs, batch.shape[0])\n"
             "        if self.metadata.precision.startswith('int8'):\n            out.latent[...] = 0.0\n"
             "        return out"),),
           ("tests/export_onnx/test_fastpath.py::test_the_graph_a_run_opens_agrees_with_the_shipped_weights",)),
    Mutant("3a", "a configured stage that cannot be imported is dropped with a warning (exit 0)",
           (("realtime/slow_stages.py", "        check_factory(name, spec)\n",
             "        try:\n            check_factory(name, spec)\n        except Exception:\n"
             "            return None\n"),),
           ("tests/realtime/test_stages.py", "tests/brain3d_app/test_cli_run.py::"
            "test_a_broken_stage_package_stops_the_start_with_the_import_error_and_a_non_zero_exit")),
    Mutant("3b", "brain3d.generate3d fails to import and the engine drops the 3D stage silently",
           (("realtime/slow_stages.py", "        check_factory(name, spec)\n",
             "        try:\n            check_factory(name, spec)\n        except Exception:\n"
             "            return None\n"),
            ("brain3d/generate3d/__init__.py", "from __future__ import annotations\n",
             "from __future__ import annotations\n\nraise ImportError('planted: a broken install')\n")),
           ("tests/brain3d_app/test_cli_run.py::"
            "test_sigterm_mid_run_stops_cleanly_with_a_complete_session_folder",)),
    Mutant("4", "the recorder fsyncs only at close",
           (("acquisition/recorder.py", "if dirty and (now - last_sync >= sync_period or closing):",
             "if dirty and closing:"),),
           ("tests/acquisition/test_recorder.py::test_fsync_runs_at_least_every_flush_interval_while_recording",)),
    Mutant("5a", "tests/conftest.py lets an outside LSLAPICFG win (setdefault)",
           (("tests/conftest.py", 'os.environ["LSLAPICFG"] = str(LSL_CONFIG)',
             'os.environ.setdefault("LSLAPICFG", str(LSL_CONFIG))'),),
           ("tests/test_lsl_confinement.py",)),
    Mutant("5b", "test streams share liblsl's default session id",
           (("tests/lsl_api.cfg", "SessionID = brain3d-tests\n", ""),
            ("tests/conftest.py", 'for needed in ("ResolveScope = machine", "SessionID = "):',
             'for needed in ("ResolveScope = machine",):')),
           ("tests/test_lsl_confinement.py",)),
    Mutant("6a", "the CLI prints a fixed 'trained on SIMULATED EEG' whatever the checkpoint says",
           (("brain3d_app/cli.py", 'print(f"weights       : {summary.weights}")',
             'print("weights       : trained (on SIMULATED EEG)")'),),
           ("tests/brain3d_app/test_cli_run.py::test_the_shipped_weights_identify_the_stimuli_live",)),
    Mutant("6b", "the graph's weights label ignores the checkpoint's data description",
           (("export_onnx/metadata.py",
             "return weights_label(self.trained, self.training_data or UNKNOWN_TRAINING_DATA)",
             "return weights_label(self.trained, 'SIMULATED EEG (brain3d.sim closed loop), not recorded EEG')"),),
           ("tests/realtime/test_engine.py::test_summary_status_and_lsl_streams_name_the_weights_from_the_checkpoint",
            "tests/export_onnx/test_fastpath.py::"
            "test_the_graph_carries_the_checkpoints_own_data_label_and_untrained_says_so")),
    Mutant("6c", "untrained weights are labelled as trained",
           (("brain3d/models/checkpoint.py", "    if not trained:\n        label =",
             "    if False:\n        label ="),),
           ("tests/realtime/test_engine.py::test_summary_status_and_lsl_streams_name_the_weights_from_the_checkpoint",
            "tests/brain3d/models/test_checkpoint.py")),
    Mutant("7a", "skips stay skips on CI",
           (("tests/strict_skips.py", 'return os.environ.get(STRICT_SKIPS_ENV, "") == "1"', "return False"),),
           ("tests/test_strict_skips.py",)),
    Mutant("7b", "missing shipped weights skip a test instead of failing it",
           (("tests/conftest.py", "        pytest.fail(f\"shipped weights {path} are missing",
             "        pytest.skip(f\"shipped weights {path} are missing"),),
           ("tests/test_strict_skips.py",)),
    Mutant("8a", "the grounded describer reads each object's colour from the wrong slot",
           (("brain3d/describe/head.py", "s, c = int(p_shape[i].argmax()), int(p_color[i].argmax())",
             "s, c = int(p_shape[i].argmax()), int(p_color[(i + 1) % len(p_color)].argmax())"),),
           ("tests/brain3d/describe/test_grounded.py::"
            "test_shipped_weights_describe_clean_simulated_scenes_as_the_card_reports",)),
    Mutant("8b", "a body cut off mid-answer is reported as a JSON error, not as a dropped connection",
           (("brain3d/describe/openai_backend.py", "if declared is not None and declared.isdigit()",
             "if False and declared is not None and declared.isdigit()"),),
           ("tests/brain3d/describe/test_openai_backend.py",)),
    Mutant("8c", "the LSL latent stream publishes the previous window's latent",
           (("realtime/lsl_outputs.py",
             "    def on_decoded(self, item: Decoded) -> None:\n        self._latent.push_sample(item.latent",
             "    def on_decoded(self, item: Decoded) -> None:\n"
             "        previous, self._previous = getattr(self, '_previous', item.latent), item.latent\n"
             "        self._latent.push_sample(previous"),),
           ("tests/realtime/test_lsl_outputs.py",)),
    Mutant("9", "the ring buffer's wrap-around read is off by one (the thread test must fail, not hang)",
           (("acquisition/ringbuffer.py", "data[first:n] = self._data[: n - first]",
             "data[first:n] = self._data[1 : n - first + 1]"),),
           ("tests/acquisition/test_ringbuffer.py::test_one_writer_one_reader_threads_see_consistent_samples",),
           timeout_s=120.0),
    Mutant("10", "a README figure is edited by hand",
           (("README.md", "| onnxruntime int8_static (the CPU default) | ", "| onnxruntime int8_static (the CPU default) | 0"),),
           ("tests/brain3d_app/bench/test_report.py",)),
    Mutant("11", "the registries never read the entry points (plug-ins are invisible)",
           (("brain3d/registry.py", "for point in entry_points(group=str(self.entry_point_group)):",
             "for point in list(entry_points(group=str(self.entry_point_group)))[:0]:"),),
           ("tests/realtime/test_plugins.py",)),
    Mutant("12", "every resampling grid runs the input front end again",
           (("acquisition/grids.py", "            out = preprocessor.process_front(front)",
             "            out = preprocessor.process_front(self.front_end.process(data, timestamps))"),),
           ("tests/acquisition/test_front_end.py",)),
    Mutant("13", "the viewer stamps a shown cloud as a shown image",
           (("viewer/scene.py", "        trace.mark(stage, stamp)", "        trace.mark(DISPLAY_IMAGE, stamp)"),),
           ("tests/viewer/test_offscreen.py",)),
    Mutant("14", "a lower floor imports a higher one (acquisition reaches into realtime)",
           (("acquisition/grids.py", "from __future__ import annotations\n",
             "from __future__ import annotations\n\nimport realtime.mailbox  # noqa: F401\n"),),
           ("tests/test_architecture.py",)),
    Mutant("15a", "the busy poll never stops spinning when the last sample is late (unbounded CPU)",
           (("acquisition/read_plan.py", "        if now > expected + self.busy_poll_s:  # a late (or chunked) sender: stop spinning",
             "        if False:  # a late (or chunked) sender: stop spinning"),),
           ("tests/acquisition/test_read_plan.py",)),
    Mutant("15b", "garbage collection stays off after the run",
           (("realtime/tail.py", "        if self._gc_was_enabled:\n            gc.enable()",
             "        if False:\n            gc.enable()"),),
           ("tests/realtime/test_tail.py",)),
    Mutant("15c", "the pipeline's push -> window figure is measured from the due time, not the push",
           (("brain3d_app/bench/pipeline.py", "(buffered[cut] - pushed[cut]) * 1e3", "(buffered[cut] - ends[cut]) * 1e3"),),
           ("tests/brain3d_app/bench/test_pipeline_figures.py",)),
    Mutant("15d", "a target's verdict ignores the anchor (push -> image judged without mne-lsl + back-to-back)",
           (("brain3d_app/bench/conditions.py", "        bound = None if mne is None or b2b is None else mne + b2b",
             "        bound = None if mne is None or b2b is None else 1e9"),),
           ("tests/brain3d_app/bench/test_conditions.py",)),
    Mutant("15e", "the buffer-reusing window preparer forgets the average reference",
           (("brain3d/normalization.py", "            np.subtract(out, self._row, out=out)", "            pass"),),
           ("tests/brain3d/test_normalization.py",)),
)


def _scratch_copy(target: Path) -> None:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, check=True, capture_output=True).stdout
    target.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    if (REPO / "build").is_dir():
        shutil.copytree(REPO / "build", target / "build", ignore=shutil.ignore_patterns("bench"))


def _plant(root: Path, mutant: Mutant) -> None:
    for relative, old, new in mutant.edits:
        path = root / relative
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"mutant {mutant.key}: {relative} has {text.count(old)} copies of the text to "
                             f"replace (needs exactly 1); update scripts/mutants.py:\n{old}")
        path.write_text(text.replace(old, new), encoding="utf-8")


def _run(mutant: Mutant, workdir: Path) -> tuple[str, float, str]:
    root = workdir / f"mutant-{mutant.key}"
    _scratch_copy(root)
    _plant(root, mutant)
    env = {**os.environ, "PYTHONPATH": str(root), "LSLAPICFG": str(root / "tests" / "lsl_api.cfg")}
    env.pop("BRAIN3D_STRICT_SKIPS", None)
    command = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               "--timeout", str(int(mutant.timeout_s)), *mutant.tests]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                              timeout=mutant.timeout_s + 60)
    except subprocess.TimeoutExpired:
        return "HANGS", time.monotonic() - started, "no result within the time limit"
    wall = time.monotonic() - started
    output = done.stdout + done.stderr
    last = output.strip().splitlines()[-1] if output.strip() else ""
    lines = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if done.returncode == 0:
        return "SURVIVES", wall, last
    if "Timeout (>" in output or "+++ Timeout +++" in output:
        return "HANGS", wall, "pytest-timeout fired: " + (lines[0] if lines else last)
    if done.returncode != 1 or not any(line.startswith("FAILED") for line in lines):
        return "BROKEN", wall, f"pytest exit {done.returncode}: {last}"
    shutil.rmtree(root, ignore_errors=True)
    return "caught", wall, lines[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="KEY", help="run these mutants only")
    parser.add_argument("--list", action="store_true", help="list the mutants and their tests, run nothing")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m.key in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.key:>3}  {m.bug}\n     guarded by: {', '.join(m.tests)}")
        return 0
    if not chosen:
        parser.error(f"--only {args.only}: no such mutant; keys: {', '.join(m.key for m in MUTANTS)}")
    if subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO).returncode != 0:
        print("mutants: note: uncommitted changes are not in the scratch copies (git archive HEAD)", file=sys.stderr)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="brain3d-mutants-") as tmp:
        for mutant in chosen:
            verdict, wall, detail = _run(mutant, Path(tmp))
            failures += verdict != "caught"
            print(f"{mutant.key:>3}  {verdict:<8} {wall:6.1f} s  {mutant.bug}\n                     {detail}",
                  flush=True)
    print(f"mutants: {len(chosen) - failures} of {len(chosen)} caught")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
