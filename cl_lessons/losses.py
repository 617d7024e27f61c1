"""Contrastive, triplet and InfoNCE losses: functions plus ``nn.Module`` wrappers.

Conventions (fixed by the course's design, lessons and tests rely on them):

* pair label ``y = 1`` means *similar*, ``y = 0`` dissimilar (Hadsell et al. 2006 use the opposite;
  lesson 04 says so);
* ``distance="euclidean"`` is the L2 distance, ``distance="cosine"`` is ``1 - cos``; both come from
  :mod:`cl_lessons.distances`, so the loss formula is written once;
* float16 / bfloat16 inputs are computed in float32 and the loss comes back in float32 (what
  ``torch.autocast`` does for losses), so low-precision logits at small temperatures never
  overflow; float32 and float64 inputs keep their dtype;
* every function checks its inputs and raises ``ValueError`` naming the bad argument; a batch that
  contains no valid triplet or no positive pair returns a zero that still carries a gradient.

References:
    Hadsell, Chopra, LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    Schroff, Kalenichenko, Philbin 2015, "FaceNet", https://arxiv.org/abs/1503.03832.
    Hermans, Beyer, Leibe 2017, "In Defense of the Triplet Loss", https://arxiv.org/abs/1703.07737.
    Chen et al. 2020, "SimCLR", https://arxiv.org/abs/2002.05709.
    Khosla et al. 2020, "Supervised Contrastive Learning", https://arxiv.org/abs/2004.11362.
    Chen & He 2021, "SimSiam", https://arxiv.org/abs/2011.10566.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons.distances import (
    cosine_distance,
    euclidean,
    pairwise_cosine_similarity,
    pairwise_euclidean,
)

__all__ = [
    "BatchTripletLoss",
    "ContrastiveLoss",
    "NTXentLoss",
    "NegativeCosineLoss",
    "SupConLoss",
    "TripletLoss",
    "batch_triplet_loss",
    "contrastive_loss",
    "info_nce",
    "negative_cosine",
    "supcon_loss",
    "triplet_loss",
]

DISTANCES = ("euclidean", "cosine")
REDUCTIONS = ("mean", "sum", "none")
MININGS = ("all", "hard", "semihard")
_LOW_PRECISION = (torch.float16, torch.bfloat16)
_CHUNK_ELEMENTS = 1 << 24  # batch-all builds (chunk, N, N) hinge blocks of at most this size


# ----------------------------------------------------------------------------- validation helpers
# (shared with miners.py and metrics.py; public functions call them once, internals trust them)


def _check_embeddings(x, name: str) -> Tensor:
    """A 2-D, non-empty, finite floating-point tensor ``(N, D)``; low precision is upcast."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(x.shape)})")
    if not _all_finite(x):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x.float() if x.dtype in _LOW_PRECISION else x


def _all_finite(x: Tensor) -> bool:
    """``isfinite(x).all()``, usually by one sum (13x cheaper at 512 x 128 on CPU).

    A NaN or an Inf anywhere makes the sum NaN or Inf; a finite sum therefore proves every entry
    finite. Only a sum that is not finite (bad entries, or finite ones that overflow) pays for
    the element-wise test.
    """
    return math.isfinite(float(x.detach().sum())) or bool(torch.isfinite(x).all())


def _check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {name_a} {tuple(a.shape)}, {name_b} {tuple(b.shape)}"
        )
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} is on {b.device}")


def _check_nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def _check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _as_tensor_1d(values, name: str, n: int | None, device) -> Tensor:
    if isinstance(values, Tensor):
        t = values.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a 1-D array of numbers, got {values!r}") from err
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"{name} has length {t.shape[0]} but the batch has {n} rows")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return t.to(device) if device is not None else t


def _check_labels(labels, n: int | None, device=None, name: str = "labels") -> Tensor:
    """Class labels: 1-D integers (or integer-valued floats / bools) of length ``n`` -> long."""
    t = _as_tensor_1d(labels, name, n, device)
    if t.dtype == torch.bool:
        return t.long()
    if t.is_complex() or (t.is_floating_point() and not bool((t == t.round()).all())):
        raise ValueError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


