"""The ``brain3d`` command: a thin layer over the library API.

Every subcommand loads the one configuration (``config.yaml``, then ``--config``
files merged on top, then ``--set key.path=value``), configures logging, and calls
library functions. Errors the product raises on purpose are printed as one clear
message (exit status 2 for configuration errors, 1 for the rest).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brain3d import __version__
from brain3d.config import Config, load_config
from brain3d.errors import Brain3DError, ConfigError
from brain3d.logs import quiet_libraries
from brain3d.registry import DESCRIBERS, GENERATORS, PRECISIONS, SOURCES

if TYPE_CHECKING:
    from brain3d.models import Brain3D
    from brain3d.training.simulated import EmbeddedRecipe

logger = logging.getLogger("brain3d_app.cli")

#: The subparsers of ``brain3d`` (one per subcommand).
_Commands = argparse._SubParsersAction  # argparse has no public name for it
#: Help of the ``--data-dir`` option of train, evaluate and calibrate.
DATA_DIR_HELP = "folder of the simulated trial stores (default: build/sim-data)"



def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--base-config", type=Path, default=None, metavar="PATH",
        help="main configuration file (default: $BRAIN3D_CONFIG, ./config.yaml, or the repository's)",
    )
    group.add_argument(
        "--config", dest="extra_configs", type=Path, action="append", default=[], metavar="PATH",
        help="YAML file merged on top of the main configuration (repeatable)",
    )
    group.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override one value, read as YAML, e.g. --set window.hop=16 (repeatable)",
    )


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.base_config, extra_files=args.extra_configs, overrides=args.overrides)


def _setup_logging(config: Config, verbose: bool) -> None:
    level = logging.DEBUG if verbose else getattr(logging, config.logging.level)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if config.logging.file is not None:
        config.logging.file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(config.logging.file))
    logging.basicConfig(
        level=level, handlers=handlers, force=True,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    quiet_libraries(level)


# ---------------------------------------------------------------------- commands
def _cmd_config(args: argparse.Namespace, config: Config) -> int:
    print(config.to_yaml(), end="")
    return 0


def _cmd_export(args: argparse.Namespace, config: Config) -> int:
    from export_onnx import ensure_exported, read_metadata

    if args.output is not None:
        config.onnx.path = args.output.resolve()
    if args.precision is not None:
        config.onnx.precision = args.precision
    path, parity = ensure_exported(config, force=args.force)
    metadata = read_metadata(path)
    summary = {
        "path": str(path),
        "precision": metadata.precision,
        "channels": metadata.n_channels,
        "samples": metadata.n_times,
        "sfreq_hz": metadata.sfreq,
        "image_size": metadata.image_size,
        "normalization": metadata.normalization,
        "weights_sha256": metadata.weights_sha256,
        "trained_weights": metadata.trained,
        "weights": metadata.weights_label,
        "parity": parity.summary() if parity is not None else "up to date (not re-exported; use --force)",
    }
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from realtime.engine import Engine, install_signal_handlers
    from realtime.session import new_session_dir

    if args.source.startswith("replay:"):
        config.source.replay.path = Path(args.source.split(":", 1)[1]).resolve()
        config.source.kind = "replay"  # after the path: assignment is validated
    elif args.source in SOURCES and args.source != "replay":
        config.source.kind = args.source
    else:
        others = ", ".join(name for name in SOURCES.names() if name != "replay")
        raise ConfigError(f"--source {args.source!r}: use {others} or replay:FILE")
    for value, registry, section in ((args.describer, DESCRIBERS, config.describer),
                                     (args.generator, GENERATORS, config.generator3d)):
        if value is not None:
            if value not in registry:
                raise ConfigError(registry.unknown_message(value))
            section.backend = value
    if args.duration < 0:
        raise ConfigError(f"--duration {args.duration}: must be >= 0 seconds (0: until Ctrl-C or the window closes)")
    duration = args.duration or None  # None: until stopped
    session_dir = new_session_dir(config.output.dir, config.source.kind)
    engines: list[Engine] = []  # the window's close button stops the engine made below
    window, sinks = _viewer_for_run(args, config, session_dir,
                                    on_close=lambda: [e.request_stop("window closed") for e in engines])
    # the source opens once the describer and 3D models are loaded, so the whole run has them
    engine = Engine(config, sinks=sinks, session_dir=session_dir, slow_stages=not args.fast_path_only,
                    wait_for_stages_s=180.0)
    engines.append(engine)
    restore = install_signal_handlers(engine)
    try:
        engine.start()
        if window is not None:
            import threading

            timer = threading.Timer(duration, engine.request_stop, args=("duration reached",)) \
                if duration is not None else None
            if timer is not None:
                timer.daemon = True
                timer.start()
            window.run(until=lambda: engine.finished)
            if timer is not None:
                timer.cancel()
        elif not engine.wait(duration):
            engine.request_stop("duration reached")
    finally:
        summary = engine.stop()
        restore()
    if summary is None:  # pragma: no cover - start failed and raised
        return 1
    result = summary.to_dict()
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))
    print(f"source        : {summary.source}")
    print(f"fast path     : onnxruntime {summary.provider}, {summary.precision}")
    print(f"weights       : {summary.weights}")
    print(f"slow stages   : {', '.join(f'{k}={v} ({summary.stage_modes[k]})' for k, v in summary.backends.items()) or 'none'}")
    print(f"windows       : {summary.windows} decoded, {summary.windows_unusable} unusable, "
          f"{summary.samples_received} samples in {summary.duration_s:.1f} s; "
          f"3D updates {summary.cloud_updates_per_s:.2f}/s")
    print("latency       : last sample of the window -> result (LSL clock), ms")
    for stage, fig in result["stages"].items():
        if fig["count"] or fig["skipped"] or fig["errors"]:
            p50, p99 = (f"{v:8.2f}" if v is not None else "       -" for v in (fig["p50_ms"], fig["p99_ms"]))
            print(f"  {stage:<13}: n={fig['count']:<5} p50 {p50}  p99 {p99}  "
                  f"skipped {fig['skipped']}  errors {fig['errors']}")
    ident = summary.identification
    if ident is not None and "top1" in ident:
        print(f"live decoding : {ident['n_candidates']}-way identification of {ident['scored_windows']} stimulus "
              f"windows: top-1 {ident['top1']:.2f} (chance {ident['chance_top1']:.2f}), "
              f"top-5 {ident['top5']:.2f} (chance {ident['chance_top5']:.2f})")
    else:
        print("live decoding : not scored (the source sends no ground truth, or fewer than 2 stimuli)")
    print(f"events        : {summary.events}")
    print(f"session       : {summary.session_dir} (stopped by: {summary.stopped_by})")
    if summary.error:
        print(f"brain3d: the run failed: {summary.error}", file=sys.stderr)
        return 1
    return 0


def _viewer_for_run(
    args: argparse.Namespace, config: Config, session_dir: Path, on_close: Callable[[], object]
) -> tuple[Any, list[Any]]:
    """The live window (main thread) or the offscreen renderer (a sink), when ``viewer/`` provides them."""
    if not config.viewer.enabled:
        return None, []
    try:
        import viewer

        headless = viewer.want_headless(config.viewer, args.headless)
    except (ImportError, AttributeError) as exc:
        logger.warning("the viewer is unavailable (%s); running without display or frames", exc)
        return None, []
    if not headless:
        try:
            window = viewer.LiveWindow(config.viewer, on_close=on_close)
            return window, [window]
        except Exception as exc:  # noqa: BLE001 - Qt/VTK failures vary; fall back to offscreen frames
            logger.warning("the live window could not open (%s: %s); rendering offscreen instead",
                           type(exc).__name__, exc)
    try:
        return None, [viewer.OffscreenRenderer(config.viewer, session_dir / "frames")]
    except Exception as exc:  # noqa: BLE001 - the run goes on without frames
        logger.warning("offscreen rendering is unavailable (%s: %s); running without frames",
                       type(exc).__name__, exc)
        return None, []


def _cmd_simulate(args: argparse.Namespace, config: Config) -> int:
    from brain3d.sim.lsl_stream import stream_simulation

    stats = stream_simulation(
        config.source.simulate, args.duration,
        speed=args.speed if args.speed is not None else config.source.simulate.speed,
        onset_interval_s=args.onset_interval,
    )
    print(
        f"streamed {stats.samples_pushed} samples and {stats.markers_pushed} stimulus markers of SIMULATED EEG "
        f"in {stats.wall_s:.1f} s (push lateness p99 {stats.lateness_ms_p99:.2f} ms)"
    )
    return 0


def _cmd_replay(args: argparse.Namespace, config: Config) -> int:
    from acquisition.replay import replay_file

    replay = config.source.replay
    counters = replay_file(
        args.file, speed=args.speed if args.speed is not None else replay.speed,
        loop=args.loop or replay.loop, start_offset_s=args.start_offset if args.start_offset is not None else replay.start_offset_s,
        duration_s=args.duration,
    )
    total = sum(counters.samples_pushed.values())
    print(f"replayed {args.file}: {total} samples over {len(counters.samples_pushed)} stream(s) "
          f"({', '.join(f'{k}: {v}' for k, v in counters.samples_pushed.items())}), {counters.loops} pass(es)")
    return 0


def _cmd_record(args: argparse.Namespace, config: Config) -> int:
    from acquisition.recorder import StreamSelector, record_streams

    selectors = [StreamSelector(name=n) for n in args.name] + [StreamSelector(type=t) for t in args.type]
    if not selectors:
        lsl = config.source.lsl
        selectors = [StreamSelector(name=lsl.name, type=lsl.type, source_id=lsl.source_id)]
    summary = record_streams(
        selectors, args.output, args.duration, resolve_timeout_s=config.source.lsl.resolve_timeout_s,
    )
    print(f"recorded {len(summary.streams)} stream(s) ({', '.join(summary.streams.values())}) for "
          f"{summary.duration_s:.1f} s to {summary.path}; {summary.stats}")
    return 0


def _recipe(args: argparse.Namespace) -> EmbeddedRecipe:
    from brain3d.training.simulated import EmbeddedRecipe

    recipe = EmbeddedRecipe()
    if getattr(args, "quick", False):
        recipe = recipe.quick()
    if getattr(args, "epochs", None):
        recipe = recipe.model_copy(update={"train": recipe.train.model_copy(update={"epochs": args.epochs})})
    return recipe


def _load_trained(config: Config, weights: Path | None) -> Brain3D:
    from brain3d.models import load_checkpoint

    return load_checkpoint(weights or config.model.weights)


def _cmd_train(args: argparse.Namespace, config: Config) -> int:
    if args.stage == "describer":
        from brain3d_app.commands.train import train_describer_command

        return train_describer_command(args, config)
    if args.stage == "generator3d":
        from brain3d_app.commands.train import train_generator_command

        return train_generator_command(args, config)
    from brain3d.training.simulated import train_embedded

    recipe = _recipe(args)
    command = (
        "brain3d train" + (" --quick" if args.quick else "") + (f" --epochs {args.epochs}" if args.epochs else "")
        + (" --ship" if args.ship else "")
    )
    result = train_embedded(
        config, recipe, output_dir=args.output, data_dir=args.data_dir, resume=not args.no_resume,
        ship=args.ship, command=command, progress=not args.no_progress,
    )
    print(json.dumps(result, indent=2))
    return 0


def _cmd_evaluate(args: argparse.Namespace, config: Config) -> int:
    from brain3d.training.simulated import evaluate_simulated

    recipe = _recipe(args)
    if args.onnx:  # what the live path runs: the exported graph at onnx.precision
        return _evaluate_onnx(args, config, recipe)
    model = _load_trained(config, args.weights)
    result = evaluate_simulated(model, recipe.data, args.data_dir)
    # --- evaluate describer (issue 6): add result["description"] here ---
    from brain3d.describe.training import evaluate_describer
    from brain3d.errors import ModelLoadError

    try:
        result["description"] = evaluate_describer(config, model, args.data_dir, recipe.data.held_out_subjects)
    except ModelLoadError as exc:  # no grounded weights: the decoding figures still stand
        result["description"] = {"error": str(exc)}
    # --- end evaluate describer ---
    # --- evaluate generator3d (issue 7): add result["generation3d"] here ---
    from brain3d.generate3d.evaluation import evaluate_generation

    result["generation3d"] = evaluate_generation(
        config, model, recipe.data, args.data_dir, n_scenes=8 if args.quick else None
    )
    # --- end evaluate generator3d ---
    _write_json(result, args.json)
    return 0


def _evaluate_onnx(args: argparse.Namespace, config: Config, recipe: Any) -> int:
    """Decoding figures of the onnxruntime graph the live path runs (describer and 3D excluded)."""
    import torch

    from brain3d.training.simulated import evaluate_simulated
    from export_onnx import open_fast_path

    if args.weights is not None:
        config.model.weights = args.weights.resolve()
    session = open_fast_path(config)

    def decode(eeg: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(eeg.numpy()).image)

    result = evaluate_simulated(decode, recipe.data, args.data_dir)
    result["decoder"] = {"runtime": "onnxruntime", "provider": session.provider,
                         "precision": session.metadata.precision, "graph": str(session.path),
                         "note": "decoding figures only; run without --onnx for the describer and 3D figures"}
    _write_json(result, args.json)
    return 0


def _write_json(result: dict[str, Any], path: Path | None) -> None:
    text = json.dumps(result, indent=2)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(text)


def _cmd_calibrate(args: argparse.Namespace, config: Config) -> int:
    from brain3d.models import load_checkpoint_and_metadata, save_checkpoint, training_data
    from brain3d.training.simulated import calibrate_simulated_subject

    recipe = _recipe(args)
    model, metadata = load_checkpoint_and_metadata(args.weights or config.model.weights)
    result = calibrate_simulated_subject(model, recipe.data, args.data_dir, subject=args.subject, minutes=args.minutes)
    calibration_data = f"SIMULATED EEG of new simulated subject {args.subject} ({args.minutes:g} min), not recorded EEG"
    if args.output is not None:
        base = training_data(metadata)
        save_checkpoint(result.model, args.output, {"calibrated_subject": str(args.subject),
                                                    "data": f"{base}; calibrated on {calibration_data}"})
    print(json.dumps({
        "data": calibration_data,
        "subject": args.subject, "calibration_trials": result.n_calibration_trials,
        "calibrated_parameters": result.calibrated_parameters,
        "before": result.before.to_dict(), "after": result.after.to_dict(),
        "saved_to": str(args.output) if args.output else None,
    }, indent=2))
    return 0


def _cmd_backends(args: argparse.Namespace, config: Config) -> int:
    """Every registered backend per family, built-ins and plug-ins (entry points)."""
    for registry in (SOURCES, DESCRIBERS, GENERATORS, PRECISIONS):
        group = f", entry points {registry.entry_point_group!r}" if registry.entry_point_group else ""
        print(f"{registry.config_key} ({registry.family}{group}):")
        for backend in registry:
            print(f"  {backend.name:<14} {backend.summary}  [{backend.origin}: {backend.factory}]")
    return 0


def _add_run_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``run`` subcommand's parser (the main job)."""
    run = commands.add_parser(
        "run", help="run the main job: live decoding from the simulator (default), LSL, BrainFlow or a replay",
        description="Run the main job: the source's EEG through acquisition (recorded raw), the ONNX fast path "
        "(every window), the describer and the 3D stage (asynchronous, latest wins) to the viewer (a window "
        "when a display exists, offscreen frames otherwise), LSL outputs and a session folder under "
        "output.dir. Ends with latencies per stage on the LSL clock and, for the simulator, live "
        "identification accuracy. Ctrl-C or SIGTERM stop cleanly.",
    )
    run.add_argument("--source", default="simulate", metavar="KIND",
                     help="a registered source (default simulate), or replay:FILE. "
                     + SOURCES.help().replace("%", "%%"))
    run.add_argument("--duration", type=float, default=20.0, metavar="SECONDS",
                     help="seconds to run (default 20; 0: until Ctrl-C or the window closes)")
    run.add_argument("--headless", action="store_true", help="no window: render frames offscreen into the session")
    run.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the summary as JSON")
    run.add_argument("--describer", default=None, metavar="NAME",
                     help="describer.backend for this run: " + DESCRIBERS.help().replace("%", "%%"))
    run.add_argument("--generator", default=None, metavar="NAME",
                     help="generator3d.backend for this run: " + GENERATORS.help().replace("%", "%%"))
    run.add_argument("--fast-path-only", action="store_true",
                     help="no describer and 3D stages (decoded images, latents and traces only)")
    run.set_defaults(handler=_cmd_run)
    return run


