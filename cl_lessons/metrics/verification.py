"""Verification: ROC curve, AUC, equal error rate and the best threshold."""

from __future__ import annotations

import numpy as np

from cl_lessons.metrics._inputs import _check_scores_same


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
