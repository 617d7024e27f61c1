"""Plotting functions for the lessons: arrays in, a matplotlib ``Axes`` (or ``Figure``) out.

Every function takes NumPy arrays or torch tensors, draws on the ``ax=`` it is given (or on a
new figure made with ``plt.subplots`` when ``ax`` is None, so a notebook cell shows it as usual)
and returns that ``Axes``; :func:`image_grid` returns a ``Figure``. Axes are labelled and titled.
Nothing is shown or saved here, and no state is kept between calls.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), readable
with every common colour-vision deficiency: :data:`PALETTE` for classes, :data:`POSITIVE` /
:data:`NEGATIVE` for pairs, :data:`ZONE_COLORS` for easy / semi-hard / hard negatives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "NEGATIVE",
    "PALETTE",
    "POSITIVE",
    "ZONE_COLORS",
    "ZONE_NAMES",
    "as_images",
    "class_colors",
    "image_grid",
    "label_alignment_uniformity",
    "negative_zones",
    "plot_decision_regions",
    "plot_distance_histograms",
    "plot_distance_matrix",
    "plot_embedding_2d",
    "plot_hypersphere",
    "plot_loss_curves",
    "plot_roc",
    "plot_singular_values",
    "plot_triplet_zones",
]

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe-Ito colours, in the order classes 0, 1, 2, ... get them."""

# Paul Tol's "muted" scheme (also colour-blind safe) for 9-10 classes, such as the digits.
_TOL_MUTED: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
    "#BBBBBB",
)

POSITIVE = "#0072B2"
"""Colour of positive (similar, ``y = 1``) pairs: blue."""
NEGATIVE = "#D55E00"
"""Colour of negative (dissimilar, ``y = 0``) pairs: vermillion."""

ZONE_NAMES: tuple[str, str, str] = ("easy", "semi-hard", "hard")
ZONE_COLORS: dict[str, str] = {"easy": "#009E73", "semi-hard": "#E69F00", "hard": "#D55E00"}
"""Colours of the three triplet zones (FaceNet, Schroff et al. 2015)."""


# --------------------------------------------------------------------------- input helpers


def _to_numpy(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=float) -> np.ndarray:
    """Array or tensor -> NumPy array (detached, on the CPU), checked for shape and emptiness."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be array-like of numbers, got {type(x).__name__}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _finite(arr: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN/inf")
    return arr


def _labels(labels, n: int, name: str = "labels") -> np.ndarray:
    lab = _to_numpy(labels, name, ndim=1, dtype=None)
    if lab.shape[0] != n:
        raise ValueError(f"{name} must have one entry per point ({n}), got {lab.shape[0]}")
    if not np.issubdtype(lab.dtype, np.integer):
        if np.issubdtype(lab.dtype, np.floating) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class ids, got dtype {lab.dtype}")
    return lab.astype(np.int64)


def _binary(same, n: int, name: str = "same") -> np.ndarray:
    arr = _to_numpy(same, name, ndim=1, dtype=None)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have the same length as scores ({n}), got {arr.shape[0]}")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"{name} must hold 0/1 (or bool), got values {sorted(values)[:5]}")
    return arr.astype(bool)


def _new_ax(ax: Axes | None, figsize=(5.0, 4.0), **subplot_kw) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, subplot_kw=subplot_kw or None, layout="constrained")
    return ax


def class_colors(num_classes: int) -> list[str]:
    """Colour-blind-safe colours for ``num_classes`` classes.

    Okabe-Ito (:data:`PALETTE`) up to 8 classes, Paul Tol's "muted" scheme for 9-10 classes;
    beyond 10 the muted scheme repeats, so prefer markers or facets there.

    Args:
        num_classes: number of classes (>= 1).

    Returns:
        A list of ``num_classes`` hex colour strings.

    Raises:
        ValueError: ``num_classes < 1``.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    base = PALETTE if num_classes <= len(PALETTE) else _TOL_MUTED
    return [base[i % len(base)] for i in range(num_classes)]


