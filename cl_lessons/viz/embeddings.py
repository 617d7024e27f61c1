"""2-D embeddings coloured by class, and distance matrices."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from cl_lessons._checks import check_bool
from cl_lessons.viz._inputs import _finite, _labels, _new_ax, _to_numpy
from cl_lessons.viz.colors import PALETTE, _label_colors


def plot_embedding_2d(
    points,
    labels=None,
    ax: Axes | None = None,
    title: str = "Embedding",
    s: float = 14.0,
    legend: bool = True,
) -> Axes:
    """Scatter a 2-D embedding, one colour per class.

    Args:
        points: the 2-D points.
        labels: integer class ids, or None for one colour.
        ax: Axes to draw on; None makes a new figure.
        title: the title.
        s: marker size.
        legend: add a legend with one entry per class (up to 12 classes).

    Returns:
        The Axes.

    Shape:
        ``points``: ``(N, 2)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: ``points`` is not a non-empty finite ``(N, 2)`` array, or ``labels`` has
            another length.
    """
    pts = _finite(_to_numpy(points, "points", ndim=2), "points")
    if pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    ax = _new_ax(ax)
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=s, color=PALETTE[0], alpha=0.85, linewidths=0)
    else:
        lab = _labels(labels, len(pts))
        classes, index, colors = _label_colors(lab)
        for c, cls in enumerate(classes):
            m = index == c
            ax.scatter(
                pts[m, 0], pts[m, 1], s=s, color=colors[c], alpha=0.85, linewidths=0, label=str(cls)
            )
        if check_bool(legend, "legend") and len(classes) <= 12:
            ax.legend(title="class", fontsize="small", markerscale=1.5, loc="best")
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_distance_matrix(
    dist, labels=None, ax: Axes | None = None, title: str = "Pairwise distances"
) -> Axes:
    """Show a distance (or similarity) matrix as an image, rows sorted by class.

    With labels, rows and columns are reordered by class and thin lines mark the class blocks,
    so a good embedding shows dark (small-distance) blocks on the diagonal.

    Args:
        dist: square matrix.
        labels: class id per row, or None to keep the order.
        ax: Axes to draw on; None makes a new figure.
        title: the title.

    Returns:
        The Axes (with a colour bar).

    Shape:
        ``dist``: ``(N, N)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: ``dist`` is not a non-empty finite square matrix, or labels have another length.
    """
    d = _finite(_to_numpy(dist, "dist", ndim=2), "dist")
    if d.shape[0] != d.shape[1]:
        raise ValueError(f"dist must be square, got shape {d.shape}")
    ax = _new_ax(ax, figsize=(5.0, 4.3))
    bounds: list[int] = []
    if labels is not None:
        lab = _labels(labels, d.shape[0])
        order = np.argsort(lab, kind="stable")
        d = d[np.ix_(order, order)]
        sorted_lab = lab[order]
        bounds = list(np.flatnonzero(np.diff(sorted_lab)) + 1)
    im = ax.imshow(d, cmap="viridis", interpolation="nearest")
    for b in bounds:
        ax.axhline(b - 0.5, color="white", lw=0.8)
        ax.axvline(b - 0.5, color="white", lw=0.8)
    ax.figure.colorbar(im, ax=ax, shrink=0.85, label="value")
    ax.set_xlabel("sample (sorted by class)" if labels is not None else "sample")
    ax.set_ylabel("sample (sorted by class)" if labels is not None else "sample")
    ax.set_title(title)
    return ax
