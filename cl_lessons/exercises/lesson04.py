"""Checks for lesson 04 (contrastive loss): the loss itself and its derivative in the distance."""

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
from cl_lessons.losses import contrastive_loss

__all__ = ["check_contrastive_grad", "check_contrastive_loss"]


def _matches(got, want) -> bool:
    return isinstance(got, torch.Tensor) and same_values(got, want, atol=1e-6, rtol=1e-5)


def _pairs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eight pairs at distances 0.2 .. 2.5 (both sides of the margins 1 and 2), both labels.

    Three similar and five dissimilar pairs: with as many of each, the mean over all pairs equals
    the mean of the two groups' means, and that mistake would pass.
    """
    d = torch.tensor([0.2, 0.5, 1.5, 0.3, 0.8, 1.5, 2.5, 0.6], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    angle = torch.linspace(0.0, 3.0, len(d), dtype=torch.float64)
    z1 = torch.stack([angle.cos(), angle.sin(), torch.zeros_like(d)], 1)  # (8, 3)
    direction = torch.stack([-angle.sin(), angle.cos(), torch.ones_like(d)], 1) / 2**0.5
    z2 = z1 + d.unsqueeze(1) * direction  # (8, 3), ||z1 - z2|| = d
    return z1, z2, y


def _variants(d, y, margin) -> dict[str, tuple[torch.Tensor, str]]:
    """Per-pair losses of typical mistakes, with the hint each deserves."""
    push = torch.clamp(margin - d, min=0.0) ** 2
    return {
        "swapped": (
            (1 - y) * d**2 + y * push,
            "You used Hadsell et al.'s label convention (Y = 0 similar). In this course y = 1 "
            "means similar: the y-term pulls (d^2), the (1 - y)-term pushes.",
        ),
        "d2_in_hinge": (
            y * d**2 + (1 - y) * torch.clamp(margin - d**2, min=0.0),
            "The push term is max(margin - d, 0)^2: subtract the distance d (not d^2) from "
            "the margin, clamp at 0, then square.",
        ),
        "d2_in_hinge_sq": (
            y * d**2 + (1 - y) * torch.clamp(margin - d**2, min=0.0) ** 2,
            "The push term is max(margin - d, 0)^2: subtract the distance d (not d^2) from "
            "the margin, clamp at 0, then square.",
        ),
        "no_clamp": (
            y * d**2 + (1 - y) * (margin - d) ** 2,
            "Without max(., 0) a dissimilar pair beyond the margin is pulled back towards it: "
            "clamp margin - d at 0 before squaring (torch.clamp(margin - d, min=0)).",
        ),
        "no_square": (
            y * d**2 + (1 - y) * torch.clamp(margin - d, min=0.0),
            "Square the push term too: max(margin - d, 0)^2.",
        ),
        "d_not_squared": (
            y * d + (1 - y) * push,
            "Similar pairs cost d^2 (the squared distance), not d.",
        ),
        "half": (
            0.5 * (y * d**2 + (1 - y) * push),
            "You kept the factor 1/2 of Hadsell et al.; the course's loss has no 1/2.",
        ),
    }


@exercise_check("contrastive loss")
def check_contrastive_loss(fn) -> None:
    """Check ``fn(z1, z2, y, margin)`` returns the mean contrastive loss (``y = 1`` similar).

    Args:
        fn: the learner's function: ``z1``, ``z2`` of shape ``(N, D)``, float labels ``y`` of
            shape ``(N,)``, a float ``margin``; returns a scalar tensor.
    """
    z1, z2, y = _pairs()
    d = euclidean(z1, z2)  # (8,)
    for margin in (1.0, 2.0):
        want = contrastive_loss(z1, z2, y, margin)  # ()
        what = f"the mean loss of 8 pairs with margin {margin}"
        got = returned_tensor(
            fn(z1.clone(), z2.clone(), y.clone(), margin), what, "a scalar tensor"
        )
        if got.shape == y.shape:
            raise CheckFailed(
                "you returned one loss per pair: average them into one number with .mean()."
            )
        hint = ""
        pull, push = y * d**2, (1 - y) * torch.clamp(margin - d, min=0.0) ** 2  # (8,) each
        group_means = pull.sum() / y.sum() + push.sum() / (1 - y).sum()
        if _matches(got, want * len(y)):
            hint = "You summed the per-pair losses; average them (.mean()) instead."
        elif _matches(got, 0.5 * group_means) or _matches(got, group_means):
            hint = (
                "You averaged the similar and the dissimilar pairs separately and combined the "
                "two means: that weighs a pair of the smaller group more. The loss is the plain "
                "mean over all pairs, (y * d^2 + (1 - y) * max(margin - d, 0)^2).mean()."
            )
        else:
            for wrong, msg in _variants(d, y, margin).values():
                if _matches(got, wrong.mean()) or _matches(got, wrong.sum()):
                    hint = msg
                    break
        expect_close(got, want, what, atol=1e-6, hint=hint)
    rng = torch.Generator().manual_seed(0)
    a, b = torch.randn(32, 4, generator=rng), torch.randn(32, 4, generator=rng)
    labels = (torch.arange(32) % 4 == 0).float()[torch.randperm(32, generator=rng)]  # 8 similar
    expect_close(
        fn(a.clone(), b.clone(), labels.clone(), 3.0),
        contrastive_loss(a, b, labels, 3.0),
        "32 random 4-D pairs with margin 3",
    )


@exercise_check("derivative of the contrastive loss in the distance")
def check_contrastive_grad(fn) -> None:
    """Check ``fn(d, y, margin)`` returns ``dL/dd`` of one pair's loss, element-wise.

    For ``L = y d^2 + (1 - y) max(margin - d, 0)^2`` the answer is
    ``2 d`` for ``y = 1`` and ``-2 max(margin - d, 0)`` for ``y = 0``.

    Args:
        fn: the learner's function: distances ``d`` and float labels ``y`` of shape ``(N,)``, a
            float ``margin``; returns ``(N,)``.
    """
    d = torch.tensor([0.2, 0.5, 1.5, 0.3, 0.8, 1.5, 2.5, 0.0], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    for margin in (1.0, 2.0):
        want = 2 * y * d - 2 * (1 - y) * torch.clamp(margin - d, min=0.0)  # (8,)
        what = f"dL/dd for 8 pairs with margin {margin}"
        got = returned_tensor(fn(d.clone(), y.clone(), margin), what, "a tensor of shape (N,)")
        if got.ndim == 0:
            raise CheckFailed(
                "you returned one number: the derivative is per pair, a tensor like d."
            )
        push = torch.clamp(margin - d, min=0.0)
        mistakes = [
            (
                2 * y * d + 2 * (1 - y) * push,
                "Sign of the push term: max(margin - d, 0)^2 decreases as d grows, so its "
                "derivative -2 max(margin - d, 0) is negative (gradient descent moves d up).",
            ),
            (
                2 * y * d - 2 * (1 - y) * (margin - d),
                "Beyond the margin the push term is flat (0), so its derivative is 0 there: "
                "keep the max(margin - d, 0).",
            ),
            (
                y * d - (1 - y) * push,
                "The derivative of u^2 is 2u: you dropped the factor 2.",
            ),
            (
                2 * (1 - y) * d - 2 * y * push,
                "Swapped labels: in this course y = 1 is a similar pair (derivative 2d).",
            ),
            (
                2 * y - 2 * (1 - y) * push,
                "For a similar pair L = d^2, so dL/dd = 2d (not a constant).",
            ),
        ]
        hint = next((msg for wrong, msg in mistakes if _matches(got, wrong)), "")
        expect_close(got, want, what, atol=1e-6, hint=hint)
