"""The triplet loss over the triplets of a labelled batch: batch-all, batch-hard, semi-hard."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import check_choice, check_embeddings, check_labels, check_nonneg
from cl_lessons.distances import (
    cosine_distance,
    pairwise_cosine_similarity,
)
from cl_lessons.losses._common import (
    DISTANCES,
    _decision_distance,
    _label_masks,
    _pairwise_distance,
    _zero_loss,
)

MININGS = ("all", "all_nonzero", "hard", "semihard")


_CHUNK_ELEMENTS = 1 << 24  # batch-all builds (chunk, K, N) hinge blocks of at most this size


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


def _positive_slots(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Each anchor's positives as an index table, ``(N, K_max)``, with its mask of real slots.

    Row ``a`` lists every sample with ``a``'s label (see :func:`_class_members`); a slot is a real
    positive when it is neither ``a`` itself nor the padding of a class smaller than ``K_max``.
    """
    _, inverse, sizes = torch.unique(labels, return_inverse=True, return_counts=True)
    members = _class_members(inverse, sizes)  # (N, K_max)
    slot = torch.arange(members.shape[1], device=labels.device)  # (K_max,)
    real = slot[None, :] < sizes[inverse][:, None]  # (N, K_max) not padding
    itself = members == torch.arange(labels.shape[0], device=labels.device)[:, None]
    return members, real & ~itself


class _BatchAllHinge(torch.autograd.Function):
    """Sum over every valid triplet of ``max(d(a, p) - d(a, n) + margin, 0)``, from ``(N, N)``.

    The ``(c, K_max, N)`` hinge blocks of a chunk of anchors are built in the forward pass, summed
    and dropped, then rebuilt chunk by chunk in the backward pass, which keeps only the ``(N, N)``
    inputs: memory ``O(chunk K N + N^2)`` whatever ``N``, where autograd would keep every block
    (``O(N K N)``). Positives are visited through the index table of :func:`_positive_slots`
    (``K - 1`` of them per anchor, not ``N``); a padding slot gets ``d(a, p) = -inf`` and a
    non-negative ``d(a, n) = +inf``, so their hinge is ``-inf`` and counts for nothing. An active
    hinge (``> 0``, as ``relu``'s gradient) sends ``+g`` to ``d(a, p)`` and ``-g`` to ``d(a, n)``.
    The backward pass is differentiable in ``grad`` and constant in ``dist`` (the hinge is
    piecewise linear in it), so ``create_graph=True`` gives the true second derivative, the
    curvature of the distance itself.
    """

    @staticmethod
    def _blocks(dist: Tensor, members: Tensor, real: Tensor, neg: Tensor, margin: float):
        n, k = members.shape
        chunk = max(1, _CHUNK_ELEMENTS // (k * n))
        for s in range(0, n, chunk):
            d = dist[s : s + chunk]  # (c, N)
            d_ap = d.gather(1, members[s : s + chunk]).masked_fill_(~real[s : s + chunk], -math.inf)
            d_an = d.masked_fill(~neg[s : s + chunk], math.inf)  # (c, N) +inf off the negatives
            hinge = d_ap[:, :, None] - d_an[:, None, :]  # (c, K, N): [a, p, n]
            yield s, hinge.add_(margin)

    @staticmethod
    def forward(
        ctx, dist: Tensor, exact: Tensor, members: Tensor, real: Tensor, neg: Tensor, margin: float
    ):
        # values and active hinges from `exact` (direct differences, so a triplet exactly on the
        # margin is inactive, as relu's gradient at 0, not decided by the Gram round-off of
        # `dist`); the gradient goes to `dist`, the differentiable matrix of the same distances
        total, active = exact.new_zeros(()), exact.new_zeros(())
        for _, hinge in _BatchAllHinge._blocks(exact, members, real, neg, margin):
            active += (hinge > 0).sum()
            total += hinge.clamp_(min=0.0).sum()
        ctx.save_for_backward(exact, members, real, neg)
        ctx.margin = margin
        ctx.mark_non_differentiable(active)
        return total, active  # the sum of the hinges, and how many of them are > 0

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_active: Tensor | None = None):
        dist, members, real, neg = ctx.saved_tensors
        with torch.no_grad():  # how many active hinges each distance enters, with its sign
            active = torch.zeros_like(dist)  # (N, N)
            for s, hinge in _BatchAllHinge._blocks(dist, members, real, neg, ctx.margin):
                on = (hinge > 0).to(dist.dtype)  # (c, K, N)
                rows = active[s : s + on.shape[0]]  # (c, N) view
                rows.scatter_add_(1, members[s : s + on.shape[0]], on.sum(2))  # d(a, p): +1
                rows.sub_(on.sum(1))  # d(a, n): -1
        return active * grad, None, None, None, None, None


