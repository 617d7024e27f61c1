"""``gallery_explorer``: a probe, its top-k gallery matches, and accept / reject at a threshold."""

from __future__ import annotations

import matplotlib
import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_int_in, check_number_in
from cl_lessons.viz._inputs import _finite, _labels, _to_numpy
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _int_slider, _round_step, _slider

_RIGHT, _WRONG = viz.ZONE_COLORS["easy"], viz.NEGATIVE


class GalleryExplorer(App):
    """Open-set identification of one probe at a time (see :func:`gallery_explorer`)."""

    def __init__(self, probes, gallery, d, probe_labels, gallery_labels, threshold, k, probe):
        k_max = min(8, d.shape[1])
        d_hi = float(np.quantile(d, 0.5))  # thresholds beyond the median accept nearly anyone
        step = _round_step(d_hi / 200)
        controls = {
            "probe": _int_slider("probe", probe, 0, len(probes) - 1),
            "threshold": _slider(
                "threshold (distance)", min(threshold, d_hi), 0.0, d_hi, step, ".3f"
            ),
            "k": _int_slider("top k", min(k, k_max), 1, k_max),
        }
        super().__init__(controls, figsize=(10.0, 2.9))
        self.probes, self.gallery, self.distances = probes, gallery, d
        self.probe_labels, self.gallery_labels = probe_labels, gallery_labels
        self.enrolled = np.isin(probe_labels, gallery_labels)  # (P,) mated probes
        h, w = probes.shape[1:3]
        self._cell = (h, w + 2)
        gap = w // 2  # a blank column between the probe and its matches
        self._gap = gap
        shape = (h, (k_max + 1) * (w + 2) + gap, *probes.shape[3:])
        self._mosaic = np.full(shape, np.nan)
        lo = float(min(np.nanmin(probes), np.nanmin(gallery)))
        hi = float(max(np.nanmax(probes), np.nanmax(gallery)))
        ax = self.fig.subplots()
        cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
        art = self.artists
        art["mosaic"] = ax.imshow(
            self._mosaic,
            cmap=cmap if probes.ndim == 3 else None,
            vmin=lo,
            vmax=hi,
            interpolation="nearest",
        )
        art["captions"] = [
            ax.text(self._x0(i) + w / 2, h + 0.5, "", ha="center", va="top", fontsize="small")
            for i in range(k_max + 1)
        ]
        art["frames"] = [
            matplotlib.patches.Rectangle((self._x0(i) - 0.5, -0.5), w, h, fill=False, lw=3)
            for i in range(k_max + 1)
        ]
        for r in art["frames"]:
            ax.add_patch(r)
        ax.set_xlim(-1, shape[1])
        ax.set_ylim(h + 3.5, -1)
        ax.set_axis_off()
        self.ax = ax
        self._dynamic(art["mosaic"], *art["captions"], *art["frames"], ax.title)
        self._start()

    def _x0(self, slot: int) -> int:
        w = self._cell[1]
        return slot * w + (self._gap if slot > 0 else 0)

    def _apply(self) -> None:
        v = self.values
        q, t, k = int(v["probe"]), float(v["threshold"]), int(v["k"])
        d = self.distances[q]  # (G,)
        top = np.argsort(d, kind="stable")[:k]
        self.matches = top
        w = self._cell[1] - 2
        self._mosaic[:] = np.nan
        art = self.artists
        for slot in range(len(art["captions"])):
            x0, txt, frame = self._x0(slot), art["captions"][slot], art["frames"][slot]
            if slot == 0:
                self._mosaic[:, x0 : x0 + w] = self.probes[q]
                who = "enrolled" if self.enrolled[q] else "impostor"
                txt.set_text(f"probe: id {self.probe_labels[q]}\n({who})")
                txt.set_color("black")
                frame.set_visible(False)
            elif slot <= k:
                g = top[slot - 1]
                self._mosaic[:, x0 : x0 + w] = self.gallery[g]
                ok = self.gallery_labels[g] == self.probe_labels[q]
                txt.set_text(f"id {self.gallery_labels[g]}\nd = {d[g]:.2f}")
                txt.set_color(_RIGHT if ok else _WRONG)
                frame.set_visible(bool(d[g] <= t))  # within the threshold: a candidate
                frame.set_edgecolor(_RIGHT if ok else _WRONG)
            else:
                txt.set_text("")
                frame.set_visible(False)
        art["mosaic"].set_data(self._mosaic)
        best = top[0]
        accepted = bool(d[best] <= t)
        if accepted:
            claim = int(self.gallery_labels[best])
            right = claim == self.probe_labels[q]
            verdict = f"accepted as id {claim} (d = {d[best]:.3f} <= t = {t:.3f})"
        else:
            right = not self.enrolled[q]
            verdict = f"rejected: nobody within t = {t:.3f} (nearest d = {d[best]:.3f})"
        self.decision = {"accepted": accepted, "correct": bool(right)}
        self.ax.set_title(
            f"{verdict}: {'RIGHT' if right else 'WRONG'}",
            color=_RIGHT if right else _WRONG,
            fontsize="medium",
        )


