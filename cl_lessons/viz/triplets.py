"""Easy, semi-hard and hard negatives of an anchor, computed and drawn."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes

from cl_lessons.viz._inputs import _finite, _new_ax, _to_numpy
from cl_lessons.viz.colors import POSITIVE, ZONE_COLORS, ZONE_NAMES


def negative_zones(anchor, positive, negatives, margin: float) -> np.ndarray:
    """Zone of each negative for one (anchor, positive) pair: 0 easy, 1 semi-hard, 2 hard.

    The zones come from :func:`cl_lessons.miners.triplet_zone`, the miners' single definition
    of the FaceNet inequalities and their boundary convention.

    Args:
        anchor: the anchor point.
        positive: the positive point.
        negatives: the negative points.
        margin: the triplet margin (>= 0).

    Returns:
        An int array, one zone index per negative (see :data:`ZONE_NAMES`).

    Shape:
        ``anchor``, ``positive``: ``(D,)``, ``negatives``: ``(K, D)`` -> ``(K,)``.

    Raises:
        ValueError: shapes do not agree, inputs are empty or not finite, ``margin < 0``.
    """
    from cl_lessons import miners
    from cl_lessons.distances import euclidean

    a = _finite(_to_numpy(anchor, "anchor", ndim=1), "anchor")
    p = _finite(_to_numpy(positive, "positive", ndim=1), "positive")
    neg = _finite(_to_numpy(negatives, "negatives", ndim=2), "negatives")
    if p.shape != a.shape or neg.shape[1] != a.shape[0]:
        raise ValueError(
            f"anchor {a.shape}, positive {p.shape} and negatives {neg.shape} must share dimension D"
        )
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    a_t = torch.as_tensor(a, dtype=torch.float64)  # (D,)
    d_ap = euclidean(a_t, torch.as_tensor(p, dtype=torch.float64))  # ()
    d_an = euclidean(a_t.expand(len(neg), -1), torch.as_tensor(neg, dtype=torch.float64))  # (K,)
    return miners.triplet_zone(d_ap, d_an, margin).numpy()


def plot_triplet_zones(
    anchor, positive, negatives, margin: float, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """2-D picture of the triplet zones around an anchor, negatives coloured by zone.

    With ``d_ap = d(anchor, positive)``, a negative is *hard* inside the disc of radius
    ``d_ap`` (it is closer than the positive), *semi-hard* in the ring out to ``d_ap + margin``
    (farther than the positive but still violating the margin) and *easy* outside (zero loss).
    FaceNet, Schroff et al. 2015, https://arxiv.org/abs/1503.03832.

    Args:
        anchor: the anchor point.
        positive: the positive point.
        negatives: negative points.
        margin: the triplet margin (>= 0).
        ax: Axes to draw on; None makes a new figure.
        title: the title; None states the margin and the zone counts.

    Returns:
        The Axes.

    Shape:
        ``anchor``, ``positive``: ``(2,)``, ``negatives``: ``(K, 2)``.

    Raises:
        ValueError: as :func:`negative_zones`, or the points are not 2-D.
    """
    from matplotlib.patches import Annulus, Circle

    zones = negative_zones(anchor, positive, negatives, margin)
    a = _to_numpy(anchor, "anchor", ndim=1)
    p = _to_numpy(positive, "positive", ndim=1)
    neg = _to_numpy(negatives, "negatives", ndim=2)
    if a.shape[0] != 2:
        raise ValueError(f"plot_triplet_zones needs 2-D points, got dimension {a.shape[0]}")
    d_ap = float(np.linalg.norm(p - a))
    ax = _new_ax(ax)
    if margin > 0:
        ring = Annulus(a, d_ap + margin, margin, color=ZONE_COLORS["semi-hard"], alpha=0.18, lw=0)
        ax.add_patch(ring)
    ax.add_patch(Circle(a, d_ap, color=ZONE_COLORS["hard"], alpha=0.15, lw=0))
    colors = np.array([ZONE_COLORS[name] for name in ZONE_NAMES])
    ax.scatter(neg[:, 0], neg[:, 1], s=14, c=colors[zones], linewidths=0)
    ax.plot(*a, "*", color="black", ms=14, label="anchor")
    ax.plot(*p, "o", color=POSITIVE, ms=9, mec="black", label="positive")
    for z, name in enumerate(ZONE_NAMES):
        ax.scatter([], [], color=colors[z], s=14, label=f"{name} ({int((zones == z).sum())})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    ax.legend(fontsize="small", loc="upper right")
    if title is None:
        title = f"Triplet zones, margin = {margin:.2f}"
    ax.set_title(title)
    return ax
