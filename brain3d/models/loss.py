"""The Brain3D training objective: image MSE + 0.5 x description loss + 3D loss.

An optional identification term (weight 0 = the design's objective) is trained into the
shipped weights; see :class:`~brain3d.training.losses.IdentificationLoss`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

#: A pluggable loss term: (prediction, target) -> scalar tensor.
LossTerm = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True)
class LossBreakdown:
    """The objective's value and each weighted part's raw value (for logging).

    Attributes
    ----------
    total : torch.Tensor
        Scalar to back-propagate.
    image : torch.Tensor
        Image MSE (unweighted).
    description, shape3d : torch.Tensor or None
        Raw description / 3D terms, ``None`` when that term is not in use.
    identification : torch.Tensor or None
        Raw identification term on the decoded images, ``None`` when not in use.
    """

    total: torch.Tensor
    image: torch.Tensor
    description: torch.Tensor | None = None
    shape3d: torch.Tensor | None = None
    identification: torch.Tensor | None = None


class Brain3DObjective(nn.Module):
    """``image_weight * MSE(image) + description_weight * L_desc + shape_weight * L_3d``
    ``+ identification_weight * L_id(image)``.

    The design's weights are 1, 0.5 and 1 (and no identification term). The description
    and 3D terms are pluggable callables; each may be absent (``None``) until that part
    of the model exists, in which case passing predictions for it is an error rather
    than silently ignored. The identification term, when given, is computed on the
    decoded and target images of the batch (it needs no extra predictions).

    Parameters
    ----------
    description_loss, shape_loss : callable, optional
        ``(prediction, target) -> scalar tensor``.
    identification_loss : callable, optional
        ``(image, target_image) -> scalar tensor`` over the whole batch.
    image_weight, description_weight, shape_weight, identification_weight : float
        Term weights.
    """

    def __init__(
        self,
        description_loss: LossTerm | None = None,
        shape_loss: LossTerm | None = None,
        image_weight: float = 1.0,
        description_weight: float = 0.5,
        shape_weight: float = 1.0,
        identification_loss: LossTerm | None = None,
        identification_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.identification_loss = identification_loss
        self.identification_weight = identification_weight
        self.description_loss = description_loss
        self.shape_loss = shape_loss
        self.image_weight = image_weight
        self.description_weight = description_weight
        self.shape_weight = shape_weight

    @staticmethod
    def _term(
        name: str, fn: LossTerm | None, prediction: Any, target: Any
    ) -> torch.Tensor | None:
        if prediction is None and target is None:
            return None
        if prediction is None or target is None:
            raise ValueError(f"the {name} term needs both a prediction and a target")
        if fn is None:
            raise ValueError(
                f"{name} predictions were given but the objective has no {name} loss; "
                f"pass {name.replace(' ', '_')}_loss= when building Brain3DObjective"
            )
        return fn(prediction, target)

    def forward(
        self,
        image: torch.Tensor,
        target_image: torch.Tensor,
        description: Any = None,
        target_description: Any = None,
        shape3d: Any = None,
        target_shape3d: Any = None,
    ) -> LossBreakdown:
        """Compute the objective.

        Parameters
        ----------
        image, target_image : torch.Tensor
            (batch, 3, H, W), both in the decoder's range [-1, 1].
        description, target_description : any, optional
            Whatever the description loss takes.
        shape3d, target_shape3d : any, optional
            Whatever the 3D loss takes.
        """
        if image.shape != target_image.shape:
            raise ValueError(
                f"decoded image {tuple(image.shape)} and target {tuple(target_image.shape)} "
                "differ in shape; resize targets to the decoder's image_size"
            )
        image_term = F.mse_loss(image, target_image)
        total = self.image_weight * image_term
        description_term = self._term(
            "description", self.description_loss, description, target_description
        )
        if description_term is not None:
            total = total + self.description_weight * description_term
        shape_term = self._term("shape", self.shape_loss, shape3d, target_shape3d)
        if shape_term is not None:
            total = total + self.shape_weight * shape_term
        identification_term = None
        if self.identification_loss is not None and self.identification_weight > 0:
            identification_term = self.identification_loss(image, target_image)
            total = total + self.identification_weight * identification_term
        return LossBreakdown(total, image_term, description_term, shape_term, identification_term)
