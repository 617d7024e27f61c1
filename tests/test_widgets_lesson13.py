"""Lesson 13's app: memory_wall builds, moves with its slider, predicts by the formula, refuses."""

from __future__ import annotations

import pytest

import cl_lessons as cl
from cl_lessons.scale import info_nce_bytes, info_nce_chunked_bytes

MEASURED = {
    "info_nce": [{"n": 1024, "peak_bytes": 24e6}, {"n": 4096, "peak_bytes": 2.97e8}],
    "info_nce_chunked": [(1024, 1.5e7), (4096, 5.9e7)],
}


def test_slider_moves_the_marker_and_the_prediction():
    app = cl.widgets.memory_wall(MEASURED, n=4096)
    assert app.last_error is None
    assert app.predicted["info_nce"] == info_nce_bytes(4096, 128)
    before = app.png()
    app.controls["n"].value = 65536  # as the slider does
    assert app.png() != before
    assert list(app.artists["line"].get_xdata()) == [65536, 65536]
    assert app.predicted["info_nce_chunked"] == info_nce_chunked_bytes(65536, 128, 1024)
    assert app.fits == {16: False, 24: False, 80: True}  # 64.5 GiB
    assert "65,536" in app.ax.get_title() and "fits 80 GB" in app.ax.get_title()


@pytest.mark.parametrize(
    ("n", "fits"),
    [(16384, {16: True, 24: True, 80: True}), (32768, {16: False, 24: True, 80: True})],
)
def test_where_each_gpu_hits_the_wall(n, fits):
    app = cl.widgets.memory_wall(MEASURED, n=n)
    assert app.fits == fits


def test_the_formula_agrees_with_the_measured_points():
    for row in MEASURED["info_nce"]:
        assert 0.8 < row["peak_bytes"] / info_nce_bytes(row["n"]) < 1.2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"measured": [1, 2]}, "measured"),
        ({"measured": {"info_nce": [("a", 1)]}}, "measured"),
        ({"measured": {"info_nce": []}}, "measured"),
        ({"n": 1000}, "n must"),
        ({"n": True}, "n must"),
        ({"dim": 0}, "dim"),
        ({"chunk_size": 1.5}, "chunk_size"),
        ({"gpus": 16}, "gpus"),
        ({"gpus": (16, -1)}, "gpus"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"measured": MEASURED, **kwargs}
    with pytest.raises(ValueError, match=name):
        cl.widgets.memory_wall(**args)
