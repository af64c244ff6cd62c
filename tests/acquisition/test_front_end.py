"""One input front end (units, mapping, NaN bridging, anti-alias) for every resampling grid."""

from __future__ import annotations

import numpy as np
import pytest

from acquisition.base import StreamDescription
from acquisition.front_end import InputFrontEnd, canonical_unit, unit_factor
from acquisition.grids import GridWindows
from acquisition.pipeline import AcquisitionThread
from acquisition.preprocessing import StreamPreprocessor, window_phases
from brain3d.channels import STANDARD_64
from brain3d.config import Config
from tests.acquisition.test_pipeline import FakeSource, wait_for

SFREQ = 500.0  # two grids at the default hop


def _description(units: str = "V") -> StreamDescription:
    return StreamDescription("amp", "EEG", "amp-1", tuple(reversed(STANDARD_64)), SFREQ, units)


def _chunks(seed: int = 0, n: int = 40, size: int = 23) -> list[tuple[np.ndarray, np.ndarray]]:
    """Volts, reversed channel order, with NaN runs: every front-end step has work to do."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        t = (np.arange(size) + k * size) / SFREQ
        data = 20e-6 * np.sin(2 * np.pi * 10 * t)[:, None] + rng.normal(0, 5e-6, (size, 64))
        if k in (5, 6):
            data[3:17, 7] = np.nan
        if k == 12:
            data[:, 30:34] = np.inf
        out.append((data, 100.0 + t))
    return out


def _grids(config: Config, shared: bool) -> list[StreamPreprocessor]:
    phases = window_phases(SFREQ, config.window)
    grids: list[StreamPreprocessor] = []
    for phase in range(phases):
        front_end = grids[0].front_end if shared and grids else None
        grids.append(StreamPreprocessor.from_config(config, _description(), window_phase=(phase, phases),
                                                    front_end=front_end))
    return grids


def test_grids_sharing_one_front_end_give_what_each_grid_gives_alone() -> None:
    config = Config()
    alone, shared = _grids(config, shared=False), _grids(config, shared=True)
    assert len(alone) == 2 and shared[1].front_end is shared[0].front_end and not shared[1].owns_front_end
    for data, stamps in _chunks():
        front = shared[0].front_end.process(data, stamps)
        for own, grid in zip(alone, shared, strict=True):
            expected, got = own.process(data, stamps), grid.process_front(front)
            np.testing.assert_array_equal(got.timestamps, expected.timestamps)
            np.testing.assert_array_equal(got.data, expected.data)  # NaN where bridged, in both
    assert shared[0].samples_in == alone[0].samples_in == 40 * 23
    assert shared[0].nonfinite_samples == alone[1].nonfinite_samples > 0


def test_a_grid_without_its_own_front_end_refuses_raw_chunks() -> None:
    grids = _grids(Config(), shared=True)
    data, stamps = _chunks(n=1)[0]
    with pytest.raises(RuntimeError, match="front end is shared by several grids"):
        grids[1].process(data, stamps)


def test_acquisition_runs_the_front_end_once_per_chunk_and_sums_the_grids(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = InputFrontEnd.process

    def counting(self: InputFrontEnd, data: np.ndarray, timestamps: np.ndarray):  # type: ignore[no-untyped-def]
        calls.append(len(timestamps))
        return original(self, data, timestamps)

    monkeypatch.setattr(InputFrontEnd, "process", counting)
    source = FakeSource(n_chunks=200, chunk=25, sfreq=SFREQ)
    acq = AcquisitionThread(source, Config()).start()
    assert wait_for(lambda: acq.samples_received >= 200 * 25), acq.stats()
    stats = acq.stop()
    assert acq.grids is not None and len(acq.grids.chains) == 2
    assert len(calls) == stats["chunks_received"] and sum(calls) == stats["samples_received"] == 5000
    per_grid = [pre.samples_out for pre, _ in acq.grids.chains]
    assert stats["samples_preprocessed"] == sum(per_grid) and min(per_grid) > 0.9 * 5000 * 256 / SFREQ


def test_resetting_the_grids_re_primes_every_grid_from_the_shared_front_end() -> None:
    """After a stream restart, a large electrode offset must not ring through any grid."""
    description = StreamDescription("amp", "EEG", "amp-1", tuple(STANDARD_64), SFREQ, "uV")
    grids = GridWindows(description, Config(), clock=lambda: 0.0)
    assert len(grids.chains) == 2 and not any(pre.owns_front_end for pre, _ in grids.chains)
    offset = np.full((50, 64), 1000.0)  # µV of DC offset, as electrodes have
    stamps = 100.0 + np.arange(50) / SFREQ
    grids.push(offset, stamps)
    grids.reset()
    grids.push(offset, stamps + 1.0)
    front = grids.front_end.process(offset, stamps + 1.1)
    for preprocessor, _ in grids.chains:
        out = preprocessor.process_front(front)
        assert np.nanmax(np.abs(out.data)) < 5.0  # band-passed DC: primed, no 1000 µV step response


@pytest.mark.parametrize(("declared", "factor", "canonical"), [
    ("microvolts", 1.0, "uV"), ("µV", 1.0, "uV"), ("μV", 1.0, "uV"), ("UV", 1.0, "uV"),
    ("millivolts", 1e3, "mV"), ("mV", 1e3, "mV"), ("volts", 1e6, "V"), ("V", 1e6, "V"), ("nV", 1e-3, "nV"),
    ("0", 1e6, "V"), ("-6", 1.0, "uV"), ("-3", 1e3, "mV"), ("-9", 1e-3, "nV"),  # mne-lsl: powers of ten of volts
    ("-12", 1e-6, "-12"), ("counts", None, None), ("7", None, None), ("", None, None),
])  # fmt: skip
def test_unit_spellings_and_mne_lsl_exponents_give_the_factor_to_microvolts(
        declared: str, factor: float | None, canonical: str | None) -> None:
    assert unit_factor(declared) == (None if factor is None else pytest.approx(factor))
    assert canonical_unit(declared) == canonical
