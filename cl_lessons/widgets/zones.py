"""``triplet_zones``: easy, semi-hard and hard negatives around an anchor as the margin moves."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_int, check_number_in, check_seed
from cl_lessons.viz._inputs import _finite, _to_numpy
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _slider


class TripletZones(App):
    """Negatives coloured easy / semi-hard / hard around an anchor (see :func:`triplet_zones`)."""

    def __init__(self, margin, anchor, positive, negatives):
        from matplotlib.patches import Annulus, Circle

        controls = {
            "margin": _slider("margin", margin, 0.0, 2.0, 0.05),
            "anchor_x": _slider("anchor x", anchor[0], -2.0, 2.0, 0.05),
            "anchor_y": _slider("anchor y", anchor[1], -2.0, 2.0, 0.05),
            "positive_x": _slider("positive x", positive[0], -2.0, 2.0, 0.05),
            "positive_y": _slider("positive y", positive[1], -2.0, 2.0, 0.05),
        }
        super().__init__(controls, figsize=(6.4, 5.0))
        ax = self.fig.subplots()
        self.ax = ax
        self.negatives = negatives
        art = self.artists
        art["semihard_ring"] = Annulus(
            (0, 0), 1.0, 0.5, color=viz.ZONE_COLORS["semi-hard"], alpha=0.2, lw=0
        )
        art["hard_disc"] = Circle((0, 0), 1.0, color=viz.ZONE_COLORS["hard"], alpha=0.22, lw=0)
        ax.add_patch(art["semihard_ring"])
        ax.add_patch(art["hard_disc"])
        self._zone_rgba = np.array(
            [matplotlib.colors.to_rgba(viz.ZONE_COLORS[z]) for z in viz.ZONE_NAMES]
        )
        art["negatives"] = ax.scatter(negatives[:, 0], negatives[:, 1], s=16, linewidths=0)
        (art["ap"],) = ax.plot([], [], "-", color="0.3", lw=1)
        (art["anchor"],) = ax.plot([], [], "*", color="black", ms=15, label="anchor")
        (art["positive"],) = ax.plot([], [], "o", color=viz.POSITIVE, mec="black", ms=10)
        handles = [art["anchor"], art["positive"]]
        for z in range(3):
            (h,) = ax.plot([], [], "o", color=self._zone_rgba[z], ms=6)
            handles.append(h)
        self._legend = ax.legend(
            handles=handles,
            labels=["anchor", "positive", "easy", "semi-hard", "hard"],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize="small",
        )
        lim = float(np.abs(negatives).max()) * 1.02
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("dimension 1")
        ax.set_ylabel("dimension 2")
        self.zones = np.zeros(len(negatives), dtype=np.int64)
        self._dynamic(
            art["semihard_ring"],
            art["hard_disc"],
            art["negatives"],
            art["ap"],
            art["anchor"],
            art["positive"],
            self._legend,
            ax.title,
        )
        self._start()

    def _apply(self) -> None:
        v = self.values
        m = float(v["margin"])
        a = np.array([v["anchor_x"], v["anchor_y"]])
        p = np.array([v["positive_x"], v["positive_y"]])
        self.zones = viz.negative_zones(a, p, self.negatives, m)  # miners' definitions
        d_ap = float(np.linalg.norm(p - a))
        art = self.artists
        art["negatives"].set_facecolors(self._zone_rgba[self.zones])
        art["anchor"].set_data([a[0]], [a[1]])
        art["positive"].set_data([p[0]], [p[1]])
        art["ap"].set_data([a[0], p[0]], [a[1], p[1]])
        art["hard_disc"].set_center(a)
        art["hard_disc"].set_radius(d_ap)
        ring = art["semihard_ring"]
        ring.set_center(a)
        ring.set_visible(m > 0)
        if m > 0:
            ring.set_radii(d_ap + m)
            ring.set_width(m)
        counts = np.bincount(self.zones, minlength=3)
        for txt, name, c in zip(self._legend.get_texts()[2:], viz.ZONE_NAMES, counts, strict=True):
            txt.set_text(f"{name} ({c})")
        self.ax.set_title(
            f"margin = {m:.2f}, d(a,p) = {d_ap:.2f}: "
            f"{counts[0]} easy, {counts[1]} semi-hard, {counts[2]} hard"
        )


def _point(point, name: str) -> tuple[float, float]:
    """``(x, y)`` with both coordinates finite numbers in [-2, 2]."""
    try:
        x, y = point
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (x, y) with both in [-2, 2], got {point!r}") from None
    return check_number_in(x, f"{name}[0]", -2.0, 2.0), check_number_in(y, f"{name}[1]", -2.0, 2.0)


def triplet_zones(
    margin: float = 0.5,
    anchor: Sequence[float] = (0.0, 0.0),
    positive: Sequence[float] = (0.8, 0.3),
    negatives=None,
    n_negatives: int = 400,
    seed: int = 0,
) -> TripletZones:
    """Anchor, positive and margin controls over a cloud of negatives coloured by zone.

    Hard negatives lie inside the disc of radius ``d(a,p)``, semi-hard ones in the ring out to
    ``d(a,p) + margin``, easy ones beyond. Colours come from
    :func:`cl_lessons.miners.triplet_categories` (via :func:`cl_lessons.viz.negative_zones`).
    FaceNet, Schroff et al. 2015, https://arxiv.org/abs/1503.03832.

    Args:
        margin: starting margin, in [0, 2].
        anchor: starting anchor ``(x, y)``, each in [-2, 2].
        positive: starting positive ``(x, y)``, each in [-2, 2].
        negatives: your own ``(K, 2)`` negatives; None draws ``n_negatives`` uniformly in
            ``[-3, 3]²``.
        n_negatives: size of the generated cloud.
        seed: seed of the generated cloud.

    Returns:
        The app; ``app.zones`` holds the zone of each negative (0 easy, 1 semi-hard, 2 hard).

    Raises:
        ValueError: values outside the sliders' ranges, negatives not a finite ``(K, 2)`` array,
            ``n_negatives < 1``.
    """
    margin = check_number_in(margin, "margin", 0.0, 2.0)
    anchor, positive = _point(anchor, "anchor"), _point(positive, "positive")
    if negatives is None:
        n_negatives = check_int(n_negatives, "n_negatives", 1)
        negatives = np.random.default_rng(check_seed(seed)).uniform(-3.0, 3.0, (n_negatives, 2))
    neg = _finite(_to_numpy(negatives, "negatives", ndim=2), "negatives")
    if neg.shape[1] != 2:
        raise ValueError(f"negatives must have shape (K, 2), got {neg.shape}")
    return TripletZones(margin, anchor, positive, neg)
