"""Factories for the sliders and dropdowns every app uses, and the retrain-button style."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets

from cl_lessons.widgets._app import _STYLE

RETRAIN_CLASS = "cl-retrain"
"""CSS class of controls that act on release and may retrain (tests/ui waits longer for them)."""


def _round_step(step: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten not above ``step``: a grid from 0 with it
    holds round starting values such as 0.4, which an app would otherwise move to a step.
    A step of 0 (data with no spread) is returned as it is."""
    if not step > 0:
        return step
    power = 10.0 ** math.floor(math.log10(step))
    return max(m * power for m in (1, 2, 5) if m * power <= step * (1 + 1e-9))


def _grid_through(value: float, lo: float, hi: float, step: float) -> tuple[float, float]:
    """``(lo, hi)`` moved by less than a step so that the grid ``lo + k * step`` passes through
    ``value`` and still covers ``[lo, hi]``: the slider then shows exactly the value it was given
    (a threshold picked from the data, say) instead of the nearest step."""
    lo = value - math.floor((value - lo) / step) * step
    return lo, lo + math.ceil((hi - lo) / step - 1e-9) * step


def _slider(
    name: str,
    value: float,
    lo: float,
    hi: float,
    step: float,
    fmt: str = ".2f",
    continuous: bool = True,
) -> widgets.FloatSlider:
    slider = widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=name,
        readout_format=fmt,
        continuous_update=continuous,
        style=_STYLE,
        layout=widgets.Layout(width="300px"),
    )
    if not continuous:
        # answers on release, possibly after retraining: the browser tests wait longer for it
        slider.add_class(RETRAIN_CLASS)
    return slider


def _int_slider(name: str, value: int, lo: int, hi: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value,
        min=lo,
        max=hi,
        step=1,
        description=name,
        style=_STYLE,
        layout=widgets.Layout(width="300px"),
    )


def _dropdown(name: str, options: Sequence[str], value: str) -> widgets.Dropdown:
    return widgets.Dropdown(
        options=list(options),
        value=value,
        description=name,
        style=_STYLE,
        layout=widgets.Layout(width="220px"),
    )