def _add_export_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``export`` subcommand's parser (checkpoint to ONNX)."""
    export = commands.add_parser(
        "export", help="export encoder + decoder to ONNX with metadata and a parity check",
        description="Export the configured checkpoint (encoder + decoder) as one ONNX graph, "
        "check it against torch and store channels, rate, window and weights hash in it.",
    )
    export.add_argument("--output", type=Path, default=None, metavar="PATH", help="graph path (default: onnx.path)")
    export.add_argument("--precision", choices=("auto", *PRECISIONS.names()), default=None,
                        help="default: onnx.precision (auto: int8_static on CPU, fp32 on GPU)")
    export.add_argument("--force", action="store_true", help="export even if the graph is up to date")
    export.set_defaults(handler=_cmd_export)
    return export


def _add_backends_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``backends`` subcommand's parser (the registries), config options included."""
    backends = commands.add_parser(
        "backends", help="list the registered sources, describers, 3D generators and precisions (with plug-ins)",
        description="List every registered backend per family: the built-ins and those that installed "
        "packages add through the brain3d.sources, brain3d.describers and brain3d.generators entry points.",
    )
    _add_config_options(backends)
    backends.set_defaults(handler=_cmd_backends)
    return backends


def _add_config_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``config`` subcommand's parser (print the resolved configuration)."""
    show = commands.add_parser(
        "config", help="validate the configuration and print it resolved",
        description="Load config.yaml plus --config files and --set overrides, validate, print as YAML.",
    )
    show.set_defaults(handler=_cmd_config)
    return show


