"""What the metrics share: input conversion (scores and pair labels, embeddings), row blocks."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from cl_lessons._checks import check_embeddings


def _to_numpy_1d(x, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16 or x.dtype == torch.float16:
            x = x.float()
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 1-D array of numbers") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_scores_same(scores, same, both_classes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    s = _to_numpy_1d(scores, "scores").astype(np.float64)
    y = _to_numpy_1d(same, "same")
    if s.shape[0] != y.shape[0]:
        raise ValueError(
            f"scores and same must have the same length, got {s.shape[0]} and {y.shape[0]}"
        )
    if not np.isfinite(s).all():
        raise ValueError("scores contains NaN or Inf values")
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:3].tolist()
        raise ValueError(f"same must be binary in {{0, 1}} (1 = same), got values {bad}")
    y = y.astype(bool)
    if both_classes and (y.all() or not y.any()):
        raise ValueError(
            "same must contain both classes (some 1 = same pairs and some 0 = different pairs), "
            f"got only {int(y[0])}"
        )
    return s, y


def _as_embeddings(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a 2-D array of numbers") from err
    return check_embeddings(x, name)


def _as_float_tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return check_embeddings(x, name)
    return _as_embeddings(x, name)


# ------------------------------------------------------------------------------------ row blocks
# The metrics that compare every item with every other one (recall@k, k-NN, uniformity) never
# build their whole (N, M) matrix: they walk over blocks of query rows instead, so an MNIST-sized
# set (tens of thousands of items) runs in a few hundred MB whatever N is.

_BLOCK_ELEMENTS = 1 << 24
"""Entries of one ``(rows, M)`` block of a pairwise matrix (64 MiB in float32)."""


def _row_blocks(rows: int, cols: int) -> list[tuple[int, int]]:
    """Ranges ``[s, e)`` of rows whose ``(e - s, cols)`` blocks hold at most ``_BLOCK_ELEMENTS``."""
    step = max(1, _BLOCK_ELEMENTS // max(cols, 1))
    return [(s, min(s + step, rows)) for s in range(0, rows, step)]


def _centred(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` centred on its (detached) mean, and its squared row norms: what the blocks reuse."""
    xc = x - x.mean(0, keepdim=True).detach()  # (N, D)
    return xc, (xc * xc).sum(1)  # (N, D), (N,)


def _sq_rows(xc: Tensor, x2: Tensor, s: int, e: int) -> Tensor:
    """Rows ``s:e`` of ``pairwise_euclidean(x, squared=True)``, diagonal not zeroed: ``(e - s, N)``.

    The same operations in the same order, ``(|x_i|^2 + |x_j|^2) - 2 x_i.x_j`` clamped at 0, in
    place where autograd allows it (two blocks alive, not five); ``xc``, ``x2`` from
    :func:`_centred`.
    """
    sq = (x2[s:e, None] + x2[None, :]).sub_((xc[s:e] @ xc.T).mul_(2.0))  # (c, N)
    return sq.clamp_min(0.0) if sq.requires_grad else sq.clamp_min_(0.0)
