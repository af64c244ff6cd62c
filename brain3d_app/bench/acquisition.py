"""Acquisition over real LSL: our ``AcquisitionThread`` vs mne-lsl's ``StreamLSL``, same stream.

One pylsl ``StreamOutlet`` (this process) publishes ``channels`` x ``rate`` Hz float32 µV
in chunks of ``chunk`` samples, ``minutes`` of data, accelerated ``speed`` times (stream
time runs ``speed`` x faster than the wall clock). Each chunk is stamped with the real
push time: its last sample gets ``pylsl.local_clock()`` read right before
``push_chunk``, the earlier ones step back by ``1 / (rate * speed)`` seconds, so every
latency is true, on the LSL clock of this machine.

:func:`compare_acquisition` runs two readers **simultaneously** on the same stream, each
in its own process (CPU counted per reader, no shared GIL), with identical inlet
settings (clock sync on, no dejitter):

(a) ours: ``LSLInletSource`` -> ``AcquisitionThread`` (recorder writing XDF to a temp
    file, ``StreamPreprocessor`` to the model rate + band-pass + notch, ``Windower``);
(b) ``mne_lsl.stream.StreamLSL(bufsize=2 s)``, ``connect(acquisition_delay=0.001,
    processing_flags=["clocksync"])``, polled with ``get_data(winsize=0.2)`` every
    0.5 ms by a thread that notes when each new sample becomes visible.

Figures: samples sent / received / recorded (the XDF read back with pyxdf), push-to-data
latency (sample pushed -> its data in the reader's hands), push-to-window latency (our
window's ``buffered`` stamp minus the push time of its last raw sample), windows emitted
vs expected, CPU per reader process.

:func:`measure_ours` runs only our reader, in this process, for the scaling sweeps
(channels, rate, hop), optionally with the fast path decoding every window.

LSL discovery must stay on this machine: callers set ``LSLAPICFG`` before pylsl is
first imported (``brain3d bench`` and the benchmark scripts do).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from brain3d.channels import STANDARD_64
from brain3d.config import Config
from brain3d.latency import latency_figures
from brain3d.lsl import channel_rows, open_outlet, stream_info
from brain3d_app.bench.figures import Section

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcquisitionSettings:
    """The published test stream.

    Attributes
    ----------
    minutes : float
        Minutes of stream data.
    speed : float
        Stream time / wall time (1 = real time).
    rate : float
        Nominal rate, Hz.
    channels : int
        Channel count (STANDARD_64 labels, then ``X<i>``).
    chunk : int
        Samples per pushed chunk.
    """

    minutes: float = 2.0
    speed: float = 4.0
    rate: float = 1000.0
    channels: int = 64
    chunk: int = 10

    @property
    def wall_s(self) -> float:
        """Wall seconds the publisher runs."""
        return self.minutes * 60 / self.speed


POLL_S = 0.0005  # mne-lsl get_data poll interval, seconds
MNE_BUFSIZE_S = 2.0  # mne-lsl buffer, stream seconds
MNE_WINSIZE_S = 0.2  # mne-lsl get_data window, stream seconds
MNE_ACQUISITION_DELAY_S = 0.001  # mne-lsl connect(acquisition_delay=...), seconds


def channel_labels(n: int) -> list[str]:
    """STANDARD_64 labels for up to 64 channels, then ``X<i>``."""
    return [*STANDARD_64[:n], *(f"X{i}" for i in range(64, n))]


def summarise(values_s: np.ndarray) -> dict[str, float | int]:
    """p50/p90/p99/max/mean in ms of latencies given in seconds."""
    if values_s.size == 0:
        return {"n": 0}
    return latency_figures(values_s * 1e3, digits=3)


class CpuMeter:
    """CPU seconds of this process and, optionally, of some of its threads."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.proc.cpu_percent(None)  # prime

    def snapshot(self, thread_ids: dict[str, int | None]) -> dict[str, float]:
        times = self.proc.cpu_times()
        snap = {"wall": time.monotonic(), "process": times.user + times.system}
        threads = {t.id: t.user_time + t.system_time for t in self.proc.threads()}
        for name, tid in thread_ids.items():
            snap[name] = threads.get(tid, float("nan")) if tid is not None else float("nan")
        return snap

    @staticmethod
    def report(start: dict[str, float], end: dict[str, float]) -> dict[str, float]:
        wall = end["wall"] - start["wall"]
        out = {"wall_s": round(wall, 3)}
        for key in start:
            if key != "wall":
                cpu = end[key] - start[key]
                out[f"{key}_cpu_s"] = round(cpu, 3)
                out[f"{key}_cpu_percent"] = round(100 * cpu / wall, 2) if wall > 0 else float("nan")
        return out