def _add_simulate_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``simulate`` subcommand's parser (SIMULATED EEG over LSL)."""
    simulate = commands.add_parser(
        "simulate", help="stream SIMULATED visual-EEG and stimulus markers live over LSL",
        description="Publish the closed-loop simulator as LSL outlets (EEG + markers with ground truth).",
    )
    simulate.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="default: until Ctrl-C")
    simulate.add_argument("--speed", type=float, default=None,
                          help="faster than real time (default: source.simulate.speed, 1)")
    simulate.add_argument("--onset-interval", type=float, default=1.0, metavar="SECONDS", help="stimulus every ... s")
    simulate.set_defaults(handler=_cmd_simulate)
    return simulate


def _add_replay_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``replay`` subcommand's parser (a recording as LSL streams)."""
    replay = commands.add_parser(
        "replay", help="publish a recording (XDF, FIF, EDF, BDF, BrainVision, EEGLAB) as LSL streams",
        description="Replay every stream of an XDF file (markers included), or an MNE-readable file's EEG plus "
        "its annotations as markers, with the original timing (or faster, looped, from an offset).",
    )
    replay.add_argument("file", type=Path, help="recording to replay")
    replay.add_argument("--speed", type=float, default=None, help="default: source.replay.speed")
    replay.add_argument("--loop", action="store_true", help="start over at the end")
    replay.add_argument("--start-offset", type=float, default=None, metavar="SECONDS", help="skip the first seconds")
    replay.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after (wall seconds)")
    replay.set_defaults(handler=_cmd_replay)
    return replay


