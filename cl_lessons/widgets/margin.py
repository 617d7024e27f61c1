"""``margin_explorer``: the contrastive loss of pairs as the margin moves."""

from __future__ import annotations

import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_number_in
from cl_lessons.viz._inputs import _finite, _to_numpy
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _dropdown, _slider


def _check_distances(d, name: str) -> np.ndarray:
    arr = _finite(_to_numpy(d, name, ndim=1), name)
    if (arr < 0).any():
        raise ValueError(f"{name} must hold distances >= 0, got min {arr.min():.3g}")
    return arr


class MarginExplorer(App):
    """Loss and gradient against distance for a margin loss (see :func:`margin_explorer`)."""

    def __init__(self, margin, loss, d_pos, d_neg):
        controls = {
            "margin": _slider("margin", margin, 0.0, 3.0, 0.05),
            "loss": _dropdown("loss", ["contrastive", "triplet"], loss),
        }
        has_hist = d_pos is not None
        super().__init__(controls, figsize=(11.0 if has_hist else 8.5, 3.6))
        axes = self.fig.subplots(1, 3 if has_hist else 2)
        self.ax_loss, self.ax_grad = axes[0], axes[1]
        art = self.artists
        for ax, kind in [(self.ax_loss, "loss"), (self.ax_grad, "grad")]:
            (art[f"{kind}_pos"],) = ax.plot([], [], color=viz.POSITIVE, lw=2)
            (art[f"{kind}_neg"],) = ax.plot([], [], color=viz.NEGATIVE, lw=2)
            art[f"{kind}_margin"] = ax.axvline(0, color="black", ls="--", lw=1)
            ax.axhline(0, color="0.8", lw=0.8)
        self.ax_hist = None
        if has_hist:
            self.ax_hist = axes[2]
            self.d_pos, self.d_neg = d_pos, d_neg
            self._d_neg_sorted = np.sort(d_neg)
            viz.plot_distance_histograms(d_pos, d_neg, ax=self.ax_hist, title="")
            art["hist_margin"] = self.ax_hist.axvline(0, color="black", ls="--", lw=1.5)
            self._dynamic(art["hist_margin"], self.ax_hist.title)
        self._dynamic(
            *(
                art[f"{kind}_{part}"]
                for kind in ("loss", "grad")
                for part in ("pos", "neg", "margin")
            ),
            self.ax_loss.title,
            self.ax_grad.title,
        )
        self._mode = None
        self._start()

    def _curves(self, margin: float, loss: str):
        from cl_lessons import losses

        if loss == "contrastive":
            d = torch.linspace(1e-3, 4.0, 300, dtype=torch.float64, requires_grad=True)  # (T,)
            z1 = torch.stack([d, torch.zeros_like(d)], 1)  # (T, 2): distance to the origin is d
            z2 = torch.zeros_like(z1)
            ones = torch.ones(len(d), dtype=torch.float64)
            pos = losses.contrastive_loss(z1, z2, ones, margin, reduction="none")  # (T,)
            (g_pos,) = torch.autograd.grad(pos.sum(), d)
            neg = losses.contrastive_loss(z1, z2, 1 - ones, margin, reduction="none")  # (T,)
            (g_neg,) = torch.autograd.grad(neg.sum(), d)
            x = d.detach().numpy()
            return x, pos.detach().numpy(), neg.detach().numpy(), g_pos.numpy(), g_neg.numpy()
        # triplet: fix d(a,p) = 1 and move the negative; x = d(a,n) - d(a,p)
        gap = torch.linspace(-0.999, 4.0, 300, dtype=torch.float64)  # (T,)
        d_ap = torch.ones_like(gap, requires_grad=True)
        d_an = (1.0 + gap).requires_grad_(True)
        zero = torch.zeros_like(gap)
        a = torch.zeros(len(gap), 2, dtype=torch.float64)  # (T, 2)
        p = torch.stack([d_ap, zero], 1)  # (T, 2)
        n = torch.stack([d_an, zero], 1)  # (T, 2)
        trip = losses.triplet_loss(a, p, n, margin, reduction="none")  # (T,)
        g_ap, g_an = torch.autograd.grad(trip.sum(), [d_ap, d_an])
        return gap.numpy(), trip.detach().numpy(), None, g_ap.numpy(), g_an.numpy()

    def _set_mode(self, loss: str) -> None:
        art = self.artists
        if loss == "contrastive":
            self.ax_loss.set_xlim(0, 4.0)
            self.ax_grad.set_xlim(0, 4.0)
            self.ax_loss.set_xlabel("distance d")
            self.ax_grad.set_xlabel("distance d")
            self.ax_loss.set_ylabel("loss")
            self.ax_grad.set_ylabel("dL/dd")
            art["loss_pos"].set_label("similar pair: d²")
            art["loss_neg"].set_label("dissimilar pair: max(m - d, 0)²")
            art["grad_pos"].set_label("similar: pulls together")
            art["grad_neg"].set_label("dissimilar: pushes apart")
        else:
            self.ax_loss.set_xlim(-1.0, 4.0)
            self.ax_grad.set_xlim(-1.0, 4.0)
            self.ax_loss.set_xlabel("d(a,n) - d(a,p)")
            self.ax_grad.set_xlabel("d(a,n) - d(a,p)")
            self.ax_loss.set_ylabel("loss")
            self.ax_grad.set_ylabel("gradient")
            art["loss_pos"].set_label("max(d(a,p) - d(a,n) + m, 0)")
            art["grad_pos"].set_label("dL/d d(a,p): pulls p in")
            art["grad_neg"].set_label("dL/d d(a,n): pushes n out")
        lims = {"contrastive": ((-0.3, 9.5), (-6.5, 8.5)), "triplet": ((-0.2, 5.2), (-1.5, 1.5))}
        self.ax_loss.set_ylim(*lims[loss][0])  # fixed per loss: the axes never jump
        self.ax_grad.set_ylim(*lims[loss][1])
        art["loss_neg"].set_visible(loss == "contrastive")
        art["loss_pos"].set_color(viz.POSITIVE if loss == "contrastive" else "black")
        # the curves rise to the right for the contrastive loss, to the left for the triplet loss:
        # the legends go where the curves are not
        corner = "upper left" if loss == "contrastive" else "upper right"
        self.ax_loss.legend(
            handles=[h for h in (art["loss_pos"], art["loss_neg"]) if h.get_visible()],
            fontsize="medium",
            loc=corner,
        )
        self.ax_grad.legend(
            handles=[art["grad_pos"], art["grad_neg"]], fontsize="medium", loc=corner
        )
        self._mode = loss
        self._touch()

    def _apply(self) -> None:
        m, loss = float(self.values["margin"]), self.values["loss"]
        if loss != self._mode:
            self._set_mode(loss)
        x, l_pos, l_neg, g_pos, g_neg = self._curves(m, loss)
        art = self.artists
        art["loss_pos"].set_data(x, l_pos)
        art["loss_neg"].set_data(x, l_neg if l_neg is not None else [])
        art["grad_pos"].set_data(x, g_pos)
        art["grad_neg"].set_data(x, g_neg)
        for key in ("loss_margin", "grad_margin"):  # contrastive: d = m; triplet: gap = m
            art[key].set_xdata([m, m])
        self.ax_loss.set_title(f"{loss} loss, margin = {m:.2f}")
        self.ax_grad.set_title(f"gradient, margin = {m:.2f}")
        if self.ax_hist is not None:
            art["hist_margin"].set_xdata([m, m])
            if loss == "contrastive":
                active = float(np.mean(self.d_neg < m))
                text = f"{100 * active:.0f}% of dissimilar pairs closer than m = {m:.2f}"
            else:
                # share of (positive, negative) combinations violating d_n > d_p + m
                below = np.searchsorted(self._d_neg_sorted, self.d_pos + m, side="left")
                active = float(below.mean() / len(self.d_neg))
                text = f"{100 * active:.0f}% of (p, n) combos with d_n < d_p + {m:.2f}"
            self.active_fraction = active
            self.ax_hist.set_title(text, fontsize="small")


