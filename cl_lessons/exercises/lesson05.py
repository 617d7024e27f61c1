"""Checks for lesson 05 (triplet loss): the FaceNet formula, easy / semi-hard / hard triplets."""

from __future__ import annotations

import torch
from torch import Tensor

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)

__all__ = ["check_triplet_category", "check_triplet_loss"]

EASY, SEMIHARD, HARD = 0, 1, 2


def _close(got, want: Tensor) -> bool:
    """True when ``got`` is a tensor-like value of ``want``'s shape and value (no exception)."""
    return same_values(got, want, atol=1e-5, rtol=1e-4)


def _triplet_reference(a: Tensor, p: Tensor, n: Tensor, margin: float) -> Tensor:
    d_ap = (a - p).pow(2).sum(1).sqrt()  # (N,)
    d_an = (a - n).pow(2).sum(1).sqrt()  # (N,)
    return (d_ap - d_an + margin).clamp_min(0).mean()


@exercise_check("Triplet loss (FaceNet)")
def check_triplet_loss(fn) -> None:
    """Check ``fn(anchor, positive, negative, margin)`` returns the mean triplet loss.

    The loss is ``mean_i max(d(a_i, p_i) - d(a_i, n_i) + margin, 0)`` with the (not squared)
    Euclidean distance, as ``cl.losses.triplet_loss`` computes it (Schroff et al. 2015), for any
    margin >= 0 (margin 0 included, which ``nn.TripletMarginLoss`` refuses).

    Args:
        fn: the learner's function; three ``(N, D)`` tensors and a float -> a scalar tensor
            that carries the gradient.
    """
    # three hand-made triplets with margin 1: easy (loss 0), hard (loss 2), semi-hard (loss 0.5)
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[3.0, 0.0], [0.0, 1.0], [1.5, 0.0]])
    margin = 1.0
    what = "three hand-made triplets (easy, hard, semi-hard), margin 1"
    got = returned_tensor(fn(a.clone(), p.clone(), n.clone(), margin), what, "a scalar tensor")
    d_ap, d_an = (a - p).norm(dim=1), (a - n).norm(dim=1)  # (3,) each
    want = _triplet_reference(a, p, n, margin)  # (3 triplets: 0, 2, 0.5) -> 0.8333
    if _close(got, (d_ap - d_an + margin).clamp_min(0)):
        raise CheckFailed(
            "you returned one loss per triplet: the function should return their mean (a scalar)."
        )
    mistakes = [
        (
            (d_ap + margin).clamp_min(0).mean(),
            "your loss never looks at the negative. A triplet loss compares d(a,p) with d(a,n): "
            "max(d(a,p) - d(a,n) + margin, 0).",
        ),
        (
            (margin + d_ap.pow(2)).clamp_min(0).mean(),
            "this is the seed article's 'triplet' loss: margin + ||a - p||^2 has no negative and "
            "is smallest when every embedding collapses to one point. Use "
            "d(a,p) - d(a,n) + margin.",
        ),
        (
            (d_ap - d_an + margin).mean(),
            "the clamp is missing: an easy triplet (d(a,n) > d(a,p) + margin) must contribute 0, "
            "not a negative loss. Use torch.clamp(..., min=0) or F.relu.",
        ),
        (
            (d_an - d_ap + margin).clamp_min(0).mean(),
            "positive and negative are swapped: the loss must grow when the *negative* comes "
            "closer, so it is d(a,p) - d(a,n) + margin, not d(a,n) - d(a,p) + margin.",
        ),
        (
            (d_ap.pow(2) - d_an.pow(2) + margin).clamp_min(0).mean(),
            "these are squared distances (FaceNet's variant); this course's triplet_loss uses "
            "the plain Euclidean distance: take the square root of the summed squares.",
        ),
        (
            (d_ap - d_an + margin).clamp_min(0).sum(),
            "you summed over the triplets: take the mean, so the loss does not grow with the "
            "batch size.",
        ),
    ]
    for value, hint in mistakes:
        if _close(got, value) and not _close(got, want):
            raise CheckFailed(hint)
    if got.ndim != 0:
        raise CheckFailed(f"expected a scalar (0-d tensor), got shape {tuple(got.shape)}")
    expect_close(got, want, what)
    gen = torch.Generator().manual_seed(5)
    a, p, n = (torch.randn(32, 6, generator=gen) for _ in range(3))
    for m in (0.0, 0.3):
        expect_close(
            _call_margin(fn, a, p, n, m),
            _triplet_reference(a, p, n, m),
            f"32 random 6-D triplets, margin {m}",
        )
    out = fn(*(t.clone().requires_grad_(True) for t in (a, p, n)), 0.3)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise CheckFailed(
            "your loss has the right value but carries no gradient, so loss.backward() cannot "
            "train anything: return the tensor itself (no .item(), float(), .tolist(), "
            ".detach() or NumPy on the way)."
        )


