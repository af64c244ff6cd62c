"""The streamer's push ledger: counts, lateness and (on request) every chunk's push time."""

from __future__ import annotations

import numpy as np

from brain3d.sim.lsl_pacing import PushLedger


def test_the_push_log_keeps_each_chunks_due_and_push_time_only_when_asked() -> None:
    ledger = PushLedger(keep_log=True)
    for k, late in enumerate((0.001, 0.004, 0.0)):
        ledger.record_chunk(10, 100.0 + 0.01 * k, 100.0 + 0.01 * k + late)
    log = ledger.log()
    assert log is not None
    due, pushed = log
    np.testing.assert_allclose(due, [100.0, 100.01, 100.02])
    np.testing.assert_allclose(pushed - due, [0.001, 0.004, 0.0], atol=1e-12)
    summary = ledger.summary()
    assert summary.samples == 30 and summary.chunks == 3 and abs(summary.lateness_ms_max - 4.0) < 1e-9
    plain = PushLedger()
    plain.record_chunk(10, 1.0, 1.0)
    assert plain.log() is None
