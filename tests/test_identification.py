"""cl_lessons.metrics.identification: TAR@FAR and its threshold, CMC, open-set DIR."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_curve as sk_roc_curve

from cl_lessons import metrics


def _pairs(seed: int, n_neg: int = 400, n_pos: int = 120, ties: bool = False):
    rng = np.random.default_rng(seed)
    s = np.r_[rng.normal(0, 1, n_neg), rng.normal(1.5, 1, n_pos)]
    if ties:
        s = np.round(s, 1)  # many tied scores, across the classes too
    y = np.r_[np.zeros(n_neg, int), np.ones(n_pos, int)]
    return s, y


def _loop_threshold(s, y, far):
    """The lowest candidate threshold (each score, or just above the top) with FAR <= far."""
    neg = [v for v, t in zip(s, y, strict=True) if t == 0]
    candidates = sorted(set(s.tolist()) | {float(np.nextafter(max(s), np.inf))})
    for t in candidates:  # ascending: the first that passes is the lowest
        fa = sum(1 for v in neg if v >= t)
        if fa / len(neg) <= far + 1e-12:
            return t
    raise AssertionError("unreachable")


def _loop_rates(s, y, t):
    pos = [v for v, c in zip(s, y, strict=True) if c == 1]
    neg = [v for v, c in zip(s, y, strict=True) if c == 0]
    return sum(v >= t for v in pos) / len(pos), sum(v >= t for v in neg) / len(neg)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("far", [0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0])
def test_tar_at_far_matches_loop_and_sklearn(seed, ties, far):
    s, y = _pairs(seed, ties=ties)
    t = metrics.threshold_at_far(s, y, far)
    tar_loop, far_loop = _loop_rates(s, y, t)
    assert far_loop <= far + 1e-12
    # the lowest such threshold: the loop over all candidate thresholds agrees on the rates
    assert _loop_rates(s, y, _loop_threshold(s, y, far)) == (tar_loop, far_loop)
    assert metrics.tar_at_far(s, y, far) == pytest.approx(tar_loop)
    fpr, tpr, _ = sk_roc_curve(y, s, drop_intermediate=False)
    assert metrics.tar_at_far(s, y, far) == pytest.approx(tpr[fpr <= far + 1e-12].max())
    rates = metrics.verification_rates(s, y, t)
    assert rates["tar"] == pytest.approx(tar_loop) and rates["far"] == pytest.approx(far_loop)
    assert rates["frr"] == pytest.approx(1 - tar_loop)


def test_tar_at_far_closed_form_and_sequences():
    s = [0.95, 0.88, 0.7, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.9, 0.85, 0.75, 0.7, 0.65]
    y = [0] * 10 + [1] * 5
    assert metrics.tar_at_far(s, y, 0.2) == pytest.approx(3 / 5)  # above 0.7: 0.9, 0.85, 0.75
    t = metrics.threshold_at_far(s, y, 0.2)
    assert 0.7 < t < 0.7 + 1e-12
    assert metrics.tar_at_far(s, y, 0.0) == 0.0  # nothing above the top impostor 0.95
    assert metrics.tar_at_far(s, y, 0.1) == pytest.approx(1 / 5)  # above 0.88: 0.9
    assert metrics.tar_at_far(s, y, 1.0) == 1.0
    out = metrics.tar_at_far(torch.tensor(s), torch.tensor(y), [0.1, 0.2])
    assert out == {0.1: pytest.approx(0.2), 0.2: pytest.approx(0.6)}
    ts = metrics.threshold_at_far(np.array(s), np.array(y), (0.1, 0.2))
    assert set(ts) == {0.1, 0.2} and ts[0.1] > ts[0.2]
    # 0.01 * 300 = 3.0000000000000004 or 2.9999...: exactly 3 impostors may pass
    s3 = np.r_[np.arange(300.0), [1000.0]]
    y3 = np.r_[np.zeros(300, int), [1]]
    assert metrics.verification_rates(s3, y3, metrics.threshold_at_far(s3, y3, 0.01))["far"] == (
        pytest.approx(0.01)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"far": -0.1}, "far"),
        ({"far": 1.5}, "far"),
        ({"far": float("nan")}, "far"),
        ({"far": []}, "far"),
        ({"far": "0.1"}, "far"),
        ({"far": [0.1, 2.0]}, "far"),
    ],
)
def test_tar_at_far_bad_far(kwargs, match):
    s, y = _pairs(0)
    for fn in (metrics.tar_at_far, metrics.threshold_at_far):
        with pytest.raises(ValueError, match=match):
            fn(s, y, **kwargs)


def test_tar_at_far_bad_scores():
    with pytest.raises(ValueError, match="same"):
        metrics.tar_at_far([0.1, 0.2], [1, 1], 0.1)
    with pytest.raises(ValueError, match="scores"):
        metrics.tar_at_far([0.1, float("nan")], [0, 1], 0.1)
    with pytest.raises(ValueError, match="length"):
        metrics.threshold_at_far([0.1, 0.2, 0.3], [0, 1], 0.1)
    with pytest.raises(ValueError, match="threshold"):
        metrics.verification_rates([0.1, 0.2], [0, 1], float("nan"))
    with pytest.raises(ValueError, match="threshold"):
        metrics.verification_rates([0.1, 0.2], [0, 1], "high")


# ----------------------------------------------------------------------------------------- CMC


def _loop_cmc(P, pl, G, gl, max_rank):
    hits = np.zeros(max_rank)
    for p, lab in zip(P, pl, strict=True):
        d = [float(np.linalg.norm(p - g)) for g in G]
        # ascending distance; at a tie the wrong identity comes first (pessimistic)
        order = sorted(range(len(G)), key=lambda i: (d[i], gl[i] == lab))
        rank = next(r for r, i in enumerate(order) if gl[i] == lab)
        hits[rank:] += 1 if rank < max_rank else 0
    return hits / len(P)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("per_id", [1, 3])
def test_cmc_matches_loop(seed, per_id):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, 5))
    gl = np.repeat(np.arange(12), per_id)
    G = centers[gl] + 0.8 * rng.normal(size=(len(gl), 5))
    pl = rng.integers(0, 12, 40)
    P = centers[pl] + 0.8 * rng.normal(size=(40, 5))
    cmc = metrics.cmc_curve(P, pl, G, gl, max_rank=len(gl))
    np.testing.assert_allclose(cmc, _loop_cmc(P, pl, G, gl, len(gl)))
    assert cmc[-1] == 1.0 and np.all(np.diff(cmc) >= 0)
    short = metrics.cmc_curve(torch.tensor(P), torch.tensor(pl), torch.tensor(G), gl, 5)
    np.testing.assert_allclose(short, cmc[:5], rtol=1e-6)
    cos = metrics.cmc_curve(P, pl, G, gl, 5, distance="cosine")
    Pn = P / np.linalg.norm(P, axis=1, keepdims=True)
    Gn = G / np.linalg.norm(G, axis=1, keepdims=True)
    np.testing.assert_allclose(cos, _loop_cmc(Pn, pl, Gn, gl, 5), rtol=1e-6)


def test_cmc_closed_form_and_ties():
    G = np.array([[0.0], [1.0], [2.0]])
    gl = [0, 1, 2]
    P = np.array([[0.1], [1.6], [0.5]])  # ranks: 1, 2 (id 1 at 0.6 vs id 2 at 0.4), tie -> 2
    pl = [0, 1, 0]
    np.testing.assert_allclose(metrics.cmc_curve(P, pl, G, gl, 3), [1 / 3, 1.0, 1.0])


def test_cmc_bad_input():
    G, gl = np.eye(3), [0, 1, 2]
    with pytest.raises(ValueError, match="not enrolled"):
        metrics.cmc_curve(np.eye(3), [0, 1, 5], G, gl, 2)
    with pytest.raises(ValueError, match="max_rank"):
        metrics.cmc_curve(np.eye(3), [0, 1, 2], G, gl, 4)
    with pytest.raises(ValueError, match="max_rank"):
        metrics.cmc_curve(np.eye(3), [0, 1, 2], G, gl, 0)
    with pytest.raises(ValueError, match="width"):
        metrics.cmc_curve(np.ones((3, 2)), [0, 1, 2], G, gl, 1)
    with pytest.raises(ValueError, match="probe_labels"):
        metrics.cmc_curve(np.eye(3), [0, 1], G, gl, 1)
    with pytest.raises(ValueError, match="gallery_emb"):
        metrics.cmc_curve(np.eye(3), [0, 1, 2], np.full((3, 3), np.nan), gl, 1)
    with pytest.raises(ValueError, match="distance"):
        metrics.cmc_curve(np.eye(3), [0, 1, 2], G, gl, 1, distance="manhattan")


# ----------------------------------------------------------------------------------------- DIR


def _loop_dir(P, pl, G, gl, far, rank):
    enrolled = set(gl)
    best_impostor, mated = [], []
    for p, lab in zip(P, pl, strict=True):
        s = [-float(np.linalg.norm(p - g)) for g in G]
        if lab in enrolled:
            order = sorted(range(len(G)), key=lambda i: (-s[i], gl[i] == lab))
            r = next(k for k, i in enumerate(order) if gl[i] == lab)
            mated.append((r, max(s[i] for i in range(len(G)) if gl[i] == lab)))
        else:
            best_impostor.append(max(s))
    # the lowest threshold among candidates with false alarm rate <= far
    cands = sorted({v for _, v in mated} | set(best_impostor) | {math.inf})
    t = next(c for c in cands if sum(b >= c for b in best_impostor) / len(best_impostor) <= far)
    return sum(r < rank and v >= t for r, v in mated) / len(mated)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("far", [0.0, 0.05, 0.2, 0.5, 1.0])
@pytest.mark.parametrize("rank", [1, 3])
def test_dir_matches_loop(seed, far, rank):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, 4))
    gl = np.arange(10)  # identities 0..9 enrolled, one entry each
    G = centers[gl] + 0.5 * rng.normal(size=(10, 4))
    pl = rng.integers(0, 20, 60)  # 10..19: impostors
    P = centers[pl] + 0.5 * rng.normal(size=(60, 4))
    got = metrics.detection_identification_rate(P, pl, G, gl, far, rank=rank)
    assert got == pytest.approx(_loop_dir(P, pl, G, gl, far, rank))


def test_dir_at_far_one_is_the_cmc_and_grows_with_far():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(30, 6))
    gl = np.arange(15)
    G = centers[gl] + 0.6 * rng.normal(size=(15, 6))
    pl = rng.integers(0, 30, 200)
    P = centers[pl] + 0.6 * rng.normal(size=(200, 6))
    fars = [0.0, 0.01, 0.1, 0.3, 1.0]
    out = metrics.detection_identification_rate(P, pl, G, gl, fars, rank=2)
    assert list(out) == fars
    assert all(a <= b for a, b in zip(list(out.values()), list(out.values())[1:], strict=False))
    mated = pl < 15
    cmc = metrics.cmc_curve(P[mated], pl[mated], G, gl, 2)
    assert out[1.0] == pytest.approx(cmc[1])


def test_dir_bad_input():
    G, gl = np.eye(3), [0, 1, 2]
    with pytest.raises(ValueError, match="non-mated"):
        metrics.detection_identification_rate(np.eye(3), [0, 1, 2], G, gl, 0.1)
    with pytest.raises(ValueError, match="mated"):
        metrics.detection_identification_rate(np.eye(3), [7, 8, 9], G, gl, 0.1)
    with pytest.raises(ValueError, match="far"):
        metrics.detection_identification_rate(np.eye(3), [0, 1, 9], G, gl, 1.1)
    with pytest.raises(ValueError, match="rank"):
        metrics.detection_identification_rate(np.eye(3), [0, 1, 9], G, gl, 0.1, rank=4)
    with pytest.raises(ValueError, match="rank"):
        metrics.detection_identification_rate(np.eye(3), [0, 1, 9], G, gl, 0.1, rank=True)
