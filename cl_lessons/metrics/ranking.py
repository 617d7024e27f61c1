"""Ranking quality of leave-one-out retrieval: precision@k and MAP@R (Musgrave et al. 2020)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor

from cl_lessons._checks import check_choice, check_labels, check_positive_int
from cl_lessons.distances import pairwise_cosine_similarity
from cl_lessons.losses._common import DISTANCES
from cl_lessons.metrics._inputs import _as_embeddings, _centred, _row_blocks, _sq_rows


def _prepare(embeddings, labels, distance: str) -> tuple[Tensor, Tensor, Tensor]:
    """Checked ``x`` (detached), labels (long) and each item's number of *other* class members."""
    x = _as_embeddings(embeddings, "embeddings").detach()
    labels = check_labels(labels, x.shape[0], x.device)
    check_choice(distance, "distance", DISTANCES)
    _, inverse, sizes = torch.unique(labels, return_inverse=True, return_counts=True)
    mates = sizes[inverse] - 1  # (N,) R of each query: the other members of its class
    if not bool((mates > 0).any()):
        raise ValueError("labels: no class has two members, so no query can find a match")
    return x, labels, mates


def _ranked_others(x: Tensor, m: Tensor, distance: str):
    """Yield ``(s, e, idx)`` per block of queries: ``idx`` ``(e - s, max m[s:e])`` lists each
    query's nearest *other* items, nearest first, ties broken by index (the lower one first).

    The distances are those of ``_pairwise_distance(x, distance)`` (centred
    ``||x||^2 + ||y||^2 - 2 x.y`` clamped at 0 with the safe square root, or ``1 - cos``),
    computed block by block, so neither the result nor its tie order depends on the block size.
    """
    n = x.shape[0]
    if distance == "euclidean":
        xc, x2 = _centred(x)
        tiny = torch.finfo(x.dtype).tiny
    for s, e in _row_blocks(n, n):
        width = int(m[s:e].max())
        if width == 0:
            yield s, e, torch.empty(e - s, 0, dtype=torch.long, device=x.device)
            continue
        if distance == "euclidean":
            d = _sq_rows(xc, x2, s, e)  # (c, N) squared
            small = d <= tiny
            d = d.sqrt_().masked_fill_(small, 0.0)  # as safe_sqrt
        else:
            d = 1.0 - pairwise_cosine_similarity(x[s:e], x)  # (c, N)
        d.diagonal(offset=s).fill_(math.inf)  # never retrieve yourself
        # the width-th smallest distance is unique whatever topk does with ties: keep everything
        # strictly closer, then the tied items at that distance in index order until width
        t = d.topk(width, dim=1, largest=False).values[:, -1:]  # (c, 1)
        closer = d < t  # (c, N)
        tied = d == t  # (c, N)
        room = width - closer.sum(1, keepdim=True)  # (c, 1) >= 1
        keep = closer | (tied & (tied.cumsum(1, dtype=torch.int32) <= room))  # width per row
        idx = keep.nonzero()[:, 1].view(e - s, width)  # (c, width), ascending index
        order = d.gather(1, idx).sort(dim=1, stable=True).indices  # by distance, then index
        yield s, e, idx.gather(1, order)


def precision_at_k(embeddings, labels, k: int | Sequence[int], distance: str = "euclidean"):
    """Precision@k of leave-one-out retrieval: the share of the ``k`` nearest others that match.

    Each item queries all the others (never itself); its precision@k is the fraction of its
    ``k`` nearest other items that carry its label, and the result is the mean over queries whose
    class has another member (as in :func:`recall_at_k`). At equal distances the item with the
    lower index ranks first, so the value never depends on the order of a sort. Unlike recall@k,
    a query of a class with ``R < k`` other members can at best reach ``R / k``. Distances are
    computed in blocks of queries, never the whole ``(N, N)`` matrix.

    Args:
        embeddings: the gallery, which is also the set of queries.
        labels: integer class labels.
        k: a positive integer, or a sequence of them (then a dict is returned).
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The precision in [0, 1], or ``{k: precision}`` for a sequence of ``k``.

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)``.

    Raises:
        ValueError: bad embeddings or labels, ``k`` not a positive integer or ``k > N - 1``,
            unknown ``distance``, or no class with at least two members.
    """
    x, labels, mates = _prepare(embeddings, labels, distance)
    ks = [k] if isinstance(k, Integral) else list(k) if isinstance(k, Sequence) else [k]
    if not ks:
        raise ValueError("k is an empty sequence")
    ks = [check_positive_int(kk, "k") for kk in ks]
    n, kmax = x.shape[0], max(ks)
    if kmax > n - 1:
        raise ValueError(f"k must be <= N - 1 = {n - 1} (leave-one-out), got {kmax}")
    width = torch.full((n,), kmax, dtype=torch.long, device=x.device)
    hits = torch.zeros(kmax, dtype=torch.float64, device=x.device)
    with torch.no_grad():
        for s, e, idx in _ranked_others(x, width, distance):
            match = labels[idx] == labels[s:e, None]  # (c, kmax)
            hits += match[mates[s:e] > 0].cumsum(1).sum(0).double()  # (kmax,) hits within 1..kmax
    scale = torch.arange(1, kmax + 1, dtype=torch.float64, device=x.device)
    prec = hits / scale / int((mates > 0).sum())  # (kmax,) precision at 1..kmax
    result = {kk: float(prec[kk - 1]) for kk in ks}
    return result[ks[0]] if isinstance(k, Integral) else result


def map_at_r(embeddings, labels, distance: str = "euclidean") -> float:
    """MAP@R, the mean average precision at R of Musgrave, Belongie & Lim 2020.

    For a query whose class has ``R`` other members, retrieve its ``R`` nearest other items and
    average the precision at each rank ``i`` where a match was found:

    ``AP@R = (1 / R) * sum_{i=1..R} P(i) * rel(i)``, with ``rel(i) = 1`` when the item at rank
    ``i`` has the query's label and ``P(i)`` the precision of the first ``i``.

    MAP@R is the mean over the queries with ``R >= 1``. It is 1 only when every query's class
    fills the first ``R`` places, so, unlike recall@k, it rewards a whole class being gathered and
    ranked first, not just one lucky neighbour ("A Metric Learning Reality Check", ECCV 2020,
    https://arxiv.org/abs/2003.08505; the ``mean_average_precision_at_r`` of
    pytorch-metric-learning's ``AccuracyCalculator``). At equal distances the lower index ranks
    first. Queries are processed in blocks, so memory stays bounded whatever ``N`` is.

    Args:
        embeddings: the gallery, which is also the set of queries.
        labels: integer class labels.
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        MAP@R in [0, 1].

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)``.

    Raises:
        ValueError: bad embeddings or labels, unknown ``distance``, or no class with at least
            two members.
    """
    x, labels, mates = _prepare(embeddings, labels, distance)
    total = 0.0
    with torch.no_grad():
        for s, e, idx in _ranked_others(x, mates, distance):
            r = mates[s:e]  # (c,)
            ranks = torch.arange(1, idx.shape[1] + 1, device=x.device)  # (W,)
            rel = (labels[idx] == labels[s:e, None]) & (ranks[None, :] <= r[:, None])  # (c, W)
            precision = rel.cumsum(1).double() / ranks  # (c, W) P(i)
            ap = (precision * rel).sum(1) / r.clamp_min(1)  # (c,) 0 for lone queries
            total += float(ap[r > 0].sum())
    return total / int((mates > 0).sum())
