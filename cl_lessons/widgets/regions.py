"""``decision_regions``: k-NN decision regions of a 2-D embedding."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch

from cl_lessons._checks import check_int, check_int_in, check_number_in
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.viz.colors import _label_colors
from cl_lessons.viz.regions import _grid, _region_image, _vote
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _int_slider, _round_step, _slider
from cl_lessons.widgets._figure import _class_legend


class DecisionRegions(App):
    """kNN regions and a verification-threshold disc (see :func:`decision_regions`)."""

    def __init__(self, points, labels, k, point, threshold, resolution):
        from matplotlib.patches import Circle

        n = len(points)
        k_max = max(1, min(25, n - 1))
        span = float(np.linalg.norm(points.max(0) - points.min(0)))
        step = _round_step(span / 400)  # a round step keeps round starts such as 0.4 exact
        controls = {
            "k": _int_slider("k", min(k, k_max), 1, k_max),
            "point": _int_slider("point", point, 0, n - 1),
            "threshold": _slider("threshold", threshold, 0.0, span / 2, step, ".3f"),
        }
        super().__init__(controls, figsize=(6.6, 5.0))
        self.points, self.labels, self.resolution = points, labels, resolution
        classes, index, colors = _label_colors(labels)
        self._index, self._colors, self.classes = index, colors, classes
        grid, self._extent = _grid(points, resolution, square=True)
        pts = torch.as_tensor(points, dtype=torch.float32)
        d_grid = torch.cdist(torch.as_tensor(grid, dtype=torch.float32), pts)  # (G, N)
        self._grid_nn = torch.topk(d_grid, k_max, largest=False).indices.numpy()  # (G, k_max)
        d_pts = torch.cdist(pts, pts)  # (N, N)
        d_pts.fill_diagonal_(float("inf"))  # leave-one-out: a point is not its own neighbour
        self._pts_nn = torch.topk(d_pts, k_max, largest=False).indices.numpy()  # (N, k_max)
        self._regions: dict[int, np.ndarray] = {}
        ax = self.fig.subplots()
        self.ax = ax
        art = self.artists
        art["regions"] = ax.imshow(
            np.zeros((resolution, resolution, 4)),
            origin="lower",
            extent=self._extent,
            aspect="auto",
            interpolation="nearest",
        )
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        art["points"] = ax.scatter(
            points[:, 0], points[:, 1], s=16, c=rgba[index], linewidths=0, zorder=2
        )
        art["accepted"] = ax.scatter(
            [], [], s=60, facecolors="none", edgecolors="black", linewidths=1.0, zorder=3
        )
        (art["query"],) = ax.plot([], [], "*", color="black", mfc="white", ms=16, zorder=4)
        art["disc"] = Circle((0, 0), 1.0, fill=False, color="black", lw=1.5, ls="--", zorder=3)
        ax.add_patch(art["disc"])
        _class_legend(ax, classes, colors)
        ax.set_xlim(self._extent[0], self._extent[1])
        ax.set_ylim(self._extent[2], self._extent[3])
        ax.set_aspect("equal", adjustable="box")  # the threshold disc must look round
        ax.set_xlabel("embedding dimension 1")
        ax.set_ylabel("embedding dimension 2")
        self._shown_k = None
        # everything that moves is drawn over a background of axes, ticks and legend, so a new
        # k (new regions) costs no more than a new point
        self._dynamic(
            art["regions"], art["points"], art["accepted"], art["query"], art["disc"], ax.title
        )
        self._start()

    def regions(self, k: int) -> np.ndarray:
        """RGBA image of the kNN class regions for ``k`` (cached per k)."""
        if k not in self._regions:
            pred = _vote(self._index[self._grid_nn[:, :k]], len(self.classes))
            self._regions[k] = _region_image(pred, self._colors, self.resolution)
        return self._regions[k]

    def _apply(self) -> None:
        v = self.values
        k, i, t = int(v["k"]), int(v["point"]), float(v["threshold"])
        art = self.artists
        if k != self._shown_k:
            art["regions"].set_data(self.regions(k))
            loo = _vote(self._index[self._pts_nn[:, :k]], len(self.classes))
            self.loo_accuracy = float((loo == self._index).mean())
            self._shown_k = k
        c = self.points[i]
        d = np.linalg.norm(self.points - c, axis=1)  # (N,)
        accepted = np.flatnonzero(d < t)
        accepted = accepted[accepted != i]
        self.accepted = accepted
        correct = int((self.labels[accepted] == self.labels[i]).sum())
        art["accepted"].set_offsets(self.points[accepted] if len(accepted) else np.empty((0, 2)))
        art["query"].set_data([c[0]], [c[1]])
        art["disc"].set_center(c)
        art["disc"].set_radius(t)
        self.ax.set_title(
            f"k = {k} (leave-one-out acc {self.loo_accuracy:.2f}); threshold = {t:.2f} around "
            f"point {i}:\naccepts {len(accepted)}, {correct} of its class, "
            f"{len(accepted) - correct} wrong",
            fontsize="medium",
        )


def decision_regions(
    embedding_2d=None,
    labels=None,
    k: int = 5,
    point: int = 0,
    threshold: float | None = None,
    resolution: int = 120,
) -> DecisionRegions:
    """kNN class regions of a 2-D embedding, and the verification disc around a chosen point.

    The background colours each place by the majority class of its ``k`` nearest embedded
    points; the dashed circle of radius ``threshold`` around the chosen point holds the points
    a rule "same identity if distance < threshold" would accept (outlined).

    Args:
        embedding_2d: the 2-D embedding; None uses three toy blobs (``cl.data.make_blobs``).
        labels: integer class ids (required with ``embedding_2d``).
        k: starting number of neighbours (at most 25).
        point: starting index of the chosen point.
        threshold: starting radius; None uses a tenth of the data's diagonal.
        resolution: grid cells per side of the region image.

    Returns:
        The app; ``app.accepted`` (indices in the disc) and ``app.loo_accuracy`` (leave-one-out
        kNN accuracy) hold the current values.

    Shape:
        ``embedding_2d``: ``(N, 2)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: bad shapes or lengths, fewer than 2 points, NaN/inf, ``k``/``point``/
            ``threshold`` out of range, ``resolution < 10``.
    """
    if embedding_2d is None:
        if labels is not None:
            raise ValueError("labels given without embedding_2d")
        from cl_lessons import data

        embedding_2d, labels = data.make_blobs(n=150, num_classes=3, spread=0.7, seed=0)
    elif labels is None:
        raise ValueError("labels is required with embedding_2d")
    pts = _finite(_to_numpy(embedding_2d, "embedding_2d", ndim=2), "embedding_2d")
    if pts.shape[1] != 2:
        raise ValueError(f"embedding_2d must have shape (N, 2), got {pts.shape}")
    if len(pts) < 2:
        raise ValueError(f"embedding_2d needs at least 2 points, got {len(pts)}")
    lab = _labels(labels, len(pts))
    k = check_int_in(k, "k", 1, min(25, len(pts) - 1))
    point = check_int_in(point, "point", 0, len(pts) - 1)
    resolution = check_int(resolution, "resolution", 10)
    span = float(np.linalg.norm(pts.max(0) - pts.min(0)))
    if threshold is None:
        threshold = span / 10
    threshold = check_number_in(threshold, "threshold", 0.0, span / 2)
    return DecisionRegions(pts, lab, k, point, threshold, resolution)
