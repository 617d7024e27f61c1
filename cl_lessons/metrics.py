"""Evaluation: verification (ROC, AUC, EER, threshold), retrieval, kNN, linear probe, and the
alignment / uniformity of Wang & Isola 2020.

Verification functions take ``scores`` (higher = more similar; pass ``-distance`` for distances)
and ``same`` (1 = the pair shows the same identity/class, 0 = different). Rule: a pair is called
"same" when ``score >= threshold``. They accept NumPy arrays, lists and torch tensors and return
Python floats / NumPy arrays. Embedding metrics accept tensors or arrays.

Every number should be measured on held-out data: on held-out *classes* for verification and
retrieval, on a held-out split for kNN and the linear probe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons.distances import pairwise_euclidean
from cl_lessons.losses import (
    DISTANCES,
    _check_choice,
    _check_embeddings,
    _check_labels,
    _pairwise_distance,
)

__all__ = [
    "alignment",
    "best_threshold",
    "equal_error_rate",
    "knn_accuracy",
    "linear_probe_accuracy",
    "recall_at_k",
    "roc_auc",
    "roc_curve",
    "uniformity",
]


# ----------------------------------------------------------------------------- input checks


def _to_numpy_1d(x, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16 or x.dtype == torch.float16:
            x = x.float()
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 1-D array of numbers") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_scores_same(scores, same, both_classes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    s = _to_numpy_1d(scores, "scores").astype(np.float64)
    y = _to_numpy_1d(same, "same")
    if s.shape[0] != y.shape[0]:
        raise ValueError(
            f"scores and same must have the same length, got {s.shape[0]} and {y.shape[0]}"
        )
    if not np.isfinite(s).all():
        raise ValueError("scores contains NaN or Inf values")
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:3].tolist()
        raise ValueError(f"same must be binary in {{0, 1}} (1 = same), got values {bad}")
    y = y.astype(bool)
    if both_classes and (y.all() or not y.any()):
        raise ValueError(
            "same must contain both classes (some 1 = same pairs and some 0 = different pairs), "
            f"got only {int(y[0])}"
        )
    return s, y


def _as_embeddings(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a 2-D array of numbers") from err
    return _check_embeddings(x, name)


def _check_k(k, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


# ----------------------------------------------------------------------------- verification


def _roc_points(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positive counts at each distinct threshold, highest threshold first."""
    order = np.argsort(-s, kind="mergesort")  # descending scores
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.shape[0] - 1]  # last index of each score value
    tp = np.cumsum(y)[last].astype(np.float64)
    fp = (last + 1) - tp
    return tp, fp, s[last]


