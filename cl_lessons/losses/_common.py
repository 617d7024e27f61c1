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
    _unit,
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


_DECISION_CHUNK = 1 << 20  # _decision_distance builds (chunk, N, D) blocks of at most this size


def _decision_distance(x: Tensor, distance: str) -> Tensor:
    """``(N, N)`` distances for mining *decisions*, from direct differences; no gradient.

    :func:`_pairwise_distance` uses the Gram expansion (one matrix product, fast and
    differentiable), whose round-off makes distances that are exactly equal in the input (a
    duplicated row, small-integer coordinates) differ by ~1e-16, so a strict ``d(a,n) > d(a,p)``
    would be decided by noise. Here ``d(i, j)`` is ``||x_i - x_j||`` (or ``1 - sum_k u_ik u_jk``
    on unit rows), reduced the same way for every pair: equal inputs give bit-equal distances,
    exact squares stay exact, and the matrix is symmetric. Only the upper triangle is computed,
    one ``(chunk, N, D)`` block of at most ``_DECISION_CHUNK`` entries at a time.
    """
    with torch.no_grad():
        x = x.detach()
        if distance == "cosine":
            x = _unit(x)  # (N, D)
        n, dim = x.shape
        out = x.new_empty(n, n)  # (N, N)
        chunk = max(1, _DECISION_CHUNK // (n * dim))
        for s in range(0, n, chunk):
            rows, cols = x[s : s + chunk, None, :], x[None, s:, :]  # (c, 1, D), (1, N - s, D)
            if distance == "euclidean":
                block = torch.linalg.vector_norm(rows - cols, dim=2)  # (c, N - s)
            else:
                block = (rows * cols).sum(2).neg_().add_(1.0)  # (c, N - s) 1 - cos
            out[s : s + chunk, s:] = block
            out[s:, s : s + chunk] = block.T
        return out


def _label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Positive mask (same label, not itself) and negative mask (other label), both ``(N, N)``."""
    same = labels[:, None] == labels[None, :]  # (N, N)
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same
