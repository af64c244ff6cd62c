"""Description and image -> fixed-size conditioning arrays for the 3D diffusion model.

One place turns a :class:`~brain3d.schema.Description` (and optionally the decoded image)
into the numbers the denoiser sees, so training, sampling and the loss term agree:

* per object (up to :data:`MAX_OBJECTS`, the schema's limit): shape index, colour-name
  index and 7 continuous features ``(x, y, z, size, r, g, b)`` with positions and size
  normalised by :data:`POINT_CENTER` / :data:`POINT_SCALE`, plus a validity mask;
* per scene: the scene-type index and whether a description is present at all;
* the image as float32 ``(3, H, W)`` in [-1, 1] and whether an image is present.

Point coordinates are normalised the same way (:func:`normalize_points`), colours map
0..1 -> -1..1, so the diffusion runs on roughly unit-scale data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from brain3d.errors import InputError
from brain3d.schema import COLOR_NAMES, SCENE_TYPES, SHAPES, Description

#: Largest number of objects a description may hold (the schema's limit).
MAX_OBJECTS = 16
#: Scene-frame point that maps to the origin of the model's coordinates (metres).
POINT_CENTER = np.array([0.0, 0.75, 0.0], dtype=np.float32)
#: Metres per model unit.
POINT_SCALE = 0.75
#: Continuous per-object features: x, y, z, size (normalised), r, g, b (-1..1).
OBJECT_FEATURES = 7
#: Side of the image the model's image encoder takes (pixels).
IMAGE_SIZE = 64


@dataclass
class ConditionBatch:
    """A batch of conditions as tensors (B = batch size, K = :data:`MAX_OBJECTS`).

    Attributes
    ----------
    shape_index, color_index : torch.Tensor
        (B, K) int64; 0 where the slot is empty.
    object_features : torch.Tensor
        (B, K, 7) float32, see the module docstring.
    object_mask : torch.Tensor
        (B, K) bool, True for a real object.
    scene_type : torch.Tensor
        (B,) int64 index into :data:`brain3d.schema.SCENE_TYPES`.
    has_description, has_image : torch.Tensor
        (B,) bool; False selects the learned "no description" / "no image" tokens
        (classifier-free guidance drops conditions by setting these to False).
    image : torch.Tensor
        (B, 3, 64, 64) float32 in [-1, 1] (zeros where ``has_image`` is False).
    """

    shape_index: torch.Tensor
    color_index: torch.Tensor
    object_features: torch.Tensor
    object_mask: torch.Tensor
    scene_type: torch.Tensor
    has_description: torch.Tensor
    has_image: torch.Tensor
    image: torch.Tensor

    def __len__(self) -> int:
        return int(self.scene_type.shape[0])

    def dropped(self, drop_description: torch.Tensor, drop_image: torch.Tensor) -> ConditionBatch:
        """A copy with the description / image removed where the (B,) bool masks are True."""
        return ConditionBatch(
            self.shape_index, self.color_index, self.object_features,
            self.object_mask & ~drop_description[:, None], self.scene_type,
            self.has_description & ~drop_description, self.has_image & ~drop_image, self.image,
        )

    def unconditional(self) -> ConditionBatch:
        """The same batch with every condition removed (for guidance)."""
        everything = torch.ones(len(self), dtype=torch.bool)
        return self.dropped(everything, everything)

    @staticmethod
    def cat(parts: list[ConditionBatch]) -> ConditionBatch:
        """Concatenate batches along the batch axis."""
        return ConditionBatch(*(torch.cat([getattr(p, f) for p in parts]) for f in _FIELDS))

    def index(self, rows: torch.Tensor | slice) -> ConditionBatch:
        """The rows ``rows`` of this batch."""
        return ConditionBatch(*(getattr(self, f)[rows] for f in _FIELDS))


_FIELDS = (
    "shape_index", "color_index", "object_features", "object_mask", "scene_type",
    "has_description", "has_image", "image",
)


def normalize_points(points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Scene-frame metres (..., 3) -> model units."""
    center = POINT_CENTER if isinstance(points, np.ndarray) else torch.from_numpy(POINT_CENTER)
    return (points - center) / POINT_SCALE


def denormalize_points(points: np.ndarray) -> np.ndarray:
    """Model units (..., 3) -> scene-frame metres."""
    return points * POINT_SCALE + POINT_CENTER


def _image_tensor(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(
            f"the 3D generator takes an (H, W, 3) uint8 RGB image, got {array.shape} {array.dtype}; "
            "convert the decoded image with brain3d.training.metrics.to_unit_range and scale to 0..255"
        )
    if array.shape[:2] != (IMAGE_SIZE, IMAGE_SIZE):
        from PIL import Image

        array = np.asarray(Image.fromarray(array).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR))
    return array.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0


def encode_conditions(
    descriptions: list[Description | None], images: list[np.ndarray | None]
) -> ConditionBatch:
    """Turn descriptions and images into a :class:`ConditionBatch`.

    Parameters
    ----------
    descriptions : list of Description or None
        One per item; None (or a description without objects and no scene) means none.
    images : list of (H, W, 3) uint8 array or None
        One per item; resized to 64 x 64 when needed.

    Returns
    -------
    ConditionBatch
    """
    if len(descriptions) != len(images):
        raise InputError(f"got {len(descriptions)} descriptions but {len(images)} images; pass one of each per cloud")
    n = len(descriptions)
    shape_index = np.zeros((n, MAX_OBJECTS), dtype=np.int64)
    color_index = np.zeros((n, MAX_OBJECTS), dtype=np.int64)
    features = np.zeros((n, MAX_OBJECTS, OBJECT_FEATURES), dtype=np.float32)
    mask = np.zeros((n, MAX_OBJECTS), dtype=bool)
    scene_type = np.zeros(n, dtype=np.int64)
    has_description = np.zeros(n, dtype=bool)
    has_image = np.zeros(n, dtype=bool)
    image_array = np.zeros((n, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for i, (desc, image) in enumerate(zip(descriptions, images, strict=True)):
        if desc is not None:
            has_description[i] = True
            scene_type[i] = SCENE_TYPES.index(desc.scene_type)
            for k, obj in enumerate(desc.objects[:MAX_OBJECTS]):
                shape_index[i, k] = SHAPES.index(obj.shape)
                color_index[i, k] = COLOR_NAMES.index(obj.color.name)
                position = normalize_points(np.asarray(obj.position.as_tuple(), dtype=np.float32))
                features[i, k, :3] = position
                features[i, k, 3] = obj.size / POINT_SCALE
                features[i, k, 4:] = np.asarray(obj.color.rgb, dtype=np.float32) * 2 - 1
                mask[i, k] = True
        if image is not None:
            has_image[i] = True
            image_array[i] = _image_tensor(image)
    return ConditionBatch(
        torch.from_numpy(shape_index), torch.from_numpy(color_index), torch.from_numpy(features),
        torch.from_numpy(mask), torch.from_numpy(scene_type), torch.from_numpy(has_description),
        torch.from_numpy(has_image), torch.from_numpy(image_array),
    )
