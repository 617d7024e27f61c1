"""Operating points and identification: threshold and TAR at a FAR, CMC, open-set DIR.

Verification conventions as in :mod:`cl_lessons.metrics.verification`: ``scores`` are higher for
more similar pairs (pass ``-distance``), ``same`` is 1 for genuine (same identity) pairs and 0 for
impostor pairs, and a pair is accepted when ``score >= threshold``. The false accept rate (FAR)
is the share of impostor pairs accepted, the true accept rate (TAR) the share of genuine pairs
accepted and the false reject rate FRR = 1 - TAR (Phillips et al. 2000, "The FERET evaluation
methodology for face-recognition algorithms", https://doi.org/10.1109/34.879790).

Identification compares each *probe* with a *gallery* of enrolled samples, by embedding distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
import torch

from cl_lessons._checks import check_choice, check_fraction, check_labels, check_positive_int
from cl_lessons.distances import pairwise_cosine_similarity, pairwise_euclidean
from cl_lessons.losses._common import DISTANCES
from cl_lessons.metrics._inputs import _as_embeddings, _check_scores_same, _row_blocks


def _fars(far, name: str = "far") -> tuple[list[float], bool]:
    """``far`` as a list of rates in [0, 1], and whether a single number was given."""
    if isinstance(far, (Real, np.ndarray, torch.Tensor)) and np.ndim(far) == 0:
        return [check_fraction(far, name)], True
    if isinstance(far, str) or not isinstance(far, (Sequence, np.ndarray, torch.Tensor)):
        raise ValueError(f"{name} must be a number in [0, 1] or a sequence of them, got {far!r}")
    values = [check_fraction(f, name) for f in list(far)]
    if not values:
        raise ValueError(f"{name} is an empty sequence")
    return values, False


def _thresholds(neg_desc: np.ndarray, fars: list[float], lowest: float) -> list[float]:
    """The lowest thresholds with ``#(neg >= t) / len(neg) <= far``; ``neg_desc`` sorted down."""
    out = []
    n = neg_desc.shape[0]
    for f in fars:
        k = int(np.floor(f * n + 1e-9))  # false accepts allowed (1e-9: 0.01 * 300 = 3, not 2.99)
        if k >= n:
            out.append(float(min(lowest, neg_desc[-1])))  # accept everything
        else:
            out.append(float(np.nextafter(neg_desc[k], np.inf)))  # just above the (k+1)-th
    return out


def threshold_at_far(scores, same, far):
    """The threshold whose false accept rate on these pairs is at most ``far``, as low as possible.

    With ``n`` impostor pairs, at most ``k = floor(far * n)`` of them may be accepted, so the
    threshold sits just above the ``(k + 1)``-th highest impostor score (ties can only lower the
    FAR). Choose it on *validation* pairs and apply it to test pairs with
    :func:`verification_rates`: that is how a deployed system works, and the test FAR it gives
    is honest; choosing it on the test pairs themselves is optimistic.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for genuine pairs, 0 for impostor pairs; both must occur.
        far: the largest acceptable FAR in [0, 1], or a sequence of them.

    Returns:
        The threshold (a float), or ``{far: threshold}`` for a sequence. ``far = 1`` gives the
        lowest score (everything accepted); ``far < 1 / n`` a threshold above every impostor.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: bad scores or labels (as :func:`roc_auc`), ``far`` outside [0, 1].
    """
    s, y = _check_scores_same(scores, same)
    fars, single = _fars(far)
    neg = np.sort(s[~y])[::-1]  # impostor scores, highest first
    ts = _thresholds(neg, fars, float(s.min()))
    return ts[0] if single else dict(zip(fars, ts, strict=True))


def verification_rates(scores, same, threshold: float) -> dict[str, float]:
    """TAR, FAR and FRR of the rule ``score >= threshold`` on these pairs.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for genuine pairs, 0 for impostor pairs; both must occur.
        threshold: the decision threshold (a finite number, or ``+inf`` / ``-inf``).

    Returns:
        ``{"tar", "far", "frr"}`` as floats.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: bad scores or labels, a threshold that is NaN or not a number.
    """
    s, y = _check_scores_same(scores, same)
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or np.isnan(threshold):
        raise ValueError(f"threshold must be a number, got {threshold!r}")
    accepted = s >= float(threshold)
    tar = float(accepted[y].mean())
    return {"tar": tar, "far": float(accepted[~y].mean()), "frr": 1.0 - tar}


