"""Checks for lesson 06 (hard-negative mining): batch-hard mining and the valid-triplet mask."""

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

__all__ = ["check_batch_hard", "check_valid_triplet_mask"]


def _dist(z: Tensor) -> Tensor:
    return (z[:, None, :] - z[None, :, :]).pow(2).sum(-1).sqrt()  # (B, B)


def _batch_hard(
    z: Tensor,
    labels: Tensor,
    margin: float,
    *,
    self_pos=False,
    pos_min=False,
    neg_max=False,
    neg_any=False,
    neg_self=False,
    all_anchors=False,
) -> Tensor:
    """Batch-hard loss and its typical wrong variants (flags), all from one place."""
    d = _dist(z)  # (B, B)
    same = labels[:, None] == labels[None, :]  # (B, B)
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos = same if self_pos else same & ~eye
    neg = ~eye if neg_any else (~same | eye if neg_self else ~same)
    inf = torch.tensor(float("inf"), dtype=d.dtype)
    hp = torch.where(pos, d, inf).amin(1) if pos_min else torch.where(pos, d, -inf).amax(1)
    hn = torch.where(neg, d, -inf).amax(1) if neg_max else torch.where(neg, d, inf).amin(1)
    loss = (hp - hn + margin).clamp_min(0)  # (B,)
    valid = pos.any(1) & neg.any(1)  # (B,)
    if all_anchors:
        return torch.where(valid, loss, torch.zeros_like(loss)).mean()
    return loss[valid].mean()


def _close(got, want: Tensor) -> bool:
    """True when ``got`` is a tensor-like value of ``want``'s shape and value (no exception)."""
    return same_values(got, want, atol=1e-5, rtol=1e-4)


@exercise_check("Batch-hard triplet loss")
def check_batch_hard(fn) -> None:
    """Check ``fn(embeddings, labels, margin)`` returns the batch-hard triplet loss.

    Per anchor with at least one positive (same label, not itself) and one negative: its
    farthest positive and its closest negative give ``max(d(a,p) - d(a,n) + margin, 0)``; the
    loss is the mean over those anchors (Hermans et al. 2017), as
    ``cl.losses.batch_triplet_loss(z, labels, margin, mining="hard")``.

    Args:
        fn: the learner's function; ``(B, D)`` embeddings, ``(B,)`` labels, a float -> scalar.
    """
    # 2-D points: class 0 has three members, class 1 two, class 2 a single one (no positive)
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [2.5, 0.0], [0.0, 0.8], [-0.3, -0.2]])
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    margin = 0.5
    what = "six 2-D points in three classes, margin 0.5"
    got = returned_tensor(fn(z.clone(), labels.clone(), margin), what, "a scalar tensor")
    want = _batch_hard(z, labels, margin)
    mistakes = [
        (
            dict(self_pos=True),
            "an anchor is not its own positive: exclude the diagonal from the positive mask "
            "(here the single sample of class 2 got itself as a positive, at distance 0).",
        ),
        (
            dict(pos_min=True),
            "the hardest positive is the *farthest* one: take the max of d(a,p), not the min.",
        ),
        (
            dict(neg_max=True),
            "the hardest negative is the *closest* one: take the min of d(a,n), not the max.",
        ),
        (
            dict(neg_any=True),
            "the negatives must have another label: mask out samples of the anchor's class "
            "before taking the min (you picked same-class samples as negatives).",
        ),
        (
            dict(neg_self=True),
            "the anchor itself crept into the negatives (its distance 0 is always the min): "
            "negatives are the samples with a different label only.",
        ),
        (
            dict(all_anchors=True),
            "average over the anchors that have a positive and a negative only; anchors "
            "without a positive must not count as zeros in the mean.",
        ),
    ]
    for flags, hint in mistakes:
        if _close(got, _batch_hard(z, labels, margin, **flags)) and not _close(got, want):
            raise CheckFailed(hint)
    if got.ndim != 0:
        raise CheckFailed(
            f"expected a scalar (the mean over anchors), got shape {tuple(got.shape)}"
        )
    expect_close(got, want, what)
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(24, 5, generator=gen)
    labels = torch.arange(4).repeat_interleave(6)[torch.randperm(24, generator=gen)]
    for m in (0.0, 0.3):
        expect_close(
            fn(z.clone(), labels.clone(), m),
            _batch_hard(z, labels, m),
            f"a shuffled 4 x 6 batch of 5-D embeddings, margin {m}",
        )
    out = fn(z.clone().requires_grad_(True), labels.clone(), 0.3)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise CheckFailed(
            "your loss carries no gradient: compute it with torch operations on the "
            "embeddings (no .item(), .tolist() or .detach() on the way)."
        )


