"""Checks for lesson 01 (distances): cosine similarity on a batch, pairwise Euclidean distances."""

from __future__ import annotations

import torch

from cl_lessons.distances import cosine_similarity, pairwise_euclidean
from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)

__all__ = ["check_cosine_similarity", "check_pairwise_distances"]


def _call(fn, *args):
    """Call the learner's function on copies, turning the usual shape errors into hints."""
    try:
        return fn(*(a.clone() for a in args))
    except RuntimeError as err:
        msg = str(err)
        if "1D tensors expected" in msg or "1D tensor" in msg:
            raise CheckFailed(
                "torch.dot only accepts two 1-D vectors, so it fails on a batch (N, D): "
                "use (a * b).sum(dim=-1) for row-wise products, or x @ y.T for all pairs."
            ) from err
        if "cannot be multiplied" in msg:
            raise CheckFailed(
                "a matrix product failed because of the shapes: x is (N, D) and y is (M, D), "
                "so all dot products are x @ y.T, of shape (N, M)."
            ) from err
        if "must match the size of tensor" in msg:
            raise CheckFailed(
                "the shapes do not broadcast (N != M here): keep ||x_i||^2 as a column (N, 1) "
                "and ||y_j||^2 as a row (1, M), so that x2 + y2 - 2 x @ y.T is (N, M)."
            ) from err
        raise


def _same(got, want) -> bool:
    return same_values(got, want, atol=1e-5, rtol=1e-4)


@exercise_check("cosine similarity, row by row")
def check_cosine_similarity(fn) -> None:
    """Check ``fn(a, b)`` returns ``cos(a_i, b_i)`` for matching rows, and 0 for a zero vector.

    Args:
        fn: the learner's function, taking two ``(N, D)`` tensors and returning ``(N,)``.
    """
    # rows of very different lengths, so that forgetting to normalise shows
    a = torch.tensor([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0], [0.0, 10.0, 10.0], [-2.0, 1.0, 2.0]])
    b = torch.tensor([[4.0, 3.0, 0.0], [0.5, 0.5, 0.0], [0.0, -1.0, 0.0], [4.0, -2.0, -4.0]])
    want = cosine_similarity(a, b)  # (4,) = [0.96, 0.707, -0.707, -1]
    what = "cosine similarities of four pairs"
    got = returned_tensor(_call(fn, a, b), what, "a tensor of shape (N,) = (4,)")
    if got.shape == (4, 4):
        raise CheckFailed(
            "you returned a (N, N) matrix of all pairs; the row-wise cosine is its diagonal: "
            "use (a * b).sum(dim=-1) instead of a @ b.T."
        )
    if got.ndim == 0:
        raise CheckFailed(
            "you returned one number for the whole batch: reduce over the features "
            "(dim=-1), not over everything."
        )
    hint = ""
    if _same(got, (a * b).sum(-1)):
        hint = "These are plain dot products: divide by the two norms ||a_i|| ||b_i||."
    elif _same(got, 1.0 - want):
        hint = "This is the cosine distance 1 - cos; the exercise asks for the similarity."
    elif _same(got, (a / a.norm(dim=0) * (b / b.norm(dim=0))).sum(-1)):
        hint = (
            "You normalised along the wrong dimension (dim=0 divides each feature column by its "
            "norm over the batch): normalise each row, with norm(dim=-1, keepdim=True)."
        )
    elif _same(got, (a * b).sum(-1) / a.norm(dim=-1)) or _same(
        got, (a * b).sum(-1) / b.norm(dim=-1)
    ):
        hint = "You divided by one norm only: divide by ||a_i|| * ||b_i||."
    elif _same(got, (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)) ** 2):
        hint = "Divide by the product of the norms, not by its square."
    expect_close(got, want, what, hint=hint)

    # a zero vector: the cosine is undefined, the convention is 0 (never NaN)
    z = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    w = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 4.0]])
    what = "a zero vector and a parallel pair"
    got = returned_tensor(_call(fn, z, w), what, "a tensor of shape (N,) = (2,)")
    if got.shape == (2,) and not bool(torch.isfinite(got).all()):
        raise CheckFailed(
            "a zero vector gives 0/0 = NaN: clamp the norms from below, e.g. "
            "norm(dim=-1).clamp_min(1e-8), so its cosine is 0."
        )
    expect_close(got, torch.tensor([0.0, 1.0]), what, atol=1e-4)

    rng = torch.Generator().manual_seed(0)
    x = torch.randn(32, 8, generator=rng) * torch.rand(32, 1, generator=rng) * 5
    y = torch.randn(32, 8, generator=rng)
    expect_close(_call(fn, x, y), cosine_similarity(x, y), "32 random 8-D pairs")