def tar_at_far(scores, same, far):
    """True accept rate at a fixed false accept rate, the operating point of face verification.

    The threshold is :func:`threshold_at_far` of these same pairs, so this reads the ROC curve
    (the highest TAR among points with FAR <= ``far``), as LFW / IJB benchmarks report it
    ("TAR @ FAR = 1e-3"). Equals ``max(tpr[fpr <= far])`` of ``sklearn.metrics.roc_curve``.
    A FAR below ``1 / n_impostors`` cannot be measured: the result is then the TAR at FAR = 0.

    Args:
        scores: similarity scores, higher = more similar.
        same: 1 for genuine pairs, 0 for impostor pairs; both must occur.
        far: the FAR in [0, 1], or a sequence of them.

    Returns:
        The TAR in [0, 1], or ``{far: tar}`` for a sequence.

    Shape:
        ``scores``, ``same``: ``(M,)``.

    Raises:
        ValueError: bad scores or labels, ``far`` outside [0, 1].
    """
    s, y = _check_scores_same(scores, same)
    fars, single = _fars(far)
    ts = _thresholds(np.sort(s[~y])[::-1], fars, float(s.min()))
    pos = np.sort(s[y])
    tars = [1.0 - np.searchsorted(pos, t, side="left") / pos.shape[0] for t in ts]
    tars = [float(t) for t in tars]
    return tars[0] if single else dict(zip(fars, tars, strict=True))


# ------------------------------------------------------------------------------ identification


def _probe_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, distance):
    p = _as_embeddings(probe_emb, "probe_emb").detach()
    g = _as_embeddings(gallery_emb, "gallery_emb").detach()
    if p.shape[1] != g.shape[1]:
        raise ValueError(
            f"probe_emb and gallery_emb must have the same width, got {p.shape[1]} and {g.shape[1]}"
        )
    pl = check_labels(probe_labels, p.shape[0], "cpu", "probe_labels")
    gl = check_labels(gallery_labels, g.shape[0], "cpu", "gallery_labels")
    check_choice(distance, "distance", DISTANCES)
    return p, pl, g.to(p.device, p.dtype), gl


def _ranked(p, pl, g, gl, distance: str):
    """Per probe: the 0-based rank of its first mated gallery entry (``-1`` if none) and the
    score (``-distance`` or cosine) of its best gallery entry and of its best mated entry.

    Ties: a non-mated entry as close as the best mate is ranked before it (pessimistic).
    """
    n = p.shape[0]
    rank = np.empty(n, dtype=np.int64)
    top, mate = np.empty(n), np.empty(n)
    for s, e in _row_blocks(n, g.shape[0]):
        if distance == "euclidean":
            score = -pairwise_euclidean(p[s:e], g)  # (c, G)
        else:
            score = pairwise_cosine_similarity(p[s:e], g)  # (c, G)
        score = score.double().cpu()
        is_mate = pl[s:e, None] == gl[None, :]  # (c, G)
        best_mate = score.masked_fill(~is_mate, -np.inf).max(1).values  # (c,)
        beaten = ((score >= best_mate[:, None]) & ~is_mate).sum(1)  # non-mates at least as close
        has = is_mate.any(1)
        rank[s:e] = torch.where(has, beaten, -1).numpy()
        top[s:e] = score.max(1).values.numpy()
        mate[s:e] = best_mate.numpy()
    return rank, top, mate


def cmc_curve(
    probe_emb, probe_labels, gallery_emb, gallery_labels, max_rank: int, distance="euclidean"
) -> np.ndarray:
    """Cumulative match characteristic of closed-set identification.

    Every probe is compared with every gallery entry and the gallery is sorted by distance; the
    probe's rank is the position of the first entry of its own identity. ``cmc[r - 1]`` is the
    share of probes whose rank is at most ``r`` (the rank-1 rate is identification accuracy).
    Ties count against the probe: a wrong entry as close as the right one is ranked first. This
    is the CMC of face identification (Phillips et al. 2000, FERET) and person re-identification
    (Gray, Brennan & Tao 2007; Zheng et al. 2015, https://doi.org/10.1109/ICCV.2015.133).

    Args:
        probe_emb: embeddings of the probes (queries).
        probe_labels: their identities; every one must be enrolled (appear in
            ``gallery_labels``): for impostors use :func:`detection_identification_rate`.
        gallery_emb: embeddings of the enrolled gallery.
        gallery_labels: their identities (several entries per identity are allowed).
        max_rank: the longest rank reported, ``1 <= max_rank <= G``.
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        ``(max_rank,)`` float array, non-decreasing, in [0, 1].

    Shape:
        ``probe_emb``: ``(P, D)``, ``probe_labels``: ``(P,)``, ``gallery_emb``: ``(G, D)``,
        ``gallery_labels``: ``(G,)``.

    Raises:
        ValueError: bad embeddings or labels, mismatched widths, a probe whose identity is not
            in the gallery, ``max_rank`` outside [1, G], unknown ``distance``.
    """
    p, pl, g, gl = _probe_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, distance)
    max_rank = check_positive_int(max_rank, "max_rank")
    if max_rank > g.shape[0]:
        raise ValueError(f"max_rank must be <= the gallery size {g.shape[0]}, got {max_rank}")
    rank, _, _ = _ranked(p, pl, g, gl, distance)
    if (rank < 0).any():
        missing = sorted(set(pl[torch.from_numpy(rank < 0)].tolist()))[:5]
        raise ValueError(
            f"probe_labels: identities {missing} are not enrolled in the gallery; the CMC is "
            "closed-set (use detection_identification_rate for impostor probes)"
        )
    counts = np.bincount(rank, minlength=g.shape[0])[:max_rank]  # first match exactly at rank r
    return np.cumsum(counts) / p.shape[0]