def _mask_reference(labels: Tensor) -> Tensor:
    same = labels[:, None] == labels[None, :]  # (B, B)
    eye = torch.eye(len(labels), dtype=torch.bool)
    return (same & ~eye)[:, :, None] & ~same[:, None, :]  # (B, B, B) [a, p, n]


@exercise_check("Valid-triplet mask")
def check_valid_triplet_mask(fn) -> None:
    """Check ``fn(labels)`` returns the ``(B, B, B)`` boolean mask of valid triplets ``[a, p, n]``.

    ``mask[a, p, n]`` is True when ``a != p``, ``labels[a] == labels[p]`` and
    ``labels[n] != labels[a]``, as ``cl.miners.triplet_masks``.

    Args:
        fn: the learner's function; ``(B,)`` integer labels -> ``(B, B, B)`` bool tensor.
    """
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    want = _mask_reference(labels)
    got = fn(labels.clone())
    if got is not None and not isinstance(got, Tensor):
        raise CheckFailed(f"expected a torch.Tensor, got {type(got).__name__}")
    got = returned_tensor(got, "6 labels", "a boolean tensor of shape (B, B, B)")
    if got.shape != want.shape:
        raise CheckFailed(
            f"expected shape {tuple(want.shape)} indexed [a, p, n], got {tuple(got.shape)}"
        )
    if got.dtype != torch.bool:
        raise CheckFailed(f"return a boolean mask (dtype torch.bool), got {got.dtype}")
    same = labels[:, None] == labels[None, :]
    if torch.equal(got, same[:, :, None] & ~same[:, None, :]):
        raise CheckFailed(
            "the mask allows p == a: an anchor is not its own positive; remove the diagonal "
            "from the same-label mask."
        )
    if torch.equal(got, want.transpose(1, 2)):
        raise CheckFailed(
            "the axes are [a, n, p]: the mask is indexed [anchor, positive, negative]."
        )
    if bool(got.sum() > want.sum()) and bool((got & ~want).any()):
        a, p, n = (int(i) for i in torch.nonzero(got & ~want)[0])
        raise CheckFailed(
            f"mask[{a}, {p}, {n}] is True but is not a valid triplet (labels {labels[a].item()}, "
            f"{labels[p].item()}, {labels[n].item()}): the positive needs the anchor's label, "
            "the negative another one."
        )
    if not torch.equal(got, want):
        a, p, n = (int(i) for i in torch.nonzero(want & ~got)[0])
        raise CheckFailed(f"mask[{a}, {p}, {n}] should be True (a valid triplet) but is False.")
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (20,), generator=gen)
    got = fn(labels.clone())
    want = _mask_reference(labels)
    if isinstance(got, Tensor):
        got = returned_tensor(got, "20 random labels", "a boolean tensor of shape (B, B, B)")
    if not (
        isinstance(got, Tensor)
        and got.shape == want.shape
        and got.dtype == torch.bool
        and torch.equal(got, want)
    ):
        raise CheckFailed("wrong mask for 20 random labels in 4 classes.")
    expect_close(got.sum(), _mask_reference(labels).sum(), "number of valid triplets")
