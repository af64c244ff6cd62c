"""A BrainFlow board as a :class:`~acquisition.base.Source`.

Any BrainFlow board id works; the default ``board_id = -1`` is BrainFlow's synthetic
board (no hardware needed). Channel names come from ``BoardShim.get_eeg_names``
(``ch{i}`` when the board has none), the rate from ``get_sampling_rate`` (Hz), and the
data are the board's EEG rows in µV (BrainFlow scales EEG to microvolts).

Timestamps
----------
BrainFlow stamps each sample with unix time (``time.time()`` seconds, row
``get_timestamp_channel``; for most boards the time the packet reached the host, so it
carries transport jitter). They are converted to the LSL clock by adding the offset
``pylsl.local_clock() - time.time()`` measured at :meth:`BrainFlowSource.open`. The
offset is re-measured on every :meth:`~BrainFlowSource.read`; if the wall clock was
stepped (NTP, manual change) by more than :data:`CLOCK_STEP_S` the source emits
``CLOCK_JUMP`` (``detail.jump_s``) and uses the new offset for later samples.

Data loss
---------
Most boards count packages in ``get_package_num_channel``, wrapping at 256. A step
other than +1 between consecutive samples (across reads too) means lost packages:
``DATA_LOSS`` with ``detail.lost_packages`` (see :func:`count_lost_packages`). A
repeated number (step 0) is counted as a duplicate, not 255 losses. Boards whose
counter does not step by 1 per sample (e.g. compressed Ganglion packets) are detected
on the first read (most steps not 1) and gap detection is switched off with a warning.

Logging
-------
BrainFlow's C++ logger writes to stderr; it is switched off unless this module's logger
is at DEBUG, in which case BrainFlow's dev logger is enabled (still stderr; BrainFlow
cannot hand its messages to Python logging).

Note: BrainFlow's *streaming board* re-broadcasts over multicast; keep it off
machines that must not talk to the network.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np

from acquisition.base import Chunk, EventKind, Source, SourceEvent, StreamDescription
from brain3d.clock import lsl_clock
from brain3d.config import BrainFlowSourceConfig, Config
from brain3d.errors import StreamError

logger = logging.getLogger(__name__)

#: Package counters wrap at this value.
PACKAGE_MODULUS = 256
#: Change (seconds) of the wall-clock -> LSL-clock offset reported as a clock jump.
CLOCK_STEP_S = 0.5
#: BrainFlow ring buffer size, samples (BrainFlow's own default is 450000).
RING_BUFFER_SAMPLES = 450_000
#: Poll interval while waiting for data in :meth:`BrainFlowSource.read`, seconds.
POLL_S = 0.002


def _brainflow() -> Any:
    """Import brainflow lazily and load its library once.

    BrainFlow locates its shared library with the deprecated ``pkg_resources`` on the
    first ``BoardShim`` call, which warns; that warning is not ours to show.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import brainflow.board_shim as board_shim

        board_shim.BoardShim.get_sampling_rate(board_shim.BoardIds.SYNTHETIC_BOARD.value)
    return board_shim


def count_lost_packages(
    package_nums: np.ndarray, previous: int | None = None, modulus: int = PACKAGE_MODULUS
) -> tuple[int, np.ndarray, int]:
    """Lost packages in a sequence of package numbers that count up by 1 and wrap.

    Parameters
    ----------
    package_nums : ndarray (n_samples,)
        Package numbers as delivered (float rows from BrainFlow are fine).
    previous : int, optional
        Last package number of the previous read (None: the first read).
    modulus : int
        Counter wraps at this value (256: 0..255).

    Returns
    -------
    lost : int
        Packages missing in total (a step of ``k`` counts ``k - 1``; a step of 0 is a
        duplicate and counts 0).
    positions : ndarray of int
        Indices into ``package_nums`` of the first sample after each gap.
    duplicates : int
        Samples whose number repeats the previous one.
    """
    nums = np.asarray(package_nums).astype(np.int64) % modulus
    if nums.size == 0:
        return 0, np.empty(0, dtype=np.int64), 0
    if previous is None:
        steps = np.diff(nums) % modulus
        offset = 1
    else:
        steps = np.diff(nums, prepend=int(previous) % modulus) % modulus
        offset = 0
    gaps = steps > 1
    lost = int((steps[gaps] - 1).sum())
    duplicates = int((steps == 0).sum())
    return lost, np.flatnonzero(gaps) + offset, duplicates


