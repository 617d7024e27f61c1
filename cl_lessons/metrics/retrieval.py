"""Retrieval and nearest neighbours: recall@k and k-NN accuracy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import torch
import torch.nn.functional as F

from cl_lessons._checks import check_choice, check_labels, check_positive_int
from cl_lessons.losses._common import DISTANCES, _pairwise_distance
from cl_lessons.metrics._inputs import _as_embeddings


def recall_at_k(embeddings, labels, k: int | Sequence[int], distance: str = "euclidean"):
    """Recall@k of leave-one-out retrieval: each item queries all the others.

    A query counts as a hit when at least one of its ``k`` nearest *other* items has its label
    (a query never retrieves itself). Queries whose class has no other member can never hit and
    are left out of the average. This is the Recall@K of deep metric learning benchmarks
    (Oh Song et al. 2016, https://arxiv.org/abs/1511.06452).

    Args:
        embeddings: the gallery, which is also the set of queries.
        labels: integer class labels.
        k: a positive integer, or a sequence of them (then a dict is returned).
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The recall in [0, 1], or ``{k: recall}`` for a sequence of ``k``.

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)``.

    Raises:
        ValueError: bad embeddings or labels, ``k`` not a positive integer or ``k > N - 1``,
            unknown ``distance``, or no class with at least two members.
    """
    x = _as_embeddings(embeddings, "embeddings")
    labels = check_labels(labels, x.shape[0], x.device)
    check_choice(distance, "distance", DISTANCES)
    ks = [k] if isinstance(k, Integral) else list(k) if isinstance(k, Sequence) else [k]
    if not ks:
        raise ValueError("k is an empty sequence")
    ks = [check_positive_int(kk, "k") for kk in ks]
    n = x.shape[0]
    if max(ks) > n - 1:
        raise ValueError(f"k must be <= N - 1 = {n - 1} (leave-one-out), got {max(ks)}")
    with torch.no_grad():
        dist = _pairwise_distance(x.detach(), distance)  # (N, N)
        dist.fill_diagonal_(math.inf)  # never retrieve yourself
        nn_idx = dist.topk(max(ks), dim=1, largest=False).indices  # (N, K)
        match = labels[nn_idx] == labels[:, None]  # (N, K)
        has_mate = (labels[:, None] == labels[None, :]).sum(1) > 1  # (N,)
    if not bool(has_mate.any()):
        raise ValueError("labels: no class has two members, so no query can find a match")
    hits = match[has_mate].cummax(1).values.double().mean(0)  # (K,) recall at 1..K
    result = {kk: float(hits[kk - 1]) for kk in ks}
    return result[ks[0]] if isinstance(k, Integral) else result


def knn_accuracy(
    train_emb,
    train_labels,
    test_emb,
    test_labels,
    k: int = 1,
    distance: str = "euclidean",
) -> float:
    """Accuracy of a k-nearest-neighbour classifier on frozen embeddings.

    Each test item takes the majority label of its ``k`` nearest training items; a tie between
    labels goes to the label whose nearest member is closest.

    Args:
        train_emb: embeddings of the labelled reference set.
        train_labels: their integer labels.
        test_emb: embeddings to classify (held out from training).
        test_labels: their true labels.
        k: number of neighbours, ``1 <= k <= len(train)``.
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The accuracy in [0, 1].

    Shape:
        ``train_emb``: ``(N, D)``, ``train_labels``: ``(N,)``, ``test_emb``: ``(M, D)``,
        ``test_labels``: ``(M,)``.

    Raises:
        ValueError: bad embeddings or labels, mismatched lengths or feature sizes, bad ``k``,
            unknown ``distance``.
    """
    xtr = _as_embeddings(train_emb, "train_emb")
    xte = _as_embeddings(test_emb, "test_emb")
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(
            f"train_emb and test_emb must have the same feature size, got {xtr.shape[1]} "
            f"and {xte.shape[1]}"
        )
    ytr = check_labels(train_labels, xtr.shape[0], xtr.device, "train_labels")
    yte = check_labels(test_labels, xte.shape[0], xtr.device, "test_labels")
    k = check_positive_int(k, "k")
    if k > xtr.shape[0]:
        raise ValueError(f"k must be <= the training set size {xtr.shape[0]}, got {k}")
    check_choice(distance, "distance", DISTANCES)
    xte = xte.to(device=xtr.device, dtype=torch.promote_types(xtr.dtype, xte.dtype))
    xtr = xtr.to(xte.dtype)
    with torch.no_grad():
        if distance == "euclidean":
            d = torch.cdist(xte, xtr)  # (M, N)
        else:
            d = -(F.normalize(xte, dim=1) @ F.normalize(xtr, dim=1).T)  # (M, N)
        nn_idx = d.topk(k, dim=1, largest=False).indices  # (M, k), nearest first
        classes, ytr_idx = torch.unique(ytr, return_inverse=True)
        votes_for = ytr_idx[nn_idx]  # (M, k) class index of each neighbour
        m, c = xte.shape[0], classes.shape[0]
        counts = torch.zeros(m, c, dtype=torch.long, device=xtr.device)
        counts.scatter_add_(1, votes_for, torch.ones_like(votes_for))
        rank_bonus = torch.zeros(m, c, dtype=torch.long, device=xtr.device)
        bonus = (k - torch.arange(k, device=xtr.device)).expand(m, k)  # nearer = larger
        rank_bonus.scatter_reduce_(1, votes_for, bonus, reduce="amax")
        pred = classes[(counts * (k + 1) + rank_bonus).argmax(1)]  # (M,)
    return float((pred == yte).double().mean())
