"""Alignment and uniformity on the hypersphere (Wang & Isola 2020)."""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from cl_lessons._checks import check_bool
from cl_lessons.distances import _unit
from cl_lessons.metrics._inputs import _as_float_tensor, _centred, _row_blocks, _sq_rows


def alignment(z1, z2, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    """Alignment of positive pairs, Wang & Isola 2020: ``E ||f(x) - f(y)||^alpha``.

    Lower is better (positives close). The paper defines it on the unit hypersphere, so the rows
    are L2-normalised first (``normalize=False`` skips that for inputs already on the sphere or to
    study raw embeddings). Differentiable, so it can also be used as a loss.

    Args:
        z1: embeddings of the first items of positive pairs.
        z2: embeddings of their partners.
        alpha: exponent, > 0 (the paper uses 2).
        normalize: L2-normalise the rows first.

    Returns:
        A scalar tensor, in [0, 2**alpha] on the sphere.

    Shape:
        ``z1``, ``z2``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty, NaN/Inf, ``alpha <= 0``.

    Reference:
        Wang & Isola 2020, https://arxiv.org/abs/2005.10242.
    """
    z1 = _as_float_tensor(z1, "z1")
    z2 = _as_float_tensor(z2, "z2")
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    if check_bool(normalize, "normalize"):
        z1, z2 = _unit(z1), _unit(z2)  # a zero row stays 0, with a zero gradient
    diff = z1 - z2  # (N, D)
    sq = (diff * diff).sum(1)  # (N,)
    if alpha == 2:
        return sq.mean()
    # sq ** (alpha / 2) with a zero (not NaN) gradient where two embeddings coincide
    safe = torch.where(sq > 0, sq, torch.ones_like(sq))
    return torch.where(sq > 0, safe.pow(alpha / 2.0), torch.zeros_like(sq)).mean()


def uniformity(z, t: float = 2.0, normalize: bool = True) -> Tensor:
    """Uniformity, Wang & Isola 2020: ``log E_{i<j} exp(-t ||z_i - z_j||^2)``.

    Lower (more negative) is more uniform on the sphere; the average runs over the ``N(N-1)/2``
    distinct pairs, as ``torch.pdist`` in the paper's code. Rows are L2-normalised first
    (``normalize=False`` to skip). Computed with a log-sum-exp, so it stays finite for large ``t``.
    The pairs are visited in blocks of rows, one log-sum-exp per block, combined by a last one;
    with a gradient, each block is recomputed in the backward pass rather than kept, so memory
    stays ``O(N D)`` plus one block (``N = 20000`` needs well under 1 GB, with or without it).

    Args:
        z: embeddings.
        t: > 0 (the paper uses 2).
        normalize: L2-normalise the rows first.

    Returns:
        A scalar tensor, in ``[-4t, 0]`` on the sphere.

    Shape:
        ``z``: ``(N, D)`` with ``N >= 2`` -> ``()``.

    Raises:
        ValueError: ``z`` not ``(N, D)``, fewer than two rows, NaN/Inf, ``t <= 0``.

    Reference:
        Wang & Isola 2020, https://arxiv.org/abs/2005.10242.
    """
    z = _as_float_tensor(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"z needs at least two rows for pairs, got {z.shape[0]}")
    if isinstance(t, bool) or not isinstance(t, Real) or not t > 0 or not math.isfinite(t):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    if check_bool(normalize, "normalize"):
        z = _unit(z)
    n = z.shape[0]
    zc, z2 = _centred(z)  # as pairwise_euclidean(z, squared=True), row block by row block
    keep = z.requires_grad and torch.is_grad_enabled()
    parts = []
    for s, e in _row_blocks(n - 1, n):  # row N - 1 has no partner j > i
        if keep:
            parts.append(checkpoint(_pair_block_lse, zc, z2, s, e, t, use_reentrant=False))
        else:
            parts.append(_pair_block_lse(zc, z2, s, e, t))
    return torch.logsumexp(torch.stack(parts), 0) - math.log(n * (n - 1) // 2)


def _pair_block_lse(zc: Tensor, z2: Tensor, s: int, e: int, t: float) -> Tensor:
    """``log sum exp(-t ||z_i - z_j||^2)`` over ``s <= i < e`` and ``j > i`` (never empty)."""
    rows = torch.arange(s, e, device=zc.device)[:, None]  # (c, 1)
    lower = torch.arange(zc.shape[0], device=zc.device)[None, :] <= rows  # (c, N) not i < j
    vals = _sq_rows(zc, z2, s, e).mul_(-t).masked_fill_(lower, -math.inf)  # (c, N)
    return torch.logsumexp(vals.flatten(), 0)