@exercise_check("pairwise Euclidean distances")
def check_pairwise_distances(fn) -> None:
    """Check ``fn(x, y)`` returns the ``(N, M)`` matrix ``||x_i - y_j||``, finite at zero distance.

    Args:
        fn: the learner's function, taking ``x`` ``(N, D)`` and ``y`` ``(M, D)``.
    """
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 0.0], [6.0, 8.0], [1.0, 0.0], [-3.0, 4.0]], dtype=torch.float64)
    want = pairwise_euclidean(x, y)  # (3, 4)
    what = "distances between 3 and 4 points in 2-D"
    got = returned_tensor(_call(fn, x, y), what, "a tensor of shape (N, M) = (3, 4)")
    if got.shape == (4, 3):
        raise CheckFailed(
            "your matrix is transposed: row i should compare x_i with every y_j, shape (N, M) = "
            "(3, 4); build it from x @ y.T with ||x_i||^2 as a column (N, 1) and ||y_j||^2 as "
            "a row (1, M)."
        )
    if got.shape != want.shape:
        raise CheckFailed(
            f"expected shape (N, M) = {tuple(want.shape)}, got {tuple(got.shape)}: keep "
            "||x_i||^2 as a column (N, 1) and ||y_j||^2 as a row (1, M) so they broadcast."
        )
    hint = ""
    if _same(got, want**2):
        hint = "These are squared distances: take the square root (after clamping at 0)."
    elif _same(got, torch.cdist(x, y, p=1)):
        hint = "This is the L1 (Manhattan) distance; the exercise asks for the Euclidean one."
    else:
        x2, y2 = (x * x).sum(1, keepdim=True), (y * y).sum(1)
        plus = (x2 + y2 + 2 * x @ y.T).sqrt()
        if _same(got, plus):
            hint = "Sign error: ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y (minus the dot product)."
    expect_close(got, want, what, hint=hint)

    # float32 points far from the origin (as in the lesson) against a shuffled copy of
    # themselves: where the true squared distance is 0 (off the diagonal, so no shortcut makes
    # it exact), the three large terms cancel and round-off leaves many of them slightly
    # negative (20-40 of the 100 here, whichever way ||x||^2 and the product are computed), so
    # a missing clamp gives NaN on any CPU, not by luck
    rng = torch.Generator().manual_seed(1)
    far = torch.randn(100, 32, generator=rng) * 0.5 + 10.0  # (100, 32)
    shuffled = torch.cat([far[torch.randperm(100, generator=rng)], far[:7]])  # (107, 32)
    what = "100 float32 points far from the origin, against a shuffled copy of themselves"
    got = returned_tensor(_call(fn, far, shuffled), what, "a tensor of shape (N, M) = (100, 107)")
    if got.shape == (100, 107) and bool(torch.isnan(got).any()):
        raise CheckFailed(
            f"{what}: {int(torch.isnan(got).sum())} NaN: round-off makes "
            "||x||^2 + ||y||^2 - 2 x.y slightly negative where the true value is 0, and sqrt "
            "of a negative number is NaN. Clamp at 0 before the root: sq.clamp_min(0).sqrt()."
        )
    # a clamped expansion is off by up to ~0.05 here (cancellation), the values are ~4
    expect_close(got, pairwise_euclidean(far, shuffled), what, atol=0.1, rtol=0.0)
    z = torch.randn(64, 16, generator=rng)
    what = "64 points against themselves"
    got = returned_tensor(_call(fn, z, z), what, "a tensor of shape (N, M) = (64, 64)")
    expect_close(got, pairwise_euclidean(z, z), what, atol=1e-2)
    if got.detach().double().diagonal().abs().max() > 1e-2:
        raise CheckFailed("the distance of a point to itself must be (close to) 0.")
