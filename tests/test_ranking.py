"""precision@k and MAP@R against looped references, hand values and pytorch-metric-learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cl_lessons import metrics as M
from cl_lessons.metrics import _inputs


def _ranking(x: np.ndarray, q: int, distance: str) -> list[int]:
    """The other items, nearest first, ties by index: a plain loop over the gallery."""
    dists = []
    for j in range(len(x)):
        if j == q:
            continue
        if distance == "euclidean":
            d = math.sqrt(sum((a - b) ** 2 for a, b in zip(x[q], x[j], strict=True)))
        else:
            na, nb = np.linalg.norm(x[q]), np.linalg.norm(x[j])
            d = 1.0 - float(np.dot(x[q], x[j])) / max(na * nb, 1e-12)
        dists.append((d, j))
    return [j for _, j in sorted(dists)]


def ref_precision(x, y, k, distance="euclidean"):
    values = []
    for q in range(len(x)):
        if sum(int(c == y[q]) for c in y) < 2:
            continue
        top = _ranking(x, q, distance)[:k]
        values.append(sum(int(y[j] == y[q]) for j in top) / k)
    return sum(values) / len(values)


def ref_map_at_r(x, y, distance="euclidean"):
    values = []
    for q in range(len(x)):
        r = sum(int(c == y[q]) for c in y) - 1
        if r == 0:
            continue
        hits, total = 0, 0.0
        for i, j in enumerate(_ranking(x, q, distance)[:r], start=1):
            if y[j] == y[q]:
                hits += 1
                total += hits / i
        values.append(total / r)
    return sum(values) / len(values)


def clustered(n, d, classes, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(size=(classes, d))[y] * 2.0 + spread * rng.normal(size=(n, d))
    return x, y


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("n", "d", "classes"), [(12, 2, 3), (60, 5, 7), (150, 8, 20)])
def test_map_at_r_and_precision_match_loops(distance, n, d, classes):
    x, y = clustered(n, d, classes, seed=n)
    assert M.map_at_r(x, y, distance) == pytest.approx(ref_map_at_r(x, y, distance), abs=1e-12)
    for k in (1, 3, 5):
        want = ref_precision(x, y, k, distance)
        assert M.precision_at_k(x, y, k, distance) == pytest.approx(want, abs=1e-12)
    assert M.precision_at_k(torch.tensor(x), torch.tensor(y), [1, 5], distance) == pytest.approx(
        {1: ref_precision(x, y, 1, distance), 5: ref_precision(x, y, 5, distance)}
    )


def test_hand_values():
    # class 0 at 0, 1, 5.5; class 1 at 2.2, 3, 4.5 (R = 2 for everyone, no tied distances)
    x = [[0.0], [1.0], [5.5], [2.2], [3.0], [4.5]]
    y = [0, 0, 0, 1, 1, 1]
    # rankings: 0 -> 1 (hit), 3 (miss): AP 1/2; 1 -> 0 (hit), 3: 1/2; 2 -> 5, 4: 0;
    # 3 -> 4 (hit), 1: 1/2; 4 -> 3 (hit), 5 (hit): 1; 5 -> 2 (miss), 4 (hit, P=1/2): 1/4
    assert M.map_at_r(x, y) == pytest.approx((0.5 + 0.5 + 0 + 0.5 + 1 + 0.25) / 6)
    assert M.precision_at_k(x, y, 1) == pytest.approx(4 / 6)
    assert M.precision_at_k(x, y, 2) == pytest.approx((1 + 1 + 0 + 1 + 2 + 1) / 12)
    perfect = [[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]]
    assert M.map_at_r(perfect, y) == 1.0
    assert M.precision_at_k(perfect, y, 2) == 1.0


def test_recall_at_k_looks_fine_where_map_at_r_does_not():
    # each class is five far-apart tight pairs: the nearest neighbour always matches, the
    # rest of the class is scattered among the other classes' pairs
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 16)) * 10.0  # 50 pairs
    x = np.repeat(centres, 2, axis=0) + 0.01 * rng.normal(size=(100, 16))
    y = np.repeat(np.arange(50) % 10, 2)  # pair p belongs to class p % 10
    assert M.recall_at_k(x, y, 1) == 1.0
    assert M.precision_at_k(x, y, 1) == 1.0
    assert M.map_at_r(x, y) < 0.3


def test_ties_rank_the_lower_index_first_and_do_not_depend_on_blocks(monkeypatch):
    # points of a small integer grid, each with its mirror image: the mean is exactly 0 and
    # every distance is computed exactly, so the many equal distances are exact ties
    rng = np.random.default_rng(1)
    base = rng.integers(-2, 3, size=(40, 2)).astype(float)
    x = np.concatenate([base, -base])[rng.permutation(80)]
    y = rng.integers(0, 4, 80)
    want_map, want_p = ref_map_at_r(x, y), ref_precision(x, y, 4)
    assert M.map_at_r(x, y) == pytest.approx(want_map, abs=1e-12)
    assert M.precision_at_k(x, y, 4) == pytest.approx(want_p, abs=1e-12)
    monkeypatch.setattr(_inputs, "_BLOCK_ELEMENTS", 7 * 80)  # blocks of 7 queries
    assert M.map_at_r(x, y) == pytest.approx(want_map, abs=1e-12)
    assert M.precision_at_k(x, y, 4) == pytest.approx(want_p, abs=1e-12)
    # query 0 has items 1 and 2 at exactly the same distance: the lower index, 1, ranks first
    pts = [[0.0], [1.0], [-1.0]]
    assert M.precision_at_k(pts, [0, 1, 0], 1) == 0.5  # query 0 misses, query 2 finds 0
    assert M.precision_at_k(pts, [0, 0, 1], 1) == 1.0  # query 0 finds 1, query 1 finds 0
    assert M.map_at_r(pts, [0, 1, 0]) == 0.5


def test_lone_queries_are_left_out():
    x = [[0.0], [0.1], [5.0], [9.0]]
    assert M.map_at_r(x, [0, 0, 1, 2]) == 1.0  # the lone classes 1 and 2 do not count
    assert M.precision_at_k(x, [0, 0, 1, 2], 1) == 1.0


def test_chunked_queries_give_the_same_answer(monkeypatch):
    x, y = clustered(300, 6, 9, seed=3, spread=2.0)
    whole_map, whole_p = M.map_at_r(x, y), M.precision_at_k(x, y, [1, 10])
    monkeypatch.setattr(_inputs, "_BLOCK_ELEMENTS", 13 * 300)
    assert M.map_at_r(x, y) == pytest.approx(whole_map, abs=1e-12)
    assert M.precision_at_k(x, y, [1, 10]) == pytest.approx(whole_p, abs=1e-12)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_pytorch_metric_learning(distance, seed):
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    x, y = clustered(400, 8, 15, seed=seed, spread=1.5)
    x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y)
    dist = LpDistance(normalize_embeddings=False) if distance == "euclidean" else CosineSimilarity()
    calc = AccuracyCalculator(
        include=("mean_average_precision_at_r", "precision_at_1"),
        k="max_bin_count",
        knn_func=CustomKNN(dist),
    )
    theirs = calc.get_accuracy(x, y, x, y, ref_includes_query=True)
    ours = M.map_at_r(x, y, distance)
    assert ours == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-9)
    assert M.precision_at_k(x, y, 1, distance) == pytest.approx(theirs["precision_at_1"], abs=1e-9)
    assert 0.2 < ours < 0.95  # a non-trivial case


def test_precision_at_k_is_capped_by_class_size():
    x = [[0.0], [0.1], [5.0], [5.1], [9.0], [9.1]]  # three perfect pairs (R = 1)
    assert M.precision_at_k(x, [0, 0, 1, 1, 2, 2], 2) == 0.5  # at best R / k
    assert M.recall_at_k(x, [0, 0, 1, 1, 2, 2], 2) == 1.0


E = np.random.default_rng(0).normal(size=(6, 3))
L6 = [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: M.precision_at_k(E, L6, 0), "k must be a positive integer"),
        (lambda: M.precision_at_k(E, L6, 6), "k must be <= N - 1 = 5"),
        (lambda: M.precision_at_k(E, L6, [1, 2.5]), "k must be a positive integer"),
        (lambda: M.precision_at_k(E, L6, []), "k is an empty sequence"),
        (lambda: M.precision_at_k(E, L6[:5], 1), "labels has length 5"),
        (lambda: M.map_at_r(E[0], L6), "embeddings must be 2-D"),
        (lambda: M.map_at_r(E, np.arange(6)), "no class has two members"),
        (lambda: M.map_at_r(E, L6, distance="l1"), "distance must be one of"),
        (lambda: M.map_at_r(np.where(E > 0, np.nan, E), L6), "embeddings contains NaN"),
        (lambda: M.map_at_r(E, [0.5, 0, 1, 1, 2, 2]), "labels must hold integer"),
        (lambda: M.map_at_r("abc", L6), "embeddings must be a 2-D array"),
    ],
)
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
