"""Tests of cl_lessons.miners: masks and categories against loops, exact boundary points,
agreement with pytorch-metric-learning's miners, and bad input."""

from __future__ import annotations

import pytest
import torch

from cl_lessons import losses as L
from cl_lessons import miners as M


def randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def labels_for(n, num_classes, seed=0):
    return torch.randint(0, num_classes, (n,), generator=torch.Generator().manual_seed(seed + 7))


def triplet_set(a, p, n):
    return set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))


def ref_categories(dist, labels, margin):
    """Plain loops over (a, p, n) with the FaceNet definitions."""
    n = dist.shape[0]
    out = {"easy": set(), "semihard": set(), "hard": set()}
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] == labels[a]:
                    continue
                dap, daq = dist[a, p].item(), dist[a, q].item()
                if daq > dap + margin:
                    out["easy"].add((a, p, q))
                elif daq > dap:
                    out["semihard"].add((a, p, q))
                else:
                    out["hard"].add((a, p, q))
    return out


@pytest.mark.parametrize(("n", "classes"), [(1, 1), (5, 2), (12, 3), (20, 6)])
def test_triplet_masks_match_loop(n, classes):
    y = labels_for(n, classes, seed=n)
    valid = M.triplet_masks(y)
    assert valid.shape == (n, n, n) and valid.dtype == torch.bool
    expected = {
        (a, p, q)
        for a in range(n)
        for p in range(n)
        for q in range(n)
        if a != p and y[a] == y[p] and y[q] != y[a]
    }
    assert triplet_set(*torch.nonzero(valid, as_tuple=True)) == expected


@pytest.mark.parametrize("margin", [0.0, 0.3, 1.0, 5.0])
@pytest.mark.parametrize(("n", "d", "classes"), [(6, 2, 2), (16, 4, 3), (24, 8, 4)])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_categories_match_loop_and_partition_valid_triplets(margin, n, d, classes, distance):
    x, y = randn(n, d, seed=n + d), labels_for(n, classes, seed=d)
    dist = (
        torch.cdist(x, x)
        if distance == "euclidean"
        else 1 - torch.cosine_similarity(x[:, None], x[None, :], dim=-1)
    )
    cats = M.triplet_categories(dist, y, margin)
    ref = ref_categories(dist, y, margin)
    for name in ("easy", "semihard", "hard"):
        mask = getattr(cats, name)
        assert mask.shape == (n, n, n)
        assert triplet_set(*torch.nonzero(mask, as_tuple=True)) == ref[name]
    valid = M.triplet_masks(y)
    total = cats.easy.long() + cats.semihard.long() + cats.hard.long()
    assert torch.equal(total, valid.long())  # disjoint, and together exactly the valid ones


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_boundaries_on_a_hand_made_distance_matrix(dtype):
    # one anchor (0), one positive (1) at d = 0.5, margin 0.25; the negative's distance varies.
    # All values are exact in binary floating point.
    labels = [0, 0, 1]

    def category(d_an):
        dist = torch.tensor([[0.0, 0.5, d_an], [0.5, 0.0, 9.0], [d_an, 9.0, 0.0]], dtype=dtype)
        cats = M.triplet_categories(dist, labels, 0.25)
        found = [name for name in ("easy", "semihard", "hard") if getattr(cats, name)[0, 1, 2]]
        assert len(found) == 1
        return found[0]

    up = torch.tensor(float("inf"), dtype=dtype)
    assert category(0.25) == "hard"  # closer than the positive
    assert category(0.5) == "hard"  # d(a,n) == d(a,p): hard by convention
    assert category(torch.nextafter(torch.tensor(0.5, dtype=dtype), up).item()) == "semihard"
    assert category(0.625) == "semihard"
    assert category(0.75) == "semihard"  # d(a,n) == d(a,p) + m: semi-hard by convention
    assert category(torch.nextafter(torch.tensor(0.75, dtype=dtype), up).item()) == "easy"
    assert category(2.0) == "easy"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_boundaries_with_embeddings_placed_on_them(dtype):
    # a = (0, 0), p = (0.5, 0): d(a,p) = 0.5. n1 = (0, 0.5): d(a,n1) = 0.5, on the hard boundary.
    # n2 = (0, 0.75): d(a,n2) = 0.75 = d(a,p) + m for m = 0.25, on the semi-hard / easy boundary.
    # Coordinates, their mean and every squared distance are exact binary fractions.
    x = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.0, 0.75]], dtype=dtype)
    y = [0, 0, 1, 1]
    got = {s: triplet_set(*M.mine_triplets(x, y, 0.25, s)) for s in ("easy", "semihard", "hard")}
    assert got["hard"] == {(0, 1, 2)}
    assert got["semihard"] == {(0, 1, 3), (1, 0, 2), (2, 3, 0)}  # (2, 3, 0): 0.5 == 0.25 + 0.25
    assert got["easy"] == {(1, 0, 3), (2, 3, 1), (3, 2, 0), (3, 2, 1)}
    # the triplet loss agrees: hard >= m, semi-hard in [0, m), easy 0
    for strategy, low, high in [("hard", 0.25, 9.0), ("semihard", 0.0, 0.25), ("easy", 0.0, 0.0)]:
        a, p, n = M.mine_triplets(x, y, 0.25, strategy)
        loss = L.triplet_loss(x[a], x[p], x[n], 0.25, reduction="none")
        assert bool((loss >= low).all()) and bool((loss <= high).all())
        if strategy == "semihard":
            assert bool((loss < 0.25).all())


