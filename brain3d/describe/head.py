"""The grounded describer's network: a trained attribute head (not a language model).

A small CNN reads the image (and an MLP the EEG latent, when given) and predicts every
field the schema needs, with probabilities:

* ``scene``: logits over :data:`~brain3d.schema.SCENE_TYPES` (3),
* ``count``: logits over 1..K objects (K = ``max_objects``),
* per slot k < K: ``presence`` logit, ``shape`` logits (6), ``color`` logits (8),
  ``position`` (x, y, z) in metres (scene frame of :mod:`brain3d.schema`) and ``size``
  (edge of the bounding cube, metres).

Slots are unordered: the loss (:func:`description_loss`) matches slots to ground-truth
objects with the cheapest permutation (DETR-style set prediction; with K <= 4 every
permutation is scored exactly, no Hungarian solver needed). The description term of
:class:`~brain3d.models.loss.Brain3DObjective` is this loss.
:func:`decode_description` turns one sample's outputs into a valid
:class:`~brain3d.schema.Description` (relations from positions, depth and geometry
derived), so the grounded backend's output is valid by construction.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn import functional as F

from brain3d.schema import (
    CAMERA_POSITION,
    COLOR_NAMES,
    SCENE_BOUNDS,
    SCENE_TYPES,
    SHAPES,
    Color,
    Depth,
    Description,
    GeometryNote,
    Position,
    SceneObject,
    relations_from_positions,
)
from brain3d.sim.shapes import SHAPE_ASPECT, SHAPE_CATEGORY, SHAPE_NOTES

#: Honest label of the grounded backend, written into every description's ``source``.
GROUNDED_SOURCE = "grounded (trained attribute head, not a language model)"

#: Offset added to the predicted position (metres): the centre of the simulator's layouts.
_POSITION_OFFSET = (0.0, 0.6, 0.0)
_MIN_SIZE_M, _MAX_SIZE_M = 0.05, 1.5
#: Snapping of decoded positions to physical support (metres).
_FLOOR_SNAP_M = 0.08
_STACK_SNAP_VERTICAL_M = 0.12
_STACK_SNAP_HORIZONTAL_M = 0.15


class GroundedHeadConfig(BaseModel):
    """Architecture of :class:`GroundedHead` (stored inside its checkpoint).

    Attributes
    ----------
    image_size : int
        Side of the square input image, pixels (other sizes are resized to it).
    latent_dim : int
        Size of the EEG latent (0: image only).
    max_objects : int
        Object slots K (the simulator makes 1-3 objects).
    width : int
        Channels of the first conv block (doubled, then quadrupled, deeper).
    latent_hidden, hidden : int
        Widths of the latent MLP and of the fused trunk.
    """

    model_config = ConfigDict(extra="forbid")

    image_size: int = Field(64, ge=16)
    latent_dim: int = Field(512, ge=0)
    max_objects: int = Field(3, ge=1, le=4)
    width: int = Field(32, ge=4)
    latent_hidden: int = Field(128, ge=8)
    hidden: int = Field(256, ge=16)


@dataclass
class HeadOutput:
    """Raw outputs of :class:`GroundedHead` for a batch of B samples and K slots.

    Attributes
    ----------
    scene : (B, 3) logits; count : (B, K) logits (index i = i + 1 objects);
    presence : (B, K) logits; shape : (B, K, 6) logits; color : (B, K, 8) logits;
    position : (B, K, 3) metres; size : (B, K) metres.
    """

    scene: torch.Tensor
    count: torch.Tensor
    presence: torch.Tensor
    shape: torch.Tensor
    color: torch.Tensor
    position: torch.Tensor
    size: torch.Tensor


@dataclass
class HeadTargets:
    """Ground truth in the head's terms (see :func:`encode_targets`).

    Attributes
    ----------
    scene : (B,) int64; count : (B,) int64 (objects - 1); mask : (B, K) bool (slot used);
    shape, color : (B, K) int64; position : (B, K, 3) float32 metres; size : (B, K) float32.
    """

    scene: torch.Tensor
    count: torch.Tensor
    mask: torch.Tensor
    shape: torch.Tensor
    color: torch.Tensor
    position: torch.Tensor
    size: torch.Tensor

    def index(self, rows: torch.Tensor | np.ndarray) -> HeadTargets:
        """The targets of some rows."""
        rows = torch.as_tensor(rows)
        return HeadTargets(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class GroundedHead(nn.Module):
    """CNN over the image + MLP over the latent -> scene, count and K object slots.

    Shapes
    ------
    image : (B, 3, S, S) float32 in [-1, 1] (S = ``config.image_size``)
    latent : (B, latent_dim) float32, or None (treated as zeros, as in training's
        latent dropout)
    """

    _SLOT_FIELDS = 1 + len(SHAPES) + len(COLOR_NAMES) + 3 + 1

    def __init__(self, config: GroundedHeadConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config if config is not None else GroundedHeadConfig()
        w = cfg.width
        self.features = nn.Sequential(
            _block(3, w, 2), _block(w, w, 1), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2), _block(4 * w, 4 * w, 2),
        )
        side = math.ceil(cfg.image_size / 16)
        self.image_fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * side * side, cfg.hidden), nn.ReLU(inplace=True))
        fused = cfg.hidden
        if cfg.latent_dim:
            self.latent_mlp = nn.Sequential(
                nn.LayerNorm(cfg.latent_dim), nn.Linear(cfg.latent_dim, cfg.latent_hidden), nn.ReLU(inplace=True)
            )
            fused += cfg.latent_hidden
        self.trunk = nn.Sequential(nn.Linear(fused, cfg.hidden), nn.ReLU(inplace=True))
        k = cfg.max_objects
        self.scene_out = nn.Linear(cfg.hidden, len(SCENE_TYPES))
        self.count_out = nn.Linear(cfg.hidden, k)
        self.slots_out = nn.Linear(cfg.hidden, k * self._SLOT_FIELDS)
        self.register_buffer("position_offset", torch.tensor(_POSITION_OFFSET), persistent=False)

    def forward(self, image: torch.Tensor, latent: torch.Tensor | None = None) -> HeadOutput:
        cfg = self.config
        if image.shape[-1] != cfg.image_size or image.shape[-2] != cfg.image_size:
            image = F.interpolate(image, size=(cfg.image_size, cfg.image_size), mode="bilinear", align_corners=False)
        parts = [self.image_fc(self.features(image))]
        if cfg.latent_dim:
            if latent is None:
                latent = image.new_zeros(image.shape[0], cfg.latent_dim)
            parts.append(self.latent_mlp(latent))
        h = self.trunk(torch.cat(parts, dim=1))
        k = cfg.max_objects
        slots = self.slots_out(h).view(-1, k, self._SLOT_FIELDS)
        n_s, n_c = len(SHAPES), len(COLOR_NAMES)
        return HeadOutput(
            scene=self.scene_out(h),
            count=self.count_out(h),
            presence=slots[..., 0],
            shape=slots[..., 1 : 1 + n_s],
            color=slots[..., 1 + n_s : 1 + n_s + n_c],
            position=slots[..., 1 + n_s + n_c : 4 + n_s + n_c] + self.position_offset,
            size=F.softplus(slots[..., -1]) + _MIN_SIZE_M,
        )


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (B, H, W, 3) or (H, W, 3) -> float32 (B, 3, H, W) in [-1, 1]."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


# ---------------------------------------------------------------------------- targets
_SCENE_INDEX = {name: i for i, name in enumerate(SCENE_TYPES)}
_SHAPE_INDEX = {name: i for i, name in enumerate(SHAPES)}
_COLOR_INDEX = {name: i for i, name in enumerate(COLOR_NAMES)}


def encode_targets(descriptions: list[dict[str, Any]] | list[Description], max_objects: int = 3) -> HeadTargets:
    """Ground-truth descriptions (models or their JSON dicts) -> :class:`HeadTargets`.

    Objects beyond ``max_objects`` are dropped; a description with no objects counts as
    one (count index 0) with no slot used.
    """
    n, k = len(descriptions), max_objects
    scene = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    mask = np.zeros((n, k), bool)
    shape = np.zeros((n, k), np.int64)
    color = np.zeros((n, k), np.int64)
    position = np.zeros((n, k, 3), np.float32)
    size = np.ones((n, k), np.float32) * 0.5
    items: Sequence[dict[str, Any] | Description] = descriptions
    for i, desc in enumerate(items):
        data = desc.model_dump() if isinstance(desc, Description) else desc
        scene[i] = _SCENE_INDEX[data["scene_type"]]
        objects = data["objects"][:k]
        count[i] = max(len(objects), 1) - 1
        for j, obj in enumerate(objects):
            mask[i, j] = True
            shape[i, j] = _SHAPE_INDEX[obj["shape"]]
            color[i, j] = _COLOR_INDEX[obj["color"]["name"]]
            p = obj["position"]
            position[i, j] = (p["x"], p["y"], p["z"])
            size[i, j] = obj["size"]
    return HeadTargets(*(torch.from_numpy(a) for a in (scene, count, mask, shape, color, position, size)))


# ------------------------------------------------------------------------------- loss
_SLOT_WEIGHTS = {"shape": 1.0, "color": 1.0, "position": 4.0, "size": 2.0, "presence": 1.0}


def description_loss(prediction: HeadOutput, target: HeadTargets) -> torch.Tensor:
    """The description term: scene + count cross-entropy + set loss over object slots.

    For every permutation of the K slots the per-sample cost of assigning slot
    ``perm[j]`` to ground-truth object ``j`` is summed (shape and colour
    cross-entropy, L1 position and size error in metres, presence BCE; unused targets
    only ask the slot to be absent); the cheapest permutation per sample is kept.

    Parameters
    ----------
    prediction : HeadOutput
    target : HeadTargets

    Returns
    -------
    torch.Tensor
        Scalar, mean over the batch. Plugs into
        ``Brain3DObjective(description_loss=description_loss)``.
    """
    b, k = target.mask.shape
    if prediction.presence.shape != (b, k):
        raise ValueError(f"prediction has slots {tuple(prediction.presence.shape)}, targets {(b, k)}")
    # pairwise costs: slot i (dim 1) vs target j (dim 2)
    logp_shape = F.log_softmax(prediction.shape, -1)  # (B, K, 6)
    logp_color = F.log_softmax(prediction.color, -1)
    ce_shape = -torch.gather(logp_shape, 2, target.shape[:, None, :].expand(b, k, k))  # (B, Ki, Kj)
    ce_color = -torch.gather(logp_color, 2, target.color[:, None, :].expand(b, k, k))
    pos = (prediction.position[:, :, None, :] - target.position[:, None, :, :]).abs().sum(-1)
    siz = (prediction.size[:, :, None] - target.size[:, None, :]).abs()
    present = F.binary_cross_entropy_with_logits(prediction.presence, torch.ones_like(prediction.presence), reduction="none")
    absent = F.binary_cross_entropy_with_logits(prediction.presence, torch.zeros_like(prediction.presence), reduction="none")
    w = _SLOT_WEIGHTS
    used = (w["shape"] * ce_shape + w["color"] * ce_color + w["position"] * pos + w["size"] * siz
            + w["presence"] * present[:, :, None])
    unused = w["presence"] * absent[:, :, None].expand(b, k, k)
    cost = torch.where(target.mask[:, None, :], used, unused)  # (B, Ki, Kj)
    perms = torch.tensor(list(itertools.permutations(range(k))), device=cost.device)  # (P, K)
    cols = torch.arange(k, device=cost.device)
    per_perm = cost[:, perms, cols].sum(-1)  # (B, P)
    slot_term = per_perm.min(dim=1).values.mean()
    return F.cross_entropy(prediction.scene, target.scene) + F.cross_entropy(prediction.count, target.count) + slot_term


# ----------------------------------------------------------------------------- decode
@dataclass
class _Slot:
    shape: str
    color: str
    position: list[float]
    size: float
    confidence: float


def _snap(slots: list[_Slot]) -> None:
    """Rest near-floor objects on the floor and near-stacked objects on their base."""
    for s in slots:
        if s.position[1] - s.size / 2 < _FLOOR_SNAP_M:
            s.position[1] = s.size / 2
    for s in sorted(slots, key=lambda s: s.position[1]):
        for base in slots:
            if base is s or base.position[1] >= s.position[1]:
                continue
            gap = (s.position[1] - s.size / 2) - (base.position[1] + base.size / 2)
            horizontal = math.hypot(s.position[0] - base.position[0], s.position[2] - base.position[2])
            if abs(gap) < _STACK_SNAP_VERTICAL_M and horizontal < _STACK_SNAP_HORIZONTAL_M:
                s.size = min(s.size, base.size)
                s.position = [base.position[0], base.position[1] + base.size / 2 + s.size / 2, base.position[2]]
                break


def _clamp(value: float, axis: str) -> float:
    low, high = SCENE_BOUNDS[axis]
    return float(min(max(value, low), high))


def decode_description(output: HeadOutput, row: int = 0, *, timing_ms: float | None = None,
                       source: str = GROUNDED_SOURCE) -> Description:
    """Turn sample ``row`` of the head's outputs into a valid :class:`Description`.

    The predicted count n picks the n slots most likely present; positions are clamped
    to :data:`~brain3d.schema.SCENE_BOUNDS`, objects within 8 cm of the floor or of the
    top of another object are set down on it; ids ``obj0..`` go left to right;
    relations come from :func:`~brain3d.schema.relations_from_positions`, depth from the
    positions, geometry from the primitive. An object's ``confidence`` is its presence
    probability times the mean of its shape and colour probabilities.
    """
    with torch.no_grad():
        scene = int(output.scene[row].argmax())
        n = int(output.count[row].argmax()) + 1
        presence = torch.sigmoid(output.presence[row]).numpy()
        p_shape = torch.softmax(output.shape[row], -1).numpy()
        p_color = torch.softmax(output.color[row], -1).numpy()
        position = output.position[row].numpy().astype(float)
        size = output.size[row].numpy().astype(float)
    slots = []
    for i in np.argsort(-presence, kind="stable")[:n]:
        s, c = int(p_shape[i].argmax()), int(p_color[i].argmax())
        sz = float(min(max(size[i], _MIN_SIZE_M), _MAX_SIZE_M))
        pos = [_clamp(position[i, 0], "x"), _clamp(position[i, 1], "y"), _clamp(position[i, 2], "z")]
        conf = float(presence[i] * (p_shape[i, s] + p_color[i, c]) / 2)
        slots.append(_Slot(SHAPES[s], COLOR_NAMES[c], pos, sz, conf))
    _snap(slots)
    slots.sort(key=lambda s: (s.position[0], s.position[1]))
    objects = []
    for i, slot in enumerate(slots):
        y = min(slot.position[1], SCENE_BOUNDS["y"][1])
        objects.append(SceneObject(
            id=f"obj{i}", category=SHAPE_CATEGORY[slot.shape], shape=slot.shape,
            color=Color.from_name(slot.color),
            position=Position(x=round(slot.position[0], 3), y=round(y, 3), z=round(slot.position[2], 3)),
            size=round(slot.size, 3), confidence=round(min(max(slot.confidence, 0.0), 1.0), 4),
        ))
    distance = {o.id: round(CAMERA_POSITION[2] - o.position.z, 3) for o in objects}
    return Description(
        scene_type=SCENE_TYPES[scene],
        objects=objects,
        spatial_relations=relations_from_positions(objects),
        depth=Depth(order=sorted(distance, key=lambda k: (distance[k], k)), distance_m=distance),
        geometry=[GeometryNote(object_id=o.id, primitive=o.shape, aspect=SHAPE_ASPECT[o.shape],
                               note=SHAPE_NOTES[o.shape]) for o in objects],
        source=source,
        timing_ms=None if timing_ms is None else round(max(timing_ms, 0.0), 3),
    )
