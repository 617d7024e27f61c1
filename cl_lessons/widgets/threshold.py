"""``threshold_explorer``: a verification threshold on distance histograms and the ROC curve."""

from __future__ import annotations

import numpy as np

from cl_lessons import viz
from cl_lessons._checks import check_bool, check_number_in
from cl_lessons.viz.verification import _check_scores
from cl_lessons.widgets._app import App
from cl_lessons.widgets._controls import _grid_through, _slider


class ThresholdExplorer(App):
    """Verification threshold: histograms, ROC point, confusion matrix (see
    :func:`threshold_explorer`)."""

    def __init__(self, scores, same, threshold, higher_is_same):
        from cl_lessons import metrics

        lo, hi = float(scores.min()), float(scores.max())
        # 100 steps over the scores' range: arrow keys move 1 % of it, and the grid is laid
        # through the starting threshold, so the slider shows exactly the value it was given
        step = (hi - lo) / 100 if hi > lo else 1e-3
        lo, hi = _grid_through(threshold, lo, hi, step)
        controls = {"threshold": _slider("threshold", threshold, lo, hi, step, ".3f")}
        super().__init__(controls, figsize=(11.0, 3.6))
        self.scores, self.same, self.higher_is_same = scores, same, higher_is_same
        signed = scores if higher_is_same else -scores
        self._pos = np.sort(signed[same])
        self._neg = np.sort(signed[~same])
        ax_h, ax_r, ax_c = self.fig.subplots(1, 3, width_ratios=[1.3, 1.0, 0.9])
        art = self.artists
        viz.plot_distance_histograms(
            scores[same],
            scores[~same],
            ax=ax_h,
            xlabel="score" if higher_is_same else "distance",
            title="",
            bins=40,
        )
        art["threshold_line"] = ax_h.axvline(threshold, color="black", lw=1.8)
        far, tar, _ = metrics.roc_curve(signed, same)
        auc = metrics.roc_auc(signed, same)
        ax_r.plot(far, tar, color=viz.POSITIVE, lw=2, label=f"ROC, AUC = {auc:.3f}")
        ax_r.plot([0, 1], [0, 1], ":", color="0.6", lw=1)
        (art["roc_point"],) = ax_r.plot([], [], "o", color=viz.NEGATIVE, ms=9, mec="black")
        ax_r.legend(fontsize="x-small", loc="lower right")
        ax_r.set_xlim(-0.02, 1.02)
        ax_r.set_ylim(-0.02, 1.02)
        ax_r.set_xlabel("false accept rate (FAR)")
        ax_r.set_ylabel("true accept rate (1 - FRR)")
        art["confusion"] = ax_c.imshow(
            np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=max(same.sum(), (~same).sum())
        )
        art["cells"] = [
            [ax_c.text(j, i, "", ha="center", va="center", fontsize="large") for j in range(2)]
            for i in range(2)
        ]
        ax_c.set_xticks([0, 1], ["same", "different"])
        ax_c.set_yticks([0, 1], ["same", "different"])
        ax_c.set_xlabel("predicted")
        ax_c.set_ylabel("true")
        self.ax_hist, self.ax_roc, self.ax_conf = ax_h, ax_r, ax_c
        self._dynamic(
            art["threshold_line"],
            art["roc_point"],
            art["confusion"],
            *(t for row in art["cells"] for t in row),
            ax_h.title,
            ax_r.title,
            ax_c.title,
        )
        self._start()

    def _apply(self) -> None:
        t = float(self.values["threshold"])
        ts = t if self.higher_is_same else -t
        # accepted = signed score >= ts (for distances: distance <= t)
        tp = len(self._pos) - int(np.searchsorted(self._pos, ts, side="left"))
        fp = len(self._neg) - int(np.searchsorted(self._neg, ts, side="left"))
        fn, tn = len(self._pos) - tp, len(self._neg) - fp
        far, frr = fp / len(self._neg), fn / len(self._pos)
        acc = (tp + tn) / (len(self._pos) + len(self._neg))
        self.rates = {"far": far, "frr": frr, "tar": 1 - frr, "accuracy": acc}
        self.confusion = np.array([[tp, fn], [fp, tn]])
        art = self.artists
        art["threshold_line"].set_xdata([t, t])
        art["roc_point"].set_data([far], [1 - frr])
        art["confusion"].set_data(self.confusion)
        vmax = art["confusion"].norm.vmax
        for i in range(2):
            for j in range(2):
                c = self.confusion[i, j]
                art["cells"][i][j].set_text(str(c))
                art["cells"][i][j].set_color("white" if c > 0.6 * vmax else "black")
        rule = "score >= t" if self.higher_is_same else "distance <= t"
        self.ax_hist.set_title(f"threshold = {t:.3f} (same if {rule})")
        self.ax_roc.set_title(f"FAR = {far:.3f}, FRR = {frr:.3f}")
        self.ax_conf.set_title(f"accuracy = {acc:.3f}")


def threshold_explorer(
    scores, same, threshold: float | None = None, higher_is_same: bool = True
) -> ThresholdExplorer:
    """Threshold slider for a verification score: histograms, ROC point, confusion matrix.

    A pair is accepted as "same" when ``score >= threshold`` (similarities), or when
    ``score <= threshold`` with ``higher_is_same=False`` (distances). FAR is the share of
    different-class pairs accepted, FRR the share of same-class pairs rejected.

    Args:
        scores: one score per pair.
        same: 1/True for same-class (same-identity) pairs, 0/False otherwise.
        threshold: starting threshold; None picks the most accurate one.
        higher_is_same: True for similarities, False for distances.

    Returns:
        The app; ``app.rates`` (far, frr, tar, accuracy) and ``app.confusion``
        (``[[TP, FN], [FP, TN]]``, rows true same/different) hold the current values.

    Shape:
        ``scores``, ``same``: ``(N,)``.

    Raises:
        ValueError: lengths differ, empty input, NaN/inf scores, ``same`` not 0/1, only one
            class present, or a threshold outside the scores' range.
    """
    s, y = _check_scores(scores, same)
    higher_is_same = check_bool(higher_is_same, "higher_is_same")
    lo, hi = float(s.min()), float(s.max())
    if threshold is None:
        from cl_lessons import metrics

        best, _ = metrics.best_threshold(s if higher_is_same else -s, y)
        threshold = min(max(best if higher_is_same else -best, lo), hi)
    threshold = check_number_in(threshold, "threshold", lo, hi)  # within the scores' range
    return ThresholdExplorer(s, y, threshold, higher_is_same)
