"""A stage module whose import fails, as a half-installed or broken package's does."""

from brain3d.generate3d import no_such_name  # type: ignore[attr-defined]  # noqa: F401


def build(config: object) -> None:  # pragma: no cover - never reached: the import fails
    """Never called."""
