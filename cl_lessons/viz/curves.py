"""Training curves from a :class:`~cl_lessons.training.History` or plain lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from cl_lessons.viz._inputs import _new_ax, _to_numpy
from cl_lessons.viz.colors import class_colors


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