def _add_record_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``record`` subcommand's parser (LSL streams to XDF)."""
    record = commands.add_parser(
        "record", help="record LSL streams to XDF without decoding",
        description="Resolve LSL streams (by --name/--type, default: the configured source.lsl selector) and "
        "write them raw to an XDF file continuously (a kill loses at most the last second).",
    )
    record.add_argument("--output", type=Path, required=True, metavar="FILE.xdf", help="XDF file to write")
    record.add_argument("--name", action="append", default=[], help="record streams of this name (repeatable)")
    record.add_argument("--type", action="append", default=[], help="record streams of this type (repeatable)")
    record.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="default: until Ctrl-C")
    record.set_defaults(handler=_cmd_record)
    return record


def _add_train_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``train`` subcommand's parser (training on simulated data)."""
    train = commands.add_parser(
        "train", help="train encoder + decoder on simulated data (reproduces the shipped weights)",
        description="Simulate the training data (once), train with checkpoints and resume, validate on a "
        "held-out subject, evaluate, and with --ship install the weights and model card.",
    )
    train.add_argument("--output", type=Path, default=Path("build/train"), help="checkpoints (default build/train)")
    train.add_argument("--data-dir", type=Path, default=Path("build/sim-data"), help=DATA_DIR_HELP)
    train.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    train.add_argument("--quick", action="store_true", help="a small data set and few epochs (smoke test)")
    train.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--ship", action="store_true", help="copy the best weights to model.weights + model card")
    train.add_argument(
        "--stage", choices=("fastpath", "describer", "generator3d"), default="fastpath",
        help="what to train: fastpath = encoder + decoder (default), describer = grounded describer head, "
        "generator3d = point-cloud diffusion",
    )
    train.set_defaults(handler=_cmd_train)
    return train