def gallery_explorer(
    probe_images,
    gallery_images,
    probe_emb,
    gallery_emb,
    probe_labels,
    gallery_labels,
    threshold: float | None = None,
    k: int = 5,
    probe: int = 0,
) -> GalleryExplorer:
    """Open-set identification, one probe at a time: the probe, its ``k`` nearest gallery
    entries with their distances, and the decision at a distance threshold.

    The probe is *accepted* as the identity of its nearest gallery entry when that entry's
    (Euclidean) distance is at most ``threshold``, else *rejected* as not enrolled. The decision
    is right when an enrolled probe is accepted as itself, or an impostor (identity not in the
    gallery) is rejected. Matches within the threshold are framed, green when they show the
    probe's identity, red otherwise. The threshold slider spans distances up to the median.

    Args:
        probe_images: images of the probes (any layout :func:`cl_lessons.viz.as_images` takes).
        gallery_images: images of the gallery entries, the same size.
        probe_emb: embeddings of the probes.
        gallery_emb: embeddings of the gallery entries.
        probe_labels: identities of the probes (some may be absent from the gallery).
        gallery_labels: identities of the gallery entries.
        threshold: starting distance threshold; None uses the median nearest-match distance.
        k: starting number of matches shown (at most 8).
        probe: starting probe index.

    Returns:
        The app; ``app.matches`` holds the gallery indices shown, nearest first, and
        ``app.decision`` ``{"accepted", "correct"}`` for the current probe.

    Shape:
        ``probe_images``: ``(P, ...)``, ``gallery_images``: ``(G, ...)``, ``probe_emb``:
        ``(P, D)``, ``gallery_emb``: ``(G, D)``, labels ``(P,)`` and ``(G,)``.

    Raises:
        ValueError: mismatched lengths, sizes or widths, NaN/inf embeddings, a negative
            threshold, ``k`` or ``probe`` out of range.
    """
    pe = _finite(_to_numpy(probe_emb, "probe_emb", ndim=2), "probe_emb")
    ge = _finite(_to_numpy(gallery_emb, "gallery_emb", ndim=2), "gallery_emb")
    if pe.shape[1] != ge.shape[1]:
        raise ValueError(
            f"probe_emb and gallery_emb must have the same width, got {pe.shape[1]} and "
            f"{ge.shape[1]}"
        )
    pl = _labels(probe_labels, len(pe), "probe_labels")
    gl = _labels(gallery_labels, len(ge), "gallery_labels")
    pi = viz.as_images(probe_images, "probe_images")
    gi = viz.as_images(gallery_images, "gallery_images")
    if len(pi) != len(pe):
        raise ValueError(f"probe_images must have one image per probe ({len(pe)}), got {len(pi)}")
    if len(gi) != len(ge):
        raise ValueError(
            f"gallery_images must have one image per gallery entry ({len(ge)}), got {len(gi)}"
        )
    if pi.shape[1:] != gi.shape[1:]:
        raise ValueError(
            f"probe_images and gallery_images must have the same size, got {pi.shape[1:]} and "
            f"{gi.shape[1:]}"
        )
    sq = (pe**2).sum(1)[:, None] + (ge**2).sum(1)[None, :] - 2 * pe @ ge.T  # (P, G)
    d = np.sqrt(np.maximum(sq, 0.0))
    d_hi = float(np.quantile(d, 0.5))
    if threshold is None:
        threshold = min(float(np.median(d.min(1))), d_hi)
    threshold = check_number_in(threshold, "threshold", 0.0, d_hi)
    k = check_int_in(k, "k", 1, min(8, len(ge)))
    probe = check_int_in(probe, "probe", 0, len(pe) - 1)
    return GalleryExplorer(pi, gi, d, pl, gl, threshold, k, probe)
