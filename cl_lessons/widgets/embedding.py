"""``embedding_explorer``: PCA, t-SNE or UMAP views of an embedding, coloured by label."""

from __future__ import annotations

import os
import time

import ipywidgets as widgets
import matplotlib
import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_int_in, check_seed
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.viz.colors import _label_colors
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _dropdown, _int_slider
from cl_lessons.widgets._figure import _class_legend

_METHODS = ("PCA", "t-SNE", "UMAP")


def _project(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    """2-D projection of ``x`` (N, D) by PCA, t-SNE or UMAP (heavy imports happen here)."""
    n = len(x)
    if method == "PCA":
        xc = x - x.mean(0, keepdims=True)
        if x.shape[1] == 1:
            return np.c_[xc[:, 0], np.zeros(n)]
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        return xc @ vt[:2].T  # (N, 2)
    if method == "t-SNE":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        # OpenMP spin-waits badly when the cores are busy (the notebook's own kernel, a
        # browser): measured 116 s with 2 threads vs 18 s with 1 for the digits on a busy
        # 2-core machine. Half the cores keeps most of the speed-up without that cliff.
        with threadpool_limits(max(1, (os.cpu_count() or 2) // 2)):
            return tsne.fit_transform(x)
    import warnings

    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
        return reducer.fit_transform(x)


class EmbeddingExplorer(App):
    """Projection choice, query and its nearest neighbours (see :func:`embedding_explorer`)."""

    _COLS = 6

    def __init__(self, emb, labels, images, method, query, k, seed):
        n = len(emb)
        k_max = max(1, min(20, n - 1))
        controls = {
            "method": _dropdown("projection", _METHODS, method),
            "query": _int_slider("query", query, 0, n - 1),
            "k": _int_slider("k neighbours", min(k, k_max), 1, k_max),
            "color_by_label": widgets.Checkbox(value=True, description="colour by label"),
        }
        super().__init__(controls, figsize=(10.0 if images is not None else 6.5, 4.6))
        self.embeddings, self.labels, self.images, self.seed = emb, labels, images, seed
        self.projections: dict[str, np.ndarray] = {}
        self.projection_seconds: dict[str, float] = {}
        if images is not None:
            ax, ix = self.fig.subplots(1, 2, width_ratios=[1.15, 1.0])
        else:
            ax, ix = self.fig.subplots(), None
        self.ax, self.ax_images = ax, ix
        classes, index, colors = _label_colors(labels)
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        self._label_rgba = rgba[index]  # (N, 4)
        self._plain_rgba = np.tile(matplotlib.colors.to_rgba("0.55"), (n, 1))
        art = self.artists
        art["points"] = ax.scatter(np.zeros(n), np.zeros(n), s=12, linewidths=0, alpha=0.8)
        art["neighbours"] = ax.scatter(
            [], [], s=70, facecolors="none", edgecolors="black", linewidths=1.3
        )
        (art["query"],) = ax.plot([], [], "*", color="black", mfc="white", ms=17, mew=1.5)
        _class_legend(ax, classes, colors)
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        self._k_max = k_max
        if ix is not None:
            rows = -(-(k_max + 1) // self._COLS)
            h, w = images.shape[1:3]
            # each thumbnail has a blank band below it for its caption, so a caption never
            # covers the thumbnail of the next row
            self._cell = (h + max(2, round(0.6 * h)), w + 2)
            shape = (rows * self._cell[0], self._COLS * self._cell[1], *images.shape[3:])
            self._mosaic = np.full(shape, np.nan)
            self._vmin, self._vmax = float(np.nanmin(images)), float(np.nanmax(images))
            cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
            art["mosaic"] = ix.imshow(
                self._mosaic,
                cmap=cmap if images.ndim == 3 else None,
                vmin=self._vmin,
                vmax=self._vmax,
                interpolation="nearest",
            )
            art["captions"] = [
                ix.text(
                    (i % self._COLS) * self._cell[1] + w / 2,
                    (i // self._COLS) * self._cell[0] + h + 0.3,
                    "",
                    ha="center",
                    va="top",
                    fontsize="x-small",
                )
                for i in range(k_max + 1)
            ]
            ix.set_axis_off()
        self.neighbours = np.zeros(0, dtype=np.int64)
        self._shown_method = None
        self._shown_colors = None
        self._dynamic(art["neighbours"], art["query"], ax.title)
        if ix is not None:
            self._dynamic(art["mosaic"], *art["captions"], ix.title)
        self._start()

    def projection(self, method: str) -> np.ndarray:
        """The cached 2-D projection by ``method``, computing it (once) if needed."""
        if method not in self.projections:
            if method != "PCA":
                self._say(
                    f"computing {method} of {len(self.embeddings)} points (once, then cached)…"
                )
            start = time.perf_counter()
            self.projections[method] = np.asarray(
                _project(self.embeddings, method, self.seed), dtype=float
            )
            self.projection_seconds[method] = time.perf_counter() - start
            if method != "PCA":
                self._say(f"{method} computed in {self.projection_seconds[method]:.1f} s (cached)")
        return self.projections[method]

    def _apply(self) -> None:
        v = self.values
        method, q, k = v["method"], int(v["query"]), int(v["k"])
        proj = self.projection(method)
        art = self.artists
        if method != self._shown_method:
            art["points"].set_offsets(proj)
            self._touch()
            lo, hi = proj.min(0), proj.max(0)
            pad = 0.06 * np.maximum(hi - lo, 1e-9)
            self.ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            self.ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            self._shown_method = method
        if v["color_by_label"] != self._shown_colors:
            rgba = self._label_rgba if v["color_by_label"] else self._plain_rgba
            art["points"].set_facecolors(rgba)
            self._shown_colors = v["color_by_label"]
            self._touch()  # the points are in the cached background
        # neighbours in the ORIGINAL embedding space: projections distort neighbourhoods
        d = np.linalg.norm(self.embeddings - self.embeddings[q], axis=1)  # (N,)
        d[q] = np.inf
        nn = np.argpartition(d, k - 1)[:k]
        nn = nn[np.argsort(d[nn], kind="stable")]
        self.neighbours = nn
        art["neighbours"].set_offsets(proj[nn])
        art["query"].set_data([proj[q, 0]], [proj[q, 1]])
        agree = int((self.labels[nn] == self.labels[q]).sum())
        self.ax.set_title(
            f"{method}: query {q} (class {self.labels[q]}), {agree}/{k} neighbours share its class",
            fontsize="medium",
        )
        if self.ax_images is not None:
            self._mosaic[:] = np.nan
            (ch, cw), (h, w) = self._cell, self.images.shape[1:3]
            for slot, idx in enumerate([q, *nn.tolist()]):
                r, c = divmod(slot, self._COLS)
                self._mosaic[r * ch : r * ch + h, c * cw : c * cw + w] = self.images[idx]
            art["mosaic"].set_data(self._mosaic)
            for slot, txt in enumerate(art["captions"]):
                if slot == 0:
                    txt.set_text(f"query: {self.labels[q]}")
                    txt.set_color("black")
                elif slot <= k:
                    idx = nn[slot - 1]
                    txt.set_text(f"{self.labels[idx]} (d={d[idx]:.2f})")
                    ok = self.labels[idx] == self.labels[q]
                    txt.set_color(viz.ZONE_COLORS["easy"] if ok else viz.NEGATIVE)
                else:
                    txt.set_text("")
            self.ax_images.set_title(f"query and its {k} nearest neighbours", fontsize="medium")


def embedding_explorer(
    embeddings,
    labels,
    images=None,
    method: str = "PCA",
    query: int = 0,
    k: int = 5,
    seed: int = 0,
) -> EmbeddingExplorer:
    """Explore an embedding: PCA / t-SNE / UMAP view, a query and its k nearest neighbours.

    Each projection is computed on first use and cached (t-SNE takes seconds, UMAP's first call
    also compiles for 10-30 s; the status line says so), never per slider tick. Neighbours are
    found in the original embedding space and then drawn on the projection, which shows how
    much each projection distorts neighbourhoods. PCA; t-SNE (van der Maaten & Hinton 2008);
    UMAP (McInnes et al. 2018, https://arxiv.org/abs/1802.03426).

    Args:
        embeddings: the embeddings.
        labels: integer class ids.
        images: optional images of the points (any layout :func:`cl_lessons.viz.as_images`
            accepts, for example the ``(N, 64)`` digits), shown for the query and neighbours.
        method: starting projection, ``"PCA"``, ``"t-SNE"`` or ``"UMAP"``.
        query: starting query index.
        k: starting number of neighbours (at most 20).
        seed: random seed of t-SNE and UMAP.

    Returns:
        The app; ``app.projections`` is the cache, ``app.neighbours`` the current neighbours.

    Shape:
        ``embeddings``: ``(N, D)``, ``labels``: ``(N,)``, ``images``: ``(N, ...)``.

    Raises:
        ValueError: lengths differ, fewer than 3 points, NaN/inf embeddings, unknown method,
            ``query`` or ``k`` out of range.
    """
    emb = _finite(_to_numpy(embeddings, "embeddings", ndim=2), "embeddings")
    if len(emb) < 3:
        raise ValueError(f"embeddings needs at least 3 points, got {len(emb)}")
    lab = _labels(labels, len(emb))
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    query = check_int_in(query, "query", 0, len(emb) - 1)
    k = check_int_in(k, "k", 1, min(20, len(emb) - 1))
    seed = check_seed(seed)
    img = None
    if images is not None:
        img = viz.as_images(images)
        if len(img) != len(emb):
            raise ValueError(f"images must have one image per point ({len(emb)}), got {len(img)}")
    return EmbeddingExplorer(emb, lab, img, method, query, k, seed)
