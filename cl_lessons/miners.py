"""Triplet mining: which triplets a labelled batch holds, and how hard each one is.

A *valid* triplet ``(a, p, n)`` of a batch has ``a != p``, ``label[a] == label[p]`` and
``label[n] != label[a]``. With the distances ``d(a, p)``, ``d(a, n)`` and a margin ``m >= 0``,
every valid triplet falls in exactly one category (FaceNet, Schroff et al. 2015, Sec. 3.2):

========== ========================================= =============================================
category   condition                                 triplet loss ``max(d(a,p) - d(a,n) + m, 0)``
========== ========================================= =============================================
easy       ``d(a,n) > d(a,p) + m``                   0: nothing to learn
semi-hard  ``d(a,p) < d(a,n) <= d(a,p) + m``         in ``[0, m)``: right order, inside the margin
hard       ``d(a,n) <= d(a,p)``                      ``>= m``: the negative is at least as close
========== ========================================= =============================================

Boundary convention: a negative exactly as far as the positive (``d(a,n) == d(a,p)``) is *hard*;
a negative exactly on the margin (``d(a,n) == d(a,p) + m``) is *semi-hard* (its loss is 0, but it
sits on the margin rather than beyond it). pytorch-metric-learning's ``TripletMarginMiner`` uses
the same three conditions (``triplet_margin = d(a,n) - d(a,p)``); users find its names confusing
(its issue #751), so they are written out here and tested with points placed on both boundaries.

Ties are decided exactly: :func:`mine_triplets` computes the distances it decides on from direct
differences (:func:`mining_distances`), where ``cl_lessons.distances.pairwise_euclidean``'s
Gram expansion (fast, differentiable) leaves ~1e-16 of round-off between distances that are
exactly equal (a duplicated row, small-integer coordinates). Pass :func:`mining_distances` to
:func:`triplet_categories` for the same exactness.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from cl_lessons._checks import check_choice, check_embeddings, check_labels, check_nonneg
from cl_lessons.losses._common import DISTANCES, _decision_distance, _label_masks

__all__ = [
    "MAX_TRIPLET_ELEMENTS",
    "STRATEGIES",
    "TripletCategories",
    "category_fractions",
    "mine_triplets",
    "mining_distances",
    "triplet_categories",
    "triplet_masks",
    "triplet_zone",
]

STRATEGIES = ("all", "easy", "semihard", "hard", "batch_hard")
EASY, SEMIHARD, HARD = 0, 1, 2
"""Zone codes returned by :func:`triplet_zone`."""

MAX_TRIPLET_ELEMENTS = 512**3
"""Largest ``N^3`` of the ``(N, N, N)`` masks built here (``N <= 512``): about three such boolean
masks are alive at once, 128 MiB each at the limit, so a call stays near 0.5 GB (plus the triplets
it returns), where ``N = 2048`` would need 8 GiB per mask. Checked before anything is allocated."""


def _check_cubic(n: int, name: str) -> None:
    """Refuse a batch whose ``(N, N, N)`` masks would pass :data:`MAX_TRIPLET_ELEMENTS`."""
    if n**3 > MAX_TRIPLET_ELEMENTS:
        raise ValueError(
            f"{name} has N = {n} rows: its (N, N, N) triplet masks would hold N^3 = {n**3:,} "
            f"entries ({n**3 / 2**30:.1f} GiB per boolean mask), over the limit "
            f"MAX_TRIPLET_ELEMENTS = {MAX_TRIPLET_ELEMENTS:,} (N <= "
            f"{round(MAX_TRIPLET_ELEMENTS ** (1 / 3))}). For training use "
            "cl_lessons.losses.batch_triplet_loss with mining='hard' or mining='semihard' (or "
            "mine_triplets(strategy='batch_hard')), which never build (N, N, N) tensors; to count "
            "or look at triplets, use smaller batches"
        )


class TripletCategories(NamedTuple):
    """Boolean masks ``[a, p, n]`` of the easy, semi-hard and hard triplets; each ``(N, N, N)``."""

    easy: Tensor
    semihard: Tensor
    hard: Tensor


def triplet_masks(labels) -> Tensor:
    """Mask of the valid triplets of a labelled batch.

    ``valid[a, p, n]`` is True when ``a != p``, ``labels[a] == labels[p]`` and
    ``labels[n] != labels[a]`` (so ``n`` differs from both ``a`` and ``p``).

    Args:
        labels: integer class labels (tensor, array or list).

    Returns:
        The boolean mask, on the device of ``labels`` when it is a tensor.

    Shape:
        ``labels``: ``(N,)`` -> ``(N, N, N)``.

    Raises:
        ValueError: ``labels`` is empty, not 1-D, or not integers; ``N^3`` over
            :data:`MAX_TRIPLET_ELEMENTS`.
    """
    labels = check_labels(labels, None)
    if labels.shape[0] == 0:
        raise ValueError("labels is empty")
    _check_cubic(labels.shape[0], "labels")
    return _valid_mask(labels)


def _valid_mask(labels: Tensor) -> Tensor:
    pos, neg = _label_masks(labels)  # (N, N) each
    return pos[:, :, None] & neg[:, None, :]  # (N, N, N)


def mining_distances(embeddings: Tensor, distance: str = "euclidean") -> Tensor:
    """All-pairs distances computed from direct differences, for mining decisions.

    ``d(i, j) = sqrt(sum_k (x_ik - x_jk)^2)`` (or ``1 - cos`` on unit rows), reduced the same way
    for every pair, so distances that are exactly equal in the input come out bit-equal and a
    negative exactly as far as the positive is *hard*, as documented, instead of being decided by
    the ~1e-16 round-off of ``pairwise_euclidean``'s Gram expansion. No gradient; the work is
    ``O(N^2 D)`` in blocks of at most 2^20 entries.

    Args:
        embeddings: the batch.
        distance: ``"euclidean"`` or ``"cosine"`` (``1 - cos``).

    Returns:
        The distance matrix, detached, in float32 for half-precision inputs.

    Shape:
        ``embeddings``: ``(N, D)`` -> ``(N, N)``.

    Raises:
        ValueError: embeddings not ``(N, D)``, empty, NaN/Inf; unknown ``distance``.
    """
    embeddings = check_embeddings(embeddings, "embeddings")
    check_choice(distance, "distance", DISTANCES)
    return _decision_distance(embeddings, distance)


def _check_dist(dist, labels) -> tuple[Tensor, Tensor]:
    if not isinstance(dist, Tensor):
        raise ValueError(f"dist must be a torch.Tensor, got {type(dist).__name__}")
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"dist must be a square (N, N) matrix, got shape {tuple(dist.shape)}")
    if dist.shape[0] == 0:
        raise ValueError("dist is empty")
    if not dist.is_floating_point() or not bool(torch.isfinite(dist).all()):
        raise ValueError("dist must be a finite floating-point matrix (no NaN or Inf)")
    labels = check_labels(labels, dist.shape[0], dist.device)
    return dist.detach(), labels


def _closer_beyond(d_ap: Tensor, d_an: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    # the one place where the FaceNet inequalities and their boundary convention are written
    return d_an <= d_ap, d_an > d_ap + margin


def triplet_zone(d_ap, d_an, margin: float) -> Tensor:
    """Zone of triplets given their two distances: ``EASY`` (0), ``SEMIHARD`` (1) or ``HARD`` (2).

    The same inequalities and boundary convention as :func:`triplet_categories`, element-wise
    and broadcasting, for when the distances are already known (one anchor and positive against
    many negatives, a slider app): no ``(N, N, N)`` tensor is built.

    Args:
        d_ap: anchor-positive distances.
        d_an: anchor-negative distances, broadcastable with ``d_ap``.
        margin: the triplet margin, >= 0.

    Returns:
        An int64 tensor of zone codes with the broadcast shape.

    Shape:
        ``d_ap``: ``(*)``, ``d_an``: ``(*)`` -> ``(*)`` broadcast.

    Raises:
        ValueError: distances not finite, or ``margin < 0``.
    """
    d_ap, d_an = torch.as_tensor(d_ap), torch.as_tensor(d_an)
    for name, t in (("d_ap", d_ap), ("d_an", d_an)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite (no NaN or Inf)")
    margin = check_nonneg(margin, "margin")
    closer, beyond = _closer_beyond(d_ap, d_an, margin)
    zone = torch.full(closer.shape, SEMIHARD, dtype=torch.int64, device=closer.device)
    return zone.masked_fill(beyond, EASY).masked_fill(closer, HARD)


def _categories(dist: Tensor, labels: Tensor, margin: float) -> TripletCategories:
    # three (N, N, N) masks alive at once: the two comparisons become hard and easy in place, and
    # `valid` becomes semi-hard by removing them (they are disjoint subsets of it, as m >= 0)
    valid = _valid_mask(labels)  # (N, N, N)
    d_ap = dist[:, :, None]  # (N, N, 1)
    d_an = dist[:, None, :]  # (N, 1, N)
    closer, beyond = _closer_beyond(d_ap, d_an, margin)  # (N, N, N) each
    hard = closer.logical_and_(valid)
    easy = beyond.logical_and_(valid)
    return TripletCategories(
        easy=easy, semihard=valid.logical_xor_(hard).logical_xor_(easy), hard=hard
    )


def triplet_categories(dist: Tensor, labels, margin: float) -> TripletCategories:
    """Split the valid triplets of a batch into easy, semi-hard and hard ones.

    With ``m = margin``: easy ``d(a,n) > d(a,p) + m``; semi-hard ``d(a,p) < d(a,n) <= d(a,p) + m``;
    hard ``d(a,n) <= d(a,p)``. A negative exactly as far as the positive is hard; one exactly on
    the margin is semi-hard. The three masks are disjoint and together cover every valid triplet.
    The comparisons are exact on ``dist`` as given: build it with :func:`mining_distances` so that
    distances equal in the input are equal in ``dist`` (``pairwise_euclidean`` may leave ~1e-16
    between them, and then decides those triplets by round-off).

    Args:
        dist: pairwise distance matrix, ``dist[i, j] = d(x_i, x_j)`` (any distance).
        labels: integer class labels.
        margin: the triplet margin, >= 0.

    Returns:
        ``TripletCategories(easy, semihard, hard)``, boolean masks indexed ``[a, p, n]``.

    Shape:
        ``dist``: ``(N, N)``; ``labels``: ``(N,)`` -> three ``(N, N, N)`` masks.

    Raises:
        ValueError: ``dist`` not a finite square matrix, labels of the wrong length or not
            integers, ``margin < 0``, ``N^3`` over :data:`MAX_TRIPLET_ELEMENTS`.

    Reference:
        Schroff et al. 2015, FaceNet, https://arxiv.org/abs/1503.03832.
    """
    dist, labels = _check_dist(dist, labels)
    margin = check_nonneg(margin, "margin")
    _check_cubic(dist.shape[0], "dist")
    return _categories(dist, labels, margin)


def category_fractions(dist: Tensor, labels, margin: float) -> dict[str, float]:
    """Fractions of easy, semi-hard and hard triplets among the valid triplets of a batch.

    Args:
        dist: pairwise distance matrix.
        labels: integer class labels.
        margin: the triplet margin, >= 0.

    Returns:
        ``{"easy": ..., "semihard": ..., "hard": ...}``; they sum to 1, or are all 0.0 when the
        batch holds no valid triplet.

    Shape:
        ``dist``: ``(N, N)``; ``labels``: ``(N,)``.

    Raises:
        ValueError: as :func:`triplet_categories`.
    """
    cats = triplet_categories(dist, labels, margin)
    counts = {name: int(torch.count_nonzero(mask)) for name, mask in cats._asdict().items()}
    total = sum(counts.values())
    return {name: (c / total if total else 0.0) for name, c in counts.items()}


def mine_triplets(
    embeddings: Tensor,
    labels,
    margin: float = 0.2,
    strategy: str = "semihard",
    distance: str = "euclidean",
) -> tuple[Tensor, Tensor, Tensor]:
    """Pick triplets from a labelled batch, as index tensors ``(a, p, n)``.

    Strategies:

    * ``"all"``: every valid triplet, easy ones included (pytorch-metric-learning's
      ``TripletMarginMiner(type_of_triplets="all")`` is different: it drops the easy ones);
    * ``"easy"``, ``"semihard"``, ``"hard"``: every valid triplet of that category (see
      :func:`triplet_categories`; the same sets as pytorch-metric-learning's
      ``TripletMarginMiner(type_of_triplets=...)`` with a non-normalised ``LpDistance``);
    * ``"batch_hard"`` (Hermans et al. 2017): one triplet per anchor that has a positive and a
      negative: its farthest positive and its closest negative.

    Mining looks at distances only, computed from direct differences (:func:`mining_distances`) so
    that exact ties follow the boundary convention, and carries no gradient; feed the indices to
    :func:`cl_lessons.losses.triplet_loss` (``triplet_loss(x[a], x[p], x[n], margin)``). Triplets
    come in lexicographic ``(a, p, n)`` order. The category strategies and ``"all"`` build
    ``(N, N, N)`` masks, fine for lesson-sized batches (a few hundred) and refused beyond
    :data:`MAX_TRIPLET_ELEMENTS` (``N <= 512``); ``"batch_hard"`` is ``O(N^2)`` and unlimited.

    Args:
        embeddings: the batch.
        labels: integer class labels.
        margin: the margin that separates semi-hard from easy (FaceNet's 0.2 by default), >= 0.
        strategy: one of ``"all"``, ``"easy"``, ``"semihard"``, ``"hard"``, ``"batch_hard"``.
        distance: ``"euclidean"`` or ``"cosine"`` (``1 - cos``).

    Returns:
        Three ``long`` tensors of equal length ``T`` (possibly 0), on the embeddings' device.

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)`` -> ``(T,)``, ``(T,)``, ``(T,)``.

    Raises:
        ValueError: embeddings not ``(N, D)``, empty, NaN/Inf; bad labels; ``margin < 0``;
            unknown ``strategy`` or ``distance``; ``N^3`` over :data:`MAX_TRIPLET_ELEMENTS` for
            a strategy other than ``"batch_hard"``.

    References:
        Schroff et al. 2015, https://arxiv.org/abs/1503.03832;
        Hermans et al. 2017, https://arxiv.org/abs/1703.07737.
    """
    embeddings = check_embeddings(embeddings, "embeddings")
    labels = check_labels(labels, embeddings.shape[0], embeddings.device)
    margin = check_nonneg(margin, "margin")
    check_choice(strategy, "strategy", STRATEGIES)
    check_choice(distance, "distance", DISTANCES)
    if strategy != "batch_hard":
        _check_cubic(embeddings.shape[0], "embeddings")
    with torch.no_grad():
        dist = _decision_distance(embeddings, distance)  # (N, N) exact at ties
        if strategy == "batch_hard":
            pos, neg = _label_masks(labels)  # (N, N)
            anchors = torch.nonzero(pos.any(1) & neg.any(1)).squeeze(1)  # (T,)
            p = dist.masked_fill(~pos, -torch.inf).argmax(1)  # (N,) farthest positive
            n = dist.masked_fill(~neg, torch.inf).argmin(1)  # (N,) closest negative
            return anchors, p[anchors], n[anchors]
        if strategy == "all":
            mask = _valid_mask(labels)  # (N, N, N)
        else:
            mask = getattr(_categories(dist, labels, margin), strategy)  # (N, N, N)
        a, p, n = torch.nonzero(mask, as_tuple=True)  # (T,) each
        return a, p, n