# ------------------------------------------------------------------------ readers
def reader_ours(opts: dict[str, Any], ready: Any, results: Any) -> None:
    """(a) LSLInletSource + AcquisitionThread with recorder, preprocessing, windows."""
    try:
        import pyxdf

        from acquisition.lsl_inlet import LSLInletSource
        from acquisition.pipeline import AcquisitionThread
        from brain3d.config import LSLSourceConfig, PreprocessingConfig, WindowConfig

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s ours %(name)s: %(message)s")
        # only the sections the reader uses travel (the rest stays default): a smaller contract
        config = Config(window=WindowConfig.model_validate(opts["window"]),
                        preprocessing=PreprocessingConfig.model_validate(opts["preprocessing"]))  # fmt: skip
        config.channels.names = channel_labels(opts["channels"])
        lsl = LSLSourceConfig(name=None, type=None, source_id=opts["source_id"], resolve_timeout_s=20.0,
                              stall_timeout_s=5.0)  # fmt: skip
        chunk_ts: list[np.ndarray] = []
        chunk_read: list[tuple[float, int]] = []
        win_rows: list[tuple[int, float, float, float, int]] = []
        last_read = [0.0]

        def on_chunk(chunk: Any, read_time: float) -> None:
            chunk_ts.append(chunk.timestamps)
            chunk_read.append((read_time, len(chunk)))
            last_read[0] = read_time

        def on_window(window: Any) -> None:
            win_rows.append((window.seq, window.t_last, window.trace.stamps["buffered"], last_read[0],
                             int(window.flags)))  # fmt: skip

        path = Path(opts["tmpdir"]) / "ours.xdf"
        acq = AcquisitionThread(LSLInletSource(lsl), config, on_window=on_window, on_chunk=on_chunk,
                                recorder=path, read_timeout_s=0.005)  # fmt: skip
        acq.start()
        meter = CpuMeter()
        ready.put(("ours", os.getpid()))
        n_total = opts["n_total"]
        # wait for the first sample, then measure from there
        while acq.samples_received == 0 and time.monotonic() < opts["deadline"]:
            time.sleep(0.005)
        start = meter.snapshot({"reader_thread": acq.native_thread_id})
        while acq.samples_received < n_total and time.monotonic() < opts["deadline"] and acq.running:
            time.sleep(0.01)
        end = meter.snapshot({"reader_thread": acq.native_thread_id})
        stats = acq.stop()
        pre = acq.preprocessor
        assert pre is not None
        ts = np.concatenate(chunk_ts) if chunk_ts else np.empty(0)
        reads = np.asarray(chunk_read, dtype=np.float64).reshape(-1, 2)
        t_vis = np.repeat(reads[:, 0], reads[:, 1].astype(np.int64))
        streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
        xdf_ts = streams[0]["time_stamps"] if streams else np.empty(0)
        results.put({
            "reader": "ours",
            "ts": ts, "t_visible": t_vis,
            "windows": np.asarray(win_rows, dtype=np.float64).reshape(-1, 5),
            "stats": stats,
            "xdf_samples": int(len(xdf_ts)),
            "xdf_shape": list(np.shape(streams[0]["time_series"])) if streams else None,
            "xdf_timestamps_equal": bool(len(xdf_ts) == len(ts) and np.array_equal(xdf_ts, ts)),
            "xdf_bytes": path.stat().st_size,
            "resampler": {"up": pre.resampler.up, "down": pre.resampler.down, "delay_s": pre.resampler.delay_s,
                          "mode": pre.resampler.mode, "n_outputs_for_received": pre.resampler.n_outputs(len(ts)),
                          "describe": pre.describe()},  # fmt: skip
            "cpu": CpuMeter.report(start, end),
        })  # fmt: skip
    except BaseException as exc:  # report to the parent, never hang it
        results.put({"reader": "ours", "error": f"{type(exc).__name__}: {exc}"})
        raise