def _check_binary(y, n: int, device, dtype, name: str = "y") -> Tensor:
    """Pair labels in {0, 1} (bool, int or float) of length ``n``, returned as ``dtype``."""
    t = _as_tensor_1d(y, name, n, device)
    if t.is_complex() or not bool(((t == 0) | (t == 1)).all()):
        bad = t[(t != 0) & (t != 1)][:3].tolist()
        raise ValueError(f"{name} must be binary labels in {{0, 1}} (1 = similar), got {bad}")
    return t.to(dtype)


def _out_dtype(x: Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in _LOW_PRECISION else x.dtype


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
    return euclidean(a, b) if distance == "euclidean" else cosine_distance(a, b)


def _pairwise_distance(x: Tensor, distance: str) -> Tensor:
    """``(N, N)`` distance matrix; Euclidean gradients stay finite at zero distance."""
    if distance == "euclidean":
        return pairwise_euclidean(x)  # (N, N)
    return 1.0 - pairwise_cosine_similarity(x)  # (N, N)


# ----------------------------------------------------------------------------- pair and triplet


def contrastive_loss(
    z1: Tensor,
    z2: Tensor,
    y,
    margin: float = 1.0,
    distance: str = "euclidean",
    reduction: str = "mean",
) -> Tensor:
    """Contrastive (pair) loss: pull similar pairs together, push dissimilar ones past a margin.

    ``loss_i = y_i * d_i**2 + (1 - y_i) * max(margin - d_i, 0)**2`` with ``d_i = d(z1_i, z2_i)``.
    Here ``y = 1`` means *similar* (Hadsell et al. 2006 write the opposite label convention).

    Args:
        z1: embeddings of the first items of the pairs.
        z2: embeddings of the second items.
        y: pair labels in {0, 1} (tensor, array or list; bool, int or float), 1 = similar.
        margin: dissimilar pairs further apart than this cost nothing; >= 0.
        distance: ``"euclidean"`` or ``"cosine"`` (``d = 1 - cos``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one loss per pair).

    Returns:
        The reduced loss (a scalar) or the per-pair losses.

    Shape:
        ``z1``, ``z2``: ``(N, D)``; ``y``: ``(N,)`` -> ``()`` or ``(N,)``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``y`` not binary or
            of the wrong length, ``margin < 0``, unknown ``distance`` or ``reduction``.

    Reference:
        Hadsell, Chopra, LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    """
    z1 = _check_embeddings(z1, "z1")
    z2 = _check_embeddings(z2, "z2")
    _check_same_shape(z1, z2, "z1", "z2")
    margin = _check_nonneg(margin, "margin")
    _check_choice(distance, "distance", DISTANCES)
    _check_choice(reduction, "reduction", REDUCTIONS)
    y = _check_binary(y, z1.shape[0], z1.device, z1.dtype)  # (N,)
    if distance == "euclidean":
        diff = z1 - z2  # (N, D)
        sq = (diff * diff).sum(1)  # (N,) squared distance, smooth at 0
        d = euclidean(z1, z2)  # (N,) zero gradient at zero distance
    else:
        d = cosine_distance(z1, z2)  # (N,)
        sq = d * d
    losses = y * sq + (1.0 - y) * F.relu(margin - d).pow(2)  # (N,)
    return _reduce(losses, reduction)


def triplet_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    distance: str = "euclidean",
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss on explicit triplets: ``max(d(a, p) - d(a, n) + margin, 0)``.

    Same value as ``torch.nn.TripletMarginLoss(margin, p=2, eps=0)`` for ``distance="euclidean"``
    (PyTorch adds ``eps=1e-6`` to the difference by default), but with a zero, not NaN, gradient
    when two embeddings coincide.

    Args:
        anchor: anchor embeddings.
        positive: embeddings of the same class as the anchors.
        negative: embeddings of another class.
        margin: how much closer the positive must be than the negative; >= 0.
        distance: ``"euclidean"`` or ``"cosine"`` (``d = 1 - cos``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The reduced loss or one loss per triplet.

    Shape:
        ``anchor``, ``positive``, ``negative``: ``(N, D)`` -> ``()`` or ``(N,)``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``margin < 0``,
            unknown ``distance`` or ``reduction``.

    Reference:
        Schroff et al. 2015, FaceNet, https://arxiv.org/abs/1503.03832.
    """
    anchor = _check_embeddings(anchor, "anchor")
    positive = _check_embeddings(positive, "positive")
    negative = _check_embeddings(negative, "negative")
    _check_same_shape(anchor, positive, "anchor", "positive")
    _check_same_shape(anchor, negative, "anchor", "negative")
    margin = _check_nonneg(margin, "margin")
    _check_choice(distance, "distance", DISTANCES)
    _check_choice(reduction, "reduction", REDUCTIONS)
    d_ap = _rowwise_distance(anchor, positive, distance)  # (N,)
    d_an = _rowwise_distance(anchor, negative, distance)  # (N,)
    return _reduce(F.relu(d_ap - d_an + margin), reduction)


def _label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Positive mask (same label, not itself) and negative mask (other label), both ``(N, N)``."""
    same = labels[:, None] == labels[None, :]  # (N, N)
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _batch_all(dist: Tensor, pos: Tensor, neg: Tensor, margin: float) -> Tensor:
    # mean over every valid triplet, zeros included; anchors in chunks keep memory at ~16M floats
    n = dist.shape[0]
    count = int((pos.sum(1) * neg.sum(1)).sum())
    if count == 0:
        return _zero_loss(dist)
    chunk = max(1, _CHUNK_ELEMENTS // (n * n))
    total = dist.new_zeros(())
    posf, negf = pos.to(dist.dtype), neg.to(dist.dtype)
    for s in range(0, n, chunk):
        d = dist[s : s + chunk]  # (c, N)
        hinge = F.relu(d[:, :, None] - d[:, None, :] + margin)  # (c, N, N): [a, p, n]
        total = total + (hinge * posf[s : s + chunk, :, None] * negf[s : s + chunk, None, :]).sum()
    return total / count


class _HardTripletHinge(torch.autograd.Function):
    """Mean of ``max(||a - p|| - ||a - n|| + margin, 0)`` over rows, with a hand-written backward.

    Batch-hard has one triplet per anchor; through autograd its few hinges cost a dozen small
    graph nodes (gathers, the safe square root's masks, relu) whose overhead outweighs the
    arithmetic. With ``u = (a - p) / ||a - p||`` and ``w = (a - n) / ||a - n||``, an active
    hinge (``> 0``) sends ``g (u - w)`` to ``a``, ``-g u`` to ``p`` and ``g w`` to ``n``
    (``g = grad / V``); a distance of exactly 0 sends nothing, as :func:`safe_sqrt` does.
    """

    @staticmethod
    def forward(ctx, x: Tensor, anchors: Tensor | None, pos: Tensor, neg: Tensor, margin: float):
        xa = x if anchors is None else x.index_select(0, anchors)  # (V, D)
        dp = xa - x.index_select(0, pos)  # (V, D) a - p
        dn = xa - x.index_select(0, neg)  # (V, D) a - n
        tiny = torch.finfo(x.dtype).tiny
        sq_ap, sq_an = (dp * dp).sum(1), (dn * dn).sum(1)  # (V,) each
        d_ap = sq_ap.sqrt().masked_fill_(sq_ap <= tiny, 0.0)  # (V,) as safe_sqrt: 0 below tiny
        d_an = sq_an.sqrt().masked_fill_(sq_an <= tiny, 0.0)  # (V,)
        hinge = (d_ap - d_an).add_(margin)  # (V,)
        ctx.save_for_backward(dp, dn, d_ap, d_an, hinge > 0, pos, neg, anchors)
        ctx.n = x.shape[0]
        return hinge.clamp_(min=0.0).mean()

    @staticmethod
    def backward(ctx, grad: Tensor):
        if torch.is_grad_enabled():  # create_graph=True: a second derivative would be wrong
            raise RuntimeError(
                "batch_triplet_loss(mining='hard') has no second derivative (double backward)"
            )
        dp, dn, d_ap, d_an, active, pos, neg, anchors = ctx.saved_tensors
        g = active.to(dp.dtype) * (grad / dp.shape[0])  # (V,) 0 where the hinge is inactive
        coef_p = torch.where(d_ap > 0, g / d_ap.clamp(min=torch.finfo(dp.dtype).tiny), 0.0)
        coef_n = torch.where(d_an > 0, g / d_an.clamp(min=torch.finfo(dp.dtype).tiny), 0.0)
        gp = dp * coef_p[:, None]  # (V, D) g u
        gn = dn * coef_n[:, None]  # (V, D) g w
        if anchors is None:  # every row is an anchor, in order
            gx = gp - gn  # (N, D)
        else:
            gx = dp.new_zeros(ctx.n, dp.shape[1]).index_add_(0, anchors, gp - gn)
        gx.index_add_(0, pos, gp, alpha=-1.0)
        gx.index_add_(0, neg, gn)
        return gx, None, None, None, None


def _class_members(inverse: Tensor, sizes: Tensor) -> Tensor:
    """``(N, K_max)``: row ``i`` lists every sample with ``i``'s label, ``i`` included.

    A class smaller than ``K_max`` repeats its last member, which changes no max, min or scatter.
    """
    order = torch.argsort(inverse, stable=True)  # (N,) samples grouped by class
    start = torch.cumsum(sizes, 0) - sizes  # (C,) first position of each class in `order`
    slots = start[:, None] + torch.arange(int(sizes.max()), device=inverse.device)  # (C, K_max)
    slots = torch.minimum(slots, (start + sizes - 1)[:, None])  # pad with the last member
    return order[slots][inverse]  # (N, K_max)


def _batch_hard(x: Tensor, labels: Tensor, margin: float, distance: str) -> Tensor:
    # Hermans et al. 2017: hardest positive and hardest negative per anchor
    n = labels.shape[0]
    _, inverse, sizes = torch.unique(labels, return_inverse=True, return_counts=True)
    count = sizes[inverse]  # (N,) size of each sample's class
    valid = (count > 1) & (count < n)  # (N,) >= 1 positive and >= 1 negative
    num_valid = int(valid.sum())
    if num_valid == 0:
        return _zero_loss(x)
    # the K same-label entries of each row are visited through an index table, so no (N, N)
    # label mask is built (at B=512 building and applying one cost more than the search itself)
    members = _class_members(inverse, sizes)  # (N, K_max)
    with torch.no_grad():
        xd = x.detach()
        if distance == "euclidean":
            # per anchor i, ||x_j||^2 - 2 x_i.x_j orders j like d(i, j): one matrix product,
            # no square root, no clamp (centred first, which keeps float32 cancellation small)
            xc = xd - xd.mean(0, keepdim=True)  # (N, D)
            sel = torch.addmm((xc * xc).sum(1)[None, :], xc, xc.T, alpha=-2.0)  # (N, N)
        else:
            sel = pairwise_cosine_similarity(xd).neg_()  # (N, N) orders like 1 - cos
        among_pos = sel.gather(1, members)  # (N, K_max)
        itself = members == torch.arange(n, device=x.device)[:, None]  # (N, K_max)
        farthest = among_pos.masked_fill_(itself, -math.inf).max(1).indices  # (N,)
        hardest_pos = members.gather(1, farthest[:, None]).squeeze(1)  # (N,)
        # same-label entries to +inf, then the nearest is the hardest negative (values+indices
        # min is ~2.5x faster than argmin on CPU)
        hardest_neg = sel.scatter_(1, members, math.inf).min(1).indices  # (N,)
    keep = None
    if num_valid != n:  # the usual P x K batch keeps every anchor, and gathers nothing
        keep = torch.nonzero(valid).squeeze(1)  # (V,)
        hardest_pos, hardest_neg = hardest_pos[keep], hardest_neg[keep]
    if distance == "euclidean":
        return _HardTripletHinge.apply(x, keep, hardest_pos, hardest_neg, margin)
    anchors = x if keep is None else x.index_select(0, keep)
    d_ap = cosine_distance(anchors, x.index_select(0, hardest_pos))  # (V,)
    d_an = cosine_distance(anchors, x.index_select(0, hardest_neg))  # (V,)
    return F.relu(d_ap - d_an + margin).mean()


def _semihard_negatives(dist: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The FaceNet / TF-Addons semi-hard negative of every positive pair ``(a, p)``.

    The negative with the smallest ``d(a, n)`` among those with ``d(a, n) > d(a, p)``; when there
    is none, the negative with the largest ``d(a, n)``. Only positive pairs are visited (``N (K-1)``
    of them in a P x K batch, not ``N^2``), in chunks of at most ``_CHUNK_ELEMENTS`` (pair,
    negative) entries. Pairs whose anchor has no negative are dropped.

    Args:
        dist: a no-grad ``(N, N)`` matrix ordered like the distance.
        pos: positive-pair mask.
        neg: negative mask.

    Returns:
        ``(a, p, n)``: long index tensors, one entry per kept positive pair.
    """
    d = dist.detach()
    has_neg = neg.any(1)  # (N,)
    a_idx, p_idx = torch.nonzero(pos, as_tuple=True)  # (P,) each
    keep = has_neg[a_idx]
    a_idx, p_idx = a_idx[keep], p_idx[keep]
    # masks by arithmetic (CPU masked_fill / where are ~10x slower than an add): non-negatives
    # get +4 big, so they never win against a real negative
    big = 2.0 * float(d.max()) + 1.0
    d_neg = d + (~neg).to(d.dtype) * (4.0 * big)  # (N, N)
    farthest = (d - (~neg).to(d.dtype) * (4.0 * big)).argmax(1)  # (N,) fallback per anchor
    n_idx = torch.empty_like(a_idx)
    chunk = max(1, _CHUNK_ELEMENTS // d.shape[0])
    for s in range(0, a_idx.shape[0], chunk):
        a, p = a_idx[s : s + chunk], p_idx[s : s + chunk]
        gap = d_neg.index_select(0, a) - d[a, p][:, None]  # (c, N) d(a,n) - d(a,p)
        gap.add_((gap <= 0).to(gap.dtype), alpha=2.0 * big)  # not beyond the positive: +2 big
        closest, idx = gap.min(1)  # (c,) nearest negative beyond the positive, if < big
        n_idx[s : s + chunk] = torch.where(closest < big, idx, farthest[a])
    return a_idx, p_idx, n_idx


def _batch_semihard(x: Tensor, pos: Tensor, neg: Tensor, margin: float, distance: str) -> Tensor:
    # N (K - 1) triplets: gathering their rows twice and scatter-adding the gradient back costs
    # ~3x more than the backward of one (N, N) distance matrix (measured at N=512, K=8), so the
    # hinge is read off that matrix; the negatives are chosen on its no-grad copy
    dist = _pairwise_distance(x, distance)  # (N, N)
    a, p, n = _semihard_negatives(dist.detach(), pos, neg)  # (P,) each
    if a.shape[0] == 0:
        return _zero_loss(x)
    flat, cols = dist.reshape(-1), dist.shape[1]
    d_ap = flat.index_select(0, a * cols + p)  # (P,) index_select: cheaper backward than [...]
    d_an = flat.index_select(0, a * cols + n)  # (P,)
    return F.relu(d_ap - d_an + margin).mean()


def batch_triplet_loss(
    embeddings: Tensor,
    labels,
    margin: float = 1.0,
    mining: str = "all",
    distance: str = "euclidean",
) -> Tensor:
    """Triplet loss over every triplet a labelled batch contains, with a mining strategy.

    A valid triplet ``(a, p, n)`` has ``a != p``, ``label[a] == label[p]`` and
    ``label[n] != label[a]``. With ``h(a, p, n) = max(d(a, p) - d(a, n) + margin, 0)``:

    * ``"all"`` (batch-all): the mean of ``h`` over every valid triplet, zeros included;
    * ``"hard"`` (batch-hard, Hermans et al. 2017): per anchor with at least one positive and
      one negative, ``max(max_p d(a, p) - min_n d(a, n) + margin, 0)``; mean over those anchors;
    * ``"semihard"`` (FaceNet, with the semantics of TF-Addons ``triplet_semihard_loss``): for each
      positive pair ``(a, p)`` the negative with the smallest ``d(a, n)`` among those with
      ``d(a, n) > d(a, p)``, or, if there is none, the negative with the largest ``d(a, n)``; the
      mean of ``h`` over positive pairs (pairs whose anchor has no negative are left out).

    For ``"hard"`` and ``"semihard"`` the triplets are chosen on the distance matrix without
    gradient. Batch-hard then computes its ``O(N)`` hinges on exact row-wise distances, so its
    backward pass touches only those (with the Euclidean distance through a hand-written
    backward, which has no second derivative: ``create_graph=True`` raises ``RuntimeError``);
    semi-hard has ``O(N K)`` of them and reads them off the ``(N, N)`` matrix, whose backward is
    then cheaper than gathering that many rows. A batch with no valid triplet (one class only, or
    singletons) returns a zero that still carries a gradient, never NaN.

    Args:
        embeddings: the batch.
        labels: integer class labels, one per row.
        margin: >= 0.
        mining: ``"all"``, ``"hard"`` or ``"semihard"``.
        distance: ``"euclidean"`` or ``"cosine"`` (``d = 1 - cos``).

    Returns:
        The loss, a scalar.

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)`` -> ``()``.

    Raises:
        ValueError: embeddings not ``(N, D)``, empty, NaN/Inf; labels of the wrong length or not
            integers; ``margin < 0``; unknown ``mining`` or ``distance``.

    References:
        Schroff et al. 2015, FaceNet, https://arxiv.org/abs/1503.03832;
        Hermans et al. 2017, https://arxiv.org/abs/1703.07737.
    """
    embeddings = _check_embeddings(embeddings, "embeddings")
    labels = _check_labels(labels, embeddings.shape[0], embeddings.device)
    margin = _check_nonneg(margin, "margin")
    _check_choice(mining, "mining", MININGS)
    _check_choice(distance, "distance", DISTANCES)
    if mining == "hard":
        return _batch_hard(embeddings, labels, margin, distance)
    pos, neg = _label_masks(labels)  # (N, N) each
    if mining == "all":
        return _batch_all(_pairwise_distance(embeddings, distance), pos, neg, margin)
    return _batch_semihard(embeddings, pos, neg, margin, distance)


# ----------------------------------------------------------------------------- InfoNCE / NT-Xent

# exp(s - 1/T) with cos in [-1, 1] lies in [exp(-2/T), 1]; below these exponents it would leave the
# normal range of the dtype, so the symmetric fast path is used only when 2/T stays under them.
_FAST_EXPONENT = {torch.float32: 80.0, torch.float64: 700.0}


class _NTXent(torch.autograd.Function):
    """NT-Xent on L2-normalised views, with a hand-written backward.

    With ``s_ij = z_i . z_j / T`` (``j != i``) and ``P`` the row-wise softmax, the gradient is
    ``dL/dz = ((P + P^T) z - 2 z_partner) / (2N T)``. Autograd would keep the logits, the mask and
    the softmax and run several passes over the ``(2N, 2N)`` matrix; here one buffer is kept.

    Fast path: the logits are symmetric, so with one shift ``c = 1/T`` for every row
    (``s - c <= 0`` because ``|cos| <= 1``) the matrix ``E = exp(s - c)`` is symmetric and
    ``P = E / r`` (``r`` the row sums). Then ``P z + P^T z = (E z) / r + E (z / r)`` is a single
    matrix product ``E @ [z, z / r]``. When ``2/T`` is so large that ``exp(s - c)`` could underflow,
    the general path uses a row-wise log-softmax and two products.
    """

    @staticmethod
    def forward(ctx, z: Tensor, temperature: float) -> Tensor:
        n2 = z.shape[0]
        inv_t = 1.0 / temperature
        partner = torch.arange(n2, device=z.device).roll(n2 // 2)  # (2N,)
        pos = (z * z[partner]).sum(1) * inv_t  # (2N,) positive logits
        logits = torch.mm(z * inv_t, z.T)  # (2N, 2N)
        fast = 2.0 * inv_t <= _FAST_EXPONENT.get(z.dtype, 0.0)
        if fast:
            logits.sub_(inv_t).exp_()  # (2N, 2N) E = exp(s - 1/T), symmetric
            logits.fill_diagonal_(0.0)  # an anchor is not its own negative
            rowsum = logits.sum(1)  # (2N,)
            losses = rowsum.log() + inv_t - pos  # (2N,) log-sum-exp minus positive logit
        else:
            logits.fill_diagonal_(-math.inf)
            logp = torch.log_softmax(logits, 1)  # (2N, 2N)
            del logits
            losses = -logp.gather(1, partner[:, None]).squeeze(1)  # (2N,)
            # probabilities below the smallest normal number would be subnormal, and a matrix
            # product with subnormals runs ~80x slower on x86; they are raised to about 1e-38
            # (float32), which changes the gradient by less than 1e-37 per entry
            logp.clamp_(min=math.log(torch.finfo(logp.dtype).tiny) + 1.0)
            logits = logp.exp_()  # (2N, 2N) P, in place
            rowsum = None
        ctx.save_for_backward(z, logits, rowsum if fast else z.new_empty(0))
        ctx.fast, ctx.inv_t = fast, inv_t
        return losses.mean()

    @staticmethod
    def backward(ctx, grad: Tensor):
        if torch.is_grad_enabled():  # create_graph=True: a second derivative would be wrong
            raise RuntimeError("info_nce has no second derivative (double backward)")
        z, mat, rowsum = ctx.saved_tensors
        n2, dim = z.shape
        if ctx.fast:
            r = rowsum[:, None]  # (2N, 1)
            both = mat @ torch.cat([z, z / r], 1)  # (2N, 2D): [E z, E (z / r)]
            gz = both[:, :dim] / r + both[:, dim:]  # (2N, D) = (P + P^T) z
        else:
            gz = torch.addmm(mat @ z, mat.T, z)  # (2N, D) = P z + P^T z
        gz.sub_(z.roll(n2 // 2, 0), alpha=2.0)  # minus the positives' one-hot terms
        gz.mul_(grad * (ctx.inv_t / n2))
        return gz, None


def info_nce(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """NT-Xent, the InfoNCE loss of SimCLR, on a batch of ``N`` positive pairs.

    The ``2N`` views are L2-normalised. For view ``i`` with partner ``j`` (``z1[k]`` and ``z2[k]``
    are partners) and ``s_ik = cos(z_i, z_k) / temperature``::

        loss_i = -log( exp(s_ij) / sum_{k != i} exp(s_ik) )

    so each anchor has one positive and ``2N - 2`` negatives; the loss is the mean over all ``2N``
    anchors. The same value as pytorch-metric-learning's ``NTXentLoss`` with labels
    ``cat(arange(N), arange(N))``, in ``O(N^2)`` memory and about the time of its matrix products.

    Args:
        z1: embeddings of the first views.
        z2: embeddings of the second views, row ``k`` the partner of ``z1[k]``.
        temperature: softmax temperature, > 0 (SimCLR uses 0.1 to 0.5; smaller is sharper).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs, which are computed in float32).

    Shape:
        ``z1``, ``z2``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``temperature <= 0``.

    Reference:
        Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709 (Oord et al. 2018 for InfoNCE).
    """
    z1 = _check_embeddings(z1, "z1")
    z2 = _check_embeddings(z2, "z2")
    _check_same_shape(z1, z2, "z1", "z2")
    temperature = _check_positive(temperature, "temperature")
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D) on the unit sphere
    return _NTXent.apply(z, temperature)


def supcon_loss(embeddings: Tensor, labels, temperature: float = 0.1) -> Tensor:
    """Supervised contrastive loss ``L_out`` of Khosla et al. 2020.

    Embeddings are L2-normalised; ``s_ik = cos(z_i, z_k) / temperature``. For anchor ``i`` with
    positives ``P(i)`` (same label, not ``i``) and ``A(i)`` every other sample::

        loss_i = -1/|P(i)| * sum_{p in P(i)} log( exp(s_ip) / sum_{a in A(i)} exp(s_ia) )

    averaged over the anchors that have at least one positive (the others are left out). A batch in
    which no anchor has a positive returns a zero that still carries a gradient.

    Args:
        embeddings: the batch (one view per row; stack several views of a sample as extra rows
            with the same label).
        labels: integer class labels, one per row.
        temperature: > 0 (the paper uses 0.1).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs).

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)`` -> ``()``.

    Raises:
        ValueError: embeddings not ``(N, D)``, empty, NaN/Inf; labels of the wrong length or not
            integers; ``temperature <= 0``.

    Reference:
        Khosla et al. 2020, https://arxiv.org/abs/2004.11362 (Eq. 2, L_out).
    """
    embeddings = _check_embeddings(embeddings, "embeddings")
    labels = _check_labels(labels, embeddings.shape[0], embeddings.device)
    temperature = _check_positive(temperature, "temperature")
    pos, _ = _label_masks(labels)  # (N, N)
    num_pos = pos.sum(1)  # (N,)
    anchors = num_pos > 0  # (N,)
    if not bool(anchors.any()):
        return _zero_loss(embeddings)
    z = F.normalize(embeddings, dim=1)  # (N, D)
    logits = (z @ z.T) / temperature  # (N, N)
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, -math.inf)  # (N, N): A(i) excludes i
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)  # (N, N)
    pos_log_prob = torch.where(pos, log_prob, 0.0).sum(1)  # (N,)
    losses = -pos_log_prob[anchors] / num_pos[anchors]  # (A,)
    return losses.mean()


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """SimSiam / BYOL loss ``-cos(p, stopgrad(z))``, averaged over the batch.

    ``z`` is detached: the gradient reaches only the predictor output ``p``. Use it symmetrised,
    ``0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)``. Minimum -1.

    Args:
        p: predictor outputs.
        z: target projections (no gradient flows into them).

    Returns:
        The loss, a scalar in [-1, 1].

    Shape:
        ``p``, ``z``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf.

    Reference:
        Chen & He 2021, SimSiam, https://arxiv.org/abs/2011.10566; Grill et al. 2020, BYOL.
    """
    p = _check_embeddings(p, "p")
    z = _check_embeddings(z, "z")
    _check_same_shape(p, z, "p", "z")
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


# ----------------------------------------------------------------------------- nn.Module wrappers


class ContrastiveLoss(nn.Module):
    """Module form of :func:`contrastive_loss`; ``forward(z1, z2, y)``."""

    def __init__(self, margin: float = 1.0, distance: str = "euclidean", reduction: str = "mean"):
        super().__init__()
        self.margin = _check_nonneg(margin, "margin")
        self.distance = _check_choice(distance, "distance", DISTANCES)
        self.reduction = _check_choice(reduction, "reduction", REDUCTIONS)

    def forward(self, z1: Tensor, z2: Tensor, y) -> Tensor:
        return contrastive_loss(z1, z2, y, self.margin, self.distance, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}, reduction={self.reduction!r}"


class TripletLoss(nn.Module):
    """Module form of :func:`triplet_loss`; ``forward(anchor, positive, negative)``."""

    def __init__(self, margin: float = 1.0, distance: str = "euclidean", reduction: str = "mean"):
        super().__init__()
        self.margin = _check_nonneg(margin, "margin")
        self.distance = _check_choice(distance, "distance", DISTANCES)
        self.reduction = _check_choice(reduction, "reduction", REDUCTIONS)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_loss(anchor, positive, negative, self.margin, self.distance, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}, reduction={self.reduction!r}"


class BatchTripletLoss(nn.Module):
    """Module form of :func:`batch_triplet_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, margin: float = 1.0, mining: str = "all", distance: str = "euclidean"):
        super().__init__()
        self.margin = _check_nonneg(margin, "margin")
        self.mining = _check_choice(mining, "mining", MININGS)
        self.distance = _check_choice(distance, "distance", DISTANCES)

    def forward(self, embeddings: Tensor, labels) -> Tensor:
        return batch_triplet_loss(embeddings, labels, self.margin, self.mining, self.distance)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, mining={self.mining!r}, distance={self.distance!r}"


class NTXentLoss(nn.Module):
    """Module form of :func:`info_nce`; ``forward(z1, z2)``."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = _check_positive(temperature, "temperature")

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return info_nce(z1, z2, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class SupConLoss(nn.Module):
    """Module form of :func:`supcon_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = _check_positive(temperature, "temperature")

    def forward(self, embeddings: Tensor, labels) -> Tensor:
        return supcon_loss(embeddings, labels, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class NegativeCosineLoss(nn.Module):
    """Module form of :func:`negative_cosine`; ``forward(p, z)``."""

    def forward(self, p: Tensor, z: Tensor) -> Tensor:
        return negative_cosine(p, z)
