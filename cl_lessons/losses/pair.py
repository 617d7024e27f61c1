"""Losses on given pairs and triplets: the contrastive (Hadsell et al. 2006) and triplet losses."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import (
    check_binary,
    check_choice,
    check_embeddings,
    check_nonneg,
    check_same_shape,
)
from cl_lessons.losses._common import DISTANCES, REDUCTIONS, _reduce, _rowwise_distance


def contrastive_loss(
    z1: Tensor,
    z2: Tensor,
    y,
    margin: float = 1.0,
    distance: str = "euclidean",
    reduction: str = "mean",
) -> Tensor:
    """Contrastive (pair) loss: pull similar pairs together, push dissimilar ones past a margin.

    ``loss_i = y_i * d_i**2 + (1 - y_i) * max(margin - d_i, 0)**2`` with ``d_i = d(z1_i, z2_i)``.
    Here ``y = 1`` means *similar* (Hadsell et al. 2006 write the opposite label convention).

    Args:
        z1: embeddings of the first items of the pairs.
        z2: embeddings of the second items.
        y: pair labels in {0, 1} (tensor, array or list; bool, int or float), 1 = similar.
        margin: dissimilar pairs further apart than this cost nothing; >= 0.
        distance: ``"euclidean"`` or ``"cosine"`` (``d = 1 - cos``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one loss per pair).

    Returns:
        The reduced loss (a scalar) or the per-pair losses.

    Shape:
        ``z1``, ``z2``: ``(N, D)``; ``y``: ``(N,)`` -> ``()`` or ``(N,)``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``y`` not binary or
            of the wrong length, ``margin < 0``, unknown ``distance`` or ``reduction``.

    Reference:
        Hadsell, Chopra, LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    """
    z1 = check_embeddings(z1, "z1")
    z2 = check_embeddings(z2, "z2")
    check_same_shape(z1, z2, "z1", "z2")
    margin = check_nonneg(margin, "margin")
    check_choice(distance, "distance", DISTANCES)
    check_choice(reduction, "reduction", REDUCTIONS)
    y = check_binary(y, z1.shape[0], z1.device, z1.dtype)  # (N,)
    d = _rowwise_distance(z1, z2, distance)  # (N,) zero gradient at zero distance
    if distance == "euclidean":
        diff = z1 - z2  # (N, D)
        sq = (diff * diff).sum(1)  # (N,) squared distance, smooth at 0
    else:
        sq = d * d
    losses = y * sq + (1.0 - y) * F.relu(margin - d).pow(2)  # (N,)
    return _reduce(losses, reduction)


def triplet_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    distance: str = "euclidean",
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss on explicit triplets: ``max(d(a, p) - d(a, n) + margin, 0)``.

    Same value as ``torch.nn.TripletMarginLoss(margin, p=2, eps=0)`` for ``distance="euclidean"``
    (PyTorch adds ``eps=1e-6`` to the difference by default), but with a zero, not NaN, gradient
    when two embeddings coincide.

    Args:
        anchor: anchor embeddings.
        positive: embeddings of the same class as the anchors.
        negative: embeddings of another class.
        margin: how much closer the positive must be than the negative; >= 0.
        distance: ``"euclidean"`` or ``"cosine"`` (``d = 1 - cos``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The reduced loss or one loss per triplet.

    Shape:
        ``anchor``, ``positive``, ``negative``: ``(N, D)`` -> ``()`` or ``(N,)``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``margin < 0``,
            unknown ``distance`` or ``reduction``.

    Reference:
        Schroff et al. 2015, FaceNet, https://arxiv.org/abs/1503.03832.
    """
    anchor = check_embeddings(anchor, "anchor")
    positive = check_embeddings(positive, "positive")
    negative = check_embeddings(negative, "negative")
    check_same_shape(anchor, positive, "anchor", "positive")
    check_same_shape(anchor, negative, "anchor", "negative")
    margin = check_nonneg(margin, "margin")
    check_choice(distance, "distance", DISTANCES)
    check_choice(reduction, "reduction", REDUCTIONS)
    d_ap = _rowwise_distance(anchor, positive, distance)  # (N,)
    d_an = _rowwise_distance(anchor, negative, distance)  # (N,)
    return _reduce(F.relu(d_ap - d_an + margin), reduction)
