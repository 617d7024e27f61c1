"""``few_shot_explorer``: N-way K-shot accuracy over a precomputed grid, and one episode drawn."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_choice, check_int, check_int_in, check_seed
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.widgets._app import _STYLE, App
from cl_lessons.widgets.retrieval import _rgb


def _selection(name: str, options: Sequence[int], value: int) -> widgets.SelectionSlider:
    return widgets.SelectionSlider(
        options=list(options),
        value=value,
        description=name,
        style=_STYLE,
        layout=widgets.Layout(width="260px"),
    )


def _grid_values(values, name: str, lo: int) -> tuple[int, ...]:
    try:
        out = tuple(check_int(v, name, lo) for v in values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of integers, got {values!r}") from None
    if not out or len(set(out)) != len(out):
        raise ValueError(
            f"{name} must be a non-empty sequence of distinct integers, got {values!r}"
        )
    return tuple(sorted(out))


class FewShotExplorer(App):
    """N and K sliders over precomputed episode accuracies (see :func:`few_shot_explorer`)."""

    def __init__(
        self, spaces, labels, images, n_ways, k_shots, n_query, num_episodes, method, seed
    ):
        from cl_lessons.data.episodes import few_shot_episodes
        from cl_lessons.metrics.few_shot import _predict

        n0 = 5 if 5 in n_ways else n_ways[len(n_ways) // 2]
        controls = {"n_way": _selection("N (classes)", n_ways, n0)}
        controls["k_shot"] = _selection("K (shots)", k_shots, k_shots[0])
        super().__init__(controls, figsize=(10.5 if images is not None else 6.0, 4.8))
        self.n_query, self.names = n_query, list(spaces)
        # the grid: the same episodes for every space (paired), one generator per cell
        self.accuracy: dict[tuple[str, int, int], tuple[float, float]] = {}
        self.episodes: dict[tuple[int, int], tuple] = {}
        lab = torch.as_tensor(labels)
        for n in n_ways:
            for k in k_shots:
                gen = torch.Generator().manual_seed(seed + 1000 * n + k)
                ep = few_shot_episodes(lab, n, k, n_query, num_episodes, gen)
                truth = torch.arange(n).repeat_interleave(n_query)  # (N*Q,)
                for name, x in spaces.items():
                    pred = _predict(x, ep.support, ep.query, method, "euclidean")  # (E, N*Q)
                    acc = (pred == truth).double().mean(1)  # (E,)
                    ci = 1.96 * float(acc.std()) / len(acc) ** 0.5 if len(acc) > 1 else 0.0
                    self.accuracy[name, n, k] = (float(acc.mean()), ci)
                    if name == self.names[0]:
                        self.episodes[n, k] = (ep.support[0], ep.query[0], pred[0], ep.classes[0])
        if images is not None:
            ax, self.ax_episode = self.fig.subplots(1, 2, width_ratios=[1.0, 1.1])
        else:
            ax, self.ax_episode = self.fig.subplots(), None
        self.ax = ax
        colours = viz.class_colors(max(len(k_shots), 2))
        for i, k in enumerate(k_shots):
            for j, name in enumerate(self.names):
                acc = [self.accuracy[name, n, k][0] for n in n_ways]
                ax.plot(
                    n_ways, acc, "o-" if j == 0 else "s--", color=colours[i], lw=2 if j == 0 else 1,
                    ms=4, alpha=1.0 if j == 0 else 0.6, label=f"K = {k}, {name}",
                )  # fmt: skip
        ax.plot(n_ways, [1 / n for n in n_ways], ":", color="0.5", label="chance (1/N)")
        (self.artists["point"],) = ax.plot([], [], "o", ms=14, mfc="none", mec="black", mew=2)
        ax.set_xscale("log")
        ax.set_xticks(n_ways, [str(n) for n in n_ways])
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("N (classes per episode)")
        ax.set_ylabel(f"mean accuracy over {num_episodes} episodes")
        ax.legend(fontsize="x-small", loc="lower left")
        self._dynamic(self.artists["point"], ax.title)
        if images is not None:
            self._rgb = _rgb(images)
            h, w = self._rgb.shape[1:3]
            self._cell = (h + 2, w + 2)
            cols = max(k_shots) + 1 + n_query
            self._mosaic = np.ones((max(n_ways) * (h + 2), cols * (w + 2), 3))
            self.artists["episode"] = self.ax_episode.imshow(self._mosaic, interpolation="nearest")
            self.ax_episode.set_axis_off()
            self._dynamic(self.artists["episode"], self.ax_episode.title)
        self._start()

    def _apply(self) -> None:
        n, k = int(self.values["n_way"]), int(self.values["k_shot"])
        main, rest = self.names[0], self.names[1:]
        acc, ci = self.accuracy[main, n, k]
        self.artists["point"].set_data([n], [acc])
        text = f"{n}-way {k}-shot: {main} {acc:.3f} ± {ci:.3f}"
        for name in rest:
            a, c = self.accuracy[name, n, k]
            text += f", {name} {a:.3f} ± {c:.3f}"
        self.ax.set_title(text, fontsize="small")
        support, query, pred, _ = self.episodes[n, k]
        self.episode_correct = int((pred == torch.arange(n).repeat_interleave(self.n_query)).sum())
        if self.ax_episode is None:
            return
        green, red, grey = (
            matplotlib.colors.to_rgb(c) for c in (viz.ZONE_COLORS["easy"], viz.NEGATIVE, "0.35")
        )
        h, w = self._cell[0] - 2, self._cell[1] - 2
        self._mosaic[:] = 1.0
        for row in range(n):
            cells = [(support[row, j], grey) for j in range(k)] + [(None, None)]
            for j in range(self.n_query):
                ok = int(pred[row * self.n_query + j]) == row
                cells.append((query[row, j], green if ok else red))
            for col, (idx, frame) in enumerate(cells):
                if idx is None:
                    continue
                y0, x0 = row * (h + 2), col * (w + 2)
                self._mosaic[y0 : y0 + h + 2, x0 : x0 + w + 2] = frame
                self._mosaic[y0 + 1 : y0 + h + 1, x0 + 1 : x0 + w + 1] = self._rgb[int(idx)]
        self.artists["episode"].set_data(self._mosaic)
        self.ax_episode.set_title(
            f"one episode: {k} support (grey) | {self.n_query} queries per class; "
            f"{self.episode_correct}/{n * self.n_query} right (green)",
            fontsize="small",
        )


def few_shot_explorer(
    embeddings,
    labels,
    images=None,
    baseline=None,
    n_ways: Sequence[int] = (2, 3, 5, 10, 20),
    k_shots: Sequence[int] = (1, 2, 5),
    n_query: int = 5,
    num_episodes: int = 200,
    method: str = "prototype",
    names: tuple[str, str] = ("learned", "raw pixels"),
    seed: int = 0,
) -> FewShotExplorer:
    """N-way K-shot classification of unseen classes: accuracy over a grid, and one episode.

    On construction the app draws ``num_episodes`` episodes (:func:`cl_lessons.data.
    few_shot_episodes`) for every ``(N, K)`` of the grid and classifies their queries by the
    nearest prototype (Snell et al. 2017, https://arxiv.org/abs/1703.05175) or the nearest
    support example, in ``embeddings`` and, on the *same* episodes, in ``baseline``. The sliders
    only look results up. The left panel plots mean accuracy against N for each K (baseline
    dashed, chance dotted); the right one shows the first episode of the chosen cell: each row a
    class, its K support images (grey frames), then its queries, framed green when classified
    right and red when not.

    Args:
        embeddings: embeddings of a pool of classes unseen in training.
        labels: their integer class ids.
        images: optional images of the pool, for the episode panel.
        baseline: optional second representation of the same items (e.g. raw pixels ``(M, P)``).
        n_ways: values of N on the N slider (each >= 2).
        k_shots: values of K on the K slider (each >= 1).
        n_query: queries per class in every episode.
        num_episodes: episodes per grid cell.
        method: ``"prototype"`` or ``"nearest"``.
        names: legend names of ``embeddings`` and ``baseline``.
        seed: seed of the episodes.

    Returns:
        The app; ``app.accuracy[(name, N, K)] = (mean, 95 % half-width)``, ``app.episodes``.

    Shape:
        ``embeddings``: ``(M, D)``, ``labels``: ``(M,)``, ``images``: ``(M, ...)``,
        ``baseline``: ``(M, D')``.

    Raises:
        ValueError: lengths differ, NaN/inf values, bad grid values, an N larger than the
            number of classes with ``max(k_shots) + n_query`` samples, unknown ``method``.
    """
    from cl_lessons.metrics.few_shot import METHODS

    emb = _finite(_to_numpy(embeddings, "embeddings", ndim=2), "embeddings")
    lab = _labels(labels, len(emb))
    spaces = {}
    if not (
        isinstance(names, (tuple, list))
        and len(names) == 2
        and all(isinstance(s, str) for s in names)
    ):
        raise ValueError(f"names must be a pair of strings, got {names!r}")
    spaces[str(names[0])] = torch.as_tensor(emb, dtype=torch.float32)
    if baseline is not None:
        base = _finite(_to_numpy(baseline, "baseline", ndim=2), "baseline")
        if len(base) != len(emb):
            raise ValueError(f"baseline must have one row per item ({len(emb)}), got {len(base)}")
        spaces[str(names[1])] = torch.as_tensor(base, dtype=torch.float32)
    n_ways = _grid_values(n_ways, "n_ways", 2)
    k_shots = _grid_values(k_shots, "k_shots", 1)
    n_query = check_int_in(n_query, "n_query", 1, 50)
    num_episodes = check_int_in(num_episodes, "num_episodes", 1, 100_000)
    check_choice(method, "method", METHODS)
    seed = check_seed(seed)
    _, counts = np.unique(lab, return_counts=True)
    enough = int((counts >= max(k_shots) + n_query).sum())
    if max(n_ways) > enough:
        raise ValueError(
            f"n_ways goes up to {max(n_ways)}, but only {enough} classes have "
            f"max(k_shots) + n_query = {max(k_shots) + n_query} samples"
        )
    img = None
    if images is not None:
        img = _finite(viz.as_images(images), "images")
        if len(img) != len(emb):
            raise ValueError(f"images must have one image per item ({len(emb)}), got {len(img)}")
    return FewShotExplorer(spaces, lab, img, n_ways, k_shots, n_query, num_episodes, method, seed)
