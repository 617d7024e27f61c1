"""What the losses share: distance and reduction names, reductions, distances by name, masks."""

from __future__ import annotations

import torch
from torch import Tensor

from cl_lessons._checks import LOW_PRECISION
from cl_lessons.distances import (
    _cosine_similarity,
    _euclidean,
    _pairwise_cosine_similarity,
    _pairwise_euclidean,
)

DISTANCES = ("euclidean", "cosine")


REDUCTIONS = ("mean", "sum", "none")


def _out_dtype(x: Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in LOW_PRECISION else x.dtype


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _zero_loss(*tensors: Tensor) -> Tensor:
    """A zero that is still connected to the graph (``backward()`` works, gradients are 0)."""
    return sum(t.sum() for t in tensors) * 0.0


def _rowwise_distance(a: Tensor, b: Tensor, distance: str) -> Tensor:
    # inputs were checked (and half precision upcast) by the loss: the unchecked versions
    return _euclidean(a, b) if distance == "euclidean" else 1.0 - _cosine_similarity(a, b)


def _pairwise_distance(x: Tensor, distance: str) -> Tensor:
    """``(N, N)`` distance matrix; Euclidean gradients stay finite at zero distance."""
    if distance == "euclidean":
        return _pairwise_euclidean(x)  # (N, N)
    return 1.0 - _pairwise_cosine_similarity(x)  # (N, N)


def _label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Positive mask (same label, not itself) and negative mask (other label), both ``(N, N)``."""
    same = labels[:, None] == labels[None, :]  # (N, N)
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same