def _add_evaluate_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``evaluate`` subcommand's parser (decoding figures)."""
    evaluate = commands.add_parser(
        "evaluate", help="decoding figures on held-out simulated subjects and scenes",
        description="SSIM, pixel correlation and 50-way identification (top-1/top-5 with chance), within-subject "
        "and leave-subjects-out, single-trial and averaged, and as a function of SNR.",
    )
    evaluate.add_argument("--weights", type=Path, default=None, help="checkpoint (default: model.weights)")
    evaluate.add_argument("--data-dir", type=Path, default=Path("build/sim-data"), help=DATA_DIR_HELP)
    evaluate.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the figures as JSON")
    evaluate.add_argument("--quick", action="store_true", help="the quick recipe's data set")
    evaluate.add_argument("--onnx", action="store_true",
                          help="decode through the onnxruntime graph the live path runs (onnx.precision, "
                               "onnx.providers) instead of torch; decoding figures only")
    evaluate.set_defaults(handler=_cmd_evaluate)
    return evaluate


def _add_calibrate_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``calibrate`` subcommand's parser (adapt to a new subject)."""
    calibrate = commands.add_parser(
        "calibrate", help="adapt a trained model to a new subject from a few minutes of labelled data",
        description="Fine-tune the spatial attention and first conv block on a new (simulated) subject and "
        "report identification before and after.",
    )
    calibrate.add_argument("--weights", type=Path, default=None, help="checkpoint (default: model.weights)")
    calibrate.add_argument("--subject", type=int, default=1500, help="simulated subject id (new head)")
    calibrate.add_argument("--minutes", type=float, default=3.0, help="calibration data, minutes at 1 trial/s")
    calibrate.add_argument("--data-dir", type=Path, default=Path("build/sim-data"), help=DATA_DIR_HELP)
    calibrate.add_argument("--output", type=Path, default=None, help="save the calibrated checkpoint here")
    calibrate.add_argument("--quick", action="store_true", help="the quick recipe's data set")
    calibrate.set_defaults(handler=_cmd_calibrate)
    return calibrate