def _call_margin(fn, a: Tensor, p: Tensor, n: Tensor, margin: float):
    """The learner's loss at ``margin``; PyTorch's refusal of margin 0 becomes a hint."""
    try:
        return fn(a.clone(), p.clone(), n.clone(), margin)
    except ValueError as err:
        msg = str(err)
        if margin == 0 and "margin" in msg and "greater than 0" in msg:
            raise CheckFailed(
                "with margin 0 your function raised PyTorch's own error: torch.nn."
                "TripletMarginLoss and F.triplet_margin_loss refuse margin 0 (they require "
                "margin > 0), but margin 0 is a valid triplet loss, max(d(a,p) - d(a,n), 0), and "
                "cl.losses.triplet_loss accepts any margin >= 0. The lesson uses "
                "TripletMarginLoss(eps=0) only as a cross-check: write the formula yourself, "
                "two row-wise Euclidean distances, the hinge, the mean."
            ) from err
        raise


def _category_reference(d_ap: Tensor, d_an: Tensor, margin: float) -> Tensor:
    hard = d_an <= d_ap  # (N,)
    easy = d_an > d_ap + margin  # (N,)
    return torch.where(hard, HARD, torch.where(easy, EASY, SEMIHARD))  # (N,)


def _as_codes(got, n: int) -> Tensor:
    codes = returned_tensor(got, f"{n} triplets", "a tensor of category codes (0, 1, 2)")
    if codes.shape != (n,):
        raise CheckFailed(f"expected one code per triplet, shape ({n},), got {tuple(codes.shape)}")
    if codes.dtype == torch.bool or (
        codes.is_floating_point() and not bool((codes == codes.round()).all())
    ):
        raise CheckFailed("return integer codes: 0 easy, 1 semi-hard, 2 hard")
    return codes.long()


@exercise_check("Easy, semi-hard or hard?")
def check_triplet_category(fn) -> None:
    """Check ``fn(d_ap, d_an, margin)`` classifies triplets as 0 easy, 1 semi-hard, 2 hard.

    The definitions of :mod:`cl_lessons.miners` (FaceNet, Schroff et al. 2015): easy
    ``d(a,n) > d(a,p) + m``; semi-hard ``d(a,p) < d(a,n) <= d(a,p) + m``; hard
    ``d(a,n) <= d(a,p)``.

    Args:
        fn: the learner's function; two ``(N,)`` distance tensors and a float -> ``(N,)`` codes.
    """
    # d(a,p) = 1, margin 0.5; the 2nd and 4th negatives sit exactly on the two boundaries
    d_ap = torch.ones(6)
    d_an = torch.tensor([0.5, 1.0, 1.2, 1.5, 1.6, 3.0])
    margin = 0.5
    want = _category_reference(d_ap, d_an, margin)  # [2, 2, 1, 1, 0, 0]
    got = _as_codes(fn(d_ap.clone(), d_an.clone(), margin), 6)
    if torch.equal(got, 2 - want):
        raise CheckFailed("the codes are reversed: 0 means easy, 1 semi-hard, 2 hard.")
    if got[1] == SEMIHARD and got[0] == HARD:
        raise CheckFailed(
            "a negative exactly as far as the positive (d(a,n) == d(a,p)) is *hard*: its loss "
            "is the full margin. Use d(a,n) <= d(a,p) for hard."
        )
    if got[2] == EASY:
        raise CheckFailed(
            "d(a,n) = 1.2 is farther than d(a,p) = 1 but inside the margin 0.5: semi-hard. "
            "Did you forget the margin?"
        )
    if got[3] == EASY and got[4] == EASY:
        raise CheckFailed(
            "a negative exactly on the margin (d(a,n) == d(a,p) + margin) is *semi-hard*, not "
            "easy: easy needs d(a,n) > d(a,p) + margin (strictly)."
        )
    if not torch.equal(got, want):
        raise CheckFailed(
            f"for d(a,p) = 1, margin 0.5 and d(a,n) = {d_an.tolist()} expected "
            f"{want.tolist()}, got {got.tolist()}."
        )
    gen = torch.Generator().manual_seed(3)
    d_ap = torch.rand(200, generator=gen) * 2  # (200,)
    d_an = torch.rand(200, generator=gen) * 3  # (200,)
    for m in (0.0, 0.2, 1.0):
        got = _as_codes(fn(d_ap.clone(), d_an.clone(), m), 200)
        want = _category_reference(d_ap, d_an, m)
        if not torch.equal(got, want):
            bad = int((got != want).sum())
            raise CheckFailed(f"{bad} of 200 random triplets are misclassified with margin {m}.")
