"""``train_2d_explorer``: train a tiny 2-D embedding with a chosen loss and watch it move."""

from __future__ import annotations

import time
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_int, check_number_in, check_seed
from cl_lessons.viz.colors import _label_colors
from cl_lessons.viz.regions import _grid, _knn_votes, _region_image
from cl_lessons.widgets._app import _STYLE, App
from cl_lessons.widgets._controls import _dropdown, _slider

_DATASETS = ("blobs", "moons", "rings", "spirals")


_MININGS = ("all", "hard", "semihard")


def _toy_data(name: str, n: int, seed: int):
    from cl_lessons import data

    make = {
        "blobs": data.make_blobs,
        "moons": data.make_moons,
        "rings": data.make_rings,
        "spirals": data.make_spirals,
    }[name]
    X, y = make(n=n, seed=seed)
    return data.stratified_split(X, y, test_fraction=0.3, seed=seed)


def train_2d(
    X: torch.Tensor,
    y: torch.Tensor,
    loss: str,
    margin: float,
    mining: str = "all",
    steps: int = 150,
    batch_size: int = 48,
    lr: float = 1e-2,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
):
    """Train a tiny MLP (2 -> 64 -> 64 -> 2) with a contrastive or batch triplet loss.

    A deliberately small, self-contained loop (full control of the seed, no progress bar)
    used by :func:`train_2d_explorer`; ``cl_lessons.training.fit`` is the general one.
    The global random state is left untouched (``torch.random.fork_rng``).

    Args:
        X: training points.
        y: their class ids.
        loss: ``"contrastive"`` (every pair of the batch, ``y = 1`` for same class) or
            ``"triplet"`` (:func:`cl_lessons.losses.batch_triplet_loss` with ``mining``).
        margin: the margin of the loss.
        mining: ``"all"``, ``"hard"`` or ``"semihard"`` (triplet only).
        steps: optimisation steps.
        batch_size: points per random batch.
        lr: Adam learning rate.
        seed: seed of the initial weights and the batches.
        progress: called with the step number every 10 steps.

    Returns:
        ``(net, losses)``: the trained encoder (eval mode) and the loss of every step.

    Shape:
        ``X``: ``(N, 2)``, ``y``: ``(N,)``.
    """
    from cl_lessons.models import MLPEncoder

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MLPEncoder(2, hidden=(64, 64), out_dim=2)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    batch_size = min(batch_size, len(X))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only add contention (3-10x slower)
    try:
        for step in range(steps):
            _train_step(net, opt, X, y, loss, margin, mining, batch_size, gen, history)
            if progress is not None and (step + 1) % 10 == 0:
                progress(step + 1)
    finally:
        torch.set_num_threads(threads)
    net.eval()
    return net, history


def _train_step(net, opt, X, y, loss, margin, mining, batch_size, gen, history) -> None:
    from cl_lessons import losses

    idx = torch.randperm(len(X), generator=gen)[:batch_size]
    z = net(X[idx])  # (B, 2)
    if loss == "contrastive":
        i, j = torch.triu_indices(len(idx), len(idx), offset=1)  # every pair once
        same = (y[idx][i] == y[idx][j]).float()  # (P,)
        value = losses.contrastive_loss(z[i], z[j], same, margin)
    else:
        value = losses.batch_triplet_loss(z, y[idx], margin, mining=mining)
    opt.zero_grad()
    value.backward()
    opt.step()
    history.append(float(value.detach()))