def margin_explorer(
    margin: float = 1.0, loss: str = "contrastive", d_pos=None, d_neg=None
) -> MarginExplorer:
    """Margin slider and loss choice: loss and gradient against distance.

    Contrastive (``y = 1`` similar): a similar pair costs ``d²`` (pulled in at every distance), a
    dissimilar pair ``max(m - d, 0)²`` (pushed out only while closer than the margin). Triplet:
    ``max(d(a,p) - d(a,n) + m, 0)`` against the gap ``d(a,n) - d(a,p)``. Curves and gradients
    are computed by :mod:`cl_lessons.losses` with autograd, not re-typed here. Given the pair
    distances of a trained model, a third panel shows their histograms with the margin.

    Args:
        margin: starting margin, in [0, 3].
        loss: ``"contrastive"`` or ``"triplet"``.
        d_pos: distances of similar pairs of a trained model (optional, with ``d_neg``).
        d_neg: distances of dissimilar pairs.

    Returns:
        The app.

    Raises:
        ValueError: margin outside [0, 3], unknown loss, only one of ``d_pos``/``d_neg`` given,
            or empty/NaN/negative distances.
    """
    margin = check_number_in(margin, "margin", 0.0, 3.0)
    if loss not in ("contrastive", "triplet"):
        raise ValueError(f"loss must be 'contrastive' or 'triplet', got {loss!r}")
    if (d_pos is None) != (d_neg is None):
        raise ValueError("give both d_pos and d_neg, or neither")
    if d_pos is not None:
        d_pos, d_neg = _check_distances(d_pos, "d_pos"), _check_distances(d_neg, "d_neg")
    return MarginExplorer(margin, loss, d_pos, d_neg)
