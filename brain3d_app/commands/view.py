"""``brain3d view SESSION``: the command's handler, kept here so the CLI stays thin."""

from __future__ import annotations

import argparse
import logging

from brain3d.config import Config
from viewer.display import want_headless

logger = logging.getLogger(__name__)


def add_view_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``view`` subcommand to ``commands``; returns its parser."""
    from pathlib import Path

    view = commands.add_parser(
        "view", help="browse a saved session folder frame by frame (or render it to frames/GIF)",
        description="Open a session folder written by `brain3d run` (images/, descriptions/, clouds/, "
        "traces.jsonl, summary.json) in the viewer: Left/Right step through the windows, PgUp/PgDn by ten, "
        "Home/End; space, s, r, i, h, +/- as in the live window. With --headless (or no display) render "
        "the frames to PNG and a GIF/MP4 instead.",
    )
    view.add_argument("session", type=Path, help="session folder (<output.dir>/<UTC time>-<source>/)")
    view.add_argument("--headless", action="store_true", help="render offscreen to PNG frames and a movie")
    view.add_argument("--output", type=Path, default=None, metavar="DIR",
                      help="headless: where frames go (default SESSION/frames/view)")
    view.add_argument("--step", type=int, default=1, metavar="N", help="headless: every N-th frame (default 1)")
    view.add_argument("--start", type=int, default=0, metavar="N",
                      help="window: first frame shown (0-based, negative from the end)")
    view.set_defaults(handler=run_view)
    return view


def run_view(args: argparse.Namespace, config: Config) -> int:
    """Browse ``args.session`` in the window, or render it offscreen when headless."""
    from viewer.session import browse_session, render_session

    if want_headless(config.viewer, args.headless):
        frames, movie = render_session(args.session, config.viewer, args.output, step=args.step)
        print(f"rendered {len(frames)} frames to {frames[0].parent if frames else args.output}")
        if movie is not None:
            print(f"movie: {movie}")
        return 0
    browse_session(args.session, config.viewer, start=args.start)
    return 0
