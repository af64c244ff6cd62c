"""Causal, stateful streaming preprocessing: source chunks -> model channels, rate and band.

One :class:`StreamPreprocessor` per stream turns chunks as received (source units,
source channel order, source rate) into samples the windower buffers: microvolts, the
model's channels in model order, ``window.sfreq`` Hz, band-passed and notched, each
output sample with its LSL timestamp. Feeding a recording in chunks of any size gives
the same output as feeding it at once (all state is carried between calls).

Steps, in order (each vectorised over channels; no per-sample Python loops). Steps 1-2
and the anti-alias filter of step 3 are the stream's :class:`~acquisition.front_end.InputFrontEnd`,
run once per chunk however many phase-shifted grids follow (:class:`~acquisition.grids.GridWindows`);
the interpolation of step 3 and step 4 run per grid (:meth:`StreamPreprocessor.process_front`):

1. **Units and channels** in one matrix product: the
   :func:`~brain3d.data.montage_mapping.map_channels` matrix (the one channel mapping:
   vendor spellings, ``error``/``zero``/``interpolate``) scaled by the unit factor.
   Units: the stream's declared ``StreamDescription.units`` when it is a known unit,
   otherwise config ``preprocessing.input_units``; a disagreement is logged as a warning.
2. **Non-finite samples** (NaN/Inf) never enter filter state. They are bridged by
   holding the channel's last finite value; the output samples whose computation
   touched a bridged input are set to NaN, so the windows containing them carry
   ``WindowFlag.NON_FINITE`` and the filters recover as soon as real data return.
   The caller's array is never modified.
3. **Resampling** (:class:`StreamingResampler`) to ``window.sfreq``; the rational factor
   ``up/down`` is exact (250 -> 256 Hz is 128/125, 160 -> 256 Hz is 8/5, 1000 -> 256 Hz
   is 32/125). Equal rates are an exact identity in both modes. Two modes:

   ``"low_latency"`` (the default, for the live path): a causal elliptic anti-alias
   low-pass at the input rate (only when the input rate is above the output rate; pass
   band up to the band-pass high edge or ``0.45 * sfreq_out``, whichever is lower, 0.1 dB
   ripple, unit DC gain, >= 60 dB from ``sfreq_out - passband`` up, i.e. everything that would alias
   into the pass band; one ``sosfilt`` with carried ``zi``), then causal 4-point
   (cubic Lagrange) interpolation at the output sample times from the newest input at or
   after that time and the three before it (``interpolation="linear"``: two points).
   Output sample ``k`` represents input position ``(k * down + offset) / up``; it is
   stamped with that exact LSL time (interpolated between the input timestamps around it)
   and released as soon as the input sample at or after that position has arrived, so
   resampling adds less than one input period of latency (plus processing). The offset
   (a fraction of an input period, :func:`window_aligned_offset`) puts window ends on
   input samples. Where one grid cannot do that for every window (500 -> 256 Hz with
   the default 32-sample hop: 62.5 input samples per hop, so every other window would
   wait half a period, 1 ms), the acquisition thread cuts the windows from
   :func:`window_phases` phase-shifted grids in turn (two at 500 Hz, four at 250 Hz),
   each aligned for its own windows, so that no window waits; 256, 512, 1000 and
   1024 Hz need one grid. The signal carries the causal
   IIR's frequency-dependent group delay, which is not (cannot be, causally) compensated:
   5.6 ms at 10 Hz for 1000 Hz input, 4.4 ms for 500 Hz, 0 when upsampling (160 or
   250 Hz input: no anti-alias filter needed), see :meth:`StreamPreprocessor.describe`.
   Every causal online filter does this (mne-lsl's online filters too); the band-pass
   below adds its own.

   ``"linear_phase"`` (higher fidelity, ~39 ms later; 62.5 ms at 160 Hz): a polyphase FIR
   with carried input history, the filter :func:`scipy.signal.resample_poly` designs
   (Kaiser-windowed sinc, ``beta=5``, ``zero_crossings`` per side), with each polyphase
   branch normalised to unit DC gain so a large electrode offset leaves no periodic
   ripple. Output sample ``k`` is ``sum_j h[j] * u[k * down - j]`` on the zero-stuffed
   input ``u`` (exactly :func:`scipy.signal.upfirdn`), i.e. causal; the filter's constant
   group delay is accounted for in the timestamps (each output sample is stamped with
   the LSL time it *represents*), so no phase distortion, but the output sample for
   time ``t`` needs ``zero_crossings / min(rates)`` seconds of input after ``t``: a window
   ending at ``t`` is released that much later.

   In both modes stream gaps and jitter carry through to the model-rate timestamps.
4. **Band-pass and notch** at the model rate: Butterworth band-pass
   (``scipy.signal.butter(..., output="sos")``; low-pass only when the low edge is 0)
   and one :func:`scipy.signal.iirnotch` per notch frequency (``tf2sos``), cascaded into
   one SOS array and run with per-channel state ``zi``. Both IIR stages go through
   :class:`acquisition.iir.SOSFilter`: :func:`scipy.signal.sosfilt` for chunks longer
   than a few samples, an equal per-sample state-space step for the one-sample chunks of
   live streams (a 7x cheaper call on the sample that completes a window).

Why IIR and not MNE's causal FIR: ``mne.filter.create_filter(..., phase="minimum")``
would need a FIR of ~1700 taps at 256 Hz for the 0.5 Hz edge (0.5 Hz transition band):
more work per chunk and a longer settling time, for no benefit a window z-score can
see. An order-4 Butterworth is the usual online-BCI choice; its delay is small in the
pass band (see :meth:`StreamPreprocessor.describe`). Filter state is primed per channel
with the steady state of the channel's first finite sample (``sosfilt_zi`` times the
value, as online toolboxes do), so a DC offset of thousands of µV causes no start-up
transient.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

from acquisition.base import Chunk, StreamDescription
from acquisition.front_end import FrontEndChunk, InputFrontEnd
from acquisition.iir import SOSFilter
from brain3d.config import ChannelsConfig, Config, PreprocessingConfig, WindowConfig
from brain3d.data.montage_mapping import ChannelMapping
from brain3d.errors import ConfigError, StreamError

logger = logging.getLogger(__name__)

#: Largest numerator/denominator of the resampling ratio (filter length grows with it).
MAX_RATIO_TERM = 1000
#: Outputs computed per vectorised block (bounds the gather array for long inputs).
_BLOCK = 512
#: Resampler modes (see :class:`StreamingResampler`); the first is the default.
RESAMPLER_MODES = ("low_latency", "linear_phase")
#: Interpolation nodes of the low-latency resampler, input periods back from the newest used.
_INTERPOLATION_NODES: dict[str, tuple[int, ...]] = {"cubic": (0, 1, 2, 3), "linear": (0, 1)}


def rational_ratio(sfreq_in: float, sfreq_out: float) -> tuple[int, int]:
    """``(up, down)`` with ``sfreq_out / sfreq_in == up / down`` in lowest terms.

    Raises
    ------
    ConfigError
        When the ratio needs terms above :data:`MAX_RATIO_TERM` (an odd measured rate:
        use the stream's nominal rate).
    """
    ratio = Fraction(sfreq_out).limit_denominator(10_000) / Fraction(sfreq_in).limit_denominator(10_000)
    if max(ratio.numerator, ratio.denominator) > MAX_RATIO_TERM:
        raise ConfigError(
            f"resampling {sfreq_in} Hz -> {sfreq_out} Hz needs the ratio {ratio}, whose terms exceed "
            f"{MAX_RATIO_TERM}; give the stream's nominal rate (e.g. 250, 500, 1000) or change window.sfreq"
        )
    return ratio.numerator, ratio.denominator


#: Most phase-shifted resampling chains :func:`window_phases` asks for (each one costs a
#: resampler and a band-pass per input sample).
MAX_WINDOW_PHASES = 4


def window_phases(sfreq_in: float, window: WindowConfig, resampler: str = "low_latency") -> int:
    """How many output grids put *every* window end on an input sample.

    With one output grid, window ends fall on ``up / gcd(hop * down, up)`` different
    fractions of an input period (500 -> 256 Hz with a 32-sample hop: every other window
    ends half-way between two inputs and waits 1 ms for the second; 250 Hz: waits of 0,
    1, 2 and 3 ms). Cutting window ``j`` from grid ``j mod P``, each grid shifted so that
    its own windows end on input samples (:func:`window_aligned_offset` with a hop of
    ``P * hop``), removes that wait; every grid is a full-rate resampling of the same
    signal, so each window is as well, and consecutive window ends are a whole number of
    input periods apart, less than one period off the hop (124 / 126 ms instead of 125 ms
    at 500 Hz; 124 / 124 / 124 / 128 ms at 250 Hz); each grid keeps its own exact hop.

    Returns
    -------
    int
        ``P`` (1 when the rates are equal, the resampler is linear-phase, the ends already
        fall on inputs, or more than :data:`MAX_WINDOW_PHASES` grids would be needed).
    """
    if resampler != "low_latency":
        return 1
    up, down = rational_ratio(sfreq_in, window.sfreq)
    if up == down == 1:
        return 1
    phases = up // math.gcd(window.hop * down, up)
    return phases if phases <= MAX_WINDOW_PHASES else 1


def window_aligned_offset(up: int, down: int, first_end: int, hop: int) -> int:
    """The low-latency resampler's ``phase_offset`` that puts window ends on input samples.

    A window is complete when its last output sample is computed, and the low-latency
    resampler computes output ``k`` when the first input at or after its position has
    arrived. Window ``j`` ends at output ``first_end + j * hop``; its position in input
    periods is ``(k * down + offset) / up``, so its wait is ``(-(k * down + offset) mod up)
    / up`` input periods. Those residues form one coset of the multiples of
    ``g = gcd(hop * down, up)``; the offset returned makes that coset ``0, g, 2g, ...``:
    the first window (and every ``up / g``-th) ends exactly on an input sample and the
    longest wait is ``(up - g) / up`` periods. 500 -> 256 Hz with a 32-sample hop: waits
    0 or 1 ms instead of 0.9 or 1.9 ms with one grid (:func:`window_phases` removes the 1 ms); 1000 -> 256 Hz: always 0.

    Parameters
    ----------
    up, down : int
        Resampling ratio ``sfreq_out / sfreq_in = up / down``.
    first_end : int
        Output index of the first window's last sample (``samples - 1``).
    hop : int
        Output samples between window ends.

    Returns
    -------
    int
        Offset in ``1 / up`` input periods, ``0 <= offset < up``.
    """
    g = math.gcd(hop * down, up)
    return (-first_end * down) % g


class StreamingResampler:
    """Causal streaming resampler with carried state (chunking-invariant).

    Parameters
    ----------
    sfreq_in, sfreq_out : float
        Input and output rates, Hz.
    n_channels : int
        Channels (columns of the data).
    mode : {"low_latency", "linear_phase"}
        ``"low_latency"`` (default): causal elliptic anti-alias IIR at the input rate
        (when downsampling) + causal cubic/linear interpolation; output for time ``t`` is
        released as soon as the first input at or after ``t`` arrives. ``"linear_phase"``:
        the :func:`scipy.signal.resample_poly` FIR, delay compensated in the timestamps,
        released ``delay_s`` after ``t`` (see the module docstring).
    zero_crossings : int
        ``"linear_phase"`` only: half-length of the sinc in zero crossings of the lower
        rate (10 matches :func:`scipy.signal.resample_poly`). The delay is
        ``zero_crossings / min(sfreq_in, sfreq_out)`` seconds (39 ms for 256 Hz output
        from a faster stream); fewer crossings: less delay, less stop-band attenuation.
    interpolation : {"cubic", "linear"}
        ``"low_latency"`` only: 4-point causal Lagrange (the newest input at or after the
        output time and three before it; in-band error < 0.1 % at 10 Hz from 160 Hz) or
        2-point linear (2 % droop at 10 Hz from 160 Hz).
    passband : float, optional
        ``"low_latency"`` only: pass-band edge of the anti-alias filter, Hz (clipped to
        ``0.45 * sfreq_out``; default ``0.45 * sfreq_out``). Give the band-pass high edge.
    aa_ripple_db, aa_stop_db : float
        Anti-alias pass-band ripple and stop-band attenuation (from
        ``sfreq_out - passband``, the lowest frequency that aliases into the pass band).
    phase_offset : int
        ``"low_latency"`` only: output ``k`` represents input position
        ``(k * down + phase_offset) / up`` (``0 <= phase_offset < up``). Shifting the output
        grid by a fraction of an input period changes nothing about the signal but decides
        how long an output waits for the input at or after it; see
        :func:`window_aligned_offset`, which picks the shift that puts window ends on (or
        nearest after) input samples.
    filter_input : bool
        Apply the anti-alias filter (:attr:`aa_sos`) here. False when an
        :class:`~acquisition.front_end.InputFrontEnd` applies it once for several grids.

    Attributes
    ----------
    up, down : int
        Exact rational factor ``sfreq_out / sfreq_in = up / down``.
    identity : bool
        True when the rates are equal (data and timestamps pass unchanged).
    phase_filters : np.ndarray
        (up, taps) float64 per-phase weights: ``"linear_phase"`` branch ``phi`` holds
        ``h[phi + up * t]`` (normalised); ``"low_latency"`` row ``r`` holds the
        interpolation weights of inputs ``i1, i1 - 1, ...`` for an output ``r / up`` of an
        input period before input ``i1``.
    aa_sos : np.ndarray or None
        ``"low_latency"``: anti-alias SOS at the input rate (None when not downsampling).
    delay_s : float
        Constant delay compensated in the output timestamps (0 for ``"low_latency"``).
    lookahead_s : float
        Input time needed after an output's time before it is released: ``delay_s`` for
        ``"linear_phase"``; for ``"low_latency"`` 0 (less than one input period).
    """

    def __init__(
        self,
        sfreq_in: float,
        sfreq_out: float,
        n_channels: int,
        *,
        mode: str = "low_latency",
        zero_crossings: int = 10,
        interpolation: str = "cubic",
        passband: float | None = None,
        aa_ripple_db: float = 0.1,
        aa_stop_db: float = 60.0,
        phase_offset: int = 0,
        filter_input: bool = True,
    ) -> None:
        if sfreq_in <= 0 or sfreq_out <= 0:
            raise StreamError(
                f"cannot resample {sfreq_in} Hz -> {sfreq_out} Hz: both rates must be positive "
                "(irregular-rate streams cannot be windowed; use a stream with a nominal rate)"
            )
        if mode not in RESAMPLER_MODES:
            raise ConfigError(f"resampler = {mode!r}: allowed values are {', '.join(RESAMPLER_MODES)}")
        if interpolation not in _INTERPOLATION_NODES:
            raise ConfigError(f"interpolation = {interpolation!r}: allowed values are cubic, linear")
        if zero_crossings < 1:
            raise ConfigError(f"zero_crossings = {zero_crossings}: must be >= 1")
        self.sfreq_in = float(sfreq_in)
        self.sfreq_out = float(sfreq_out)
        self.n_channels = int(n_channels)
        self.mode = mode
        self.up, self.down = rational_ratio(sfreq_in, sfreq_out)
        self.identity = self.up == self.down == 1
        if not 0 <= phase_offset < self.up or (phase_offset and mode != "low_latency"):
            raise ConfigError(
                f"phase_offset = {phase_offset}: must be 0 <= offset < up = {self.up}, and 0 unless mode is low_latency"
            )
        self.phase_offset = int(phase_offset)
        self.filter_input = bool(filter_input)
        self.aa_sos: np.ndarray | None = None
        if mode == "linear_phase":
            self._init_linear_phase(zero_crossings)
        else:
            self._init_low_latency(interpolation, passband, aa_ripple_db, aa_stop_db)
        self.lookahead_s = self.delay_s
        self.reset()

    def _init_linear_phase(self, zero_crossings: int) -> None:
        rate = max(self.up, self.down)
        self._half = zero_crossings * rate  # group delay, samples of the upsampled rate
        n_taps = 2 * self._half + 1
        if self.identity:
            h = np.ones(1)
        else:
            h = signal.firwin(n_taps, 1.0 / rate, window=("kaiser", 5.0)) * self.up
        self.taps = -(-n_taps // self.up)  # ceil
        padded = np.zeros(self.taps * self.up)
        padded[:n_taps] = h
        phases = padded.reshape(self.taps, self.up).T.copy()  # [phi, t] = h[phi + up*t]
        phases /= phases.sum(axis=1, keepdims=True)  # unit DC gain in every branch
        self.phase_filters = phases
        self.delay_s = 0.0 if self.identity else self._half / (self.up * self.sfreq_in)
        self._hist = self.taps + 1  # input samples kept between calls
        self._k0 = -(-self._half // self.down)  # first output whose time is >= the first input's

    def _init_low_latency(self, interpolation: str, passband: float | None, ripple: float, stop: float) -> None:
        nodes = _INTERPOLATION_NODES[interpolation]
        self.interpolation = interpolation
        self.taps = len(nodes)
        d = np.arange(self.up) / self.up  # output lies d input periods before input i1
        weights = np.ones((self.up, self.taps))
        for j, a in enumerate(nodes):  # Lagrange basis polynomial of node a, evaluated at d
            for b in nodes:
                if b != a:
                    weights[:, j] *= (d - b) / (a - b)
        self.phase_filters = weights
        self.delay_s = 0.0
        self._half = 0
        self._hist = self.taps  # inputs i1 - taps + 1 .. i1 (and t[i1 - 1]) stay reachable
        self._k0 = 0
        if self.sfreq_in > self.sfreq_out:  # downsampling: remove what would alias
            edge = 0.45 * self.sfreq_out
            self.aa_passband = min(edge, passband) if passband is not None else edge
            self.aa_stopband = min(self.sfreq_out - self.aa_passband, 0.495 * self.sfreq_in)
            order, wn = signal.ellipord(self.aa_passband, self.aa_stopband, ripple, stop, fs=self.sfreq_in)
            self.aa_order = int(order)
            sos = signal.ellip(order, ripple, stop, wn, fs=self.sfreq_in, output="sos")
            # unit DC gain (an even-order elliptic starts at the bottom of its ripple): a
            # large electrode offset passes unscaled, ripple is 0..+ripple dB
            sos[0, :3] /= np.prod(sos[:, :3].sum(axis=1) / sos[:, 3:].sum(axis=1))
            self.aa_sos = sos

    def aa_group_delay_s(self, freq: float = 10.0) -> float:
        """Group delay (seconds) of the anti-alias filter at ``freq`` Hz (0 without one)."""
        if self.aa_sos is None:
            return 0.0
        return _group_delay_sos(self.aa_sos, freq, self.sfreq_in)[1]

    def reset(self) -> None:
        """Forget all input (the next sample is treated as the stream's first)."""
        cap = self._hist + 64
        self._x = np.zeros((cap, self.n_channels))
        self._t = np.zeros(cap)
        self._bad = np.zeros((cap, self.n_channels), dtype=bool)
        self._bad_in_history = False
        self._n_in = 0
        self._k_next = self._k0
        self._aa = SOSFilter(self.aa_sos, self.n_channels) if self.aa_sos is not None and self.filter_input else None

    def prime(self, channels: np.ndarray, values: np.ndarray) -> None:
        """Fill the history and filter state of ``channels`` (bool mask) with ``values`` (steady state)."""
        self._x[: self._hist, channels] = values[channels]
        if self._aa is not None:
            self._aa.prime(channels, values)

    def n_outputs(self, n_in: int) -> int:
        """Output samples available after ``n_in`` input samples in total."""
        if self.identity:
            return n_in
        if self.mode == "low_latency":  # outputs whose position (k * down + offset) / up <= n_in - 1
            return 0 if n_in <= 0 else max(0, ((n_in - 1) * self.up - self.phase_offset) // self.down + 1)
        return max(0, (n_in * self.up - 1) // self.down + 1 - self._k0)

    def inputs_until(self, n_out_more: int) -> int:
        """Input samples still to come before ``n_out_more`` more outputs are available.

        Parameters
        ----------
        n_out_more : int
            Output samples (at ``sfreq_out``) beyond those available now.

        Returns
        -------
        int
            The fewest further input samples after which :meth:`process` will have
            released them (0 when ``n_out_more <= 0``).
        """
        if n_out_more <= 0:
            return 0
        target = self.n_outputs(self._n_in) + n_out_more
        low, high = self._n_in, self._n_in + 1
        while self.n_outputs(high) < target:  # n_outputs is monotone in n_in
            high = self._n_in + 2 * (high - self._n_in)
        while low < high:
            middle = (low + high) // 2
            if self.n_outputs(middle) >= target:
                high = middle
            else:
                low = middle + 1
        return low - self._n_in

    def process(
        self, x: np.ndarray, t: np.ndarray, bad: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Resample one chunk.

        Parameters
        ----------
        x : np.ndarray
            (n_in, n_channels) float64, finite.
        t : np.ndarray
            (n_in,) float64 LSL timestamps of ``x``.
        bad : np.ndarray, optional
            (n_in, n_channels) bool, inputs that were bridged (not real data).

        Returns
        -------
        y : np.ndarray
            (n_out, n_channels) float64.
        t_out : np.ndarray
            (n_out,) float64, LSL time each output sample represents.
        bad_out : np.ndarray or None
            (n_out, n_channels) bool, outputs computed from a bridged input; None when
            no bridged input is in reach.
        """
        if self.identity:
            return x, t, bad
        n = len(t)
        if n and self._aa is not None:
            x = self._aa(x)
        hist = self._hist
        if hist + n > len(self._t):  # grow the work buffers (rare, amortised)
            cap = hist + max(n, 2 * (len(self._t) - hist))
            for name in ("_x", "_bad"):
                old = getattr(self, name)
                new = np.zeros((cap, self.n_channels), dtype=old.dtype)
                new[:hist] = old[:hist]
                setattr(self, name, new)
            t_new = np.zeros(cap)
            t_new[:hist] = self._t[:hist]
            self._t = t_new
        self._x[hist : hist + n] = x
        self._t[hist : hist + n] = t
        track_bad = bad is not None or self._bad_in_history
        if track_bad:
            self._bad[hist : hist + n] = False if bad is None else bad
        base = self._n_in - hist  # absolute index of row 0 of the work buffers
        n_total = self._n_in + n
        low_latency = self.mode == "low_latency"
        if low_latency:
            k_stop = max(self._k_next, ((n_total - 1) * self.up - self.phase_offset) // self.down + 1) \
                if n_total else self._k_next
        else:
            k_stop = max(self._k_next, (n_total * self.up - 1) // self.down + 1)
        ks = np.arange(self._k_next, k_stop, dtype=np.int64)
        y = np.empty((len(ks), self.n_channels))
        bad_out = np.zeros((len(ks), self.n_channels), dtype=bool) if track_bad else None
        back = np.arange(self.taps)
        for b0 in range(0, len(ks), _BLOCK):
            num = ks[b0 : b0 + _BLOCK] * self.down + self.phase_offset
            if low_latency:  # newest input used: i1 = ceil(num / up); output r/up periods before it
                newest = -(-num // self.up)
                phase = newest * self.up - num
            else:
                newest = num // self.up
                phase = num % self.up
            rows = (newest - base)[:, None] - back  # (n_block, taps)
            weights = self.phase_filters[phase]  # (n_block, taps)
            y[b0 : b0 + _BLOCK] = np.einsum("ot,otc->oc", weights, self._x[rows])
            if bad_out is not None:
                bad_out[b0 : b0 + _BLOCK] = self._bad[rows].any(axis=1)
        if low_latency:  # output k represents input position (k * down + offset) / up exactly
            num = ks * self.down + self.phase_offset
            newest = -(-num // self.up)
            rows = newest - base
            t1 = self._t[rows]
            t_out = t1 - ((newest * self.up - num) / self.up) * (t1 - self._t[rows - 1])
        else:  # output k represents input position (k * down - half) / up
            q = ks * self.down - self._half
            rows = q // self.up - base
            frac = (q % self.up) / self.up
            t0 = self._t[rows]
            t_out = t0 + frac * (self._t[rows + 1] - t0)
        # keep the last `hist` inputs for the next call
        self._x[:hist] = self._x[n : n + hist]
        self._t[:hist] = self._t[n : n + hist]
        if track_bad:
            self._bad[:hist] = self._bad[n : n + hist]
            self._bad_in_history = bool(self._bad[:hist].any())
        self._n_in = n_total
        self._k_next = int(k_stop)
        return y, t_out, bad_out


def design_filters(
    sfreq: float, bandpass: tuple[float, float] | None, notch: list[float], *, order: int = 4, notch_q: float = 30.0
) -> np.ndarray | None:
    """Cascade of band-pass and notch filters as one SOS array.

    Parameters
    ----------
    sfreq : float
        Rate the filters run at, Hz (the model rate).
    bandpass : (float, float) or None
        Pass band edges, Hz; a low edge of 0 gives a low-pass only.
    notch : list of float
        Notch frequencies, Hz (``iirnotch`` with quality factor ``notch_q``).
    order : int
        Butterworth order (per edge).

    Returns
    -------
    np.ndarray or None
        (n_sections, 6) float64, or None when there is nothing to filter.

    Raises
    ------
    ConfigError
        A frequency at or above the Nyquist frequency of ``sfreq``.
    """
    nyquist = sfreq / 2
    sections: list[np.ndarray] = []
    if bandpass is not None:
        low, high = bandpass
        if high >= nyquist:
            raise ConfigError(
                f"preprocessing.bandpass high edge {high} Hz must be below the Nyquist frequency "
                f"of window.sfreq ({nyquist} Hz); lower it or raise window.sfreq"
            )
        if low > 0:
            sections.append(signal.butter(order, [low, high], btype="bandpass", fs=sfreq, output="sos"))
        else:
            sections.append(signal.butter(order, high, btype="lowpass", fs=sfreq, output="sos"))
    for freq in notch:
        if not 0 < freq < nyquist:
            raise ConfigError(
                f"preprocessing.notch {freq} Hz must be between 0 and the Nyquist frequency of "
                f"window.sfreq ({nyquist} Hz); remove it or raise window.sfreq"
            )
        b, a = signal.iirnotch(freq, notch_q, fs=sfreq)
        sections.append(signal.tf2sos(b, a))
    return np.vstack(sections) if sections else None


@dataclass(frozen=True)
class PreprocessedChunk:
    """Samples ready for the windower.

    Attributes
    ----------
    data : np.ndarray
        (n_samples, n_model_channels) float32 µV at the model rate, model channel
        order, band-passed and notched; NaN where the input was not finite.
    timestamps : np.ndarray
        (n_samples,) float64, LSL clock seconds each sample represents.
    """

    data: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamps)


class StreamPreprocessor:
    """Causal streaming preprocessing of one stream (see the module docstring).

    Parameters
    ----------
    description : StreamDescription
        What the source delivers (channel names, nominal rate, units).
    channels : ChannelsConfig
        The model's channels and the missing-channel policy.
    window : WindowConfig
        ``sfreq`` is the output (model) rate.
    preprocessing : PreprocessingConfig
        Units, band-pass, notch.
    resampler : {"low_latency", "linear_phase"}
        Resampling mode (see the module docstring and :class:`StreamingResampler`):
        ``"low_latency"`` (default, the live path) releases the output for time ``t`` less
        than one input period after ``t`` but carries a causal anti-alias filter's group
        delay; ``"linear_phase"`` is the higher-fidelity FIR (no phase distortion) whose
        output for ``t`` needs ~39 ms (62.5 ms from 160 Hz) of later input.
    zero_crossings : int
        ``"linear_phase"`` resampler half-length (see :class:`StreamingResampler`).
    interpolation : {"cubic", "linear"}
        ``"low_latency"`` interpolation (see :class:`StreamingResampler`).
    align_windows : bool
        ``"low_latency"`` only: shift the output grid by a fraction of an input period
        (:func:`window_aligned_offset`) so that window ends (``window.samples``,
        ``window.hop``) fall on input samples where the rates allow, instead of waiting
        up to one input period for the next one. The output rate and signal are the same.
    window_phase : (int, int)
        ``(p, P)``: this preprocessor's grid serves windows ``p, p + P, ...`` only, and is
        aligned for those (:func:`window_phases`); ``(0, 1)`` serves every window.
    bandpass_order : int
        Butterworth order.
    notch_q : float
        Quality factor of the notch filters (bandwidth = frequency / Q).

    Attributes
    ----------
    mapping : ChannelMapping
        Source -> model channels.
    filled_channels : tuple of int
        Model channel indices without a source channel (interpolated or zero-filled).
    zero_filled_channels : tuple of int
        The filled channels that are all zeros (``channels.missing = zero``).
    samples_in, samples_out, nonfinite_samples : int
        Input samples, output samples, input samples with any non-finite channel.

    Raises
    ------
    ChannelError
        Channel names do not match the model's (see ``map_channels``).
    StreamError
        The stream has no nominal rate.
    ConfigError
        Bad filter frequencies or units.
    """

    def __init__(
        self,
        description: StreamDescription,
        channels: ChannelsConfig,
        window: WindowConfig,
        preprocessing: PreprocessingConfig,
        *,
        resampler: str = "low_latency",
        zero_crossings: int = 10,
        interpolation: str = "cubic",
        align_windows: bool = True,
        window_phase: tuple[int, int] = (0, 1),
        bandpass_order: int = 4,
        notch_q: float = 30.0,
        front_end: InputFrontEnd | None = None,
    ) -> None:
        if description.sfreq <= 0:
            raise StreamError(
                f"stream {description.name!r} has no nominal rate (sfreq = {description.sfreq}); "
                "only regularly sampled streams can be resampled and windowed"
            )
        self.description = description
        n_model = len(channels.names)
        self.sfreq_in = float(description.sfreq)
        self.sfreq_out = float(window.sfreq)
        band = preprocessing.bandpass
        offset = 0
        up, down = rational_ratio(self.sfreq_in, self.sfreq_out)
        phase, n_phases = (int(v) for v in window_phase)
        if not (n_phases >= 1 and 0 <= phase < n_phases) or (n_phases > 1 and resampler != "low_latency"):
            raise ConfigError(f"window_phase = {window_phase}: need 0 <= phase < phases, and phases = 1 "
                              "unless the resampler is low_latency")
        first_end = window.samples - 1 + phase * window.hop  # this chain's first window end (output index)
        hop = n_phases * window.hop
        if align_windows and resampler == "low_latency":
            offset = window_aligned_offset(up, down, first_end, hop)
        #: Longest wait (seconds) of a window end for the next input sample (low-latency mode).
        self.window_wait_max_s = max(
            (-(k * down + offset)) % up for k in range(first_end, first_end + up * hop, hop)
        ) / (up * self.sfreq_in)
        self.resampler = StreamingResampler(
            self.sfreq_in, self.sfreq_out, n_model, mode=resampler,
            zero_crossings=zero_crossings, interpolation=interpolation,
            passband=None if band is None else float(band[1]), phase_offset=offset, filter_input=False,
        )
        #: True when this preprocessor feeds its own front end (``process``); False when the
        #: caller runs a shared one and hands its chunks to ``process_front``.
        self.owns_front_end = front_end is None
        self.front_end = front_end if front_end is not None else InputFrontEnd(
            description, channels, preprocessing, anti_alias=self.resampler.aa_sos)
        if front_end is not None and not _same_filter(front_end.anti_alias, self.resampler.aa_sos):
            raise ConfigError("the shared front end's anti-alias filter is not this grid's; build one front end "
                              "per stream from the first grid's resampler (StreamingResampler.aa_sos)")
        self.n_channels = n_model
        self.sos = design_filters(
            self.sfreq_out, preprocessing.bandpass, list(preprocessing.notch),
            order=bandpass_order, notch_q=notch_q,
        )
        self.reset()
        logger.info("preprocessing %r: %s", description.name, self.describe())

    @classmethod
    def from_config(cls, config: Config, description: StreamDescription, **kwargs: object) -> StreamPreprocessor:
        """Build from the whole :class:`~brain3d.config.Config`."""
        return cls(description, config.channels, config.window, config.preprocessing, **kwargs)  # type: ignore[arg-type]

    def reset(self) -> None:
        """Forget all state (e.g. after a stream restart); filters re-prime on the next data.

        A shared front end is the caller's to reset (once for all grids).
        """
        self.resampler.reset()
        self._filter = SOSFilter(self.sos, self.n_channels) if self.sos is not None else None
        if self.owns_front_end:
            self.front_end.reset()
        self.samples_out = 0

    def release_front_end(self) -> InputFrontEnd:
        """Hand this preprocessor's front end to the caller, who from now on runs (and resets)
        it once per chunk for several grids and calls :meth:`process_front` on each."""
        self.owns_front_end = False
        return self.front_end

    @property
    def mapping(self) -> ChannelMapping:
        """Source -> model channels (the front end's)."""
        return self.front_end.mapping

    @property
    def units(self) -> str:
        """The units the input is read in."""
        return self.front_end.units

    @property
    def filled_channels(self) -> tuple[int, ...]:
        """Model channels without a source channel (interpolated or zero-filled)."""
        return self.front_end.filled_channels

    @property
    def zero_filled_channels(self) -> tuple[int, ...]:
        """The filled channels that are all zeros (``channels.missing = zero``)."""
        return self.front_end.zero_filled_channels

    @property
    def samples_in(self) -> int:
        """Input samples seen by the front end (the stream's, not per grid)."""
        return self.front_end.samples_in

    @property
    def nonfinite_samples(self) -> int:
        """Input samples with any non-finite channel."""
        return self.front_end.nonfinite_samples

    def describe(self) -> str:
        """One line: units, channels, rates, resampling delay, filters."""
        m = self.mapping
        rs = self.resampler
        if rs.identity:
            resampling = "no resampling"
        elif rs.mode == "linear_phase":
            resampling = (
                f"resample {self.sfreq_in:g} -> {self.sfreq_out:g} Hz linear-phase (x{rs.up}/{rs.down}, "
                f"{rs.delay_s * 1e3:.1f} ms FIR delay, compensated in timestamps: output released "
                f"{rs.lookahead_s * 1e3:.1f} ms after the time it represents)"
            )
        else:
            aa = (
                f"order-{rs.aa_order} elliptic "
                f"anti-alias < {rs.aa_passband:g} Hz, group delay {rs.aa_group_delay_s(10.0) * 1e3:.1f} ms at "
                "10 Hz (not compensated)" if rs.aa_sos is not None else "no anti-alias filter (upsampling)"
            )
            resampling = (
                f"resample {self.sfreq_in:g} -> {self.sfreq_out:g} Hz low-latency (x{rs.up}/{rs.down}, "
                f"{aa}, causal {rs.interpolation} interpolation, released < 1 input period after the "
                f"time it represents; output grid shifted {rs.phase_offset}/{rs.up} input period so a window "
                f"end waits at most {self.window_wait_max_s * 1e3:.2f} ms for the next input)"
            )
        delay = ""
        if self.sos is not None:
            w, gd = _group_delay_sos(self.sos, 10.0, self.sfreq_out)
            delay = f", IIR group delay {gd * 1e3:.1f} ms at {w:g} Hz (not compensated)"
        return (
            f"{self.units} -> uV; {len(m.matched)}/{m.n_model} model channels matched, "
            f"{len(m.missing)} {m.policy if m.missing else 'missing'}, {len(m.dropped)} dropped; "
            f"{resampling}; {0 if self.sos is None else len(self.sos)} SOS sections{delay}"
        )

    def inputs_until(self, n_out_more: int) -> int:
        """Input samples still to come before ``n_out_more`` more output samples are released.

        The acquisition thread asks this for the samples that complete the next window,
        so that it can wait for them in one read instead of waking for every sample.
        """
        return self.resampler.inputs_until(n_out_more)

    def process_chunk(self, chunk: Chunk) -> PreprocessedChunk:
        """:meth:`process` for a :class:`~acquisition.base.Chunk`."""
        return self.process(chunk.data, chunk.timestamps)

    def process(self, data: np.ndarray, timestamps: np.ndarray) -> PreprocessedChunk:
        """Preprocess one chunk as received (front end, then this grid).

        Parameters
        ----------
        data : np.ndarray
            (n_samples, n_source_channels), source units and order (not modified).
        timestamps : np.ndarray
            (n_samples,) float64, LSL clock seconds.

        Returns
        -------
        PreprocessedChunk
            Zero or more samples at the model rate (resampling releases output as the
            input advances: ``"low_latency"`` every output up to the newest input's time,
            ``"linear_phase"`` those up to ``resampler.lookahead_s`` before it).

        Raises
        ------
        RuntimeError
            The front end is shared: the caller runs it once and calls :meth:`process_front`
            on every grid.
        """
        if not self.owns_front_end:
            raise RuntimeError("this preprocessor's front end is shared by several grids: run "
                               "front_end.process once per chunk and process_front on each grid")
        return self.process_front(self.front_end.process(data, timestamps))

    def process_front(self, chunk: FrontEndChunk) -> PreprocessedChunk:
        """Resample and filter one front-end chunk on this grid (see :meth:`process`)."""
        if chunk.primed is not None and chunk.prime_values is not None:
            self.resampler.prime(chunk.primed, chunk.prime_values)
            if self._filter is not None:
                self._filter.prime(chunk.primed, chunk.prime_values)
        if len(chunk) == 0:
            return PreprocessedChunk(np.empty((0, self.n_channels), np.float32), np.empty(0))
        y, t_out, bad_out = self.resampler.process(chunk.x, chunk.timestamps, chunk.bad)
        if self._filter is not None and len(y):
            y = self._filter(y)
        out = y.astype(np.float32)
        if bad_out is not None:
            out[bad_out] = np.nan
        self.samples_out += len(t_out)
        return PreprocessedChunk(out, t_out)


def _same_filter(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.shape == b.shape and np.allclose(a, b))


def _group_delay_sos(sos: np.ndarray, freq: float, sfreq: float) -> tuple[float, float]:
    """Group delay (seconds) of an SOS cascade at ``freq`` Hz."""
    total = 0.0
    for section in sos:
        _, gd = signal.group_delay((section[:3], section[3:]), w=[freq], fs=sfreq)
        total += float(gd[0])
    return freq, total / sfreq
