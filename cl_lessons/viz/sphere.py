"""Embeddings on the hypersphere: alignment, uniformity, circle/sphere plots and singular values."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes

from cl_lessons._checks import check_bool
from cl_lessons.viz._inputs import _finite, _labels, _new_ax, _to_numpy
from cl_lessons.viz.colors import PALETTE, _label_colors


def _normalise_rows(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def label_alignment_uniformity(z, labels, alpha: float = 2.0, t: float = 2.0):
    """Alignment over same-label pairs and uniformity of L2-normalised embeddings.

    Alignment (Wang & Isola 2020, https://arxiv.org/abs/2005.10242) is defined on positive
    pairs; with class labels every unordered same-class pair counts as a positive pair. Both
    numbers come from :func:`cl_lessons.metrics.alignment` and
    :func:`cl_lessons.metrics.uniformity` (lower is better for both).

    Args:
        z: embeddings (normalised here).
        labels: integer class ids.
        alpha: exponent of the alignment.
        t: temperature of the uniformity.

    Returns:
        ``(alignment, uniformity)`` as floats; alignment is NaN when no class has two points.

    Shape:
        ``z``: ``(N, D)``, ``labels``: ``(N,)``.
    """
    from cl_lessons import metrics

    zz = _normalise_rows(_finite(_to_numpy(z, "z", ndim=2), "z"))
    lab = _labels(labels, len(zz))
    i, j = np.triu_indices(len(zz), k=1)
    keep = lab[i] == lab[j]
    zt = torch.as_tensor(zz, dtype=torch.float32)
    align = float("nan")
    if keep.any():
        ii, jj = torch.as_tensor(i[keep]), torch.as_tensor(j[keep])
        align = float(metrics.alignment(zt[ii], zt[jj], alpha=alpha))
    return align, float(metrics.uniformity(zt, t=t))


def _sphere_wireframe(ax, n: int = 18) -> None:
    u = np.linspace(0, 2 * np.pi, 2 * n)
    v = np.linspace(0, np.pi, n)
    x = np.outer(np.cos(u), np.sin(v))
    y = np.outer(np.sin(u), np.sin(v))
    zz = np.outer(np.ones_like(u), np.cos(v))
    ax.plot_wireframe(x, y, zz, color="0.75", lw=0.4, rstride=2, cstride=2)


def plot_hypersphere(
    z3, labels=None, ax: Axes | None = None, title: str | None = None, s: float = 10.0
) -> Axes:
    """L2-normalised 3-D embeddings on the unit sphere, with alignment and uniformity.

    Args:
        z3: 3-D embeddings (normalised here, so any scale works).
        labels: integer class ids (alignment needs them), or None.
        ax: a 3-D Axes (``projection="3d"``); None makes a new figure.
        title: the title; None writes uniformity (and alignment when labels are given).
        s: marker size.

    Returns:
        The 3-D Axes.

    Shape:
        ``z3``: ``(N, 3)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: ``z3`` is not a non-empty finite ``(N, 3)`` array, labels of another length.
    """
    from cl_lessons import metrics

    z = _finite(_to_numpy(z3, "z3", ndim=2), "z3")
    if z.shape[1] != 3:
        raise ValueError(f"z3 must have shape (N, 3), got {z.shape}")
    z = _normalise_rows(z)
    ax = _new_ax(ax, figsize=(5.0, 5.0), projection="3d")
    _sphere_wireframe(ax)
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], z[:, 2], s=s, color=PALETTE[0], depthshade=False)
        unif = float(metrics.uniformity(torch.as_tensor(z, dtype=torch.float32)))
        auto = f"uniformity = {unif:.2f}"
    else:
        lab = _labels(labels, len(z))
        classes, index, colors = _label_colors(lab)
        for c, cls in enumerate(classes):
            m = index == c
            ax.scatter(*z[m].T, s=s, color=colors[c], depthshade=False, label=str(cls))
        align, unif = label_alignment_uniformity(z, lab)
        auto = f"alignment = {align:.2f}, uniformity = {unif:.2f}"
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_zlim(-1, 1)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_zlabel("z3")
    ax.set_title(title if title is not None else auto)
    return ax


def plot_singular_values(
    z, ax: Axes | None = None, normalize: bool = True, title: str = "Embedding spectrum"
) -> Axes:
    """Singular values of the centred embedding matrix, largest first, on a log scale.

    A collapsed embedding (all points the same) has no non-zero value; dimensional collapse
    (Jing et al. 2022, https://arxiv.org/abs/2110.09348) shows as a sharp drop after a few.

    Args:
        z: embeddings.
        normalize: L2-normalise the rows first (as contrastive losses do).
        ax: Axes to draw on; None makes a new figure.
        title: the title.

    Returns:
        The Axes.

    Shape:
        ``z``: ``(N, D)``.

    Raises:
        ValueError: ``z`` is not a non-empty finite 2-D array.
    """
    zz = _finite(_to_numpy(z, "z", ndim=2), "z")
    if check_bool(normalize, "normalize"):
        zz = _normalise_rows(zz)
    zz = zz - zz.mean(0, keepdims=True)
    sv = np.linalg.svd(zz, compute_uv=False)
    ax = _new_ax(ax)
    ax.plot(np.arange(1, len(sv) + 1), np.maximum(sv, 1e-12), "o-", color=PALETTE[0], ms=4)
    ax.set_yscale("log")
    ax.set_xlabel("index (largest first)")
    ax.set_ylabel("singular value")
    ax.set_title(title)
    return ax