def _batch_all(
    x: Tensor, labels: Tensor, neg: Tensor, margin: float, distance: str, nonzero: bool = False
) -> Tensor:
    # mean over every valid triplet, zeros included; or (nonzero) over the active ones only
    members, real = _positive_slots(labels)  # (N, K_max) each
    count = int((real.sum(1) * neg.sum(1)).sum())
    if count == 0:
        return _zero_loss(x)
    dist, exact = _pairwise_distance(x, distance), _decision_distance(x, distance)  # (N, N) each
    total, active = _BatchAllHinge.apply(dist, exact, members, real, neg, margin)
    # the count of active triplets is a constant of the step, as in Hermans et al.'s BA≠0
    return total / (active.clamp(min=1) if nonzero else count)


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
    # hinge is read off that matrix. The negatives are chosen on distances from direct
    # differences: the Gram expansion's ~1e-16 round-off would decide d(a,n) > d(a,p) at exact ties
    dist = _pairwise_distance(x, distance)  # (N, N)
    a, p, n = _semihard_negatives(_decision_distance(x, distance), pos, neg)  # (P,) each
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
    * ``"all_nonzero"`` (Hermans et al.'s BA≠0): the same sum divided by the number of active
      triplets (``h > 0``) instead, so the loss does not fade as more triplets are satisfied
      (a batch with none active gives 0); the count is a constant of the step, no gradient;
    * ``"hard"`` (batch-hard, Hermans et al. 2017): per anchor with at least one positive and
      one negative, ``max(max_p d(a, p) - min_n d(a, n) + margin, 0)``; mean over those anchors;
    * ``"semihard"`` (FaceNet, with the semantics of TF-Addons ``triplet_semihard_loss``): for each
      positive pair ``(a, p)`` the negative with the smallest ``d(a, n)`` among those with
      ``d(a, n) > d(a, p)``, or, if there is none, the negative with the largest ``d(a, n)``; the
      mean of ``h`` over positive pairs (pairs whose anchor has no negative are left out).

    For ``"hard"`` and ``"semihard"`` the triplets are chosen on a distance matrix without
    gradient. Semi-hard's strict ``d(a, n) > d(a, p)`` and batch-all's active hinges (``> 0``) are
    decided on distances from direct differences, so distances equal in the input (duplicated
    rows, integer coordinates) tie exactly instead of by the Gram expansion's ~1e-16 round-off;
    the gradient still flows through the differentiable ``(N, N)`` matrix. (Batch-hard's max and
    min pick one of several tied candidates; the loss value is the same.) Batch-hard then
    computes its ``O(N)`` hinges on exact row-wise distances, so its
    backward pass touches only those (with the Euclidean distance through a hand-written
    backward, which has no second derivative: ``create_graph=True`` raises ``RuntimeError``);
    semi-hard has ``O(N K)`` of them and reads them off the ``(N, N)`` matrix, whose backward is
    then cheaper than gathering that many rows. Batch-all visits its ``N (K-1) (N-K)`` triplets
    (``K`` per class) in chunks of anchors and visits them again in the backward pass instead of
    keeping them, so its memory stays ``O(N^2)`` plus one chunk at any batch size. A batch with no
    valid triplet (one class only, or singletons) returns a zero that still carries a gradient,
    never NaN.

    Args:
        embeddings: the batch.
        labels: integer class labels, one per row.
        margin: >= 0.
        mining: ``"all"``, ``"all_nonzero"``, ``"hard"`` or ``"semihard"``.
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
    embeddings = check_embeddings(embeddings, "embeddings")
    labels = check_labels(labels, embeddings.shape[0], embeddings.device)
    margin = check_nonneg(margin, "margin")
    check_choice(mining, "mining", MININGS)
    check_choice(distance, "distance", DISTANCES)
    if mining == "hard":
        return _batch_hard(embeddings, labels, margin, distance)
    pos, neg = _label_masks(labels)  # (N, N) each
    if mining in ("all", "all_nonzero"):
        return _batch_all(embeddings, labels, neg, margin, distance, mining == "all_nonzero")
    return _batch_semihard(embeddings, pos, neg, margin, distance)