class BrainFlowSource(Source):
    """A BrainFlow board's EEG channels (µV) on the LSL clock.

    Parameters
    ----------
    config : BrainFlowSourceConfig, optional
        ``board_id`` (-1 = synthetic), ``serial_port``, ``ip_address``, ``ip_port``.
    ring_buffer_samples : int
        BrainFlow's internal buffer, samples.
    """

    def __init__(
        self,
        config: BrainFlowSourceConfig | None = None,
        *,
        ring_buffer_samples: int = RING_BUFFER_SAMPLES,
    ) -> None:
        self.config = config or BrainFlowSourceConfig()
        self.ring_buffer_samples = int(ring_buffer_samples)
        self._board: Any = None
        self._description: StreamDescription | None = None
        self._eeg_rows: list[int] = []
        self._ts_row = -1
        self._pkg_row: int | None = None
        self._offset = 0.0
        self._last_package: int | None = None
        self._gap_check: bool | None = None  # None: decide on first read
        self._events: list[SourceEvent] = []
        self.samples_received = 0
        self.lost_packages = 0

    @property
    def description(self) -> StreamDescription:
        """What the board delivers (valid after :meth:`open`)."""
        if self._description is None:
            raise StreamError("BrainFlowSource is not open; call open() first")
        return self._description

    @property
    def clock_offset(self) -> float:
        """LSL clock minus unix time, seconds (added to BrainFlow's timestamps)."""
        return self._offset

    # ------------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Prepare the session and start streaming.

        Raises
        ------
        StreamError
            The board id is unknown or the board cannot be reached (the message names
            the board, port/address and what to check).
        """
        if self._board is not None:
            return
        bf = _brainflow()
        board_id = self.config.board_id
        if logger.isEnabledFor(logging.DEBUG):
            bf.BoardShim.enable_dev_board_logger()
        else:
            bf.BoardShim.disable_board_logger()
        try:
            descr = bf.BoardShim.get_board_descr(board_id)
            sfreq = float(bf.BoardShim.get_sampling_rate(board_id))
            eeg_rows = list(bf.BoardShim.get_eeg_channels(board_id))
            ts_row = int(bf.BoardShim.get_timestamp_channel(board_id))
        except Exception as error:
            raise StreamError(
                f"BrainFlow board id {board_id} is unknown or has no EEG channels ({error}); "
                "set source.brainflow.board_id to a BrainFlow BoardIds value (-1 = synthetic)"
            ) from error
        try:
            names = list(bf.BoardShim.get_eeg_names(board_id))
        except Exception:
            names = []
        if len(names) != len(eeg_rows):
            names = [f"ch{i}" for i in range(len(eeg_rows))]
        try:
            pkg_row: int | None = int(bf.BoardShim.get_package_num_channel(board_id))
        except Exception:
            pkg_row = None
        params = bf.BrainFlowInputParams()
        params.serial_port = self.config.serial_port
        params.ip_address = self.config.ip_address
        params.ip_port = self.config.ip_port
        board = bf.BoardShim(board_id, params)
        try:
            board.prepare_session()
            board.start_stream(self.ring_buffer_samples)
        except Exception as error:
            try:
                if board.is_prepared():
                    board.release_session()
            except Exception:  # pragma: no cover
                pass
            raise StreamError(
                f"could not start BrainFlow board {descr.get('name', board_id)!r} (id "
                f"{board_id}, serial_port={self.config.serial_port!r}, ip_address="
                f"{self.config.ip_address!r}, ip_port={self.config.ip_port}): {error}. Check "
                "the board is on, connected and not used by another program, and that "
                "source.brainflow.serial_port / ip_address / ip_port are right"
            ) from error
        self._offset = lsl_clock() - time.time()
        self._board = board
        self._eeg_rows = eeg_rows
        self._ts_row = ts_row
        self._pkg_row = pkg_row
        self._last_package = None
        self._gap_check = None if pkg_row is not None else False
        self._description = StreamDescription(
            name=f"BrainFlow-{descr.get('name', board_id)}",
            type="EEG",
            source_id=f"brainflow-{board_id}-{self.config.serial_port or self.config.ip_address or 'local'}",
            channel_names=tuple(names),
            sfreq=sfreq,
            units="uV",
            simulated=board_id == bf.BoardIds.SYNTHETIC_BOARD.value,
        )
        logger.info(
            "BrainFlow board %r (id %d) streaming: %d EEG channels at %g Hz; "
            "LSL clock = unix time %+.6f s",
            descr.get("name", board_id),
            board_id,
            len(eeg_rows),
            sfreq,
            self._offset,
        )

    def close(self) -> None:
        """Stop streaming and release the session (idempotent)."""
        board, self._board = self._board, None
        if board is None:
            return
        try:
            board.stop_stream()
        except Exception:
            logger.debug("BrainFlow stop_stream failed", exc_info=True)
        try:
            board.release_session()
        except Exception:
            logger.warning("BrainFlow release_session failed", exc_info=True)
        logger.info(
            "BrainFlow board released: %d samples, %d packages lost",
            self.samples_received,
            self.lost_packages,
        )

    # --------------------------------------------------------------------- reading
    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        """All samples BrainFlow has buffered, waiting up to ``timeout`` seconds.

        ``min_samples`` is ignored: the board's buffer is polled, so every call
        returns what has arrived.

        Returns
        -------
        Chunk or None
            ``data`` (n_samples, n_eeg_channels) float32 µV, ``timestamps``
            (n_samples,) float64 LSL seconds; None if nothing arrived.
        """
        board = self._board
        if board is None:
            raise StreamError("BrainFlowSource is not open; call open() first")
        deadline = time.monotonic() + max(0.0, float(timeout))
        while board.get_board_data_count() == 0:
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)
        raw = board.get_board_data()
        n = raw.shape[1]
        if n == 0:
            return None
        now = lsl_clock()
        self._check_clock(now)
        data = np.ascontiguousarray(raw[self._eeg_rows].T, dtype=np.float32)
        timestamps = raw[self._ts_row].astype(np.float64) + self._offset
        if self._pkg_row is not None:
            self._check_packages(raw[self._pkg_row], now)
        self.samples_received += n
        return Chunk(data=data, timestamps=timestamps)

    def _check_clock(self, now: float) -> None:
        offset = now - time.time()
        step = offset - self._offset
        if abs(step) > CLOCK_STEP_S:
            logger.warning(
                "wall clock stepped by %+.3f s against the LSL clock; BrainFlow timestamps "
                "re-based",
                -step,
            )
            self._events.append(
                SourceEvent(
                    EventKind.CLOCK_JUMP, now, {"jump_s": round(-step, 6), "source": "wall clock"}
                )
            )
            self._offset = offset

    def _check_packages(self, package_nums: np.ndarray, now: float) -> None:
        if self._gap_check is None:
            steps = np.mod(np.diff(np.asarray(package_nums).astype(np.int64)), PACKAGE_MODULUS)
            if steps.size >= 8 and np.mean(steps == 1) < 0.5:
                logger.warning(
                    "BrainFlow board %s: package numbers do not count up by 1 per sample; "
                    "data-loss detection is off",
                    self.config.board_id,
                )
                self._gap_check = False
            elif steps.size >= 8:
                self._gap_check = True
        if self._gap_check is False:
            return
        lost, positions, duplicates = count_lost_packages(package_nums, self._last_package)
        self._last_package = int(package_nums[-1]) % PACKAGE_MODULUS
        if lost:
            self.lost_packages += lost
            logger.warning(
                "BrainFlow data loss: %d packages missing (%d gaps)", lost, len(positions)
            )
            self._events.append(
                SourceEvent(
                    EventKind.DATA_LOSS,
                    now,
                    {
                        "lost_packages": lost,
                        "gaps": int(len(positions)),
                        "total_lost_packages": self.lost_packages,
                        "duplicates": duplicates,
                    },
                )
            )

    def drain_events(self) -> list[SourceEvent]:
        """Events since the last call (oldest first)."""
        events, self._events = self._events, []
        return events


def build(config: Config) -> BrainFlowSource:
    """``source.kind: brainflow`` (registered in :data:`brain3d.registry.SOURCES`)."""
    return BrainFlowSource(config.source.brainflow)
