"""``retrieval_explorer``: a query, its top-k retrieved images marked right or wrong, P@k, AP@R."""

from __future__ import annotations

import matplotlib
import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_choice, check_int_in
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _int_slider

_DISTANCES = ("euclidean", "cosine")
_K_MAX = 20
_STRIP = 60  # ranks shown in the relevance strip


def _rgb(images: np.ndarray) -> np.ndarray:
    """Images as RGB in [0, 1] (grey images scaled by the batch's range)."""
    lo, hi = float(images.min()), float(images.max())
    img = (images - lo) / (hi - lo if hi > lo else 1.0)
    if img.ndim == 3:
        img = np.repeat(img[..., None], 3, axis=3)
    return img[..., :3]


class RetrievalExplorer(App):
    """Query slider, ranked results with right/wrong frames (see :func:`retrieval_explorer`)."""

    _COLS = 7

    def __init__(self, emb, labels, images, query, k, distance):
        n = len(emb)
        self._k_max = min(_K_MAX, n - 1)
        controls = {
            "query": _int_slider("query", query, 0, n - 1),
            "k": _int_slider("k results", k, 1, self._k_max),
        }
        super().__init__(controls, figsize=(10.0, 4.6))
        self.embeddings, self.labels, self.distance = emb, labels, distance
        self._rgb = _rgb(images)
        if distance == "cosine":
            self._unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        self._class_size = counts[inverse]  # (N,) size of each item's class
        grid = self.fig.add_gridspec(2, 1, height_ratios=[4.0, 0.7])
        self.ax_images = self.fig.add_subplot(grid[0])
        self.ax_strip = self.fig.add_subplot(grid[1])
        h, w = self._rgb.shape[1:3]
        self._cell = (h + 4, w + 4)
        rows = -(-(self._k_max + 1) // self._COLS)
        self._mosaic = np.ones((rows * (h + 4), self._COLS * (w + 4), 3))
        art = self.artists
        art["mosaic"] = self.ax_images.imshow(self._mosaic, interpolation="nearest")
        art["captions"] = [
            self.ax_images.text(
                (i % self._COLS) * (w + 4) + w / 2 + 2,
                (i // self._COLS) * (h + 4) + h + 3.4,
                "",
                ha="center",
                va="top",
                fontsize="x-small",
            )
            for i in range(self._k_max + 1)
        ]
        self.ax_images.set_axis_off()
        strip = min(_STRIP, n - 1)
        art["strip"] = self.ax_strip.imshow(
            np.ones((1, strip, 3)),
            aspect="auto",
            interpolation="nearest",
            extent=(0.5, strip + 0.5, 0, 1),
        )
        art["r_line"] = self.ax_strip.axvline(1.0, color="black", lw=1.5, ls="--")
        art["k_line"] = self.ax_strip.axvline(1.0, color=viz.POSITIVE, lw=2.0)
        self.ax_strip.set_yticks([])
        self.ax_strip.set_xlim(0.5, strip + 0.5)
        self.ax_strip.set_xlabel(
            f"rank of the first {strip} results: green = same class, red = other; "
            "blue line = k, dashed = R",
            fontsize="small",
        )
        self.ranking = np.zeros(0, dtype=np.int64)
        self.precision = 0.0
        self.average_precision = 0.0
        self._dynamic(art["mosaic"], *art["captions"], art["strip"], art["r_line"], art["k_line"])
        self._dynamic(self.ax_images.title)
        self._start()

    def _rank(self, q: int) -> tuple[np.ndarray, np.ndarray]:
        if self.distance == "cosine":
            d = 1.0 - self._unit @ self._unit[q]  # (N,)
        else:
            d = np.linalg.norm(self.embeddings - self.embeddings[q], axis=1)  # (N,)
        d[q] = np.inf  # never retrieve the query itself
        order = np.argsort(d, kind="stable")[:-1]  # (N - 1,) nearest first, ties by index
        return order, d

    def query_scores(self, query: int, k: int) -> tuple[float, float]:
        """``(precision@k, AP@R)`` of one query, computed without drawing anything.

        AP@R is the per-query term of MAP@R (0 for a query whose class has no other member), so
        the mean over the queries with ``R >= 1`` is :func:`cl_lessons.metrics.map_at_r`.
        """
        n = len(self.labels)
        query = check_int_in(query, "query", 0, n - 1)
        k = check_int_in(k, "k", 1, n - 1)
        order, _ = self._rank(query)
        return self._scores(query, k, order)

    def _scores(self, q: int, k: int, order: np.ndarray) -> tuple[float, float]:
        rel = self.labels[order] == self.labels[q]  # (N - 1,)
        r = int(self._class_size[q]) - 1  # other members of the query's class
        hits = rel[:r]
        precision_at_i = np.cumsum(hits) / np.arange(1, r + 1) if r else np.zeros(0)
        ap = float((precision_at_i * hits).sum() / r) if r else 0.0
        return float(rel[:k].mean()), ap

    def _apply(self) -> None:
        q, k = int(self.values["query"]), int(self.values["k"])
        order, d = self._rank(q)
        rel = self.labels[order] == self.labels[q]  # (N - 1,)
        r = int(self._class_size[q]) - 1  # other members of the query's class
        self.ranking = order
        self.precision, self.average_precision = self._scores(q, k, order)
        green, red = (matplotlib.colors.to_rgb(c) for c in (viz.ZONE_COLORS["easy"], viz.NEGATIVE))
        h, w = self._cell[0] - 4, self._cell[1] - 4
        self._mosaic[:] = 1.0
        art = self.artists
        for slot in range(k + 1):
            idx = q if slot == 0 else order[slot - 1]
            frame = (0.1, 0.1, 0.1) if slot == 0 else (green if rel[slot - 1] else red)
            row, col = divmod(slot, self._COLS)
            y0, x0 = row * (h + 4), col * (w + 4)
            self._mosaic[y0 : y0 + h + 2, x0 : x0 + w + 2] = frame
            self._mosaic[y0 + 1 : y0 + h + 1, x0 + 1 : x0 + w + 1] = self._rgb[idx]
        art["mosaic"].set_data(self._mosaic)
        for slot, txt in enumerate(art["captions"]):
            if slot == 0:
                txt.set_text(f"query: {self.labels[q]}")
                txt.set_color("black")
            elif slot <= k:
                idx = order[slot - 1]
                txt.set_text(f"{self.labels[idx]} ({d[idx]:.2f})")
                txt.set_color(viz.ZONE_COLORS["easy"] if rel[slot - 1] else viz.NEGATIVE)
            else:
                txt.set_text("")
        strip = art["strip"].get_array().shape[1]
        colours = np.where(rel[:strip, None], green, red)  # (strip, 3)
        art["strip"].set_data(colours[None])
        art["r_line"].set_xdata([r + 0.5, r + 0.5])
        art["k_line"].set_xdata([k + 0.5, k + 0.5])
        self.ax_images.set_title(
            f"query {q} (class {self.labels[q]}, R = {r} others): precision@{k} = "
            f"{self.precision:.2f}, AP@R = {self.average_precision:.2f}",
            fontsize="medium",
        )


def retrieval_explorer(
    embeddings, labels, images, query: int = 0, k: int = 8, distance: str = "euclidean"
) -> RetrievalExplorer:
    """Browse leave-one-out image retrieval: a query, its top-k results marked right or wrong.

    For the chosen query (never retrieved itself) the app shows its ``k`` nearest other images,
    framed green when they share the query's label and red otherwise, the query's precision@k
    and its AP@R (the per-query term of MAP@R, Musgrave et al. 2020,
    https://arxiv.org/abs/2003.08505), and a strip of the first 60 ranks with ``k`` and ``R``
    (the number of other members of the query's class) marked. Ties rank the lower index first,
    as in :func:`cl_lessons.metrics.map_at_r`.

    Args:
        embeddings: the gallery's embeddings (every item is a possible query).
        labels: integer class ids.
        images: one image per item (any layout :func:`cl_lessons.viz.as_images` accepts).
        query: starting query index.
        k: starting number of results (1 to ``min(20, N - 1)``).
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The app; ``app.ranking`` (the query's ranked results), ``app.precision`` and
        ``app.average_precision`` hold the current values; ``app.query_scores(q, k)`` gives any
        query's ``(precision@k, AP@R)`` without drawing.

    Shape:
        ``embeddings``: ``(N, D)``, ``labels``: ``(N,)``, ``images``: ``(N, ...)``.

    Raises:
        ValueError: lengths differ, fewer than 3 items, NaN/inf embeddings, unknown
            ``distance``, ``query`` or ``k`` out of range.
    """
    emb = _finite(_to_numpy(embeddings, "embeddings", ndim=2), "embeddings")
    if len(emb) < 3:
        raise ValueError(f"embeddings needs at least 3 items, got {len(emb)}")
    lab = _labels(labels, len(emb))
    img = _finite(viz.as_images(images), "images")
    if len(img) != len(emb):
        raise ValueError(f"images must have one image per item ({len(emb)}), got {len(img)}")
    check_choice(distance, "distance", _DISTANCES)
    query = check_int_in(query, "query", 0, len(emb) - 1)
    k = check_int_in(k, "k", 1, min(_K_MAX, len(emb) - 1))
    return RetrievalExplorer(emb, lab, img, query, k, distance)