@pytest.mark.parametrize("strategy", ["all", "easy", "semihard", "hard"])
@pytest.mark.parametrize("margin", [0.1, 0.5, 2.0])
@pytest.mark.parametrize(("n", "classes"), [(10, 2), (24, 4)])
def test_mine_triplets_matches_pytorch_metric_learning(strategy, margin, n, classes):
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    from pytorch_metric_learning.distances import LpDistance

    x, y = randn(n, 3, seed=n + classes), labels_for(n, classes, seed=n)
    miner = pml_miners.TripletMarginMiner(
        margin=margin, type_of_triplets=strategy, distance=LpDistance(normalize_embeddings=False)
    )
    ours = M.mine_triplets(x, y, margin, strategy)
    assert all(t.dtype == torch.long for t in ours)
    if strategy == "all":
        # pml's type_of_triplets="all" still drops the easy triplets (d(a,n) > d(a,p) + m);
        # ours is every valid triplet, so pml's set is our semi-hard plus hard
        semi, hard = (triplet_set(*M.mine_triplets(x, y, margin, s)) for s in ("semihard", "hard"))
        easy = triplet_set(*M.mine_triplets(x, y, margin, "easy"))
        assert triplet_set(*miner(x, y)) == semi | hard
        assert triplet_set(*ours) == semi | hard | easy
    else:
        assert triplet_set(*ours) == triplet_set(*miner(x, y))


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("n", "classes"), [(2, 2), (9, 3), (20, 5)])
def test_batch_hard_mining_matches_loop(distance, n, classes):
    x, y = randn(n, 4, seed=n), labels_for(n, classes, seed=classes)
    a, p, q = M.mine_triplets(x, y, strategy="batch_hard", distance=distance)
    if distance == "euclidean":
        dist = torch.cdist(x, x)
    else:
        dist = 1 - torch.cosine_similarity(x[:, None], x[None, :], dim=-1)
    expected = set()
    for i in range(n):
        pos = [j for j in range(n) if j != i and y[j] == y[i]]
        neg = [j for j in range(n) if y[j] != y[i]]
        if pos and neg:
            expected.add(
                (i, max(pos, key=lambda j: dist[i, j]), min(neg, key=lambda j: dist[i, j]))
            )
    assert triplet_set(a, p, q) == expected
    # the mined triplets give batch_triplet_loss(mining="hard")
    if expected:
        assert torch.allclose(
            L.triplet_loss(x[a], x[p], x[q], 0.3, distance),
            L.batch_triplet_loss(x, y, 0.3, "hard", distance),
        )


def test_batch_hard_agrees_with_pytorch_metric_learning():
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    from pytorch_metric_learning.distances import LpDistance

    x, y = randn(30, 5, seed=3), labels_for(30, 4, seed=3)
    ref = pml_miners.BatchHardMiner(distance=LpDistance(normalize_embeddings=False))(x, y)
    assert triplet_set(*M.mine_triplets(x, y, strategy="batch_hard")) == triplet_set(*ref)


def test_mine_triplets_all_and_empty_cases():
    x, y = randn(7, 2, seed=1), [0, 0, 1, 1, 1, 2, 2]
    a, p, n = M.mine_triplets(x, y, strategy="all")
    assert triplet_set(a, p, n) == triplet_set(*torch.nonzero(M.triplet_masks(y), as_tuple=True))
    for strategy in M.STRATEGIES:
        a, p, n = M.mine_triplets(x[:3], [0, 1, 2], strategy=strategy)  # no positive pair
        assert a.shape == p.shape == n.shape == (0,)
        assert a.dtype == torch.long


def test_mine_triplets_default_margin_is_facenets():
    # documented default: margin 0.2, strategy "semihard"
    x, y = randn(16, 3, seed=4), labels_for(16, 3, seed=4)
    assert triplet_set(*M.mine_triplets(x, y)) == triplet_set(
        *M.mine_triplets(x, y, margin=0.2, strategy="semihard")
    )


