"""Tests of cl_lessons.metrics against scikit-learn, loops, known answers, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from cl_lessons import metrics as M


def scores_and_same(m, seed, ties=False):
    rng = np.random.default_rng(seed)
    same = rng.integers(0, 2, m)
    same[0], same[1] = 0, 1  # both classes present
    scores = rng.normal(size=m) + 1.2 * same
    if ties:
        scores = np.round(scores, 1)  # many tied scores, also across the classes
    return scores, same


# ----------------------------------------------------------------------------- verification


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("m", [2, 7, 50, 1000])
@pytest.mark.parametrize("seed", [0, 1])
def test_roc_auc_equals_sklearn(ties, m, seed):
    s, y = scores_and_same(m, seed, ties)
    assert M.roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_roc_auc_accepts_tensors_lists_and_bools():
    s, y = scores_and_same(40, 3, ties=True)
    ref = roc_auc_score(y, s)
    assert M.roc_auc(torch.tensor(s, dtype=torch.float32), torch.tensor(y).bool()) == pytest.approx(
        roc_auc_score(y, s.astype(np.float32)), abs=1e-12
    )
    assert M.roc_auc(s.tolist(), y.tolist()) == pytest.approx(ref, abs=1e-12)
    assert M.roc_auc(s, y.astype(float)) == pytest.approx(ref, abs=1e-12)


def test_roc_auc_hand_values():
    assert M.roc_auc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]) == 1.0
    assert M.roc_auc([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0]) == 0.0
    assert M.roc_auc([0.5, 0.5], [1, 0]) == 0.5  # a tie counts one half
    # pairs (pos, neg): (0.8, 0.3) win, (0.8, 0.8) tie, (0.2, 0.3) loss, (0.2, 0.8) loss
    assert M.roc_auc([0.8, 0.2, 0.3, 0.8], [1, 1, 0, 0]) == pytest.approx(1.5 / 4)


@pytest.mark.parametrize("ties", [False, True])
def test_roc_curve_equals_sklearn(ties):
    s, y = scores_and_same(200, 5, ties)
    far, tar, thr = M.roc_curve(s, y)
    fpr, tpr, sk_thr = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(far, fpr, atol=1e-12)
    np.testing.assert_allclose(tar, tpr, atol=1e-12)
    assert thr[0] == np.inf
    np.testing.assert_allclose(thr[1:], sk_thr[1:])


@pytest.mark.parametrize(
    ("scores", "same", "eer", "threshold"),
    [
        # perfectly separated: no error at the lowest "same" score
        ([0.9, 0.7, 0.4, 0.2], [1, 1, 0, 0], 0.0, 0.7),
        # FAR = FRR = 1/4 exactly at threshold 0.6 (pos 0.9 0.8 0.6 0.4; neg 0.7 0.3 0.2 0.1)
        ([0.9, 0.8, 0.6, 0.4, 0.7, 0.3, 0.2, 0.1], [1, 1, 1, 1, 0, 0, 0, 0], 0.25, 0.6),
        # a tie across the classes: the ROC segment from (FAR 0, FRR 2/3) at 0.8 to (1/3, 0) at
        # 0.5 crosses FAR = FRR two thirds of the way along: EER 2/9, threshold 0.8 - 0.2 = 0.6
        ([0.8, 0.5, 0.5, 0.5, 0.2, 0.1], [1, 1, 1, 0, 0, 0], 2 / 9, 0.6),
        # identical scores: chance
        ([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0], 0.5, 0.3),
        # perfectly inverted: FAR = FRR = 1 from threshold 0.8 down to just above 0.2
        ([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0], 1.0, 0.8),
    ],
)
def test_equal_error_rate_known_answers(scores, same, eer, threshold):
    got_eer, got_thr = M.equal_error_rate(scores, same)
    assert got_eer == pytest.approx(eer, abs=1e-12)
    assert got_thr == pytest.approx(threshold, abs=1e-12)


def test_equal_error_rate_of_two_gaussians():
    # same ~ N(+1, 1), different ~ N(-1, 1): FAR = FRR at threshold 0, EER = Phi(-1)
    rng = np.random.default_rng(0)
    s = np.r_[rng.normal(1, 1, 20000), rng.normal(-1, 1, 20000)]
    y = np.r_[np.ones(20000), np.zeros(20000)]
    eer, thr = M.equal_error_rate(s, y)
    assert eer == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)), abs=0.006)
    assert thr == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("m", [1, 5, 60])
def test_best_threshold_is_the_best_of_all_cuts(ties, m):
    s, y = scores_and_same(max(m, 2), m, ties)
    s, y = s[:m], y[:m]
    thr, acc = M.best_threshold(s, y)
    candidates = np.r_[np.unique(s), np.inf]
    best = max(((s >= c) == y.astype(bool)).mean() for c in candidates)
    assert acc == pytest.approx(best)
    assert ((s >= thr) == y.astype(bool)).mean() == pytest.approx(acc)  # the rule reproduces it


def test_best_threshold_hand_values():
    assert M.best_threshold([0.9, 0.7, 0.4, 0.2], [1, 1, 0, 0]) == (pytest.approx(0.55), 1.0)
    thr, acc = M.best_threshold([0.3, 0.2], [0, 0])  # one class: accept nothing
    assert acc == 1.0 and thr > 0.3
    thr, acc = M.best_threshold([0.3, 0.2], [1, 1])  # one class: accept everything
    assert acc == 1.0 and thr == 0.2


# ----------------------------------------------------------------------------- retrieval


def ref_recall(x, y, k, distance):
    n, hits, queries = x.shape[0], 0, 0
    for i in range(n):
        if sum(int(y[j] == y[i]) for j in range(n)) < 2:
            continue
        if distance == "euclidean":
            d = [float(np.linalg.norm(x[i] - x[j])) for j in range(n)]
        else:
            d = [
                1 - float(x[i] @ x[j] / np.linalg.norm(x[i]) / np.linalg.norm(x[j]))
                for j in range(n)
            ]
        order = sorted((j for j in range(n) if j != i), key=lambda j: d[j])[:k]
        hits += any(y[j] == y[i] for j in order)
        queries += 1
    return hits / queries


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("n", "d", "classes"), [(5, 2, 2), (30, 4, 5), (60, 8, 12)])
@pytest.mark.parametrize("k", [1, 3])
def test_recall_at_k_matches_loop(distance, n, d, classes, k):
    rng = np.random.default_rng(n + d)
    x = rng.normal(size=(n, d))
    y = rng.integers(0, classes, n)
    k = min(k, n - 1)
    assert M.recall_at_k(x, y, k, distance) == pytest.approx(ref_recall(x, y, k, distance))
    assert M.recall_at_k(torch.tensor(x), torch.tensor(y), k, distance) == pytest.approx(
        ref_recall(x, y, k, distance)
    )


def test_recall_at_k_never_retrieves_the_query():
    # each point has an exact duplicate with the other label: a query that could retrieve itself
    # would score 1.0; leave-one-out finds the duplicate first, a miss
    x = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.0]])
    assert M.recall_at_k(x, [0, 1, 0, 1], 1) == 0.0
    # a pair near each other and two singletons far away: the singletons are left out
    x = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    assert M.recall_at_k(x, [0, 0, 1, 2], 1) == 1.0
    # on a line at 0, 1, 3, 7 with labels a b b a: the mates rank 3rd, 2nd, 1st, 3rd
    x = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    assert M.recall_at_k(x, [0, 1, 1, 0], [1, 2, 3]) == {1: 0.25, 2: 0.5, 3: 1.0}


def test_recall_at_k_is_monotone_in_k():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 6, 40)
    r = M.recall_at_k(x, y, (1, 2, 5, 10))
    assert list(r) == [1, 2, 5, 10]
    assert r[1] <= r[2] <= r[5] <= r[10]


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_knn_accuracy_matches_sklearn(k, distance):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(k)
    centers = rng.normal(size=(3, 4)) * 2
    ytr, yte = rng.integers(0, 3, 80), rng.integers(0, 3, 40)
    xtr = centers[ytr] + rng.normal(size=(80, 4))
    xte = centers[yte] + rng.normal(size=(40, 4))
    metric = "euclidean" if distance == "euclidean" else "cosine"
    clf = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(xtr, ytr)
    # majority votes; sklearn breaks vote ties by the smallest label, ours by the nearest one,
    # so compare only the test points without a tie
    ref = clf.predict(xte)
    got = M.knn_accuracy(xtr, ytr, xte, yte, k, distance)
    assert got == pytest.approx((ref == yte).mean(), abs=2 / 40 if k > 1 else 0)
    if k == 1:
        assert got == pytest.approx((ref == yte).mean())


def test_knn_accuracy_hand_values_and_tie_break():
    xtr = np.array([[0.0], [1.0], [10.0], [12.0]])[:, [0, 0]] * [1, 0]
    ytr = [5, 5, 9, 9]
    xte = np.array([[0.5, 0.0], [11.0, 0.0], [4.0, 0.0]])
    assert M.knn_accuracy(xtr, ytr, xte, [5, 9, 5], k=1) == 1.0
    assert M.knn_accuracy(xtr, ytr, xte, [5, 9, 5], k=3) == 1.0  # 2 votes against 1
    # k = 4 at x = 4: two votes each; the nearest neighbour (1.0, label 5) breaks the tie
    assert M.knn_accuracy(xtr, ytr, xte[2:], [5], k=4) == 1.0
    assert M.knn_accuracy(xtr, ytr, np.array([[8.0, 0.0]]), [9], k=4) == 1.0


def test_linear_probe_accuracy():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 6)) * 1.5
    ytr, yte = rng.integers(0, 4, 200), rng.integers(0, 4, 100)
    xtr = centers[ytr] + rng.normal(size=(200, 6)) + 100.0  # an offset the scaler removes
    xte = centers[yte] + rng.normal(size=(100, 6)) + 100.0
    got = M.linear_probe_accuracy(torch.tensor(xtr), torch.tensor(ytr), xte, yte)
    sc = StandardScaler().fit(xtr)
    ref = (
        LogisticRegression(max_iter=1000).fit(sc.transform(xtr), ytr).predict(sc.transform(xte))
        == yte
    ).mean()
    assert got == pytest.approx(ref)
    assert 0.5 < got <= 1.0
    sep = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 5] + rng.normal(size=(40, 2)) * 0.1
    lab = np.r_[np.zeros(20), np.ones(20)].astype(int)
    assert M.linear_probe_accuracy(sep, lab, sep, lab) == 1.0
    # the thread limit changes the speed, not the answer
    assert M.linear_probe_accuracy(xtr, ytr, xte, yte, threads=None) == pytest.approx(got)


# ----------------------------------------------------------------------------- alignment/uniformity


@pytest.mark.parametrize("alpha", [1, 2, 3.5])
@pytest.mark.parametrize(("n", "d"), [(1, 2), (20, 8)])
def test_alignment_matches_paper_code(alpha, n, d):
    z1, z2 = torch.randn(n, d, dtype=torch.float64), torch.randn(n, d, dtype=torch.float64)
    x, y = torch.nn.functional.normalize(z1, dim=1), torch.nn.functional.normalize(z2, dim=1)
    ref = (x - y).norm(p=2, dim=1).pow(alpha).mean()  # Wang & Isola 2020, their listing
    torch.testing.assert_close(M.alignment(z1, z2, alpha), ref)
    torch.testing.assert_close(M.alignment(x, y, alpha, normalize=False), ref)


@pytest.mark.parametrize("t", [0.5, 2, 10])
@pytest.mark.parametrize(("n", "d"), [(2, 2), (30, 8)])
def test_uniformity_matches_paper_code(t, n, d):
    z = torch.randn(n, d, dtype=torch.float64)
    x = torch.nn.functional.normalize(z, dim=1)
    ref = torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()  # Wang & Isola 2020
    torch.testing.assert_close(M.uniformity(z, t), ref)
    torch.testing.assert_close(M.uniformity(x, t, normalize=False), ref)


def test_alignment_uniformity_hand_values_and_gradients():
    a = torch.tensor([[1.0, 0.0], [-3.0, 0.0]], requires_grad=True)  # antipodal after normalising
    assert M.uniformity(a).item() == pytest.approx(-8.0)  # log exp(-2 * 4)
    assert M.alignment(a, a).item() == 0.0
    assert M.alignment(a[:1], a[1:]).item() == pytest.approx(4.0)  # ||(1,0) - (-1,0)||^2
    collapsed = torch.ones(5, 3)
    assert M.uniformity(collapsed).item() == pytest.approx(0.0, abs=1e-6)  # worst case
    assert math.isfinite(M.uniformity(torch.randn(50, 3), t=1000).item())  # no underflow to -inf
    z = torch.randn(6, 3, requires_grad=True)
    for value in (M.alignment(z, z.detach() + 0.0, alpha=1), M.uniformity(z)):
        (g,) = torch.autograd.grad(value, z)
        assert torch.isfinite(g).all()


# ----------------------------------------------------------------------------- bad input

S = np.array([0.1, 0.4, 0.35, 0.8])
Y = np.array([0, 0, 1, 1])
E = np.random.default_rng(0).normal(size=(6, 3))
L6 = np.array([0, 0, 1, 1, 2, 2])

BAD_CALLS = [
    (lambda: M.roc_auc(S, Y[:3]), "scores and same must have the same length"),
    (lambda: M.roc_auc([], []), "scores is empty"),
    (lambda: M.roc_auc(np.r_[S[:3], np.nan], Y), "scores contains NaN"),
    (lambda: M.roc_auc(np.r_[S[:3], np.inf], Y), "scores contains NaN or Inf"),
    (lambda: M.roc_auc(S, [0, 1, 2, 1]), r"same must be binary in \{0, 1\}"),
    (lambda: M.roc_auc(S, [0, 0.5, 1, 1]), "same must be binary"),
    (lambda: M.roc_auc(S, [1, 1, 1, 1]), "same must contain both classes"),
    (lambda: M.roc_auc(S, [0, 0, 0, 0]), "same must contain both classes"),
    (lambda: M.roc_auc(S[None], Y[None]), "scores must be 1-D"),
    (lambda: M.roc_auc(["a", "b"], [0, 1]), "scores must hold numbers"),
    (lambda: M.roc_curve(S, [1, 1, 1, 1]), "same must contain both classes"),
    (lambda: M.roc_curve(S, Y[:2]), "same length"),
    (lambda: M.equal_error_rate(S, [0, 0, 0, 0]), "same must contain both classes"),
    (lambda: M.equal_error_rate(np.r_[np.nan, S[1:]], Y), "scores contains NaN"),
    (lambda: M.best_threshold(S, [0, 3, 1, 1]), "same must be binary"),
    (lambda: M.best_threshold([], []), "scores is empty"),
    (lambda: M.recall_at_k(E, L6, 0), "k must be a positive integer"),
    (lambda: M.recall_at_k(E, L6, 6), "k must be <= N - 1 = 5"),
    (lambda: M.recall_at_k(E, L6, [1, 2.5]), "k must be a positive integer"),
    (lambda: M.recall_at_k(E, L6, []), "k is an empty sequence"),
    (lambda: M.recall_at_k(E, L6[:5], 1), "labels has length 5"),
    (lambda: M.recall_at_k(E[0], L6, 1), "embeddings must be 2-D"),
    (lambda: M.recall_at_k(E[None], L6, 1), "embeddings must be 2-D"),
    (lambda: M.recall_at_k(E, np.arange(6), 1), "no class has two members"),
    (lambda: M.recall_at_k(E, L6, 1, distance="l1"), "distance must be one of"),
    (lambda: M.recall_at_k(np.where(E > 0, np.nan, E), L6, 1), "embeddings contains NaN"),
    (lambda: M.knn_accuracy(E, L6, E[:, :2], L6), "same feature size"),
    (lambda: M.knn_accuracy(E, L6[:4], E, L6), "train_labels has length 4"),
    (lambda: M.knn_accuracy(E, L6, E, L6[:4]), "test_labels has length 4"),
    (lambda: M.knn_accuracy(E, L6, E, L6, k=7), "k must be <= the training set size 6"),
    (lambda: M.knn_accuracy(E, L6, E[:0], L6[:0]), "test_emb is an empty batch"),
    (lambda: M.linear_probe_accuracy(E, np.zeros(6, int), E, L6), "at least two classes"),
    (lambda: M.linear_probe_accuracy(E, L6, E, L6, C=0), "C must be a finite number > 0"),
    (lambda: M.linear_probe_accuracy(E, L6, E[:, :1], L6), "same feature size"),
    (lambda: M.linear_probe_accuracy(E, L6, E, L6, threads=0), "threads must be"),
    (lambda: M.alignment(E, E[:3]), "z1 and z2 must have the same shape"),
    (lambda: M.alignment(E, E, alpha=0), "alpha must be > 0"),
    (lambda: M.alignment(E[0], E[0]), "z1 must be 2-D"),
    (lambda: M.uniformity(E[:1]), "at least two rows"),
    (lambda: M.uniformity(E, t=0), "t must be a finite number > 0"),
    (lambda: M.uniformity(E[None]), "z must be 2-D"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
