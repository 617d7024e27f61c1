"""The figure side of an app: its resolution, the image widget that shows it, readable text."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
from traitlets import Unicode

_DPI = 80  # pixels per inch of the rendered figures: sharp enough, fast to render and encode
_PNG_OPTIONS = {"compress_level": 1}  # fast zlib level: ~3x quicker than the default, ~20% larger


def _uses_ipympl() -> bool:
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


def _class_legend(ax, classes, colors) -> None:
    """One legend entry per class (the first 12), outside the axes on the right."""
    handles = [
        matplotlib.lines.Line2D([], [], ls="", marker="o", color=c, label=str(cl))
        for cl, c in zip(classes, colors, strict=True)
    ][:12]
    if handles:
        ax.legend(
            handles=handles,
            title="class",
            fontsize="x-small",
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )


MIN_FONT_PT = 10.0
"""Smallest text in an app's figure, in points: 11 px at the apps' 80 dpi, readable projected."""


def _readable(texts, axes) -> None:
    """Raise every text (and the tick labels of ``axes``) to at least :data:`MIN_FONT_PT`."""
    for text in texts:
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    for ax in axes:
        for which, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
            if labels and min(lab.get_fontsize() for lab in labels) < MIN_FONT_PT:
                ax.tick_params(axis=which, labelsize=MIN_FONT_PT)


class _FigureImage(widgets.Image):
    """An ``Image`` with a hover text (``tooltip``): the figure's description, in words.

    ipywidgets 8's front end shows a ``tooltip`` only beside a ``description`` (its view reads
    the description's length, and an ``Image`` has none: the view then fails to render), so this
    image carries an empty one.
    """

    description = Unicode("").tag(sync=True)