def detection_identification_rate(
    probe_emb,
    probe_labels,
    gallery_emb,
    gallery_labels,
    far,
    rank: int = 1,
    distance: str = "euclidean",
):
    """Open-set identification: the detection and identification rate (DIR) at a false alarm rate.

    Some probes are *mated* (their identity is enrolled in the gallery), the others are
    *non-mated* impostors who never enrolled. For a score threshold ``t`` (score = ``-distance``
    or the cosine similarity):

    * ``FAR(t)`` (the false alarm rate, FPIR in NIST's FRVT) = the share of non-mated probes
      whose best gallery score is ``>= t``: an impostor is wrongly identified as someone;
    * ``DIR(t, rank)`` (TPIR in FRVT; FNIR = 1 - DIR) = the share of mated probes whose own
      identity's best entry is ranked within ``rank`` **and** scores ``>= t``.

    The threshold is the lowest with ``FAR(t) <= far`` (as :func:`threshold_at_far`, the
    impostors' best scores playing the impostor pairs). Definitions of Phillips, Grother,
    Micheals et al. 2003, "FRVT 2002 Evaluation Report" (NISTIR 6965, watch-list task,
    https://doi.org/10.6028/NIST.IR.6965) and Grother & Ngan 2019, "FRVT Part 2:
    Identification" (NISTIR 8271, https://doi.org/10.6028/NIST.IR.8271). At ``far = 1`` the DIR
    is the closed-set rank-``rank`` rate of the mated probes (the CMC).

    Args:
        probe_emb: embeddings of the probes.
        probe_labels: their identities; those not in ``gallery_labels`` are the impostors.
        gallery_emb: embeddings of the enrolled gallery.
        gallery_labels: their identities.
        far: the false alarm rate in [0, 1], or a sequence of them.
        rank: the largest rank that counts as identified (1 = the top match must be right).
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        The DIR in [0, 1], or ``{far: dir}`` for a sequence.

    Shape:
        ``probe_emb``: ``(P, D)``, ``probe_labels``: ``(P,)``, ``gallery_emb``: ``(G, D)``,
        ``gallery_labels``: ``(G,)``.

    Raises:
        ValueError: bad embeddings or labels, no mated or no non-mated probe, ``far`` outside
            [0, 1], ``rank`` outside [1, G], unknown ``distance``.
    """
    p, pl, g, gl = _probe_gallery(probe_emb, probe_labels, gallery_emb, gallery_labels, distance)
    fars, single = _fars(far)
    rank = check_positive_int(rank, "rank")
    if rank > g.shape[0]:
        raise ValueError(f"rank must be <= the gallery size {g.shape[0]}, got {rank}")
    r, top, mate = _ranked(p, pl, g, gl, distance)
    mated = r >= 0
    if mated.all() or not mated.any():
        raise ValueError(
            "probe_labels must contain both mated probes (identity in the gallery) and "
            f"non-mated impostors, got {int(mated.sum())} mated of {len(mated)}"
        )
    lowest = float(min(top.min(), mate[mated].min()))
    ts = _thresholds(np.sort(top[~mated])[::-1], fars, lowest)
    hit = r[mated] < rank  # (P_mated,) identified within rank, threshold aside
    dirs = [float((hit & (mate[mated] >= t)).mean()) for t in ts]
    return dirs[0] if single else dict(zip(fars, dirs, strict=True))