def _label_colors(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (classes, index of each point's class, colour per class)."""
    classes, index = np.unique(labels, return_inverse=True)
    return classes, index, class_colors(len(classes))


# --------------------------------------------------------------------------- embeddings


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
        if legend and len(classes) <= 12:
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
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
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
        f, t = _rates_at(s, y, np.array([float(threshold)]))
        ax.plot(f, t, "o", color=NEGATIVE, ms=8, label=f"threshold = {threshold:.2f}")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("true accept rate (TAR = 1 - FRR)")
    ax.set_title(title if title is not None else f"ROC, AUC = {float(auc):.3f}")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_loss_curves(
    histories: Mapping[str, Sequence[float]] | Sequence[float],
    ax: Axes | None = None,
    logy: bool = False,
    xlabel: str = "epoch",
    title: str = "Training loss",
) -> Axes:
    """Plot one or several loss curves.

    Args:
        histories: a sequence of losses, or a dict ``name -> sequence`` (for example
            ``{"train": [...], "val": [...]}`` or one entry per loss/margin being compared).
        ax: Axes to draw on; None makes a new figure.
        logy: logarithmic y axis.
        xlabel: label of the x axis.
        title: the title.

    Returns:
        The Axes.

    Raises:
        ValueError: ``histories`` is empty or a curve is empty.
    """
    if not isinstance(histories, Mapping):
        histories = {"loss": histories}
    if len(histories) == 0:
        raise ValueError("histories must hold at least one curve")
    ax = _new_ax(ax)
    colors = class_colors(len(histories))
    for color, (name, values) in zip(colors, histories.items(), strict=True):
        v = _to_numpy(values, f"histories[{name!r}]", ndim=1)
        ax.plot(np.arange(1, len(v) + 1), v, color=color, lw=2, label=str(name))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- triplets


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


# --------------------------------------------------------------------------- regions


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
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if query is not None and not 0 <= query < len(pts):
        raise ValueError(f"query must be in [0, {len(pts) - 1}], got {query}")
    if threshold is not None and threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
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


# ----------------------------------------------------------------------- sphere, spectra, images


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
    if normalize:
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


def as_images(images, name: str = "images") -> np.ndarray:
    """Bring a batch of images to ``(N, H, W)`` (grey) or ``(N, H, W, 3|4)`` (colour) NumPy form.

    Accepts ``(N, H, W)``, channels-first ``(N, C, H, W)`` or channels-last ``(N, H, W, C)``
    with ``C`` in {1, 3, 4}, and flat ``(N, P)`` rows with ``P`` a perfect square (the 8x8
    digits as 64 numbers).

    Raises:
        ValueError: another shape, or an empty batch.
    """
    img = _to_numpy(images, name, ndim=(2, 3, 4))
    if img.ndim == 2:
        side = math.isqrt(img.shape[1])
        if side * side != img.shape[1]:
            raise ValueError(f"flat {name} need a square pixel count, got {img.shape[1]}")
        return img.reshape(len(img), side, side)
    if img.ndim == 4:
        if img.shape[1] in (1, 3, 4) and img.shape[-1] not in (1, 3, 4):
            img = np.moveaxis(img, 1, -1)
        if img.shape[-1] == 1:
            img = img[..., 0]
        elif img.shape[-1] not in (3, 4):
            raise ValueError(f"{name} must have 1, 3 or 4 channels, got shape {img.shape}")
    return img


def image_grid(
    images, titles: Sequence[str] | None = None, ncols: int = 8, cmap: str = "gray"
) -> Figure:
    """Show a batch of images in a grid, each with an optional title.

    Args:
        images: the images (any layout :func:`as_images` accepts).
        titles: one title per image, or None.
        ncols: images per row.
        cmap: colour map for grey images.

    Returns:
        The Figure.

    Shape:
        ``images``: ``(N, H, W)``, ``(N, C, H, W)``, ``(N, H, W, C)`` or ``(N, H*W)``.

    Raises:
        ValueError: bad image shape, ``ncols < 1``, or a titles list of another length.
    """
    img = as_images(images)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    if titles is not None and len(titles) != len(img):
        raise ValueError(f"titles must have one entry per image ({len(img)}), got {len(titles)}")
    ncols = min(ncols, len(img))
    nrows = -(-len(img) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.3 * ncols, 1.45 * nrows), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < len(img):
            ax.imshow(img[i], cmap=cmap if img[i].ndim == 2 else None, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize="small")
    return fig
