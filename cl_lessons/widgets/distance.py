"""``distance_explorer``: Euclidean, cosine and Manhattan distance between two points you move."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_bool, check_number_in
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _slider


class DistanceExplorer(App):
    """Two 2-D vectors: Euclidean, L1 and cosine side by side (see :func:`distance_explorer`)."""

    def __init__(self, angle_a, length_a, angle_b, length_b, normalize):
        controls = {
            "angle_a": _slider("angle a (deg)", angle_a, 0, 360, 1, ".0f"),
            "length_a": _slider("length a", length_a, 0.1, 2.0, 0.05),
            "angle_b": _slider("angle b (deg)", angle_b, 0, 360, 1, ".0f"),
            "length_b": _slider("length b", length_b, 0.1, 2.0, 0.05),
            "normalize": widgets.Checkbox(value=normalize, description="normalise to length 1"),
        }
        super().__init__(controls, figsize=(9.0, 3.9))
        ax, bx = self.fig.subplots(1, 2, width_ratios=[1.0, 1.1])
        t = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(t), np.sin(t), color="0.7", lw=1, label="unit circle")
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        a_col, b_col = viz.PALETTE[0], viz.PALETTE[1]
        art = self.artists
        (art["a"],) = ax.plot([], [], "-o", color=a_col, lw=2.5, markevery=[1], label="a")
        (art["b"],) = ax.plot([], [], "-o", color=b_col, lw=2.5, markevery=[1], label="b")
        (art["euclidean"],) = ax.plot([], [], "--", color="black", lw=1.5, label="Euclidean")
        (art["l1"],) = ax.plot([], [], ":", color=viz.PALETTE[2], lw=2.0, label="L1 path")
        (art["arc"],) = ax.plot([], [], "-", color=viz.PALETTE[3], lw=1.5, label="angle")
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize="x-small", loc="lower left", ncols=2)
        names = ["Euclidean", "L1", "cos sim", "cos dist"]
        colors = ["black", viz.PALETTE[2], viz.PALETTE[3], viz.PALETTE[4]]
        art["bars"] = bx.bar(names, np.zeros(4), color=colors)
        art["bar_text"] = [bx.text(i, 0, "", ha="center", va="bottom") for i in range(4)]
        bx.axhline(0, color="0.5", lw=0.8)
        bx.set_ylim(-1.2, 6.0)
        bx.set_ylabel("value")
        self.ax_plane, self.ax_bars = ax, bx
        self.distances: dict[str, float] = {}
        self._dynamic(
            art["a"],
            art["b"],
            art["euclidean"],
            art["l1"],
            art["arc"],
            *art["bars"],
            *art["bar_text"],
            ax.title,
            bx.title,
        )
        self._start()

    def _apply(self) -> None:
        from cl_lessons.distances import cosine_similarity, euclidean, manhattan

        v = self.values

        def vec(angle, length):
            r = 1.0 if v["normalize"] else length
            return np.array([r * math.cos(math.radians(angle)), r * math.sin(math.radians(angle))])

        a, b = vec(v["angle_a"], v["length_a"]), vec(v["angle_b"], v["length_b"])
        ta, tb = torch.as_tensor(a), torch.as_tensor(b)  # (2,) float64
        e = float(euclidean(ta, tb))
        l1 = float(manhattan(ta, tb))
        cs = float(cosine_similarity(ta, tb))
        self.distances = {"euclidean": e, "l1": l1, "cosine_similarity": cs, "cosine": 1 - cs}
        art = self.artists
        art["a"].set_data([0, a[0]], [0, a[1]])
        art["b"].set_data([0, b[0]], [0, b[1]])
        art["euclidean"].set_data([a[0], b[0]], [a[1], b[1]])
        art["l1"].set_data([a[0], b[0], b[0]], [a[1], a[1], b[1]])
        t0, t1 = math.radians(v["angle_a"]), math.radians(v["angle_b"])
        delta = (t1 - t0 + math.pi) % (2 * math.pi) - math.pi  # shorter way round
        arc = t0 + np.linspace(0, delta, 40)
        art["arc"].set_data(0.35 * np.cos(arc), 0.35 * np.sin(arc))
        for bar, txt, val in zip(
            art["bars"], art["bar_text"], self.distances.values(), strict=True
        ):
            bar.set_height(val)
            txt.set_position((bar.get_x() + bar.get_width() / 2, max(val, 0) + 0.05))
            txt.set_text(f"{val:.2f}")
        self.ax_plane.set_title(f"a = ({a[0]:.2f}, {a[1]:.2f}),  b = ({b[0]:.2f}, {b[1]:.2f})")
        if v["normalize"]:
            title = f"unit vectors: ||a-b||² = {e * e:.2f} = 2 - 2 cos = {2 - 2 * cs:.2f}"
        else:
            title = f"Euclidean = {e:.2f}, L1 = {l1:.2f}, cos = {cs:.2f}"
        self.ax_bars.set_title(title)


def distance_explorer(
    angle_a: float = 30.0,
    length_a: float = 1.0,
    angle_b: float = 110.0,
    length_b: float = 1.5,
    normalize: bool = False,
) -> DistanceExplorer:
    """Two 2-D vectors set by angle and length; Euclidean, L1 and cosine side by side.

    The left panel draws the vectors, the unit circle, the straight Euclidean segment, the
    axis-aligned L1 path and the angle; the right panel the four numbers. The "normalise"
    toggle puts both vectors on the unit circle, where ``||a - b||² = 2 - 2 cos(a, b)``.

    Args:
        angle_a: direction of ``a`` in degrees, in [0, 360].
        length_a: length of ``a``, in [0.1, 2].
        angle_b: direction of ``b`` in degrees.
        length_b: length of ``b``.
        normalize: start with both vectors normalised.

    Returns:
        The app; ``app.distances`` holds the current values.

    Raises:
        ValueError: an angle or a length outside its slider's range.
    """
    for name, val, lo, hi in [
        ("angle_a", angle_a, 0, 360),
        ("angle_b", angle_b, 0, 360),
        ("length_a", length_a, 0.1, 2.0),
        ("length_b", length_b, 0.1, 2.0),
    ]:
        check_number_in(val, name, lo, hi)
    normalize = check_bool(normalize, "normalize")
    return DistanceExplorer(
        float(angle_a), float(length_a), float(angle_b), float(length_b), normalize
    )