def reader_mne(opts: dict[str, Any], ready: Any, results: Any) -> None:
    """(b) mne-lsl StreamLSL polled with get_data every 0.5 ms."""
    try:
        import mne_lsl
        from mne_lsl.lsl import local_clock
        from mne_lsl.stream import StreamLSL

        mne_lsl.set_log_level("WARNING")
        stream = StreamLSL(MNE_BUFSIZE_S, source_id=opts["source_id"])
        stream.connect(acquisition_delay=MNE_ACQUISITION_DELAY_S, processing_flags=["clocksync"], timeout=20)
        seen_ts: list[np.ndarray] = []
        seen_t: list[tuple[float, int]] = []
        state = {"last": -np.inf, "count": 0, "suspect_misses": 0, "polls": 0}
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                _, ts = stream.get_data(winsize=MNE_WINSIZE_S)
                now = local_clock()
                state["polls"] += 1
                new = ts[ts > state["last"]]
                if new.size:
                    if np.isfinite(state["last"]) and new.size == ts.size:
                        state["suspect_misses"] += 1  # the whole window was new: may have missed some
                    seen_ts.append(new.copy())
                    seen_t.append((now, new.size))
                    state["last"] = float(new.max())
                    state["count"] += int(new.size)
                time.sleep(POLL_S)

        poller = threading.Thread(target=poll, name="mne-poller", daemon=True)
        poller.start()
        meter = CpuMeter()
        ready.put(("mne", os.getpid()))
        n_total = opts["n_total"]
        while state["count"] == 0 and time.monotonic() < opts["deadline"]:
            time.sleep(0.005)
        ids = {"poller_thread": poller.native_id}
        start = meter.snapshot(ids)
        while state["count"] < n_total and time.monotonic() < opts["deadline"]:
            time.sleep(0.01)
        end = meter.snapshot(ids)
        stop.set()
        poller.join(2.0)
        stream.disconnect()
        ts = np.concatenate(seen_ts) if seen_ts else np.empty(0)
        vis = np.asarray(seen_t, dtype=np.float64).reshape(-1, 2)
        results.put({
            "reader": "mne",
            "ts": ts, "t_visible": np.repeat(vis[:, 0], vis[:, 1].astype(np.int64)),
            "polls": state["polls"], "suspect_misses": state["suspect_misses"],
            "cpu": CpuMeter.report(start, end),
            "version": mne_lsl.__version__,
        })  # fmt: skip
    except BaseException as exc:
        results.put({"reader": "mne", "error": f"{type(exc).__name__}: {exc}"})
        raise


