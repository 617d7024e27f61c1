"""Mining decisions at exact ties follow the documented rules, not the round-off of a distance.

``pairwise_euclidean`` uses the Gram expansion, so distances that are exactly equal in the input
(duplicated rows, small-integer coordinates) come out unequal by ~1e-16. The miners and the
batch triplet losses decide on distances from direct differences instead; here every decision is
compared with plain Python loops over the triplets that follow the docstrings' rules in float64
(``math.sqrt`` of a sum of squares, exact on integer grids and bit-equal for duplicated rows).
"""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F

from cl_lessons import losses as L
from cl_lessons import miners as M

DTYPES = (torch.float32, torch.float64)
ISSUE_X = [[-2, 2], [1, -2], [1, 0], [-2, 2], [1, -1]]
ISSUE_Y = [0, 0, 1, 0, 1]


# ----------------------------------------------------------------------------- looped reference


def ref_dist(X, i, j):
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(X[i], X[j], strict=True)))


def ref_triplets(y):
    n = len(y)
    for a in range(n):
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            for q in range(n):
                if y[q] != y[a]:
                    yield a, p, q


def ref_categories(X, y, m):
    """hard: d(a,n) <= d(a,p); easy: d(a,n) > d(a,p) + m; semi-hard: the rest (miners.py)."""
    cats = {"easy": set(), "semihard": set(), "hard": set()}
    for a, p, q in ref_triplets(y):
        d_ap, d_an = ref_dist(X, a, p), ref_dist(X, a, q)
        name = "hard" if d_an <= d_ap else "easy" if d_an > d_ap + m else "semihard"
        cats[name].add((a, p, q))
    return cats


def ref_semihard(X, y, m):
    """Per positive pair: the closest negative with d(a,n) > d(a,p), else the farthest one."""
    n, out = len(y), []
    for a in range(n):
        negs = [ref_dist(X, a, q) for q in range(n) if y[q] != y[a]]
        if not negs:
            continue
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            d_ap = ref_dist(X, a, p)
            beyond = [d for d in negs if d > d_ap]
            out.append(max(d_ap - (min(beyond) if beyond else max(negs)) + m, 0.0))
    return sum(out) / len(out)


def ref_batch_hard(X, y, m):
    n, out = len(y), []
    for a in range(n):
        dp = [ref_dist(X, a, p) for p in range(n) if p != a and y[p] == y[a]]
        dn = [ref_dist(X, a, q) for q in range(n) if y[q] != y[a]]
        if dp and dn:
            out.append(max(max(dp) - min(dn) + m, 0.0))
    return sum(out) / len(out)


def ref_batch_all(X, y, m):
    h = [max(ref_dist(X, a, p) - ref_dist(X, a, q) + m, 0.0) for a, p, q in ref_triplets(y)]
    return sum(h) / len(h)


# ----------------------------------------------------------------------------- batches


def integer_grid(seed, n=18, dim=2, classes=3, low=-2, high=2):
    rng = random.Random(seed)
    X = [[float(rng.randint(low, high)) for _ in range(dim)] for _ in range(n)]
    y = [i % classes for i in range(n)]
    rng.shuffle(y)
    return X, y


def duplicated_rows(seed, n=16, dim=5, classes=3):
    # random rows, a third of them copies of others (same or another label)
    rng = random.Random(seed)
    X = [[rng.gauss(0.0, 2.0) for _ in range(dim)] for _ in range(n)]
    for i in rng.sample(range(n), n // 3):
        X[i] = list(X[rng.randrange(n)])
    y = [i % classes for i in range(n)]
    rng.shuffle(y)
    return X, y


def as_dtype(X, dtype):
    # the reference must see the values the package sees (float32 rounds gaussian rows)
    t = torch.tensor(X, dtype=dtype)
    return t, t.double().tolist()


BATCHES = [("grid", s) for s in range(6)] + [("dup", s) for s in range(4)]


def make(kind, seed):
    return integer_grid(seed) if kind == "grid" else duplicated_rows(seed)


def triplet_set(a, p, n):
    return set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("dtype", DTYPES)
def test_issue_example_semihard_follows_the_strict_rule(dtype):
    X, y = torch.tensor(ISSUE_X, dtype=dtype), torch.tensor(ISSUE_Y)
    expected = ref_semihard(ISSUE_X, ISSUE_Y, 0.5)
    assert expected == pytest.approx(1.189339828220179, abs=1e-12)
    loss = L.batch_triplet_loss(X, y, margin=0.5, mining="semihard")
    assert float(loss) == pytest.approx(expected, abs=1e-6)  # 1.2518 when decided by round-off


@pytest.mark.parametrize("dtype", DTYPES)
def test_mining_distances_are_exact_and_tie_exactly(dtype):
    X, _ = integer_grid(3, n=20, dim=3)
    d = M.mining_distances(torch.tensor(X, dtype=dtype))
    ref = torch.tensor([[ref_dist(X, i, j) for j in range(20)] for i in range(20)], dtype=dtype)
    assert torch.equal(d, ref)  # sqrt of exact integer sums: correctly rounded, equal to ref
    Xd, _ = duplicated_rows(1)
    Xt = torch.tensor(Xd, dtype=dtype)
    d = M.mining_distances(Xt)
    assert torch.equal(d, d.T)
    for i in range(len(Xd)):
        for j in range(len(Xd)):
            if torch.equal(Xt[i], Xt[j]):
                assert torch.equal(d[i], d[j]) and float(d[i, j]) == 0.0
    for distance in ("euclidean", "cosine"):
        d = M.mining_distances(Xt, distance)
        dups = [(i, j) for i in range(len(Xd)) for j in range(i) if torch.equal(Xt[i], Xt[j])]
        assert dups and all(torch.equal(d[:, i], d[:, j]) for i, j in dups)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.5, 1.0])
