"""The two anchors every pipeline condition is judged against, measured in the same run.

* **transport**: mne-lsl's ``StreamLSL`` reading the same kind of stream as the engine
  session (the simulator's channels and rate, one sample per push, real time), push ->
  data per sample (:mod:`brain3d_app.bench.acquisition`'s reader, in its own process,
  its settings fixed and stated: :data:`~brain3d_app.bench.acquisition.MNE_BUFSIZE_S`,
  :data:`~brain3d_app.bench.acquisition.MNE_ACQUISITION_DELAY_S`, polled every
  :data:`~brain3d_app.bench.acquisition.POLL_S`);
* **compute**: the engine's fast path back to back (``prepare_windows`` + the
  onnxruntime session :func:`export_onnx.open_fast_path` opens for this configuration,
  one window after the other, nothing in between).

Both run under the condition's load (the CPU hog of the loaded condition runs during
them too), right before the engine session and not during it: a second reader would
take CPU from the very process being measured. A target then reads, in one run on one
machine: push -> window p99 <= transport p99, push -> image p99 <= transport p99 +
compute p99.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from brain3d.config import Config
from brain3d_app.bench.figures import Section

logger = logging.getLogger(__name__)

#: Back-to-back calls of the compute anchor (after :data:`COMPUTE_WARMUP` untimed ones).
COMPUTE_RUNS = 500
COMPUTE_WARMUP = 30


def measure_transport(section: Section, prefix: str, config: Config, seconds: float, *, speed: float = 1.0) -> None:
    """mne-lsl push -> data p50..max for ``seconds`` of the simulator's stream shape, sent
    ``speed`` times faster than real time (as the session it anchors).

    Adds ``<prefix>.anchor.mne_push_to_data.*`` (ms, samples pushed after the first
    second) or a ``missing`` entry saying why (mne-lsl not installed, reader failed).
    """
    from brain3d_app.bench.acquisition import (
        MNE_ACQUISITION_DELAY_S,
        MNE_BUFSIZE_S,
        WARMUP_S,
        AcquisitionSettings,
        Publisher,
        _run_readers,
        channel_labels,
        latency_per_sample,
        reader_mne,
    )

    name = f"{prefix}.anchor.mne_push_to_data"
    try:
        import mne_lsl  # noqa: F401
    except ImportError:
        section.missing[name] = "mne-lsl is not installed (pip install mne-lsl)"
        return
    sim = config.source.simulate
    settings = AcquisitionSettings(minutes=seconds * speed / 60, speed=speed, rate=float(sim.sfreq),
                                   channels=len(config.channels.names),
                                   chunk=1)  # fmt: skip
    source_id = f"brain3d-bench-anchor-{uuid.uuid4().hex[:10]}"
    pub = Publisher(settings, source_id, channel_labels(settings.channels))
    try:
        out, _report = _run_readers(settings, config, pub, source_id, [("mne", reader_mne)])
    except Exception as exc:  # an anchor that failed is reported, the session still runs
        logger.exception("mne-lsl anchor failed")
        section.missing[name] = f"{type(exc).__name__}: {exc}"
        return
    result = out.get("mne")
    if result is None or "error" in result:
        section.missing[name] = (result or {}).get("error", "the mne-lsl reader returned nothing")
        return
    match = latency_per_sample(result["ts"], result["t_visible"], pub)
    steady = match["latency"][match["pushed_at"] >= WARMUP_S] * 1e3
    section.add_latency(name, steady, device="CPU (mne-lsl)")
    section.info.setdefault("anchors", {})[prefix] = {
        "mne_lsl": {"version": result["version"], "bufsize_s": MNE_BUFSIZE_S, "acquisition_delay_s": MNE_ACQUISITION_DELAY_S,
                    "seconds": seconds, "samples_matched": int(steady.size), "cpu": result["cpu"]},
    }  # fmt: skip


def measure_compute(section: Section, prefix: str, config: Config) -> None:
    """The fast path back to back: ``<prefix>.anchor.back_to_back.*`` (ms)."""
    from brain3d.normalization import prepare_windows
    from brain3d_app.bench.fastpath import time_calls
    from export_onnx import open_fast_path, realistic_eeg

    name = f"{prefix}.anchor.back_to_back"
    try:
        session = open_fast_path(config)
    except Exception as exc:
        logger.exception("compute anchor: the fast path does not open")
        section.missing[name] = f"{type(exc).__name__}: {exc}"
        return
    meta = session.metadata
    # µV-scaled like a real window (prepare_windows re-references and z-scores it)
    window = 20.0 * realistic_eeg(1, len(config.channels.names), config.window.samples, config.window.sfreq, seed=3)[0]
    pre = config.preprocessing

    def one() -> Any:
        return session.run(prepare_windows(window, pre.reference, pre.normalization))

    ms = time_calls(one, COMPUTE_RUNS, COMPUTE_WARMUP)
    section.add_latency(name, ms, device=f"{session.provider} ({getattr(meta, 'precision', '?')})")
    section.info.setdefault("anchors", {}).setdefault(prefix, {})["back_to_back"] = {
        "runs": COMPUTE_RUNS, "warmup": COMPUTE_WARMUP, "what": "prepare_windows + onnxruntime, one window after another",
    }  # fmt: skip


__all__ = ["COMPUTE_RUNS", "measure_compute", "measure_transport"]