@pytest.mark.parametrize("margin", [0.0, 0.5, 3.0])
def test_category_fractions(margin):
    x, y = randn(18, 3, seed=6), labels_for(18, 3, seed=6)
    dist = torch.cdist(x, x)
    fr = M.category_fractions(dist, y, margin)
    cats = M.triplet_categories(dist, y, margin)
    valid = int(M.triplet_masks(y).sum())
    assert set(fr) == {"easy", "semihard", "hard"}
    for name in fr:
        assert fr[name] == pytest.approx(int(getattr(cats, name).sum()) / valid)
    assert sum(fr.values()) == pytest.approx(1.0)
    assert M.category_fractions(dist[:3, :3], [0, 1, 2], margin) == {
        "easy": 0.0,
        "semihard": 0.0,
        "hard": 0.0,
    }


def test_larger_margin_moves_easy_to_semihard():
    x, y = randn(20, 3, seed=8), labels_for(20, 4, seed=8)
    dist = torch.cdist(x, x)
    small, large = M.category_fractions(dist, y, 0.1), M.category_fractions(dist, y, 1.0)
    assert large["hard"] == small["hard"]  # hard does not depend on the margin
    assert large["easy"] < small["easy"] and large["semihard"] > small["semihard"]


X = torch.randn(4, 3)
LAB = torch.tensor([0, 0, 1, 1])
DIST = torch.cdist(X, X)
NAN = X.clone()
NAN[0, 0] = float("nan")

BAD_CALLS = [
    (lambda: M.triplet_masks([]), "labels is empty"),
    (lambda: M.triplet_masks(torch.zeros(2, 2, dtype=torch.long)), "labels must be 1-D"),
    (lambda: M.triplet_masks([0.5, 1.0]), "labels must hold integer"),
    (lambda: M.triplet_categories(DIST[:3], LAB, 0.2), "dist must be a square"),
    (lambda: M.triplet_categories(DIST[0], LAB, 0.2), "dist must be a square"),
    (lambda: M.triplet_categories(DIST.numpy(), LAB, 0.2), "dist must be a torch.Tensor"),
    (lambda: M.triplet_categories(DIST * float("nan"), LAB, 0.2), "dist must be a finite"),
    (lambda: M.triplet_categories(DIST, LAB[:3], 0.2), "labels has length 3"),
    (lambda: M.triplet_categories(DIST, LAB, -0.2), "margin must be >= 0"),
    (lambda: M.category_fractions(DIST, LAB, -1), "margin must be >= 0"),
    (lambda: M.mine_triplets(X[0], LAB), "embeddings must be 2-D"),
    (lambda: M.mine_triplets(X[None], LAB), "embeddings must be 2-D"),
    (lambda: M.mine_triplets(X[:0], []), "embeddings is an empty batch"),
    (lambda: M.mine_triplets(NAN, LAB), "embeddings contains NaN"),
    (lambda: M.mine_triplets(X, LAB[:3]), "labels has length 3"),
    (lambda: M.mine_triplets(X, LAB, margin=-0.1), "margin must be >= 0"),
    (lambda: M.mine_triplets(X, LAB, strategy="semi-hard"), "strategy must be one of"),
    (lambda: M.mine_triplets(X, LAB, distance="l1"), "distance must be one of"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_triplet_zone_agrees_with_triplet_categories():
    g = torch.Generator().manual_seed(5)
    emb = torch.randn(12, 3, generator=g)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    dist = torch.cdist(emb, emb)
    cats = M.triplet_categories(dist, labels, 0.4)
    valid = M.triplet_masks(labels)
    zone = M.triplet_zone(dist[:, :, None], dist[:, None, :], 0.4)  # (N, N, N)
    assert torch.equal(cats.easy, valid & (zone == M.EASY))
    assert torch.equal(cats.semihard, valid & (zone == M.SEMIHARD))
    assert torch.equal(cats.hard, valid & (zone == M.HARD))


def test_triplet_zone_boundaries_and_errors():
    d_ap = torch.tensor(1.0)
    d_an = torch.tensor([0.5, 1.0, 1.25, 1.5, 1.75])  # exact in binary; margin 0.5
    expected = [M.HARD, M.HARD, M.SEMIHARD, M.SEMIHARD, M.EASY]
    assert M.triplet_zone(d_ap, d_an, 0.5).tolist() == expected
    with pytest.raises(ValueError, match="margin"):
        M.triplet_zone(d_ap, d_an, -1.0)
    with pytest.raises(ValueError, match="d_an"):
        M.triplet_zone(d_ap, torch.tensor([float("nan")]), 0.5)