class Train2DExplorer(App):
    """Retrain a tiny 2-D encoder on release of a control (see :func:`train_2d_explorer`)."""

    _defer_apply = True  # a retrain is slow: never queue one per event

    def __init__(self, dataset, loss, margin, mining, n, steps, seed):
        controls = {
            "dataset": _dropdown("data", _DATASETS, dataset),
            "loss": _dropdown("loss", ["contrastive", "triplet"], loss),
            "mining": _dropdown("mining", _MININGS, mining),
            "margin": _slider("margin", margin, 0.1, 3.0, 0.1, ".1f", continuous=False),
        }
        self.progress = widgets.IntProgress(
            value=0,
            min=0,
            max=steps,
            description="training",
            style=_STYLE,
            layout=widgets.Layout(width="260px"),
        )
        super().__init__(controls, figsize=(9.5, 4.2), extra=[self.progress])
        self.n, self.steps, self.seed = n, steps, seed
        self.cache: dict[tuple, dict] = {}
        ax, lx = self.fig.subplots(1, 2, width_ratios=[1.25, 1.0])
        self.ax, self.ax_loss = ax, lx
        art = self.artists
        res = 80
        self._res = res
        art["regions"] = ax.imshow(
            np.zeros((res, res, 4)),
            origin="lower",
            extent=(0, 1, 0, 1),
            aspect="auto",
            interpolation="nearest",
        )
        art["train"] = ax.scatter([], [], s=10, linewidths=0, alpha=0.6, label="train")
        art["test"] = ax.scatter(
            [], [], s=28, marker="^", edgecolors="black", linewidths=0.6, label="held-out test"
        )
        ax.legend(fontsize="x-small", loc="upper right")
        ax.set_aspect("equal", adjustable="box")  # distances are what the loss shapes
        ax.set_xlabel("embedding dimension 1")
        ax.set_ylabel("embedding dimension 2")
        (art["loss_curve"],) = lx.plot([], [], color=viz.PALETTE[0], lw=1.5)
        lx.set_xlabel("step")
        lx.set_ylabel("training loss")
        lx.set_xlim(0, steps)
        self._start()

    def _train(self, v: dict) -> dict:
        key = (
            v["dataset"],
            v["loss"],
            v["mining"] if v["loss"] == "triplet" else "-",
            round(float(v["margin"]), 4),
        )
        if key in self.cache:
            done = self.cache[key]
            self._say(f"{self._what(v)}: shown from the cache (trained in {done['seconds']:.2f} s)")
            return done
        Xtr, ytr, Xte, yte = _toy_data(v["dataset"], self.n, self.seed)
        self.progress.value = 0
        self._say(f"training {self._what(v)}…")
        start = time.perf_counter()

        def tick(step: int) -> None:
            self.progress.value = step

        net, history = train_2d(
            Xtr,
            ytr,
            v["loss"],
            float(v["margin"]),
            v["mining"],
            steps=self.steps,
            seed=self.seed,
            progress=tick,
        )
        with torch.no_grad():
            ztr, zte = net(Xtr).numpy(), net(Xte).numpy()  # (N_train, 2), (N_test, 2)
        pred, classes = _knn_votes(ztr, ytr.numpy(), zte, k=5)
        acc = float((classes[pred] == yte.numpy()).mean())
        seconds = time.perf_counter() - start
        self.progress.value = self.steps
        self._say(f"{self._what(v)}: trained in {seconds:.2f} s")
        result = {
            "z_train": ztr,
            "y_train": ytr.numpy(),
            "z_test": zte,
            "y_test": yte.numpy(),
            "history": np.asarray(history),
            "accuracy": acc,
            "seconds": seconds,
        }
        self.cache[key] = result
        return result

    @staticmethod
    def _what(v: dict) -> str:
        """The setting in words, as the status line and the figure's title both say it."""
        what = v["loss"] + (f" ({v['mining']})" if v["loss"] == "triplet" else "")
        return f"{what}, margin = {v['margin']:.1f}"

    def _apply(self) -> None:
        v = self.values
        self.controls["mining"].disabled = v["loss"] != "triplet"
        r = self._train(v)
        self.result = r
        self._touch()  # everything changes: redraw it all
        ztr, ytr, zte, yte = r["z_train"], r["y_train"], r["z_test"], r["y_test"]
        classes, index, colors = _label_colors(ytr)
        rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
        both = np.concatenate([ztr, zte])
        grid, extent = _grid(both, self._res, square=True)
        pred, _ = _knn_votes(ztr, ytr, grid, k=5)
        art = self.artists
        art["regions"].set_data(_region_image(pred, colors, self._res))
        art["regions"].set_extent(extent)
        art["train"].set_offsets(ztr)
        art["train"].set_facecolors(rgba[index])
        art["test"].set_offsets(zte)
        art["test"].set_facecolors(rgba[np.searchsorted(classes, yte)])
        self.ax.set_xlim(extent[0], extent[1])
        self.ax.set_ylim(extent[2], extent[3])
        h = r["history"]
        art["loss_curve"].set_data(np.arange(1, len(h) + 1), h)
        self.ax_loss.set_ylim(0, float(h.max()) * 1.05 + 1e-9)
        self.ax.set_title(
            f"{self._what(v)}: held-out kNN accuracy = {r['accuracy']:.2f}", fontsize="medium"
        )
        self.ax_loss.set_title(f"loss (trained in {r['seconds']:.2f} s)", fontsize="medium")


def train_2d_explorer(
    dataset: str = "blobs",
    loss: str = "contrastive",
    margin: float = 1.0,
    mining: str = "all",
    n: int = 300,
    steps: int = 150,
    seed: int = 0,
) -> Train2DExplorer:
    """Retrain a tiny encoder with 2-D output when a control is released, then show it.

    Every change of data set, loss, mining or margin (sliders fire on release,
    ``continuous_update=False``) retrains a 2 -> 64 -> 64 -> 2 MLP from the same seed on 70%
    of a toy set (a progress bar runs meanwhile), embeds all points, paints the kNN regions of
    the embedded training points, and reports the kNN accuracy on the held-out 30%. Results are
    cached per setting, so going back is instant.

    Args:
        dataset: ``"blobs"``, ``"moons"``, ``"rings"`` or ``"spirals"``.
        loss: ``"contrastive"`` (all pairs of a batch) or ``"triplet"`` (batch triplet loss).
        margin: starting margin, in [0.1, 3].
        mining: triplet mining, ``"all"``, ``"hard"`` (Hermans et al. 2017) or ``"semihard"``
            (Schroff et al. 2015).
        n: number of toy points (>= 20).
        steps: optimisation steps per retrain (>= 10).
        seed: seed of the data, the weights and the batches.

    Returns:
        The app; ``app.result`` holds the embeddings, loss history and held-out accuracy.

    Raises:
        ValueError: an unknown choice, margin outside [0.1, 3], ``n < 20`` or ``steps < 10``.
    """
    if dataset not in _DATASETS:
        raise ValueError(f"dataset must be one of {list(_DATASETS)}, got {dataset!r}")
    if loss not in ("contrastive", "triplet"):
        raise ValueError(f"loss must be 'contrastive' or 'triplet', got {loss!r}")
    if mining not in _MININGS:
        raise ValueError(f"mining must be one of {list(_MININGS)}, got {mining!r}")
    margin = check_number_in(margin, "margin", 0.1, 3.0)
    n = check_int(n, "n", 20)
    steps = check_int(steps, "steps", 10)
    seed = check_seed(seed)
    return Train2DExplorer(dataset, loss, margin, mining, n, steps, seed)
