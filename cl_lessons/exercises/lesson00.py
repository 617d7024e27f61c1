"""Checks for lesson 00 (welcome): how exercises work."""

from __future__ import annotations

import torch

from cl_lessons.distances import euclidean
from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)

__all__ = ["check_euclidean"]


@exercise_check("Euclidean distance, row by row")
def check_euclidean(fn) -> None:
    """Check ``fn(a, b)`` returns the Euclidean distance between matching rows of ``a`` and ``b``.

    Args:
        fn: the learner's function, taking two ``(N, D)`` tensors and returning ``(N,)``.
    """
    a = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 2.0], [0.0, 3.0]])
    what = "distances for a batch of three pairs"
    got = returned_tensor(fn(a.clone(), b.clone()), what, "a tensor of shape (N,) = (3,)")
    if got.shape == (3, 2):
        raise CheckFailed(
            "you returned one value per coordinate: sum the squares over the last dimension."
        )
    if got.ndim == 0:
        raise CheckFailed(
            "you returned a single number: reduce over the features (dim=-1), not the batch."
        )
    want = euclidean(a, b)  # (3,) = [5, 0, 5]
    squared_hint = ""
    if same_values(got, want.double() ** 2, atol=1e-8, rtol=1e-5):
        squared_hint = "These are squared distances: take the square root."
    elif same_values(got, (a - b).abs().sum(-1), atol=1e-8, rtol=1e-5):
        squared_hint = (
            "This is the L1 (Manhattan) distance: square the differences, sum, then sqrt."
        )
    expect_close(got, want, what, hint=squared_hint)
    rng = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 5, generator=rng), torch.randn(16, 5, generator=rng)
    expect_close(fn(x.clone(), y.clone()), euclidean(x, y), "distances for 16 random 5-D pairs")
