"""``nn.Module`` wrappers of the loss functions, for code that expects a loss object."""

from __future__ import annotations

from torch import Tensor, nn

from cl_lessons._checks import check_choice, check_nonneg, check_positive
from cl_lessons.losses._common import DISTANCES, REDUCTIONS
from cl_lessons.losses.batch_triplet import MININGS, batch_triplet_loss
from cl_lessons.losses.infonce import info_nce, negative_cosine, supcon_loss
from cl_lessons.losses.pair import contrastive_loss, triplet_loss


class ContrastiveLoss(nn.Module):
    """Module form of :func:`contrastive_loss`; ``forward(z1, z2, y)``."""

    def __init__(self, margin: float = 1.0, distance: str = "euclidean", reduction: str = "mean"):
        super().__init__()
        self.margin = check_nonneg(margin, "margin")
        self.distance = check_choice(distance, "distance", DISTANCES)
        self.reduction = check_choice(reduction, "reduction", REDUCTIONS)

    def forward(self, z1: Tensor, z2: Tensor, y) -> Tensor:
        return contrastive_loss(z1, z2, y, self.margin, self.distance, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}, reduction={self.reduction!r}"


class TripletLoss(nn.Module):
    """Module form of :func:`triplet_loss`; ``forward(anchor, positive, negative)``."""

    def __init__(self, margin: float = 1.0, distance: str = "euclidean", reduction: str = "mean"):
        super().__init__()
        self.margin = check_nonneg(margin, "margin")
        self.distance = check_choice(distance, "distance", DISTANCES)
        self.reduction = check_choice(reduction, "reduction", REDUCTIONS)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_loss(anchor, positive, negative, self.margin, self.distance, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}, reduction={self.reduction!r}"


class BatchTripletLoss(nn.Module):
    """Module form of :func:`batch_triplet_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, margin: float = 1.0, mining: str = "all", distance: str = "euclidean"):
        super().__init__()
        self.margin = check_nonneg(margin, "margin")
        self.mining = check_choice(mining, "mining", MININGS)
        self.distance = check_choice(distance, "distance", DISTANCES)

    def forward(self, embeddings: Tensor, labels) -> Tensor:
        return batch_triplet_loss(embeddings, labels, self.margin, self.mining, self.distance)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, mining={self.mining!r}, distance={self.distance!r}"


class NTXentLoss(nn.Module):
    """Module form of :func:`info_nce`; ``forward(z1, z2)``."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = check_positive(temperature, "temperature")

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return info_nce(z1, z2, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class SupConLoss(nn.Module):
    """Module form of :func:`supcon_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = check_positive(temperature, "temperature")

    def forward(self, embeddings: Tensor, labels) -> Tensor:
        return supcon_loss(embeddings, labels, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class NegativeCosineLoss(nn.Module):
    """Module form of :func:`negative_cosine`; ``forward(p, z)``."""

    def forward(self, p: Tensor, z: Tensor) -> Tensor:
        return negative_cosine(p, z)
