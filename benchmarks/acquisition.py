"""Acquisition over real LSL: our AcquisitionThread vs mne-lsl's StreamLSL, same stream.

One pylsl ``StreamOutlet`` (this process) publishes ``--channels`` x ``--rate`` Hz float32
µV in chunks of ``--chunk`` samples, ``--minutes`` of data, accelerated ``--speed`` times
(stream time runs ``speed`` x faster than the wall clock). Each chunk is stamped with the
real push time: its last sample gets ``pylsl.local_clock()`` read right before
``push_chunk``, the earlier ones step back by ``1 / (rate * speed)`` seconds, so every
latency below is true, on the LSL clock of this machine.

Two readers run **simultaneously** on the same stream, each in its own process (so CPU
is counted per reader and they do not share a GIL), with identical inlet settings
(clock sync on, no dejitter):

(a) ours: ``LSLInletSource`` -> ``AcquisitionThread`` (recorder writing XDF to a temp
    file, ``StreamPreprocessor`` 1000 -> 256 Hz + band-pass + notch, ``Windower``
    256-sample windows, hop 32), default config otherwise;
(b) ``mne_lsl.stream.StreamLSL(bufsize=2 s)``, ``connect(acquisition_delay=0.001,
    processing_flags=["clocksync"])``, polled with ``get_data(winsize=0.2)`` every
    0.5 ms by a thread that notes when each new sample becomes visible.

Figures: samples sent / received / recorded (the XDF read back with pyxdf); push-to-data
latency (sample pushed -> its data in the reader's hands: after ``Source.read`` for us,
visible in ``get_data`` for mne-lsl); push-to-window latency (our window's ``buffered``
stamp minus the push time of the raw sample its last sample represents; includes the
resampler's look-ahead: 0 for the default low-latency resampler, ``delay`` stream seconds
= ``delay / speed`` wall seconds for the linear-phase one); windows emitted vs expected; CPU per process and per reader thread. Prints a
table, writes JSON with machine info; asserts nothing.

Usage::

    .venv/bin/python benchmarks/acquisition.py --json build/bench/acquisition.json

The default (10 minutes of data at speed 10) takes about 1.5 minutes of wall time.
"""

from __future__ import annotations

import os
from pathlib import Path

# LSL must stay on this machine: before anything imports pylsl or mne_lsl.
os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parent.parent / "tests" / "lsl_api.cfg"))

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import multiprocessing as mp  # noqa: E402
import queue  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brain3d.channels import STANDARD_64  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402

logger = logging.getLogger("benchmarks.acquisition")

POLL_S = 0.0005  # mne-lsl get_data poll interval, seconds
MNE_BUFSIZE_S = 2.0  # mne-lsl buffer, stream seconds
MNE_WINSIZE_S = 0.2  # mne-lsl get_data window, stream seconds


def channel_labels(n: int) -> list[str]:
    """STANDARD_64 labels for up to 64 channels, then ``X<i>``."""
    return [*STANDARD_64[:n], *(f"X{i}" for i in range(64, n))]