def roc_curve(scores, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of a verification task: FAR and TAR at every distinct threshold.

    A pair is accepted as "same" when ``score >= threshold``. The first point is
    ``(0, 0)`` with threshold ``+inf`` (nothing accepted); the last is ``(1, 1)``.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for pairs of the same identity, 0 otherwise; both must occur.

    Returns:
        ``(far, tar, thresholds)``: false accept rate (= false positive rate), true accept rate
        (= true positive rate, recall), and the thresholds in decreasing order.

    Shape:
        ``scores``, ``same``: ``(M,)`` -> three arrays of length ``U + 1`` (``U`` distinct scores).

    Raises:
        ValueError: lengths differ, empty input, NaN/Inf scores, ``same`` not binary or with one
            class only.
    """
    s, y = _check_scores_same(scores, same)
    tp, fp, thr = _roc_points(s, y)
    tar = np.r_[0.0, tp / y.sum()]
    far = np.r_[0.0, fp / (~y).sum()]
    return far, tar, np.r_[np.inf, thr]


def roc_auc(scores, same) -> float:
    """Area under the ROC curve: the probability that a random "same" pair scores higher than a
    random "different" pair, ties counting one half (the Mann-Whitney U statistic).

    Equals ``sklearn.metrics.roc_auc_score(same, scores)``, ties included.

    Args:
        scores: similarity scores, higher = more similar (pass ``-distance`` for distances).
        same: 1 for same pairs, 0 for different pairs; both must occur.

    Returns:
        The AUC in [0, 1]; 0.5 is chance.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: lengths differ, empty input, NaN/Inf scores, ``same`` not binary or with one
            class only.
    """
    s, y = _check_scores_same(scores, same)
    tp, fp, _ = _roc_points(s, y)
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    # trapezoids; a tie between the classes gives a diagonal segment: the "one half" rule
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)


def equal_error_rate(scores, same) -> tuple[float, float]:
    """Equal error rate: where the false accept rate equals the false reject rate.

    Walking the ROC curve from the strictest threshold, FRR = 1 - TAR falls and FAR rises; the
    EER is where they cross, linearly interpolated between the two ROC points that bracket the
    crossing (the usual convention of speaker and face verification). The threshold is
    interpolated the same way between those two points' thresholds.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for same pairs, 0 for different pairs; both must occur.

    Returns:
        ``(eer, threshold)``: the EER in [0, 1] and a score threshold near the crossing.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: as :func:`roc_auc`.
    """
    far, tar, thr = roc_curve(scores, same)
    gap = (1.0 - tar) - far  # FRR - FAR: 1 at the first point, -1 at the last
    i = int(np.argmax(gap <= 0))  # first point where FRR <= FAR (i >= 1)
    g0, g1 = gap[i - 1], gap[i]
    w = g0 / (g0 - g1)  # in (0, 1]
    eer = far[i - 1] + w * (far[i] - far[i - 1])
    t0, t1 = thr[i - 1], thr[i]
    threshold = t1 if not np.isfinite(t0) else t0 + w * (t1 - t0)
    return float(eer), float(threshold)


def best_threshold(scores, same) -> tuple[float, float]:
    """The threshold with the highest accuracy on these pairs (rule: "same" iff score >= t).

    Choose it on a validation set and report accuracy on a test set: the accuracy returned here
    is measured on the very pairs the threshold was fitted to, so it is optimistic.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for same pairs, 0 for different pairs (one class alone is allowed).

    Returns:
        ``(threshold, accuracy)``. The threshold is the midpoint between the two neighbouring
        distinct scores where the cut falls (the lowest score if everything is accepted, just
        above the highest if nothing is). Ties in accuracy go to the highest threshold.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: lengths differ, empty input, NaN/Inf scores, ``same`` not binary.
    """
    s, y = _check_scores_same(scores, same, both_classes=False)
    tp, fp, thr = _roc_points(s, y)
    n_neg = (~y).sum()
    correct = np.r_[n_neg, tp + (n_neg - fp)]  # accept nothing, then each cut
    best = int(np.argmax(correct))  # first maximum = highest threshold
    if best == 0:
        threshold = float(np.nextafter(thr[0], np.inf))
    elif best == thr.shape[0]:
        threshold = float(thr[-1])
    else:
        threshold = float((thr[best - 1] + thr[best]) / 2.0)
        if threshold <= thr[best]:  # neighbours one ulp apart
            threshold = float(thr[best])
    return threshold, float(correct[best] / s.shape[0])


# ----------------------------------------------------------------------------- retrieval and kNN


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
    labels = _check_labels(labels, x.shape[0], x.device)
    _check_choice(distance, "distance", DISTANCES)
    ks = [k] if isinstance(k, Integral) else list(k) if isinstance(k, Sequence) else [k]
    if not ks:
        raise ValueError("k is an empty sequence")
    ks = [_check_k(kk) for kk in ks]
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
    ytr = _check_labels(train_labels, xtr.shape[0], xtr.device, "train_labels")
    yte = _check_labels(test_labels, xte.shape[0], xtr.device, "test_labels")
    k = _check_k(k)
    if k > xtr.shape[0]:
        raise ValueError(f"k must be <= the training set size {xtr.shape[0]}, got {k}")
    _check_choice(distance, "distance", DISTANCES)
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


def linear_probe_accuracy(
    train_feats,
    train_labels,
    test_feats,
    test_labels,
    C: float = 1.0,
    max_iter: int = 1000,
    threads: int | None = 1,
) -> float:
    """Linear evaluation protocol: logistic regression on frozen, standardised features.

    The features are standardised with the training set's mean and standard deviation, a
    scikit-learn ``LogisticRegression`` (L2, ``lbfgs``) is fitted on the training split, and the
    accuracy is measured on the held-out test split (Chen et al. 2020, SimCLR, Sec. 4).

    Args:
        train_feats: frozen features of the training split.
        train_labels: their integer labels (at least two classes).
        test_feats: frozen features of the held-out split.
        test_labels: their labels.
        C: inverse L2 regularisation strength, > 0.
        max_iter: iteration limit of the solver.
        threads: BLAS/OpenMP threads for the fit (``None``: the library default). One thread is
            the default: a lesson-sized probe gains nothing from more, and spinning BLAS threads
            slow everything down on a busy 2-core machine (measured: 1 s with one thread, ~30 s
            with two while other processes shared the cores).

    Returns:
        The test accuracy in [0, 1].

    Shape:
        ``train_feats``: ``(N, D)``, ``test_feats``: ``(M, D)``, labels ``(N,)`` and ``(M,)``.

    Raises:
        ValueError: bad features or labels, mismatched lengths or feature sizes, a single class
            in ``train_labels``, ``C <= 0``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    xtr = _as_embeddings(train_feats, "train_feats").detach().cpu().double().numpy()
    xte = _as_embeddings(test_feats, "test_feats").detach().cpu().double().numpy()
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(
            f"train_feats and test_feats must have the same feature size, got {xtr.shape[1]} "
            f"and {xte.shape[1]}"
        )
    ytr = _check_labels(train_labels, xtr.shape[0], None, "train_labels").cpu().numpy()
    yte = _check_labels(test_labels, xte.shape[0], None, "test_labels").cpu().numpy()
    if np.unique(ytr).shape[0] < 2:
        raise ValueError("train_labels must contain at least two classes")
    if isinstance(C, bool) or not isinstance(C, Real) or not C > 0 or not math.isfinite(C):
        raise ValueError(f"C must be a finite number > 0, got {C!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    with threadpool_limits(limits=threads):
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(C=C, max_iter=max_iter)
        clf.fit(scaler.transform(xtr), ytr)
        return float((clf.predict(scaler.transform(xte)) == yte).mean())


# ----------------------------------------------------------------------------- alignment/uniformity


def _as_float_tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return _check_embeddings(x, name)
    return _as_embeddings(x, name)


def alignment(z1, z2, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    """Alignment of positive pairs, Wang & Isola 2020: ``E ||f(x) - f(y)||^alpha``.

    Lower is better (positives close). The paper defines it on the unit hypersphere, so the rows
    are L2-normalised first (``normalize=False`` skips that for inputs already on the sphere or to
    study raw embeddings). Differentiable, so it can also be used as a loss.

    Args:
        z1: embeddings of the first items of positive pairs.
        z2: embeddings of their partners.
        alpha: exponent, > 0 (the paper uses 2).
        normalize: L2-normalise the rows first.

    Returns:
        A scalar tensor, in [0, 2**alpha] on the sphere.

    Shape:
        ``z1``, ``z2``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty, NaN/Inf, ``alpha <= 0``.

    Reference:
        Wang & Isola 2020, https://arxiv.org/abs/2005.10242.
    """
    z1 = _as_float_tensor(z1, "z1")
    z2 = _as_float_tensor(z2, "z2")
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    if normalize:
        z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    diff = z1 - z2  # (N, D)
    sq = (diff * diff).sum(1)  # (N,)
    if alpha == 2:
        return sq.mean()
    # sq ** (alpha / 2) with a zero (not NaN) gradient where two embeddings coincide
    safe = torch.where(sq > 0, sq, torch.ones_like(sq))
    return torch.where(sq > 0, safe.pow(alpha / 2.0), torch.zeros_like(sq)).mean()


def uniformity(z, t: float = 2.0, normalize: bool = True) -> Tensor:
    """Uniformity, Wang & Isola 2020: ``log E_{i<j} exp(-t ||z_i - z_j||^2)``.

    Lower (more negative) is more uniform on the sphere; the average runs over the ``N(N-1)/2``
    distinct pairs, as ``torch.pdist`` in the paper's code. Rows are L2-normalised first
    (``normalize=False`` to skip). Computed with a log-sum-exp, so it stays finite for large ``t``.

    Args:
        z: embeddings.
        t: > 0 (the paper uses 2).
        normalize: L2-normalise the rows first.

    Returns:
        A scalar tensor, in ``[-4t, 0]`` on the sphere.

    Shape:
        ``z``: ``(N, D)`` with ``N >= 2`` -> ``()``.

    Raises:
        ValueError: ``z`` not ``(N, D)``, fewer than two rows, NaN/Inf, ``t <= 0``.

    Reference:
        Wang & Isola 2020, https://arxiv.org/abs/2005.10242.
    """
    z = _as_float_tensor(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"z needs at least two rows for pairs, got {z.shape[0]}")
    if isinstance(t, bool) or not isinstance(t, Real) or not t > 0 or not math.isfinite(t):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    if normalize:
        z = F.normalize(z, dim=1)
    n = z.shape[0]
    sq = pairwise_euclidean(z, squared=True)  # (N, N)
    iu = torch.triu_indices(n, n, offset=1, device=z.device)  # (2, N(N-1)/2)
    vals = -t * sq[iu[0], iu[1]]  # (N(N-1)/2,)
    return torch.logsumexp(vals, 0) - math.log(vals.shape[0])
