"""The product's one list of chatty third-party loggers, and how they are quietened.

The exporter stack (torch.onnx, onnxscript, onnx_ir) reports every optimisation pass at
INFO, onnxruntime's quantiser logs to the root logger, and plotting / HTTP libraries log
routine progress: the CLI keeps them at WARNING, and an export silences them entirely.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

#: Third-party loggers that report routine progress at INFO.
CHATTY_LIBRARIES = ("torch", "torch.onnx", "onnxscript", "onnx_ir", "urllib3", "matplotlib", "PIL")


def quiet_libraries(level: int = logging.INFO) -> None:
    """Keep :data:`CHATTY_LIBRARIES` at WARNING or above (``level`` when it is higher)."""
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


@contextlib.contextmanager
def silenced(include_root: bool = True) -> Iterator[None]:
    """Only errors from :data:`CHATTY_LIBRARIES` (and the root logger) and no warnings, for one block."""
    names = (*CHATTY_LIBRARIES, "") if include_root else CHATTY_LIBRARIES
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logging.getLogger(name).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


__all__ = ["CHATTY_LIBRARIES", "quiet_libraries", "silenced"]
