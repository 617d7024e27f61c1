"""Distances between embeddings, row-wise and pairwise, with gradients that stay finite.

Row-wise functions compare row ``i`` of ``a`` with row ``i`` of ``b`` (the last dimension holds
the features, so a single vector of shape ``(D,)`` works too). Pairwise functions compare every
row of ``x`` with every row of ``y`` and return an ``(N, M)`` matrix.

Two numerical details that the textbook formulas get wrong:

* ``sqrt`` has an infinite derivative at 0, so the distance of a point to itself (the diagonal of
  a pairwise matrix, or two identical embeddings) gives NaN gradients with a naive
  ``sqrt(sum((a - b) ** 2))``. Here the square root is taken only where
  the squared distance is positive, and the gradient at exactly zero distance is zero (recent
  ``torch.cdist`` in PyTorch 2.13 agrees).
* the cosine of a zero vector is undefined; here a row whose norm is at most ``eps`` counts as the
  zero vector: its cosine with everything is 0 and its gradient is 0 (``F.normalize`` would give
  a gradient of ``1/eps``, 1e8 to 1e12, which is ``inf`` once cast back to float16).

float16 and bfloat16 inputs are computed in float32 (their squares overflow at magnitudes real
embeddings reach) and the result is returned in the input's dtype. Every public function checks
its inputs once (floating-point, finite, non-empty, one device) and raises a ``ValueError`` naming
the argument; the losses call the unchecked ``_`` versions after their own checks.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cl_lessons._checks import (
    LOW_PRECISION,
    all_finite,
    check_bool,
    check_float_tensor,
    check_positive,
)

__all__ = [
    "cosine_distance",
    "cosine_similarity",
    "euclidean",
    "manhattan",
    "pairwise_cosine_similarity",
    "pairwise_euclidean",
    "safe_sqrt",
]

EPS = 1e-8


def _check_finite(t: Tensor, name: str) -> None:
    """Non-empty and finite (the caller has checked that ``t`` is a floating-point tensor)."""
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if not all_finite(t):
        raise ValueError(f"{name} contains NaN or Inf values")


def _check_rowwise(a: Tensor, b: Tensor) -> None:
    check_float_tensor(a, "a")
    check_float_tensor(b, "b")
    if a.ndim == 0:
        raise ValueError("a must have at least one dimension (features last), got a scalar")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got a {tuple(a.shape)}, b {tuple(b.shape)}"
        )
    if a.device != b.device:
        raise ValueError(f"a is on {a.device} but b is on {b.device}; move them to one device")
    _check_finite(a, "a")
    _check_finite(b, "b")


def _check_pairwise(x: Tensor, y: Tensor | None) -> None:
    check_float_tensor(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (N, D), got shape {tuple(x.shape)}")
    _check_finite(x, "x")
    if y is not None:
        check_float_tensor(y, "y")
        if y.ndim != 2:
            raise ValueError(f"y must be 2-D (M, D), got shape {tuple(y.shape)}")
        if y.shape[1] != x.shape[1]:
            raise ValueError(
                "x and y must have the same feature dimension, "
                f"got x {tuple(x.shape)}, y {tuple(y.shape)}"
            )
        if y.device != x.device:
            raise ValueError(f"x is on {x.device} but y is on {y.device}; move them to one device")
        _check_finite(y, "y")


def _upcast(*tensors: Tensor) -> tuple[torch.dtype, list[Tensor]]:
    """The inputs' dtype, and the inputs in float32 when that dtype is float16 or bfloat16."""
    dtype = tensors[0].dtype
    if dtype in LOW_PRECISION:
        return dtype, [t.float() for t in tensors]
    return dtype, list(tensors)


def safe_sqrt(sq: Tensor) -> Tensor:
    """Square root whose gradient is 0 (not inf or NaN) where the input is 0.

    Args:
        sq: non-negative tensor, typically a squared distance.

    Returns:
        ``sqrt(sq)``, exactly 0 where ``sq <= tiny``.

    Raises:
        ValueError: ``sq`` is not a floating-point tensor.
    """
    check_float_tensor(sq, "sq")
    return _safe_sqrt(sq)


def _safe_sqrt(sq: Tensor) -> Tensor:
    zero = sq <= torch.finfo(sq.dtype).tiny
    root = torch.sqrt(torch.where(zero, torch.ones_like(sq), sq))
    return torch.where(zero, torch.zeros_like(sq), root)


def _unit(x: Tensor, eps: float = EPS) -> Tensor:
    """Rows scaled to unit norm; a row of norm ``<= eps`` becomes 0, with a zero gradient."""
    sq = (x * x).sum(-1, keepdim=True)  # (N, 1)
    small = sq <= eps * eps
    norm = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    return torch.where(small, torch.zeros_like(x), x / norm)


def _euclidean(a: Tensor, b: Tensor) -> Tensor:
    diff = a - b  # (N, D)
    return _safe_sqrt((diff * diff).sum(-1))  # (N,)


def _cosine_similarity(a: Tensor, b: Tensor, eps: float = EPS) -> Tensor:
    return (_unit(a, eps) * _unit(b, eps)).sum(-1)  # (N,)