# --------------------------------------------------------------------- publisher
class Publisher:
    """The pylsl outlet and its paced push loop."""

    def __init__(self, args: AcquisitionSettings, source_id: str, labels: list[str]) -> None:
        import pylsl

        self.pylsl = pylsl
        self.args = args
        info = stream_info("Brain3D-Bench-EEG", "EEG", n_channels=args.channels, sfreq=args.rate,
                           channel_format="float32", source_id=source_id, channels=channel_rows(labels))
        self.outlet = open_outlet(info)
        n_chunks = int(round(args.minutes * 60 * args.rate / args.chunk))
        self.n_chunks = n_chunks
        self.n_total = n_chunks * args.chunk
        rng = np.random.default_rng(0)
        block_n = int(args.rate * 10)
        t = np.arange(block_n) / args.rate
        alpha = 20 * np.sin(2 * np.pi * 10 * t)[:, None] * rng.uniform(0.5, 1.5, args.channels)
        self.block = np.ascontiguousarray((alpha + rng.normal(0, 8, (block_n, args.channels))).astype(np.float32))
        self.push_times = np.empty(n_chunks)
        self.stamps = np.empty(self.n_total)

    def run(self) -> dict[str, Any]:
        args, pylsl = self.args, self.pylsl
        c = args.chunk
        dt = 1.0 / (args.rate * args.speed)  # wall seconds per sample
        period = c * dt
        steps = np.arange(c - 1, -1, -1, dtype=np.float64)
        block, block_n = self.block, len(self.block)
        lateness = np.empty(self.n_chunks)
        prev_last = -np.inf
        t0 = pylsl.local_clock() + 0.01
        for k in range(self.n_chunks):
            due = t0 + (k + 1) * period  # when the chunk's last sample exists
            wait = due - pylsl.local_clock()
            if wait > 0:
                time.sleep(wait)
            start = (k * c) % block_n
            data = block[start : start + c] if start + c <= block_n else np.roll(block, -start, axis=0)[:c]
            now = pylsl.local_clock()
            step = min(dt, (now - prev_last) / c)  # keep stamps increasing after a late wake-up
            stamps = now - steps * step
            self.outlet.push_chunk(data, stamps.tolist())
            self.push_times[k] = now
            self.stamps[k * c : (k + 1) * c] = stamps
            lateness[k] = now - due
            prev_last = now
        return {"lateness": summarise(lateness), "wall_s": round(float(self.push_times[-1] - t0), 3)}


#: Latencies of samples pushed in the first this-many wall seconds are also reported
#: apart ("steady" figures exclude them): the first pull of a clock-synced liblsl inlet
#: can block while liblsl measures the clock offset.
WARMUP_S = 1.0


def latency_per_sample(ts: np.ndarray, t_vis: np.ndarray, pub: Publisher) -> dict[str, Any]:
    """Visible time minus push time for every distinct received sample.

    ``ts`` are the reader's timestamps (its LSL clock after clock sync) and ``t_vis`` the
    reader's LSL-clock time each became visible. The reader's clock may differ from the
    publisher's by a constant (mne-lsl bundles its own liblsl, whose ``local_clock``
    has another origin): the offset is the median of ``ts - stamps`` over the first
    samples (liblsl's clock-sync estimate), and visible times are shifted by it.
    Duplicate timestamps (re-sent after an inlet reconnect) count once, at first sight.
    """
    push_per_sample = np.repeat(pub.push_times, pub.args.chunk)
    if len(ts) == 0:
        return {"latency": np.empty(0), "offset_s": 0.0, "duplicates": 0, "unique": 0, "pushed_at": np.empty(0)}
    k = min(len(ts), 1000)
    offset = float(np.median(ts[:k] - pub.stamps[:k]))
    uniq, first = np.unique(ts, return_index=True)
    vis = t_vis[first] - offset
    pos = np.clip(np.searchsorted(pub.stamps, uniq - offset), 1, pub.n_total - 1)
    left_closer = np.abs(pub.stamps[pos - 1] - (uniq - offset)) < np.abs(pub.stamps[pos] - (uniq - offset))
    idx = np.where(left_closer, pos - 1, pos)
    if len(ts) == pub.n_total and np.all(np.diff(ts) > 0):
        idx = np.arange(pub.n_total)  # every sample, in order: match by index
        vis = t_vis - offset
    return {
        "latency": vis - push_per_sample[idx], "offset_s": offset, "duplicates": int(len(ts) - len(uniq)),
        "unique": int(len(uniq)), "matched_distinct": int(len(np.unique(idx))),
        "pushed_at": push_per_sample[idx] - pub.push_times[0],
    }  # fmt: skip


def latency_block(match: dict[str, Any]) -> dict[str, Any]:
    lat, at = match["latency"], match["pushed_at"]
    return {
        "push_to_data": summarise(lat),
        "push_to_data_steady": summarise(lat[at >= WARMUP_S]),
        "push_to_data_first_s": summarise(lat[at < WARMUP_S]),
        "clock_offset_reader_minus_publisher_s": round(match["offset_s"], 6),
        "duplicate_samples": match["duplicates"],
        "distinct_samples_matched": match.get("matched_distinct", 0),
    }