def _cmd_bench(args: argparse.Namespace, config: Config) -> int:
    """Handler of ``bench``: the latency benchmark (imported on use)."""
    from brain3d_app.commands.bench import bench_command

    return bench_command(args, config)


def _add_bench_parser(commands: _Commands) -> argparse.ArgumentParser:
    """The ``bench`` subcommand's parser (the latency benchmark)."""
    bench = commands.add_parser(
        "bench", help="latency benchmark: fast path, acquisition vs mne-lsl, the engine session, sweeps; report",
        description="Measure a controlled session (SIMULATED EEG over a real LSL outlet through the engine), "
        "the comparisons (onnxruntime vs torch, ours vs mne-lsl, slow stages on vs off) and the sweeps; write "
        "results.json, PNG plots and report.md into one folder. Ctrl-C writes what was measured so far.",
    )
    bench.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                       help="seconds of stream data of the engine session with slow stages on (default 60; "
                       "the session with them off streams half as long)")
    bench.add_argument("--speed", type=float, default=1.0, help="engine session stream time / wall time (default 1)")
    bench.add_argument("--output", type=Path, default=Path("build/bench/latest"), metavar="DIR",
                       help="folder for results.json, the PNGs and report.md (default build/bench/latest)")
    bench.add_argument("--quick", action="store_true", help="seconds instead of minutes (tests; not for quoting)")
    bench.add_argument("--load", action=argparse.BooleanOptionalAction, default=True,
                       help="also run the pipeline with the stages on and a CPU hog pinned to the other core "
                       "(the 'loaded' condition; default on, --no-load leaves it out)")
    bench.add_argument("--parts", default="fastpath,acquisition,pipeline,sweeps,generate3d,viewer", metavar="LIST",
                       help="comma-separated subset of fastpath,acquisition,pipeline,sweeps,generate3d,viewer")
    bench.add_argument("--update-docs", nargs="?", const=Path("docs/benchmarks.md"), default=None, type=Path,
                       metavar="PATH", help="also write the report to docs/benchmarks.md (PNGs to docs/benchmarks/)")
    bench.add_argument("--viewer-json", type=Path, default=None, metavar="PATH",
                       help="viewer benchmark JSON (default build/bench/viewer.json, else run python -m brain3d_app.bench.standalone.viewer)")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")
    bench.set_defaults(handler=_cmd_bench)
    return bench


