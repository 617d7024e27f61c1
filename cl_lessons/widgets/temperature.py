"""``temperature_explorer``: how the InfoNCE temperature sharpens the softmax over negatives."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_number_in
from cl_lessons.viz._inputs import _finite, _to_numpy
from cl_lessons.widgets._app import _STYLE, App


class TemperatureExplorer(App):
    """Softmax weights and gradients over fixed similarities (see :func:`temperature_explorer`)."""

    def __init__(self, temperature, sims):
        controls = {
            "temperature": widgets.FloatLogSlider(
                value=temperature,
                base=10,
                min=-2,
                max=1,
                step=0.02,
                description="temperature τ",
                readout_format=".3f",
                style=_STYLE,
                layout=widgets.Layout(width="340px"),
            )
        }
        super().__init__(controls, figsize=(9.5, 3.6))
        self.sims = torch.as_tensor(sims, dtype=torch.float64)  # (1 + K,) positive first
        ax, bx = self.fig.subplots(1, 2)
        names = ["pos"] + [f"n{i + 1}" for i in range(len(sims) - 1)]
        colors = [viz.POSITIVE] + [viz.NEGATIVE] * (len(sims) - 1)
        x = np.arange(len(sims))
        art = self.artists
        art["weights"] = ax.bar(x, np.zeros(len(sims)), color=colors)
        art["grads"] = bx.bar(x[1:], np.zeros(len(sims) - 1), color=viz.NEGATIVE)
        ax.set_ylim(0, 1.05)
        bx.set_ylim(0, 1.05)
        ax.set_ylabel("softmax weight")
        bx.set_ylabel("share of the push on negatives")
        for axis in (ax, bx):
            axis.set_xticks(x, [f"{n}\n{s:.2f}" for n, s in zip(names, sims, strict=True)])
            axis.tick_params(axis="x", labelsize="x-small")
            axis.set_xlabel("candidate and its similarity s")
        bx.set_xlim(-0.6, len(sims) - 0.4)
        self.ax_weights, self.ax_grads = ax, bx
        self._dynamic(*art["weights"], *art["grads"], ax.title, bx.title)
        self._start()

    def _apply(self) -> None:
        tau = float(self.values["temperature"])
        s = self.sims.clone().requires_grad_(True)  # (1 + K,)
        logits = (s / tau).unsqueeze(0)  # (1, 1 + K): one InfoNCE anchor
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long))
        (grad,) = torch.autograd.grad(loss, s)  # (1 + K,) = (softmax - onehot) / tau
        w = torch.softmax(logits.detach(), 1)[0].numpy()
        g = grad[1:].numpy()  # (K,) >= 0: how hard each negative is pushed away
        self.weights, self.gradients, self.loss = w, g, float(loss.detach())
        for bar, h in zip(self.artists["weights"], w, strict=True):
            bar.set_height(h)
        total = float(g.sum())
        self.shares = g / total if total > 0 else np.zeros_like(g)  # (K,) sums to 1
        for bar, h in zip(self.artists["grads"], self.shares, strict=True):
            bar.set_height(h)
        self.ax_weights.set_title(f"τ = {tau:.3f}: loss = {self.loss:.3f}")
        self.ax_grads.set_title(
            f"total push Σ dL/ds = {total:.2f}; hardest gets {100 * self.shares.max():.0f}%"
        )


def temperature_explorer(temperature: float = 0.1, similarities=None) -> TemperatureExplorer:
    """Temperature slider over fixed similarities: softmax weights and per-negative gradients.

    One InfoNCE anchor (Oord et al. 2018, https://arxiv.org/abs/1807.03748; SimCLR, Chen et al.
    2020, https://arxiv.org/abs/2002.05709) with loss ``-log softmax(s / τ)[positive]``. The
    gradient on negative ``j`` is ``softmax_j / τ``: a low temperature puts nearly all of it on
    the most similar (hardest) negatives, a high one spreads it evenly.

    Args:
        temperature: starting τ, in [0.01, 10].
        similarities: cosine similarities, the positive's first, then the negatives'; None uses
            a positive at 0.6 and 12 negatives from 0.55 down to -0.6.

    Returns:
        The app; ``app.weights``, ``app.gradients`` and ``app.loss`` hold the current values.

    Raises:
        ValueError: temperature outside [0.01, 10], fewer than two similarities, values outside
            [-1, 1] or not finite.
    """
    temperature = check_number_in(temperature, "temperature", 0.01, 10.0)
    if similarities is None:
        similarities = [0.6, 0.55, 0.45, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6]
    sims = _finite(_to_numpy(similarities, "similarities", ndim=1), "similarities")
    if len(sims) < 2:
        raise ValueError(f"similarities needs the positive and >= 1 negative, got {len(sims)}")
    if np.abs(sims).max() > 1.0:
        raise ValueError("similarities must be cosine similarities in [-1, 1]")
    return TemperatureExplorer(temperature, sims)