def _expected_windows(config: Config, n_preprocessed: int) -> int:
    window = config.window
    return max(0, (n_preprocessed - window.samples) // window.hop + 1)


def _push_to_window_ms(windows: np.ndarray, ts: np.ndarray, pub: Publisher) -> np.ndarray:
    """Our windows' ``buffered`` stamp minus the push time of their last raw sample, ms.

    ``windows`` rows are ``(seq, t_last, buffered, last_read, flags)``. Needs every sample
    received (matching by index); otherwise empty.
    """
    if len(ts) != pub.n_total or len(windows) == 0:
        return np.empty(0)
    idx = np.clip(np.searchsorted(ts, windows[:, 1] - 1e-9), 0, len(ts) - 1)
    push_last = np.repeat(pub.push_times, pub.args.chunk)[idx]
    steady = push_last - pub.push_times[0] >= WARMUP_S
    return (windows[steady, 2] - push_last[steady]) * 1e3


def _choose_readers(section: Section, with_mne: bool) -> list[tuple[str, Callable[..., None]]]:
    """Our reader, and mne-lsl's when asked for and installed (else said so in ``section``)."""
    readers: list[tuple[str, Callable[..., None]]] = [("ours", reader_ours)]
    if with_mne:
        try:
            import mne_lsl  # noqa: F401

            readers.append(("mne", reader_mne))
        except ImportError:
            section.missing["mne_lsl"] = "mne-lsl is not installed (pip install mne-lsl, in the dev extra)"
    else:
        section.missing["mne_lsl"] = "not run (with_mne=False)"
    return readers


def _wait_until_ready(procs: list[Any], ready: Any, results: Any) -> None:
    """Wait for every reader process to subscribe; RuntimeError (with their errors) if one does not."""
    got_ready: list[str] = []
    while len(got_ready) < len(procs):
        try:
            got_ready.append(ready.get(timeout=60)[0])
        except queue.Empty:
            break
        if not results.empty():  # a reader failed before being ready
            break
    if len(got_ready) < len(procs):
        errors = []
        while not results.empty():
            errors.append(results.get().get("error"))
        raise RuntimeError(f"acquisition readers not ready: {got_ready}; errors: {errors}")


def _run_readers(settings: AcquisitionSettings, config: Config, pub: Publisher, source_id: str,
                 readers: list[tuple[str, Callable[..., None]]]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Start the reader processes, publish the stream once they listen, collect their results.

    Returns the results per reader name and the publisher's report.
    """
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="brain3d-bench-acq-") as tmpdir:
        opts = {"source_id": source_id, "n_total": pub.n_total, "channels": settings.channels, "tmpdir": tmpdir,
                "deadline": time.monotonic() + 60 + 1.5 * settings.wall_s,
                "window": config.window.model_dump(mode="json"),
                "preprocessing": config.preprocessing.model_dump(mode="json")}  # fmt: skip
        procs = [ctx.Process(target=fn, args=(opts, ready, results), name=f"bench-{name}", daemon=True)
                 for name, fn in readers]  # fmt: skip
        try:
            for p in procs:
                p.start()
            _wait_until_ready(procs, ready, results)
            time.sleep(0.5)  # both inlets are subscribed; let them settle
            pub_report = pub.run()
            for _ in procs:
                try:
                    item = results.get(timeout=120 + settings.wall_s)
                except queue.Empty:
                    break
                out[item["reader"]] = item
        finally:
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.terminate()
    return out, pub_report


def _add_ours(section: Section, ours: dict[str, Any] | None, pub: Publisher, config: Config) -> None:
    """Our reader's sample counts, latencies, windows and CPU (or why they are missing)."""
    if ours is None or "error" in ours:
        section.missing["ours"] = (ours or {}).get("error", "no result")
        return
    stats = ours["stats"]
    match = latency_per_sample(ours["ts"], ours["t_visible"], pub)
    at = match["pushed_at"]
    section.add("samples.received", stats["samples_received"], "samples")
    section.add("samples.recorded", ours["xdf_samples"], "samples")
    section.add("samples.lost", pub.n_total - min(stats["samples_received"], ours["xdf_samples"]), "samples")
    section.add_latency("ours.push_to_data", match["latency"][at >= WARMUP_S] * 1e3)
    section.add_latency("ours.push_to_window", _push_to_window_ms(ours["windows"], ours["ts"], pub))
    section.add("ours.windows_emitted", stats["windows_emitted"], "count")
    section.add("ours.windows_expected", _expected_windows(config, ours["resampler"]["n_outputs_for_received"]),
                "count")  # fmt: skip
    section.add("ours.windows_skipped", stats["windows_skipped"], "count")
    section.add("ours.cpu", ours["cpu"].get("process_cpu_percent"), "%")
    section.info["ours"] = {"xdf_timestamps_equal_received": ours["xdf_timestamps_equal"],
                            "window_flags": (stats.get("windower") or {}).get("flags"),
                            "source_events": stats.get("events"), "preprocessing": ours["resampler"]["describe"]}  # fmt: skip


def _add_mne(section: Section, mne: dict[str, Any] | None, pub: Publisher) -> None:
    """mne-lsl's distinct samples, latencies and CPU, and the p99 ratio ours / mne-lsl."""
    if mne is None or "error" in mne:
        section.missing["mne_lsl"] = (mne or {}).get("error", "no result")
        return
    match = latency_per_sample(mne["ts"], mne["t_visible"], pub)
    at = match["pushed_at"]
    section.add("mne_lsl.samples_distinct", match["unique"], "samples")
    section.add("mne_lsl.duplicate_samples", match["duplicates"], "samples")
    section.add_latency("mne_lsl.push_to_data", match["latency"][at >= WARMUP_S] * 1e3)
    section.add("mne_lsl.cpu", mne["cpu"].get("process_cpu_percent"), "%")
    section.info["mne_lsl"] = {"version": mne["version"], "polls": mne["polls"],
                               "clock_offset_s": round(match["offset_s"], 6)}  # fmt: skip
    ours_p99 = section.value("ours.push_to_data.p99")
    mne_p99 = section.value("mne_lsl.push_to_data.p99")
    if ours_p99 and mne_p99:
        section.add("ratio.push_to_data_p99_ours_over_mne", ours_p99 / mne_p99, "ratio")


def compare_acquisition(
    settings: AcquisitionSettings, config: Config | None = None, *, with_mne: bool = True
) -> Section:
    """Ours vs mne-lsl ``StreamLSL`` reading one LSL stream at the same time.

    Parameters
    ----------
    settings : AcquisitionSettings
        The published stream.
    config : Config, optional
        Window and preprocessing of our reader (channels are set to the stream's).
    with_mne : bool
        Run the mne-lsl reader too (skipped, and said so, when mne-lsl is not installed).

    Returns
    -------
    Section
        Figures ``samples.sent/received/recorded``, ``samples.lost``,
        ``ours.push_to_data.*``, ``ours.push_to_window.*``, ``mne_lsl.push_to_data.*``
        (steady state: samples pushed after the first second), ``ratio.push_to_data_p99``
        (ours / mne-lsl), windows, CPU per reader process.
    """
    config = config or Config()
    section = Section(
        "acquisition",
        f"Acquisition over LSL ({settings.channels} ch at {settings.rate:g} Hz, {settings.minutes:g} min of data "
        f"at speed {settings.speed:g}, chunks of {settings.chunk})",
        device="CPU",
    )
    readers = _choose_readers(section, with_mne)
    source_id = f"brain3d-bench-acq-{uuid.uuid4().hex[:10]}"
    pub = Publisher(settings, source_id, channel_labels(settings.channels))
    load_before = os.getloadavg()
    out, pub_report = _run_readers(settings, config, pub, source_id, readers)
    section.info = {
        "settings": asdict(settings), "readers": "simultaneous, same stream, separate processes",
        "inlet_flags": "clocksync (both)", "mne_bufsize_s": MNE_BUFSIZE_S, "mne_poll_s": POLL_S,
        "publisher_lateness": pub_report["lateness"], "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "steady_state": f"latencies of samples pushed after the first {WARMUP_S:g} s",
        "mne_acquisition_delay_s": MNE_ACQUISITION_DELAY_S,
        "reading": ("our acquisition thread reads samples only when a window is due (it waits for the samples "
                    "that complete the next window, a few samples early), so ours.push_to_data of a sample in "
                    "the middle of a window is long by design; our latency-critical figure is "
                    "ours.push_to_window (push of a window's last sample -> window cut). mne-lsl's StreamLSL "
                    "reads continuously (acquisition_delay and buffer above), so its push_to_data is the "
                    "transport anchor"),
    }  # fmt: skip
    section.add("samples.sent", pub.n_total, "samples")
    _add_ours(section, out.get("ours"), pub, config)
    if any(name == "mne" for name, _ in readers):
        _add_mne(section, out.get("mne"), pub)
    return section


def measure_ours(
    settings: AcquisitionSettings,
    config: Config,
    *,
    on_window: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Our acquisition alone, in this process, reading a freshly published stream.

    Parameters
    ----------
    settings : AcquisitionSettings
        The published stream (``config.channels`` is set to its labels).
    config : Config
        Window and preprocessing.
    on_window : callable, optional
        Called with every window in the acquisition thread (e.g. the fast path), after
        the ``buffered`` stamp: its time counts in the reader thread's CPU.

    Returns
    -------
    dict
        ``push_to_window_ms`` and ``push_to_done_ms`` (np.ndarray, steady state; "done"
        = after ``on_window`` returned), ``samples_sent``, ``samples_received``,
        ``windows``, ``reader_cpu_percent`` (acquisition thread, percent of one core),
        ``process_cpu_percent``.
    """
    from acquisition.lsl_inlet import LSLInletSource
    from acquisition.pipeline import AcquisitionThread
    from brain3d.clock import lsl_clock
    from brain3d.config import LSLSourceConfig

    config = config.model_copy(deep=True)
    config.channels.names = channel_labels(settings.channels)
    source_id = f"brain3d-bench-sweep-{uuid.uuid4().hex[:10]}"
    pub = Publisher(settings, source_id, config.channels.names)
    rows: list[tuple[float, float, float]] = []

    def handle(window: Any) -> None:
        if on_window is not None:
            on_window(window)
        rows.append((window.t_last, window.trace.stamps["buffered"], lsl_clock()))

    lsl = LSLSourceConfig(name=None, type=None, source_id=source_id, resolve_timeout_s=20.0, stall_timeout_s=5.0)
    acq = AcquisitionThread(LSLInletSource(lsl), config, on_window=handle, read_timeout_s=0.005)
    acq.start()
    proc = psutil.Process()
    try:
        time.sleep(0.3)
        tid = acq.native_thread_id

        def thread_cpu() -> float:
            return next((t.user_time + t.system_time for t in proc.threads() if t.id == tid), float("nan"))

        c0, p0, w0 = thread_cpu(), sum(proc.cpu_times()[:2]), time.monotonic()
        pub.run()
        deadline = time.monotonic() + 10
        while acq.samples_received < pub.n_total and time.monotonic() < deadline and acq.running:
            time.sleep(0.01)
        c1, p1, w1 = thread_cpu(), sum(proc.cpu_times()[:2]), time.monotonic()
    finally:
        stats = acq.stop()
    w = np.asarray(rows, dtype=float).reshape(-1, 3)
    stamps = pub.stamps
    push_per_sample = np.repeat(pub.push_times, settings.chunk)
    # windows' t_last are the pushed stamps of their last raw sample (same clock, same process)
    idx = np.clip(np.searchsorted(stamps, w[:, 0] - 1e-9), 0, len(stamps) - 1)
    push_last = push_per_sample[idx]
    steady = push_last - pub.push_times[0] >= WARMUP_S
    wall = w1 - w0
    return {
        "push_to_window_ms": (w[steady, 1] - push_last[steady]) * 1e3,
        "push_to_done_ms": (w[steady, 2] - push_last[steady]) * 1e3,
        "samples_sent": pub.n_total, "samples_received": int(stats["samples_received"]),
        "windows": int(stats["windows_emitted"]),
        "reader_cpu_percent": 100 * (c1 - c0) / wall if wall > 0 else float("nan"),
        "process_cpu_percent": 100 * (p1 - p0) / wall if wall > 0 else float("nan"),
    }  # fmt: skip