def _backends_epilog() -> str:
    """The registered backends per family (plug-ins included), for ``brain3d --help``."""
    lines = ["registered backends (brain3d backends for details; plug-ins add more through entry points):"]
    for registry in (SOURCES, DESCRIBERS, GENERATORS, PRECISIONS):
        lines.append(f"  {registry.config_key:<20} {', '.join(registry.names())}")
    return "\n".join(lines).replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``brain3d`` command."""
    parser = argparse.ArgumentParser(
        prog="brain3d",
        description="Brain3D Live: EEG -> image -> structured description -> 3D, in real time.",
        epilog=_backends_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = _add_run_parser(commands)
    export = _add_export_parser(commands)
    _add_backends_parser(commands)  # adds its config options itself
    show = _add_config_parser(commands)
    simulate = _add_simulate_parser(commands)
    replay = _add_replay_parser(commands)
    record = _add_record_parser(commands)
    train = _add_train_parser(commands)
    evaluate = _add_evaluate_parser(commands)
    calibrate = _add_calibrate_parser(commands)

    extra: list[argparse.ArgumentParser] = []
    # --- view (issue 9): append the parser to `extra` ---
    from brain3d_app.commands.view import add_view_parser  # light: loads neither VTK nor Qt

    extra.append(add_view_parser(commands))
    # --- end view ---
    # --- bench (issue 10): owns this block; append the parser to `extra` ---
    extra.append(_add_bench_parser(commands))
    # --- end bench ---

    for sub in (run, export, show, simulate, replay, record, train, evaluate, calibrate, *extra):
        _add_config_options(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brain3d`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Config], int] = args.handler
    try:
        config = _load(args)
        _setup_logging(config, args.verbose)
        return handler(args, config)
    except ConfigError as exc:
        print(f"brain3d: configuration error: {exc}", file=sys.stderr)
        return 2
    except Brain3DError as exc:
        print(f"brain3d: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("brain3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
