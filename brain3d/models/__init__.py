"""The Brain3D networks: SpatialAttention, EEGEncoder, EEG2ImageDecoder, Brain3D."""

from brain3d.geometry import conv_output_length, min_input_samples
from brain3d.models.attention import SpatialAttention
from brain3d.models.brain3d import Brain3D
from brain3d.models.checkpoint import (
    load_checkpoint,
    load_checkpoint_and_metadata,
    load_weights,
    read_checkpoint,
    save_checkpoint,
    state_dict_sha256,
    training_data,
    untrained_label,
    weights_label,
)
from brain3d.models.config import SUPPORTED_IMAGE_SIZES, Brain3DConfig
from brain3d.models.decoder import EEG2ImageDecoder
from brain3d.models.encoder import EEGEncoder
from brain3d.models.loss import Brain3DObjective, LossBreakdown

__all__ = [
    "SUPPORTED_IMAGE_SIZES",
    "Brain3D",
    "Brain3DConfig",
    "Brain3DObjective",
    "EEG2ImageDecoder",
    "EEGEncoder",
    "LossBreakdown",
    "SpatialAttention",
    "conv_output_length",
    "load_checkpoint",
    "load_checkpoint_and_metadata",
    "load_weights",
    "min_input_samples",
    "read_checkpoint",
    "save_checkpoint",
    "state_dict_sha256",
    "training_data",
    "untrained_label",
    "weights_label",
]
