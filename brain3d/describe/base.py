"""The one describer interface and its fallback: ``describe(image, latent) -> Description``.

Every backend subclasses :class:`Describer` and implements :meth:`Describer._describe`,
which returns a description plus a list of problems and may raise anything. The public
methods wrap it: bad input or bad model output never escapes into the pipeline; the
caller gets :func:`fallback_description` (a valid, empty description that says why)
and the problems. Only construction (missing weights, bad config, no server
configured) raises, with :class:`~brain3d.errors.ModelLoadError`,
:class:`~brain3d.errors.ConfigError` or :class:`~brain3d.errors.BackendError`.
"""

from __future__ import annotations

import abc
import logging
import time

import numpy as np

from brain3d.schema import Description, check_relations, repair_relations

logger = logging.getLogger(__name__)

#: At most one warning per backend in this many seconds; further failures log at debug level.
_WARN_EVERY_S = 10.0


def fallback_description(source: str, problems: list[str], timing_ms: float | None = None) -> Description:
    """A valid description with no objects, for when a backend produced nothing usable.

    ``scene_type`` is ``"object"`` (the least committal type); ``source`` names the
    backend and says it fell back.
    """
    label = f"{source} [fallback: {problems[0][:120]}]" if problems else f"{source} [fallback]"
    return Description(scene_type="object", source=label,
                       timing_ms=None if timing_ms is None else max(timing_ms, 0.0))


def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as uint8 (H, W, 3), or raise ValueError naming what is wrong."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (0..255), got {array.dtype}; convert decoder output first")
    if min(array.shape[:2]) < 8:
        raise ValueError(f"image is too small ({array.shape[0]}x{array.shape[1]}); need at least 8x8")
    return array


def check_latent(latent: np.ndarray | None, latent_dim: int | None) -> np.ndarray | None:
    """Return ``latent`` as finite float32 (latent_dim,), None if absent; ValueError if bad."""
    if latent is None:
        return None
    array = np.asarray(latent, dtype=np.float32).reshape(-1)
    if latent_dim is not None and array.shape[0] != latent_dim:
        raise ValueError(f"latent must have {latent_dim} values, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError("latent has NaN or Inf values")
    return array


class Describer(abc.ABC):
    """A stage-2 backend: image (+ EEG latent) -> :class:`~brain3d.schema.Description`.

    Attributes
    ----------
    name : str
        The backend, honestly labelled; written into each description's ``source``.
    repair : bool
        Recompute relations from positions when they disagree (the problems list the
        disagreements either way).
    """

    name: str = "describer"

    def __init__(self, repair: bool = True) -> None:
        self.repair = repair
        self._last_warning = -float("inf")

    @abc.abstractmethod
    def _describe(self, image: np.ndarray, latent: np.ndarray | None) -> tuple[Description, list[str]]:
        """Backend work; may raise. Returns a description and non-fatal problems."""

    def describe_with_problems(
        self, image: np.ndarray, latent: np.ndarray | None = None
    ) -> tuple[Description, list[str]]:
        """Describe one image; never raises for bad input or bad model output.

        Parameters
        ----------
        image : np.ndarray
            (H, W, 3) uint8, the decoded image.
        latent : np.ndarray, optional
            (latent_dim,) float32 EEG latent of the same window.

        Returns
        -------
        description : Description
            Valid; ``source`` names the backend, ``timing_ms`` the wall time (ms).
        problems : list of str
            What went wrong or was repaired (empty when all was well).
        """
        start = time.perf_counter()
        try:
            desc, problems = self._describe(check_image(image), latent)
            problems = list(problems)
            inconsistent = check_relations(desc)
            if inconsistent:
                problems.extend(inconsistent)
                if self.repair:
                    desc = repair_relations(desc)
        except Exception as exc:  # noqa: BLE001 - the pipeline must never see a backend's failure
            now = time.monotonic()
            if now - self._last_warning >= _WARN_EVERY_S:  # a dead backend must not flood the log
                self._last_warning = now
                logger.warning("%s failed, using the fallback description: %s", self.name, exc)
            else:
                logger.debug("%s failed, using the fallback description: %s", self.name, exc)
            problems = [f"{type(exc).__name__}: {exc}"]
            return fallback_description(self.name, problems, (time.perf_counter() - start) * 1e3), problems
        elapsed = (time.perf_counter() - start) * 1e3
        return desc.model_copy(update={"timing_ms": round(elapsed, 3)}), problems

    def describe(self, image: np.ndarray, latent: np.ndarray | None = None) -> Description:
        """Like :meth:`describe_with_problems`, returning only the description."""
        return self.describe_with_problems(image, latent)[0]

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to release
        """Release resources (idempotent)."""

    def __enter__(self) -> Describer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
