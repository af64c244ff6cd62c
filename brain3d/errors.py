"""The product's error types: one base class, subclasses where a caller acts differently.

Every error message names the problem and the fix. Catch :class:`Brain3DError` to
handle anything the product raises on purpose; anything else is a bug.
"""

from __future__ import annotations


class Brain3DError(Exception):
    """Base class of every error Brain3D Live raises on purpose."""


class ConfigError(Brain3DError, ValueError):
    """The configuration (file, second file or ``--set`` override) is invalid.

    The message lists every problem as ``key.path = value: what is allowed``.
    """


class StreamError(Brain3DError):
    """An input stream is missing, lost, empty, or its clock misbehaves."""


class ChannelError(Brain3DError, ValueError):
    """Channel count or names of the data do not match what the model expects."""


class InputError(Brain3DError, ValueError):
    """An array handed to a model has the wrong shape, dtype or non-finite values."""


class ModelLoadError(Brain3DError):
    """A checkpoint or exported model is missing, corrupt, or does not match.

    Raised for truncated or non-safetensors files, architecture mismatches (the
    message names the mismatching tensors) and ONNX metadata that disagrees with
    the configuration.
    """


class ModelOutputError(Brain3DError):
    """A model returned outputs of the wrong shape or with NaN/Inf values."""


class BackendError(Brain3DError):
    """A compute backend (onnxruntime provider, describer or 3D server) failed."""
