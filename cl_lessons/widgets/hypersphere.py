"""``hypersphere_view``: embeddings on the unit circle or sphere, with alignment and uniformity."""

from __future__ import annotations

import numpy as np
import torch

from cl_lessons import viz
from cl_lessons._checks import check_number_in
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.viz.colors import _label_colors
from cl_lessons.viz.sphere import _normalise_rows, _sphere_wireframe
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _slider


def _toy_sphere(spread: float, n: int = 240, num_classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    centres = centres[:num_classes] / np.sqrt(3)  # vertices of a tetrahedron: evenly spread
    y = np.arange(n) % num_classes
    noise = rng.standard_normal((n, 3))
    return centres[y] + spread * noise, y


class HypersphereView(App):
    """Normalised 3-D embeddings on the sphere (see :func:`hypersphere_view`)."""

    def __init__(self, z3, labels, elev, azim, spread):
        controls = {
            "elev": _slider("elevation", elev, -90, 90, 1, ".0f"),
            "azim": _slider("azimuth", azim, -180, 180, 1, ".0f"),
        }
        self.toy = z3 is None
        if self.toy:
            controls["spread"] = _slider("spread (toy data)", spread, 0.0, 3.0, 0.05)
            z3, labels = _toy_sphere(spread)
        super().__init__(controls, figsize=(6.0, 5.2))
        self.labels = labels
        ax = self.fig.add_subplot(projection="3d")
        self.ax = ax
        _sphere_wireframe(ax)
        classes, index, colors = _label_colors(labels if labels is not None else np.zeros(1))
        self._classes, self._index = classes, index
        self.artists["classes"] = [
            ax.plot([], [], [], ls="", marker="o", ms=3.5, color=c, label=str(cl))[0]
            for cl, c in zip(classes, colors, strict=True)
        ]
        if labels is not None and len(classes) <= 12:
            ax.legend(fontsize="x-small", loc="upper left", title="class")
        for setlim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setlim(-1, 1)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_zlabel("z3")
        self._raw = z3
        self._shown_spread = None
        self._dynamic(*self.artists["classes"], ax.title)
        self._set_points(z3)
        self._start()

    def _set_points(self, z3: np.ndarray) -> None:
        self.z = _normalise_rows(z3)  # (N, 3) on the unit sphere
        if self.labels is None:
            self.alignment = float("nan")
            from cl_lessons import metrics

            self.uniformity = float(
                metrics.uniformity(torch.as_tensor(self.z, dtype=torch.float32))
            )
            self.artists["classes"][0].set_data_3d(*self.z.T)
        else:
            self.alignment, self.uniformity = viz.label_alignment_uniformity(self.z, self.labels)
            for c, line in enumerate(self.artists["classes"]):
                line.set_data_3d(*self.z[self._index == c].T)

    def _apply(self) -> None:
        v = self.values
        if self.toy and v["spread"] != self._shown_spread:
            raw, _ = _toy_sphere(float(v["spread"]))
            self._set_points(raw)
            self._shown_spread = v["spread"]
        self.ax.view_init(elev=float(v["elev"]), azim=float(v["azim"]))
        scores = f"uniformity = {self.uniformity:.2f} (lower: more spread out)"
        if self.labels is not None:
            scores = f"alignment = {self.alignment:.2f} (lower: classes tighter), " + scores
        what = "toy data" if self.toy else "embeddings"
        title = f"{what} on the unit sphere, coloured by class\n{scores}"
        if self.toy:
            title += f"\nspread = {v['spread']:.2f}"
        self.ax.set_title(title, fontsize="medium")


def hypersphere_view(
    z3=None, labels=None, elev: float = 20.0, azim: float = 35.0, spread: float = 0.4
) -> HypersphereView:
    """3-D embeddings normalised onto the unit sphere, with alignment and uniformity.

    Alignment (mean ``||z_i - z_j||²`` over same-class pairs) and uniformity
    (``log mean exp(-2 ||z_i - z_j||²)`` over all pairs), Wang & Isola 2020,
    https://arxiv.org/abs/2005.10242 — both lower is better, and they pull in opposite
    directions. Without ``z3``, four toy classes around the vertices of a tetrahedron get a
    "spread" slider: tight classes align well but cover the sphere poorly.

    Args:
        z3: 3-D embeddings (normalised here); None uses the toy data.
        labels: integer class ids (for alignment), or None.
        elev: starting elevation of the view, in degrees [-90, 90].
        azim: starting azimuth, in degrees [-180, 180].
        spread: starting noise of the toy data, in [0, 3].

    Returns:
        The app; ``app.z``, ``app.alignment`` and ``app.uniformity`` hold the current values.

    Shape:
        ``z3``: ``(N, 3)``, ``labels``: ``(N,)``.

    Raises:
        ValueError: ``z3`` not a finite ``(N, 3)`` array with N >= 2, zero rows, labels of
            another length, angles or spread out of range.
    """
    elev = check_number_in(elev, "elev", -90, 90)
    azim = check_number_in(azim, "azim", -180, 180)
    spread = check_number_in(spread, "spread", 0.0, 3.0)
    z = lab = None
    if z3 is not None:
        z = _finite(_to_numpy(z3, "z3", ndim=2), "z3")
        if z.shape[1] != 3 or len(z) < 2:
            raise ValueError(f"z3 must have shape (N, 3) with N >= 2, got {z.shape}")
        if (np.linalg.norm(z, axis=1) == 0).any():
            raise ValueError("z3 has all-zero rows, which have no direction on the sphere")
        lab = None if labels is None else _labels(labels, len(z))
    elif labels is not None:
        raise ValueError("labels given without z3")
    return HypersphereView(z, lab, elev, azim, spread)
