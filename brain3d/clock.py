"""The product's one clock: the LSL clock (``pylsl.local_clock()``, seconds).

Every timestamp of the data path (sample times, window ends, stage finish times) is on
this clock, so latencies are differences of two readings of it.
"""

from __future__ import annotations


def lsl_clock() -> float:
    """Seconds on the LSL clock (monotonic, shared by every LSL process on this machine).

    pylsl is imported on first use: loading liblsl is slow and must happen after
    ``LSLAPICFG`` is set.
    """
    import pylsl

    return float(pylsl.local_clock())
