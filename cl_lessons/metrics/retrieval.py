"""Retrieval and nearest neighbours: recall@k and k-NN accuracy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import check_choice, check_labels, check_positive_int
from cl_lessons.distances import _unit
from cl_lessons.losses._common import DISTANCES
from cl_lessons.metrics._inputs import _as_embeddings, _centred, _row_blocks, _sq_rows


def _nearest_others(x: Tensor, k: int, distance: str) -> Tensor:
    """``(N, k)``: each row's ``k`` nearest other rows, nearest first, block by block.

    Each block holds rows of ``_pairwise_distance(x, distance)`` by the same operations
    (centred ``||x||^2 + ||y||^2 - 2 x.y`` clamped at 0 with the safe square root, or
    ``1 - cos``) with the row's own entry at ``+inf``, and ``topk`` ranks each row alone, ties
    included, as in the whole matrix. Only the matrix product may round differently (MKL picks
    its kernel by size), which can swap two distances equal to within round-off, never more.
    """
    n = x.shape[0]
    out = torch.empty(n, k, dtype=torch.long, device=x.device)
    if distance == "euclidean":
        xc, x2 = _centred(x)
        tiny = torch.finfo(x.dtype).tiny
    else:
        xn = _unit(x)  # (N, D) as pairwise_cosine_similarity
    for s, e in _row_blocks(n, n):
        if distance == "euclidean":
            d = _sq_rows(xc, x2, s, e)  # (c, N) squared
            small = d <= tiny
            d = d.sqrt_().masked_fill_(small, 0.0)  # as safe_sqrt
        else:
            d = (xn[s:e] @ xn.T).neg_().add_(1.0)  # (c, N) 1 - cos
        d.diagonal(offset=s).fill_(math.inf)  # never retrieve yourself
        out[s:e] = d.topk(k, dim=1, largest=False).indices
    return out


def recall_at_k(embeddings, labels, k: int | Sequence[int], distance: str = "euclidean"):
    """Recall@k of leave-one-out retrieval: each item queries all the others.

    A query counts as a hit when at least one of its ``k`` nearest *other* items has its label
    (a query never retrieves itself). Queries whose class has no other member can never hit and
    are left out of the average. This is the Recall@K of deep metric learning benchmarks
    (Oh Song et al. 2016, https://arxiv.org/abs/1511.06452). The distances are computed in blocks
    of queries (never the whole ``(N, N)`` matrix), so ``N = 40000`` needs well under 1 GB.

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
        nn_idx = _nearest_others(x.detach(), max(ks), distance)  # (N, K)
        match = labels[nn_idx] == labels[:, None]  # (N, K)
        _, inverse, sizes = torch.unique(labels, return_inverse=True, return_counts=True)
        has_mate = sizes[inverse] > 1  # (N,) the class has another member
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
    labels goes to the label whose nearest member is closest. Test items are classified in blocks
    (never the whole ``(M, N)`` distance matrix), so 20000 against 60000 needs well under 1 GB.

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
    m, n = xte.shape[0], xtr.shape[0]
    # cdist picks its algorithm by size (a matrix product past 25 rows): fix the whole problem's
    # choice, so that every block gets the distances the whole matrix would have (up to the
    # round-off of the matrix product, as in _nearest_others)
    mode = "use_mm_for_euclid_dist" if m > 25 or n > 25 else "donot_use_mm_for_euclid_dist"
    correct = 0
    with torch.no_grad():
        classes, ytr_idx = torch.unique(ytr, return_inverse=True)
        if distance == "cosine":
            xtr, xte = F.normalize(xtr, dim=1), F.normalize(xte, dim=1)
        bonus = k - torch.arange(k, device=xtr.device)  # (k,) nearer = larger
        for s, e in _row_blocks(m, n):
            if distance == "euclidean":
                d = torch.cdist(xte[s:e], xtr, compute_mode=mode)  # (c, N)
            else:
                d = -(xte[s:e] @ xtr.T)  # (c, N)
            nn_idx = d.topk(k, dim=1, largest=False).indices  # (c, k), nearest first
            votes_for = ytr_idx[nn_idx]  # (c, k) class index of each neighbour
            counts = torch.zeros(e - s, classes.shape[0], dtype=torch.long, device=xtr.device)
            counts.scatter_add_(1, votes_for, torch.ones_like(votes_for))
            rank_bonus = torch.zeros_like(counts)
            rank_bonus.scatter_reduce_(1, votes_for, bonus.expand(e - s, k), reduce="amax")
            pred = classes[(counts * (k + 1) + rank_bonus).argmax(1)]  # (c,)
            correct += int((pred == yte[s:e]).sum())
    return correct / m