@pytest.mark.parametrize(("kind", "seed"), BATCHES)
def test_categories_match_the_looped_reference(kind, seed, margin, dtype):
    X, y = make(kind, seed)
    Xt, Xr = as_dtype(X, dtype)
    ref = ref_categories(Xr, y, margin)
    cats = M.triplet_categories(M.mining_distances(Xt), y, margin)
    for name in ("easy", "semihard", "hard"):
        got = triplet_set(*torch.nonzero(getattr(cats, name), as_tuple=True))
        assert got == ref[name], name
        mined = M.mine_triplets(Xt, torch.tensor(y), margin=margin, strategy=name)
        assert triplet_set(*mined) == ref[name], name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kind", "seed"), BATCHES)
def test_batch_triplet_losses_match_the_looped_reference(kind, seed, dtype):
    X, y = make(kind, seed)
    Xt, Xr = as_dtype(X, dtype)
    tol = 1e-10 if dtype == torch.float64 else 2e-5
    for mining, ref in (
        ("semihard", ref_semihard),
        ("hard", ref_batch_hard),
        ("all", ref_batch_all),
    ):
        for margin in (0.5, 1.0):
            got = float(L.batch_triplet_loss(Xt, torch.tensor(y), margin, mining))
            assert got == pytest.approx(ref(Xr, y, margin), abs=tol), (mining, margin)


def test_batch_hard_miner_picks_a_hardest_pair_at_ties():
    # ties change which index is picked, never the distances it stands for
    for seed in range(6):
        X, y = integer_grid(seed)
        a, p, n = M.mine_triplets(torch.tensor(X), torch.tensor(y), strategy="batch_hard")
        for i, j, k in zip(a.tolist(), p.tolist(), n.tolist(), strict=True):
            dp = [ref_dist(X, i, q) for q in range(len(y)) if q != i and y[q] == y[i]]
            dn = [ref_dist(X, i, q) for q in range(len(y)) if y[q] != y[i]]
            assert ref_dist(X, i, j) == max(dp) and ref_dist(X, i, k) == min(dn)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_all_gradient_is_zero_for_triplets_exactly_on_the_margin(dtype):
    # distinct integer points (no zero distance); margin 1 puts many triplets exactly on it
    # (d(a,n) = d(a,p) + 1), whose hinge is 0 with relu's gradient 0 there
    rng = random.Random(0)
    pts = rng.sample([(float(i), float(j)) for i in range(-3, 4) for j in range(-3, 4)], 20)
    y = [i % 3 for i in range(20)]
    on_margin = [
        t for t in ref_triplets(y) if ref_dist(pts, t[0], t[2]) == ref_dist(pts, t[0], t[1]) + 1
    ]
    assert len(on_margin) > 10
    x = torch.tensor(pts, dtype=dtype, requires_grad=True)
    L.batch_triplet_loss(x, torch.tensor(y), 1.0, "all").backward()
    xr = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    hinges = [
        F.relu(torch.dist(xr[a], xr[p]) - torch.dist(xr[a], xr[q]) + 1.0)
        for a, p, q in ref_triplets(y)
    ]
    (torch.stack(hinges).sum() / len(hinges)).backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(x.grad.double(), xr.grad, atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [0.5, 1.0])
def test_categories_agree_with_pytorch_metric_learning(margin, dtype):
    # Same conditions as TripletMarginMiner with a non-normalised LpDistance: hard
    # d(a,n) - d(a,p) <= 0, semi-hard 0 < . <= m, easy > m (its "all" is hard + semi-hard).
    # Differences: its default distance normalises the embeddings, and torch.cdist switches to
    # the Gram expansion above 25 rows (so pml decides ties by round-off there); batches stay
    # at 24 rows, where cdist takes direct differences.
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    from pytorch_metric_learning.distances import LpDistance

    for seed in range(10):
        X, y = integer_grid(seed, n=24, dim=2, classes=4)
        Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y)
        for name in ("easy", "semihard", "hard"):
            pml = pml_miners.TripletMarginMiner(
                margin=margin,
                type_of_triplets=name,
                distance=LpDistance(normalize_embeddings=False),
            )
            ours = triplet_set(*M.mine_triplets(Xt, yt, margin=margin, strategy=name))
            assert ours == triplet_set(*pml(Xt, yt)), (seed, name)