def summarise(values_s: np.ndarray) -> dict[str, float | int]:
    """p50/p90/p99/max/mean in ms of latencies given in seconds."""
    if values_s.size == 0:
        return {"n": 0}
    ms = values_s * 1e3
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {
        "p50_ms": round(float(p50), 3), "p90_ms": round(float(p90), 3), "p99_ms": round(float(p99), 3),
        "max_ms": round(float(ms.max()), 3), "mean_ms": round(float(ms.mean()), 3), "n": int(ms.size),
    }  # fmt: skip


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
        from brain3d.config import Config, LSLSourceConfig

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s ours %(name)s: %(message)s")
        config = Config()
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
        stream.connect(acquisition_delay=0.001, processing_flags=["clocksync"], timeout=20)
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

    def __init__(self, args: argparse.Namespace, source_id: str, labels: list[str]) -> None:
        import pylsl

        self.pylsl = pylsl
        self.args = args
        info = pylsl.StreamInfo("Brain3D-Bench-EEG", "EEG", args.channels, args.rate, "float32", source_id)
        chans = info.desc().append_child("channels")
        for label in labels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
            ch.append_child_value("type", "EEG")
        self.outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of stream data (default 10)")
    parser.add_argument("--speed", type=float, default=10.0, help="stream time / wall time (default 10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="nominal rate, Hz (default 1000)")
    parser.add_argument("--channels", type=int, default=64, help="channels (default 64)")
    parser.add_argument("--chunk", type=int, default=10, help="samples per pushed chunk (default 10)")
    parser.add_argument("--dump", type=Path, default=None, help="also save the raw timing arrays (.npz)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    labels = channel_labels(args.channels)
    source_id = f"brain3d-bench-acq-{uuid.uuid4().hex[:10]}"
    load_before = os.getloadavg()
    pub = Publisher(args, source_id, labels)
    wall_expected = pub.n_total / (args.rate * args.speed)
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="brain3d-bench-acq-") as tmpdir:
        opts = {"source_id": source_id, "n_total": pub.n_total, "channels": args.channels, "tmpdir": tmpdir,
                "deadline": time.monotonic() + 60 + 1.5 * wall_expected}  # fmt: skip
        procs = [ctx.Process(target=fn, args=(opts, ready, results), name=name)
                 for name, fn in (("ours", reader_ours), ("mne", reader_mne))]  # fmt: skip
        for p in procs:
            p.start()
        got_ready: list[str] = []
        early: list[dict[str, Any]] = []
        while len(got_ready) < 2:
            try:
                got_ready.append(ready.get(timeout=60)[0])
            except queue.Empty:
                break
            while not results.empty():  # a reader that failed before being ready
                early.append(results.get())
            if early:
                break
        if len(got_ready) < 2:
            for p in procs:
                p.terminate()
            print(f"readers not ready: {got_ready}; errors: {early}", file=sys.stderr)
            return 1
        time.sleep(0.5)  # both inlets are subscribed; let them settle
        meter = CpuMeter()
        c0 = meter.snapshot({})
        pub_report = pub.run()
        c1 = meter.snapshot({})
        out: dict[str, dict[str, Any]] = {}
        for _ in procs:
            try:
                item = results.get(timeout=120 + wall_expected)
            except queue.Empty:
                break
            out[item["reader"]] = item
        for p in procs:
            p.join(30)
    load_after = os.getloadavg()

    report: dict[str, Any] = {
        "benchmark": "acquisition",
        "what": "one LSL outlet, two simultaneous readers in separate processes (ours, mne-lsl); "
                "latencies on the LSL clock of this machine",  # fmt: skip
        "machine": machine_info(packages=("numpy", "scipy", "pylsl", "mne", "mne-lsl", "pyxdf", "psutil")),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "settings": {"minutes": args.minutes, "speed": args.speed, "rate_hz": args.rate, "channels": args.channels,
                     "chunk_samples": args.chunk, "readers": "simultaneous, same stream, separate processes",
                     "inlet_flags": "clocksync (both)", "mne_bufsize_s": MNE_BUFSIZE_S,
                     "mne_winsize_s": MNE_WINSIZE_S, "mne_poll_s": POLL_S,
                     "mne_acquisition_delay_s": 0.001, "ours_read_timeout_s": 0.005},  # fmt: skip
        "samples_sent": pub.n_total,
        "publisher": {**pub_report, "cpu": CpuMeter.report(c0, c1)},
    }
    ours, mne = out.get("ours"), out.get("mne")
    if ours and "error" not in ours:
        match = latency_per_sample(ours["ts"], ours["t_visible"], pub)
        w = ours["windows"]  # seq, t_last, buffered, last_read, flags
        idx = np.clip(np.searchsorted(ours["ts"], w[:, 1] - 1e-9), 0, max(0, len(ours["ts"]) - 1))
        if len(ours["ts"]) == pub.n_total:
            push_last = np.repeat(pub.push_times, args.chunk)[idx]
        else:
            push_last = np.full(len(w), np.nan)
        rs = ours["resampler"]
        n_out = rs["n_outputs_for_received"]  # the resampler's own count for the samples received
        from brain3d.config import WindowConfig

        wc = WindowConfig()
        expected_windows = max(0, (n_out - wc.samples) // wc.hop + 1)
        stats = ours["stats"]
        report["ours"] = {
            "samples_received": stats["samples_received"],
            "samples_preprocessed": stats["samples_preprocessed"], "samples_preprocessed_expected": n_out,
            "samples_recorded_queued": stats["samples_recorded"],
            "samples_recorded_written": (stats["recorder"] or {}).get("samples_written"),
            "samples_in_xdf": ours["xdf_samples"], "xdf_shape": ours["xdf_shape"],
            "xdf_timestamps_equal_received": ours["xdf_timestamps_equal"], "xdf_bytes": ours["xdf_bytes"],
            "windows_emitted": stats["windows_emitted"], "windows_delivered": stats["windows_delivered"],
            "windows_skipped": stats["windows_skipped"], "windows_expected": expected_windows,
            "window_flags": (stats["windower"] or {}).get("flags"), "source_events": stats["events"],
            "error": stats["error"],
            **latency_block(match),
            "push_to_window": summarise(w[:, 2] - push_last) if np.isfinite(push_last).all() else {"n": 0},
            "push_to_window_steady": summarise((w[:, 2] - push_last)[push_last - pub.push_times[0] >= WARMUP_S])
            if np.isfinite(push_last).all() else {"n": 0},
            "window_trace_latency_buffered_minus_t_last": summarise(w[:, 2] - w[:, 1]),
            "read_to_window_processing": summarise(w[:, 2] - w[:, 3]),
            "resampler_fir_delay_stream_s": round(rs["delay_s"], 6),
            "resampler_fir_delay_wall_s": round(rs["delay_s"] / args.speed, 6),
            "preprocessing": rs["describe"],
            "cpu": ours["cpu"],
        }  # fmt: skip
    else:
        report["ours"] = {"error": (ours or {}).get("error", "no result")}
    if mne and "error" not in mne:
        match = latency_per_sample(mne["ts"], mne["t_visible"], pub)
        report["mne_lsl"] = {
            "version": mne["version"], "samples_seen": int(len(mne["ts"])), "samples_distinct": match["unique"],
            **latency_block(match),
            "polls": mne["polls"], "polls_whole_window_new": mne["suspect_misses"], "cpu": mne["cpu"],
        }  # fmt: skip
    else:
        report["mne_lsl"] = {"error": (mne or {}).get("error", "no result")}
    if args.dump is not None:
        arrays = {"push_times": pub.push_times, "stamps": pub.stamps}
        for name, item in (("ours", ours), ("mne", mne)):
            if item and "error" not in item:
                arrays[f"{name}_ts"], arrays[f"{name}_t_visible"] = item["ts"], item["t_visible"]
        if ours and "error" not in ours:
            arrays["ours_windows"] = ours["windows"]
        np.savez(args.dump, **arrays)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    return 0


def print_report(r: dict[str, Any]) -> None:
    s = r["settings"]
    print(f"acquisition over LSL: {s['channels']} ch, {s['rate_hz']:g} Hz, chunks of {s['chunk_samples']}, "
          f"{s['minutes']:g} min of data at speed {s['speed']:g} ({r['machine'].get('cpu')}); "
          f"load average before {r['load_average_before']} after {r['load_average_after']}")  # fmt: skip
    print(f"readers: {s['readers']}; publisher lateness {r['publisher']['lateness']}")
    o, m = r["ours"], r["mne_lsl"]
    if "error" in o and len(o) == 1:
        print(f"ours FAILED: {o['error']}")
    if "error" in m and len(m) == 1:
        print(f"mne-lsl FAILED: {m['error']}")
    print(f"{'':34s} {'ours':>16s} {'mne-lsl':>16s}")
    row = lambda name, a, b: print(f"{name:34s} {a!s:>16s} {b!s:>16s}")  # noqa: E731
    row("samples sent", r["samples_sent"], r["samples_sent"])
    row("samples received", o.get("samples_received"), m.get("samples_seen"))
    row("  distinct / duplicates", f"{o.get('distinct_samples_matched')}/{o.get('duplicate_samples')}",
        f"{m.get('distinct_samples_matched')}/{m.get('duplicate_samples')}")  # fmt: skip
    row("samples recorded (XDF read back)", o.get("samples_in_xdf"), "-")
    row("XDF stamps == received", o.get("xdf_timestamps_equal_received"), "-")
    for block, title in (("push_to_data", "push-to-data"), ("push_to_data_steady", "push-to-data steady"),
                         ("push_to_data_first_s", "push-to-data first 1 s")):  # fmt: skip
        for label, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("max", "max_ms")):
            row(f"{title} {label} ms", o.get(block, {}).get(key), m.get(block, {}).get(key))
    for block, title in (("push_to_window", "push-to-window"), ("push_to_window_steady", "push-to-window steady")):
        for label, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("max", "max_ms")):
            row(f"{title} {label} ms", o.get(block, {}).get(key), "-")
    row("read-to-window p50/p99 ms", f"{o.get('read_to_window_processing', {}).get('p50_ms')}/"
        f"{o.get('read_to_window_processing', {}).get('p99_ms')}", "-")  # fmt: skip
    row("windows emitted / expected", f"{o.get('windows_emitted')}/{o.get('windows_expected')}", "-")
    row("windows skipped", o.get("windows_skipped"), "-")
    row("clock offset vs publisher ms", round(1e3 * o.get("clock_offset_reader_minus_publisher_s", float("nan")), 3),
        round(1e3 * m.get("clock_offset_reader_minus_publisher_s", float("nan")), 3))  # fmt: skip
    row("process CPU %", o.get("cpu", {}).get("process_cpu_percent"), m.get("cpu", {}).get("process_cpu_percent"))
    row("reader thread CPU %", o.get("cpu", {}).get("reader_thread_cpu_percent"),
        m.get("cpu", {}).get("poller_thread_cpu_percent"))  # fmt: skip
    print(f"publisher process CPU {r['publisher']['cpu'].get('process_cpu_percent')} %; "
          f"FIR look-ahead in push-to-window: {o.get('resampler_fir_delay_wall_s')} s wall "
          f"({o.get('resampler_fir_delay_stream_s')} s of stream); source events {o.get('source_events')}; "
          f"window flags {o.get('window_flags')}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
