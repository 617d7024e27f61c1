"""k-NN decision regions of a 2-D embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from cl_lessons._checks import check_int, check_int_in, check_nonneg
from cl_lessons.viz._inputs import _finite, _labels, _new_ax, _to_numpy
from cl_lessons.viz.colors import class_colors
from cl_lessons.viz.embeddings import plot_embedding_2d


def _knn_votes(
    points: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Class of each query by a k-nearest-neighbour vote (ties go to the nearest voter's class).

    Returns (predicted class index into ``np.unique(labels)``, the sorted classes).
    """
    classes, index = np.unique(labels, return_inverse=True)
    pts = torch.as_tensor(points, dtype=torch.float32)
    q = torch.as_tensor(queries, dtype=torch.float32)
    k = min(k, len(points))
    d = torch.cdist(q, pts)  # (Q, N), no gradient needed here
    nn = torch.topk(d, k, dim=1, largest=False).indices.numpy()  # (Q, k), nearest first
    return _vote(index[nn], len(classes)), classes


def _vote(neighbour_classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Majority vote per row of ``(Q, k)`` class indices (nearest first); ties -> nearest."""
    k = neighbour_classes.shape[1]
    weight = 1.0 + 1e-3 * (k - np.arange(k)) / k  # (k,) a tiny bonus for nearer neighbours
    counts = np.zeros((len(neighbour_classes), num_classes))
    rows = np.repeat(np.arange(len(neighbour_classes)), k)
    np.add.at(counts, (rows, neighbour_classes.ravel()), np.tile(weight, len(neighbour_classes)))
    return counts.argmax(1)


def _grid(points: np.ndarray, resolution: int, pad: float = 0.15, square: bool = False):
    lo, hi = points.min(0), points.max(0)
    span = np.maximum(hi - lo, 1e-6)
    if square:  # equal spans: an equal-aspect Axes keeps the same box for any data
        mid = (lo + hi) / 2
        span = np.full(2, span.max())
        lo, hi = mid - span / 2, mid + span / 2
    lo, hi = lo - pad * span, hi + pad * span
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1), (lo[0], hi[0], lo[1], hi[1])


def _region_image(pred: np.ndarray, colors: Sequence[str], resolution: int, alpha: float = 0.22):
    from matplotlib.colors import to_rgba

    rgba = np.array([to_rgba(c, alpha) for c in colors])  # (C, 4)
    return rgba[pred].reshape(resolution, resolution, 4)


def plot_decision_regions(
    points,
    labels,
    k: int = 5,
    ax: Axes | None = None,
    resolution: int = 150,
    query: int | None = None,
    threshold: float | None = None,
    title: str | None = None,
) -> Axes:
    """k-nearest-neighbour class regions of a 2-D embedding, with an optional threshold disc.

    Each background pixel takes the class of the majority of its ``k`` nearest embedded points.
    With ``query`` and ``threshold``, a circle of radius ``threshold`` around point ``query``
    shows which points a verification rule "same if distance < threshold" would accept.

    Args:
        points: the 2-D embedding.
        labels: integer class ids.
        k: number of neighbours (>= 1).
        ax: Axes to draw on; None makes a new figure.
        resolution: grid cells per side.
        query: index of the point to centre the threshold disc on.
        threshold: radius of the disc (>= 0).
        title: the title; None states ``k`` (and the threshold).

    Returns:
        The Axes.

    Shape:
        ``points``: ``(N, 2)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: bad shapes, empty or non-finite points, ``k < 1``, ``query`` out of range,
            ``threshold < 0``.
    """
    from matplotlib.patches import Circle

    pts = _finite(_to_numpy(points, "points", ndim=2), "points")
    if pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    lab = _labels(labels, len(pts))
    k = check_int(k, "k", 1)
    resolution = check_int(resolution, "resolution", 2)
    if query is not None:
        query = check_int_in(query, "query", 0, len(pts) - 1)
    if threshold is not None:
        threshold = check_nonneg(threshold, "threshold")
    ax = _new_ax(ax)
    grid, extent = _grid(pts, resolution)
    pred, classes = _knn_votes(pts, lab, grid, k)
    colors = class_colors(len(classes))
    ax.imshow(_region_image(pred, colors, resolution), origin="lower", extent=extent, aspect="auto")
    plot_embedding_2d(pts, lab, ax=ax, title="", legend=True)
    if query is not None:
        ax.plot(*pts[query], "*", color="black", ms=14, label="query")
        if threshold is not None:
            ax.add_patch(Circle(pts[query], threshold, fill=False, color="black", lw=1.5, ls="--"))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if title is None:
        title = f"kNN regions, k = {k}"
        if threshold is not None:
            title += f", threshold = {threshold:.2f}"
    ax.set_title(title)
    return ax
