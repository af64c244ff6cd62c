"""What a loader did: :class:`LoadReport`, and the error for unusable published files."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from brain3d.errors import Brain3DError

logger = logging.getLogger(__name__)


class DataSetError(Brain3DError, ValueError):
    """Published data-set files are missing, in an unexpected layout, or untrusted.

    (Problems with the trial store a loader writes are :class:`~brain3d.data.StoreError`.)
    """


@dataclass
class LoadReport:
    """Counts and reasons of one conversion into a trial store.

    Attributes
    ----------
    dataset : str
        Data-set name (also the store's provenance).
    store_path : Path or None
        The store written (None until written).
    trials_read : int
        Candidate trials found in the source files.
    trials_written : int
        Trials in the store.
    skipped : list of (str, str)
        ``(trial label, reason)`` per trial not written.
    channel_report : str
        :meth:`~brain3d.data.montage_mapping.ChannelMapping.report` of the mapping(s).
    notes : list of str
        Anything else worth knowing (resampling, cut, placeholders, units).
    """

    dataset: str
    store_path: Path | None = None
    trials_read: int = 0
    trials_written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    channel_report: str = ""
    notes: list[str] = field(default_factory=list)

    def skip(self, label: str, reason: str) -> None:
        """Record one trial not written and why."""
        self.skipped.append((label, reason))
        logger.debug("skipped %s: %s", label, reason)

    def note(self, text: str) -> None:
        """Record a remark once (repeated remarks are kept once)."""
        if text not in self.notes:
            self.notes.append(text)
            logger.info("%s: %s", self.dataset, text)

    def add_channel_report(self, text: str) -> None:
        """Add a channel-mapping report (kept once per distinct text)."""
        if text and text not in self.channel_report.split("\n---\n"):
            self.channel_report = f"{self.channel_report}\n---\n{text}" if self.channel_report else text

    @property
    def skip_reasons(self) -> dict[str, int]:
        """Reason -> number of trials skipped for it."""
        return dict(Counter(reason for _, reason in self.skipped))

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        lines = [
            f"{self.dataset}: {self.trials_read} trials read, {self.trials_written} written, "
            f"{len(self.skipped)} skipped -> {self.store_path}",
        ]
        lines += [f"  skipped {count}: {reason}" for reason, count in self.skip_reasons.items()]
        lines += ["  channels: " + line for line in self.channel_report.splitlines()]
        lines += [f"  note: {text}" for text in self.notes]
        return "\n".join(lines)