def euclidean(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise Euclidean (L2) distance ``||a_i - b_i||_2``.

    Args:
        a: embeddings.
        b: embeddings of the same shape as ``a``.

    Returns:
        The distances, one per row, in the inputs' dtype.

    Shape:
        ``a``, ``b``: ``(N, D)`` or ``(D,)`` -> ``(N,)`` or ``()``.

    Raises:
        ValueError: shapes differ, inputs are not floating-point tensors, are empty, hold NaN or
            Inf, or sit on two devices.
    """
    _check_rowwise(a, b)
    dtype, (a, b) = _upcast(a, b)
    return _euclidean(a, b).to(dtype)


def manhattan(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise Manhattan (L1) distance ``sum_k |a_ik - b_ik|``.

    Shape:
        ``a``, ``b``: ``(N, D)`` or ``(D,)`` -> ``(N,)`` or ``()``.

    Raises:
        ValueError: as :func:`euclidean`.
    """
    _check_rowwise(a, b)
    dtype, (a, b) = _upcast(a, b)
    return (a - b).abs().sum(-1).to(dtype)


def cosine_similarity(a: Tensor, b: Tensor, eps: float = EPS) -> Tensor:
    """Row-wise cosine similarity ``a_i . b_i / (||a_i|| ||b_i||)`` in [-1, 1].

    A row of norm ``<= eps`` counts as the zero vector: similarity 0 with everything and a zero
    gradient, never NaN.

    Shape:
        ``a``, ``b``: ``(N, D)`` or ``(D,)`` -> ``(N,)`` or ``()``.

    Raises:
        ValueError: as :func:`euclidean`, or ``eps`` not a finite number > 0.
    """
    _check_rowwise(a, b)
    eps = check_positive(eps, "eps")
    dtype, (a, b) = _upcast(a, b)
    return _cosine_similarity(a, b, eps).to(dtype)


def cosine_distance(a: Tensor, b: Tensor, eps: float = EPS) -> Tensor:
    """Row-wise cosine distance ``1 - cos(a_i, b_i)`` in [0, 2].

    Not a metric (no triangle inequality), but for unit vectors
    ``||a - b||^2 = 2 - 2 cos(a, b) = 2 * cosine_distance(a, b)``.

    Shape:
        ``a``, ``b``: ``(N, D)`` or ``(D,)`` -> ``(N,)`` or ``()``.

    Raises:
        ValueError: as :func:`cosine_similarity`.
    """
    return 1.0 - cosine_similarity(a, b, eps)


def _pairwise_euclidean(x: Tensor, y: Tensor | None = None, squared: bool = False) -> Tensor:
    same = y is None
    if same:
        x = x - x.mean(0, keepdim=True).detach()
        y = x
    else:
        mu = torch.cat([x, y]).mean(0, keepdim=True).detach()  # (1, D)
        x, y = x - mu, y - mu
    x2 = (x * x).sum(1, keepdim=True)  # (N, 1)
    y2 = x2.T if same else (y * y).sum(1).unsqueeze(0)  # (1, M)
    sq = (x2 + y2 - 2.0 * (x @ y.T)).clamp_min(0.0)  # (N, M)
    if same:
        eye = torch.eye(sq.shape[0], dtype=torch.bool, device=sq.device)
        sq = sq.masked_fill(eye, 0.0)
    return sq if squared else _safe_sqrt(sq)


def _pairwise_cosine_similarity(x: Tensor, y: Tensor | None = None, eps: float = EPS) -> Tensor:
    xn = _unit(x, eps)  # (N, D)
    yn = xn if y is None else _unit(y, eps)  # (M, D)
    return xn @ yn.T  # (N, M)


def pairwise_euclidean(x: Tensor, y: Tensor | None = None, squared: bool = False) -> Tensor:
    """All-pairs Euclidean distances, ``D[i, j] = ||x_i - y_j||``, with finite gradients.

    Uses ``||x||^2 + ||y||^2 - 2 x y^T`` (one matrix product, no ``(N, M, D)`` tensor) after
    centring both sets on a common mean, which keeps float32 cancellation small. Negative round-off
    is clamped to 0; with ``y=None`` the diagonal is exactly 0 and its gradient is 0, where the
    textbook ``sqrt`` formula gives NaN.

    Args:
        x: first set of embeddings.
        y: second set; ``None`` compares ``x`` with itself.
        squared: return squared distances (no square root); a bool.

    Returns:
        The distance matrix, in the inputs' dtype.

    Shape:
        ``x``: ``(N, D)``, ``y``: ``(M, D)`` -> ``(N, M)`` (``(N, N)`` if ``y`` is None).

    Raises:
        ValueError: inputs are not 2-D, non-empty, finite floating tensors with one feature
            dimension on one device; ``squared`` not a bool.
    """
    _check_pairwise(x, y)
    squared = check_bool(squared, "squared")
    dtype, xs = _upcast(x, *([] if y is None else [y]))
    return _pairwise_euclidean(xs[0], xs[1] if y is not None else None, squared).to(dtype)


def pairwise_cosine_similarity(x: Tensor, y: Tensor | None = None, eps: float = EPS) -> Tensor:
    """All-pairs cosine similarity, ``S[i, j] = cos(x_i, y_j)``; zero rows give 0, not NaN.

    Shape:
        ``x``: ``(N, D)``, ``y``: ``(M, D)`` -> ``(N, M)`` (``(N, N)`` if ``y`` is None).

    Raises:
        ValueError: as :func:`pairwise_euclidean`, or ``eps`` not a finite number > 0.
    """
    _check_pairwise(x, y)
    eps = check_positive(eps, "eps")
    dtype, xs = _upcast(x, *([] if y is None else [y]))
    return _pairwise_cosine_similarity(xs[0], xs[1] if y is not None else None, eps).to(dtype)
