"""Verification plots: distance histograms of positive and negative pairs, and ROC curves."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from cl_lessons._checks import check_finite, check_int
from cl_lessons.viz._inputs import _binary, _finite, _new_ax, _to_numpy
from cl_lessons.viz.colors import NEGATIVE, POSITIVE


def plot_distance_histograms(
    d_pos,
    d_neg,
    threshold: float | None = None,
    margin: float | None = None,
    ax: Axes | None = None,
    bins: int = 40,
    xlabel: str = "distance",
    title: str = "Distances of positive and negative pairs",
) -> Axes:
    """Overlaid histograms of positive-pair and negative-pair distances (or scores).

    Args:
        d_pos: distances of positive (same-class) pairs.
        d_neg: distances of negative (different-class) pairs.
        threshold: draw the decision threshold as a solid line.
        margin: draw the contrastive margin as a dashed line.
        ax: Axes to draw on; None makes a new figure.
        bins: number of bins shared by both histograms.
        xlabel: label of the x axis ("distance", "cosine similarity", ...).
        title: the title.

    Returns:
        The Axes.

    Shape:
        ``d_pos``: ``(P,)``, ``d_neg``: ``(M,)``.

    Raises:
        ValueError: an input is empty or holds NaN/inf; ``bins < 1``.
    """
    pos = _finite(_to_numpy(d_pos, "d_pos", ndim=1), "d_pos")
    neg = _finite(_to_numpy(d_neg, "d_neg", ndim=1), "d_neg")
    bins = check_int(bins, "bins", 1)
    threshold = None if threshold is None else check_finite(threshold, "threshold")
    margin = None if margin is None else check_finite(margin, "margin")
    ax = _new_ax(ax)
    lo, hi = float(min(pos.min(), neg.min())), float(max(pos.max(), neg.max()))
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    ax.hist(
        pos, bins=edges, color=POSITIVE, alpha=0.55, density=True, label=f"positive ({len(pos)})"
    )
    ax.hist(
        neg, bins=edges, color=NEGATIVE, alpha=0.55, density=True, label=f"negative ({len(neg)})"
    )
    if threshold is not None:
        ax.axvline(threshold, color="black", lw=1.5, label=f"threshold = {threshold:.2f}")
    if margin is not None:
        ax.axvline(margin, color="black", lw=1.5, ls="--", label=f"margin = {margin:.2f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def _check_scores(scores, same) -> tuple[np.ndarray, np.ndarray]:
    s = _finite(_to_numpy(scores, "scores", ndim=1), "scores")
    y = _binary(same, len(s))
    if y.all() or (~y).all():
        raise ValueError("same must contain both positive (1) and negative (0) pairs")
    return s, y


def _rates_at(scores: np.ndarray, same: np.ndarray, thresholds: np.ndarray):
    """FAR and TAR when ``score >= threshold`` means "same", for every threshold (vectorised)."""
    pos = np.sort(scores[same])
    neg = np.sort(scores[~same])
    tar = 1.0 - np.searchsorted(pos, thresholds, side="left") / len(pos)
    far = 1.0 - np.searchsorted(neg, thresholds, side="left") / len(neg)
    return far, tar


def plot_roc(
    scores, same, threshold: float | None = None, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """ROC curve of a verification score: true accept rate against false accept rate.

    A pair is accepted as "same" when ``score >= threshold``, so higher scores must mean more
    similar (pass ``-distance`` for distances).

    Args:
        scores: similarity score of each pair.
        same: 1 (or True) for pairs of the same class/identity, 0 otherwise.
        threshold: mark the operating point of this threshold.
        ax: Axes to draw on; None makes a new figure.
        title: the title; None writes the AUC.

    Returns:
        The Axes.

    Shape:
        ``scores``, ``same``: ``(N,)``.

    Raises:
        ValueError: lengths differ, NaN scores, labels not 0/1, or only one class present.
    """
    from cl_lessons import metrics

    s, y = _check_scores(scores, same)
    far, tar, _ = metrics.roc_curve(s, y)
    auc = metrics.roc_auc(s, y)
    ax = _new_ax(ax, figsize=(4.2, 4.0))
    ax.plot(np.asarray(far), np.asarray(tar), color=POSITIVE, lw=2, label=f"AUC = {float(auc):.3f}")
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="chance")
    if threshold is not None:
        threshold = check_finite(threshold, "threshold")
        f, t = _rates_at(s, y, np.array([threshold]))
        ax.plot(f, t, "o", color=NEGATIVE, ms=8, label=f"threshold = {threshold:.2f}")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("true accept rate (TAR = 1 - FRR)")
    ax.set_title(title if title is not None else f"ROC, AUC = {float(auc):.3f}")
    ax.legend(loc="lower right", fontsize="small")
    return ax
