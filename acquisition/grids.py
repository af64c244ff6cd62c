"""One stream's windowing: its input front end, the phase-shifted resampling grids, their windowers.

Where one output grid cannot end every window on an input sample (500 -> 256 Hz with a
32-sample hop), windows are cut from :func:`~acquisition.preprocessing.window_phases`
grids in turn; :class:`GridWindows` runs the front end (units, mapping, NaN bridging,
anti-alias) once per chunk and each grid's resampler, filters and windower on its output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from acquisition.base import StreamDescription
from acquisition.front_end import InputFrontEnd
from acquisition.preprocessing import StreamPreprocessor, window_phases
from acquisition.windowing import Windower
from brain3d.config import Config
from brain3d.results import Window

logger = logging.getLogger(__name__)


class GridWindows:
    """The front end, ``P`` resampling grids and their windowers of one stream.

    Parameters
    ----------
    description : StreamDescription
        The opened source's stream.
    config : Config
        ``channels``, ``window``, ``preprocessing``.
    clock : callable
        LSL clock, for the windowers' ``buffered`` stamps.
    name : str
        For logs.
    **preprocessor_kwargs
        Extra :class:`~acquisition.preprocessing.StreamPreprocessor` arguments
        (``align_windows=False`` or ``resampler="linear_phase"`` give one grid).

    Attributes
    ----------
    chains : list of (StreamPreprocessor, Windower)
        One per grid; grid ``p`` cuts windows ``p, p + P, ...``.
    front_end : InputFrontEnd
        Shared by every grid.
    """

    def __init__(self, description: StreamDescription, config: Config, *, clock: Callable[[], float],
                 name: str = "acquisition", **preprocessor_kwargs: Any) -> None:  # fmt: skip
        phases = 1
        if preprocessor_kwargs.get("align_windows", True):
            phases = window_phases(description.sfreq, config.window,
                                   str(preprocessor_kwargs.get("resampler", "low_latency")))  # fmt: skip
        self.chains: list[tuple[StreamPreprocessor, Windower]] = []
        front_end: InputFrontEnd | None = None
        for phase in range(phases):
            preprocessor = StreamPreprocessor.from_config(config, description, window_phase=(phase, phases),
                                                          front_end=front_end, **preprocessor_kwargs)  # fmt: skip
            if front_end is None:  # the first grid's front end (its anti-alias filter) serves every grid
                front_end = preprocessor.release_front_end()
            windower = Windower.for_preprocessor(preprocessor, config.window, config.preprocessing, clock=clock,
                                                 phase=(phase, phases))  # fmt: skip
            self.chains.append((preprocessor, windower))
        assert front_end is not None
        self.front_end: InputFrontEnd = front_end
        self.sfreq_in = float(description.sfreq)
        if phases > 1:
            logger.info("%s: windows cut from %d phase-shifted resampling grids so that every window ends on "
                        "an input sample (%g Hz -> %g Hz, hop %d)", name, phases, description.sfreq,
                        config.window.sfreq, config.window.hop)  # fmt: skip

    @property
    def preprocessor(self) -> StreamPreprocessor:
        """The first grid's preprocessor (mapping, units and the resampler's description)."""
        return self.chains[0][0]

    @property
    def windower(self) -> Windower:
        """The first grid's windower."""
        return self.chains[0][1]

    def reset(self) -> None:
        """Forget the signal state (e.g. after a stream restart): the front end and every grid
        re-prime on the next data. Window counting is the windowers' and is kept."""
        self.front_end.reset()
        for preprocessor, _ in self.chains:
            preprocessor.reset()

    def inputs_until_next_window(self) -> int:
        """Input samples still to come before the next window of any grid can be cut."""
        return min(pre.inputs_until(win.samples_to_next_window) for pre, win in self.chains)

    def push(self, data: Any, timestamps: Any) -> list[Window]:
        """One chunk as received -> the windows it completes, in sequence order."""
        front = self.front_end.process(data, timestamps)  # once, whatever the number of grids
        cut: list[Window] = []
        # the grid whose window comes next first: its window is the latency-critical one
        for preprocessor, windower in sorted(self.chains, key=lambda chain: chain[1].next_seq):
            out = preprocessor.process_front(front)
            if len(out):
                cut.extend(windower.push(out.data, out.timestamps))
        if len(self.chains) > 1:
            cut.sort(key=lambda window: window.seq)
        return cut

    @property
    def samples_out(self) -> int:
        """Output samples at the model rate, summed over the grids."""
        return sum(pre.samples_out for pre, _ in self.chains)

    def windower_stats(self) -> dict[str, Any]:
        """One windower's stats from those of every grid (counts summed)."""
        per_grid: list[dict[str, Any]] = [dict(windower.stats()) for _, windower in self.chains]
        merged = dict(per_grid[0])
        for stats in per_grid[1:]:
            for key in ("windows_emitted", "windows_flagged", "windows_unusable", "overflowed_samples"):
                merged[key] += stats[key]
            merged["flags"] = {name: merged["flags"][name] + stats["flags"][name] for name in merged["flags"]}
        return merged


__all__ = ["GridWindows"]
