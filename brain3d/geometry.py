"""Geometry of the Brain3D encoder's convolution stack, free of torch.

The configuration validator and the encoder both need the temporal output length of
the conv stack; keeping the layer table here (without importing torch) lets the
config be validated quickly and keeps one definition of the stack.

The Brain3D reference sketch hard-codes a flattened size of ``512 * 8``; with 256
input samples and no padding the real output length is 9 (256 -> 58 -> 23 -> 9), so
the projection size is computed here instead.
"""

from __future__ import annotations

from typing import NamedTuple


class ConvSpec(NamedTuple):
    """One Conv1d block of the encoder (no padding, dilation 1)."""

    out_channels: int
    kernel_size: int
    stride: int


#: The encoder's conv stack of the Brain3D design: 64->128 (k25, s4), ->256 (k13, s2),
#: ->512 (k7, s2). The first block's input width is the number of EEG channels.
ENCODER_CONV_STACK: tuple[ConvSpec, ...] = (
    ConvSpec(128, 25, 4),
    ConvSpec(256, 13, 2),
    ConvSpec(512, 7, 2),
)


def conv_output_length(n_times: int, stack: tuple[ConvSpec, ...] = ENCODER_CONV_STACK) -> int:
    """Temporal length after the conv stack.

    Parameters
    ----------
    n_times : int
        Input length in samples.
    stack : tuple of ConvSpec
        The conv blocks, first to last.

    Returns
    -------
    int
        Output length in samples; ``<= 0`` means the input is too short.
    """
    length = n_times
    for spec in stack:
        if length < spec.kernel_size:
            return 0
        length = (length - spec.kernel_size) // spec.stride + 1
    return length


def min_input_samples(stack: tuple[ConvSpec, ...] = ENCODER_CONV_STACK) -> int:
    """Smallest input length (samples) for which every conv block has one output."""
    length = 1
    for spec in reversed(stack):
        length = (length - 1) * spec.stride + spec.kernel_size
    return length
