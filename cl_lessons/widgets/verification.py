"""``verification_explorer``: a threshold on genuine / impostor scores and a log-FAR ROC curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_fraction, check_number_in
from cl_lessons.viz.verification import _check_scores
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _grid_through, _slider


class VerificationExplorer(App):
    """Threshold slider with TAR, FAR, FRR and a log-FAR ROC (see :func:`verification_explorer`)."""

    def __init__(self, scores, same, threshold, far_targets):
        from cl_lessons import metrics

        lo, hi = float(scores.min()), float(scores.max())
        step = (hi - lo) / 1000 if hi > lo else 1e-3
        lo, hi = _grid_through(threshold, lo, hi, step)  # the threshold at a FAR target, exactly
        controls = {"threshold": _slider("threshold", threshold, lo, hi, step, ".3f")}
        super().__init__(controls, figsize=(10.5, 3.8))
        self.scores, self.same = scores, same
        self._pos, self._neg = np.sort(scores[same]), np.sort(scores[~same])
        self.far_floor = 0.5 / len(self._neg)  # where FAR = 0 is drawn on the log axis
        ax_h, ax_r = self.fig.subplots(1, 2, width_ratios=[1.2, 1.0])
        art = self.artists
        viz.plot_distance_histograms(
            self._pos, self._neg, ax=ax_h, xlabel="score (higher = more similar)", title="", bins=50
        )
        ax_h.set_yscale("log")  # the impostor tail that sets a low FAR is visible
        handles, _ = ax_h.get_legend_handles_labels()
        names = [f"genuine ({len(self._pos)})", f"impostor ({len(self._neg)})"]
        ax_h.legend(handles, names, fontsize="small")
        art["threshold_line"] = ax_h.axvline(threshold, color="black", lw=1.8)
        far, tar, _ = metrics.roc_curve(scores, same)
        ax_r.plot(np.maximum(far, self.far_floor), tar, color=viz.POSITIVE, lw=2, label="ROC")
        for f in far_targets:
            ax_r.axvline(f, color="0.6", ls=":", lw=1)
            t = metrics.tar_at_far(scores, same, f)
            ax_r.plot([f], [t], "s", color="0.4", ms=5)
            ax_r.annotate(
                f"TAR@{f:g} = {t:.3f}",
                (f, t),
                xytext=(3, -10),
                textcoords="offset points",
                fontsize="x-small",
            )
        (art["roc_point"],) = ax_r.plot([], [], "o", color=viz.NEGATIVE, ms=9, mec="black")
        ax_r.set_xscale("log")
        ax_r.set_xlim(self.far_floor * 0.8, 1.05)
        ax_r.set_ylim(-0.02, 1.02)
        ax_r.set_xlabel(f"false accept rate (FAR, log; 0 drawn at {self.far_floor:.0e})")
        ax_r.set_ylabel("true accept rate (1 - FRR)")
        self.ax_hist, self.ax_roc = ax_h, ax_r
        self._dynamic(art["threshold_line"], art["roc_point"], ax_h.title, ax_r.title)
        self._start()

    def _apply(self) -> None:
        t = float(self.values["threshold"])
        # accepted = score >= t
        tp = len(self._pos) - int(np.searchsorted(self._pos, t, side="left"))
        fp = len(self._neg) - int(np.searchsorted(self._neg, t, side="left"))
        tar, far = tp / len(self._pos), fp / len(self._neg)
        self.rates = {"tar": tar, "far": far, "frr": 1.0 - tar}
        self.artists["threshold_line"].set_xdata([t, t])
        self.artists["roc_point"].set_data([max(far, self.far_floor)], [tar])
        self.ax_hist.set_title(f"threshold t = {t:.3f}: accept if score >= t", fontsize="medium")
        self.ax_roc.set_title(
            f"TAR = {tar:.3f}   FAR = {far:.2e}   FRR = {1 - tar:.3f}", fontsize="medium"
        )


def verification_explorer(
    scores,
    same,
    threshold: float | None = None,
    far_targets: Sequence[float] = (1e-1, 1e-2, 1e-3),
) -> VerificationExplorer:
    """Threshold slider for verification scores: genuine and impostor histograms, TAR, FAR and
    FRR, and the operating point on a ROC curve with a logarithmic FAR axis.

    Face verification is judged at low false accept rates (FAR = 1e-3 and below), where a linear
    ROC plot shows nothing; the log axis spreads them out, as in NIST's FRVT reports (Grother,
    Ngan & Hanaoka 2019, NISTIR 8280). A pair is accepted when ``score >= threshold``.

    Args:
        scores: one similarity score per pair (higher = more similar; pass ``-distance``).
        same: 1/True for genuine pairs (same identity), 0/False for impostor pairs.
        threshold: starting threshold; None uses the one with FAR at most ``far_targets[0]``
            (or the EER threshold when ``far_targets`` is empty).
        far_targets: FARs marked on the ROC with their TAR (each in (0, 1]).

    Returns:
        The app; ``app.rates`` holds the current ``tar``, ``far`` and ``frr``.

    Shape:
        ``scores``, ``same``: ``(N,)``.

    Raises:
        ValueError: lengths differ, empty input, NaN/inf scores, ``same`` not 0/1, one class
            only, a threshold outside the scores' range, or a bad ``far_targets``.
    """
    from cl_lessons import metrics

    s, y = _check_scores(scores, same)
    if isinstance(far_targets, str) or not isinstance(far_targets, Sequence):
        raise ValueError(f"far_targets must be a sequence of rates, got {far_targets!r}")
    targets = [check_fraction(f, "far_targets", low_open=True) for f in far_targets]
    lo, hi = float(s.min()), float(s.max())
    if threshold is None:
        if targets:
            threshold = metrics.threshold_at_far(s, y, targets[0])
        else:
            threshold = metrics.equal_error_rate(s, y)[1]
        threshold = min(max(threshold, lo), hi)
    threshold = check_number_in(threshold, "threshold", lo, hi)
    return VerificationExplorer(s, y, threshold, targets)
