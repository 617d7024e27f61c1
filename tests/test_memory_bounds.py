"""Memory bounds of the O(B^3) and O(N^2) functions (issue 18, item 2).

Batch-all recomputes its hinge blocks in the backward pass instead of keeping them; the cubic
miners refuse a batch over their size limit before allocating; recall@k, k-NN accuracy and
uniformity walk over blocks of rows. Each is compared with a copy of the code it replaced (the
whole matrix at once), with tiny block budgets that force many blocks on small inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from cl_lessons import losses as L
from cl_lessons import metrics
from cl_lessons import miners as M
from cl_lessons.distances import pairwise_euclidean
from cl_lessons.losses._common import _label_masks, _pairwise_distance, _zero_loss
from cl_lessons.metrics import _inputs

TOL64 = {"rtol": 1e-10, "atol": 1e-10}


def randn(*shape, dtype=torch.float64, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(requires_grad)


# ----------------------------------------------------------------------------- the replaced code


def old_batch_all(x, labels, margin, distance="euclidean"):
    """batch_triplet_loss(mining='all') before: the whole (N, N, N) hinge through autograd."""
    labels = torch.as_tensor(labels)
    pos, neg = _label_masks(labels)
    dist = _pairwise_distance(x, distance)
    count = int((pos.sum(1) * neg.sum(1)).sum())
    if count == 0:
        return _zero_loss(dist)
    hinge = F.relu(dist[:, :, None] - dist[:, None, :] + margin)
    return (hinge * pos[:, :, None] * neg[:, None, :]).sum() / count


def old_recall(x, labels, ks, distance):
    dist = _pairwise_distance(x, distance)
    dist.fill_diagonal_(math.inf)
    nn_idx = dist.topk(max(ks), dim=1, largest=False).indices
    match = labels[nn_idx] == labels[:, None]
    has_mate = (labels[:, None] == labels[None, :]).sum(1) > 1
    hits = match[has_mate].cummax(1).values.double().mean(0)
    return {k: float(hits[k - 1]) for k in ks}


def old_knn(xtr, ytr, xte, yte, k, distance):
    if distance == "euclidean":
        d = torch.cdist(xte, xtr)
    else:
        d = -(F.normalize(xte, dim=1) @ F.normalize(xtr, dim=1).T)
    nn_idx = d.topk(k, dim=1, largest=False).indices
    classes, ytr_idx = torch.unique(ytr, return_inverse=True)
    votes_for = ytr_idx[nn_idx]
    m, c = xte.shape[0], classes.shape[0]
    counts = torch.zeros(m, c, dtype=torch.long).scatter_add_(
        1, votes_for, torch.ones_like(votes_for)
    )
    bonus = (k - torch.arange(k)).expand(m, k)
    rank_bonus = torch.zeros(m, c, dtype=torch.long).scatter_reduce_(1, votes_for, bonus, "amax")
    pred = classes[(counts * (k + 1) + rank_bonus).argmax(1)]
    return float((pred == yte).double().mean())


def old_uniformity(z, t):
    z = F.normalize(z, dim=1)
    n = z.shape[0]
    sq = pairwise_euclidean(z, squared=True)
    iu = torch.triu_indices(n, n, offset=1)
    vals = -t * sq[iu[0], iu[1]]
    return torch.logsumexp(vals, 0) - math.log(vals.shape[0])


# ----------------------------------------------------------------------------- batch-all

LABELS = {
    "p-x-k": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    "unequal+singleton": [0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 4],
    "two classes": [0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1],
}


@pytest.mark.parametrize("chunk", [None, 1, 40])  # default, one anchor per block, a few anchors
@pytest.mark.parametrize("margin", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("labels", sorted(LABELS))
def test_batch_all_value_and_gradient_match_the_whole_hinge(
    monkeypatch, chunk, margin, distance, labels
):
    if chunk is not None:
        monkeypatch.setattr(L.batch_triplet, "_CHUNK_ELEMENTS", chunk)
    x, y = randn(12, 4, seed=3, requires_grad=True), torch.tensor(LABELS[labels])
    got = L.batch_triplet_loss(x, y, margin, "all", distance)
    ref = old_batch_all(x, y, margin, distance)
    assert_close(got, ref, **TOL64)
    (g_got,) = torch.autograd.grad(got, x)
    (g_ref,) = torch.autograd.grad(ref, x)
    assert g_ref.abs().sum() > 0  # some hinge is active, so the comparison means something
    assert_close(g_got, g_ref, **TOL64)


def test_batch_all_hinges_exactly_at_zero_send_no_gradient():
    # points on a line with margin 1: many hinges are exactly 0, where relu's gradient is 0
    x = torch.tensor([[0.0], [1.0], [4.0], [2.0], [3.0], [5.0]], dtype=torch.float64)
    x.requires_grad_()
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    got, ref = L.batch_triplet_loss(x, y, 1.0, "all"), old_batch_all(x, y, 1.0, "euclidean")
    assert_close(got, ref, **TOL64)
    assert_close(torch.autograd.grad(got, x)[0], torch.autograd.grad(ref, x)[0], **TOL64)


def test_batch_all_gradcheck_and_second_derivative(monkeypatch):
    monkeypatch.setattr(L.batch_triplet, "_CHUNK_ELEMENTS", 1)
    x, y = randn(8, 3, seed=5, requires_grad=True), torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    assert torch.autograd.gradcheck(lambda t: L.batch_triplet_loss(t, y, 1.0, "all"), (x,))
    # a Hessian-vector product through the recomputing backward equals the autograd one
    v = randn(8, 3, seed=6)
    hv = []
    new, old = lambda t: L.batch_triplet_loss(t, y, 1.0, "all"), lambda t: old_batch_all(t, y, 1.0)
    for fn in (new, old):
        (g,) = torch.autograd.grad(fn(x), x, create_graph=True)
        hv.append(torch.autograd.grad((g * v).sum(), x)[0])
    assert hv[1].abs().sum() > 0
    assert_close(hv[0], hv[1], **TOL64)


def _saved_numel(fn) -> tuple[torch.Tensor, int]:
    """``fn()`` and the number of elements autograd saves for its backward pass."""
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(sizes)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_batch_all_backward_keeps_no_hinge_block(monkeypatch, distance):
    # one anchor per block: autograd would keep N blocks of (N, N), N^3 in all; the recomputing
    # backward keeps its (N, N) inputs only
    monkeypatch.setattr(L.batch_triplet, "_CHUNK_ELEMENTS", 1)
    n = 60
    x, y = randn(n, 3, seed=7, requires_grad=True), torch.arange(n) % 3
    loss, saved = _saved_numel(lambda: L.batch_triplet_loss(x, y, 0.5, "all", distance))
    _, saved_before = _saved_numel(lambda: old_batch_all(x, y, 0.5, distance))
    assert saved_before > n**3  # what the test would catch
    assert saved <= 12 * n * n
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- cubic miners

CUBIC = {
    "triplet_masks": ("labels", lambda x, y, d: M.triplet_masks(y)),
    "triplet_categories": ("dist", lambda x, y, d: M.triplet_categories(d, y, 0.2)),
    "category_fractions": ("dist", lambda x, y, d: M.category_fractions(d, y, 0.2)),
    **{
        f"mine_triplets-{s}": ("embeddings", lambda x, y, d, s=s: M.mine_triplets(x, y, 0.2, s))
        for s in ("all", "easy", "semihard", "hard")
    },
}


def _forbid_cubic_allocation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an (N, N, N) mask was built before the size check")

    monkeypatch.setattr(M, "_valid_mask", refuse)
    monkeypatch.setattr(M, "_categories", refuse)


@pytest.mark.parametrize("name", sorted(CUBIC))
def test_cubic_miners_refuse_a_batch_over_the_limit_before_allocating(monkeypatch, name):
    monkeypatch.setattr(M, "MAX_TRIPLET_ELEMENTS", 5**3)
    argument, call = CUBIC[name]
    x, y = randn(5, 3, seed=8), torch.tensor([0, 0, 1, 1, 2])
    call(x, y, torch.cdist(x, x))  # N^3 = 125: at the limit, allowed
    x, y = randn(6, 3, seed=8), torch.tensor([0, 0, 1, 1, 2, 2])
    _forbid_cubic_allocation(monkeypatch)
    with pytest.raises(ValueError, match=f"^{argument} has N = 6 rows") as err:
        call(x, y, torch.cdist(x, x))
    msg = str(err.value)
    for part in ("N^3 = 216", "MAX_TRIPLET_ELEMENTS = 125", "(N <= 5)", "mining='hard'"):
        assert part in msg
    assert "mining='semihard'" in msg and "smaller batches" in msg


def test_the_real_limit_refuses_n_2048_and_names_the_sizes(monkeypatch):
    _forbid_cubic_allocation(monkeypatch)  # a check after the allocation would fail, not OOM
    with pytest.raises(ValueError, match="8,589,934,592") as err:
        M.triplet_masks(torch.arange(2048) % 10)
    assert "134,217,728 (N <= 512)" in str(err.value) and "8.0 GiB" in str(err.value)


def test_functions_that_are_not_cubic_have_no_limit(monkeypatch):
    monkeypatch.setattr(M, "MAX_TRIPLET_ELEMENTS", 2**3)
    x, y = randn(12, 3, seed=9), torch.arange(12) % 3
    a, p, n = M.mine_triplets(x, y, 0.2, "batch_hard")
    assert a.shape == (12,) and bool((y[a] == y[p]).all()) and bool((y[a] != y[n]).all())
    assert M.triplet_zone(torch.ones(50), torch.zeros(50), 0.2).shape == (50,)
    for mining in ("all", "hard", "semihard"):
        assert torch.isfinite(L.batch_triplet_loss(x, y, 0.2, mining))


# ----------------------------------------------------------------------------- metrics in blocks

BLOCKS = [None, 1, 7, 250]  # default; one row per block; a few rows; several rows


@pytest.fixture(params=BLOCKS, ids=lambda b: f"block={b}")
def block(request, monkeypatch):
    if request.param is not None:
        monkeypatch.setattr(_inputs, "_BLOCK_ELEMENTS", request.param)
    return request.param


def test_row_blocks_cover_every_row_once(monkeypatch):
    for budget, rows, cols in [(1, 5, 3), (7, 10, 3), (100, 10, 3), (1 << 24, 3, 10**6)]:
        monkeypatch.setattr(_inputs, "_BLOCK_ELEMENTS", budget)
        blocks = _inputs._row_blocks(rows, cols)
        assert [i for s, e in blocks for i in range(s, e)] == list(range(rows))
        assert all((e - s) * cols <= max(budget, cols) for s, e in blocks)


def _tie_points(seed):
    """Integer points and their mirror images: mean exactly 0, so every distance is exact and
    equal distances are equal floats (ties), duplicates included."""
    half = np.random.default_rng(seed).integers(-2, 3, size=(30, 2)).astype(np.float64)
    return np.concatenate([half, -half])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("data", ["random", "ties"])
def test_recall_at_k_in_blocks_is_identical(block, dtype, distance, data):
    rng = np.random.default_rng(11)
    if data == "ties":
        if distance == "cosine":  # duplicates only: equal directions of unequal points round
            x = rng.normal(size=(20, 3))[rng.integers(0, 20, 60)]
        else:
            x = _tie_points(11)
    else:
        x = rng.normal(size=(90, 5))
    x, y = torch.tensor(x, dtype=dtype), torch.tensor(rng.integers(0, 6, x.shape[0]))
    ks = (1, 2, 3, 5, 10)
    assert metrics.recall_at_k(x, y, ks, distance) == old_recall(x, y, ks, distance)


def _knn_sets(data, distance, m, n, rng):
    if data == "random":
        return rng.normal(size=(n, 4)), rng.normal(size=(m, 4))
    if distance == "euclidean":  # integer points: exact distances, many equal (ties)
        return rng.integers(-2, 3, size=(n, 2)) * 1.0, rng.integers(-2, 3, size=(m, 2)) * 1.0
    # cosine: duplicates only (equal directions of unequal points differ by round-off, which
    # depends on how many rows the matrix product gets: no "exact" tie to keep there)
    pool = rng.normal(size=(8, 3))
    return pool[rng.integers(0, 8, n)], pool[rng.integers(0, 8, m)]


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("data", ["random", "ties"])
@pytest.mark.parametrize(("m", "n"), [(40, 70), (10, 20)])  # cdist by matrix product or not
def test_knn_accuracy_in_blocks_is_identical(block, k, distance, data, m, n):
    rng = np.random.default_rng(k + m)
    xtr, xte = _knn_sets(data, distance, m, n, rng)
    xtr, xte = torch.tensor(xtr, dtype=torch.float32), torch.tensor(xte, dtype=torch.float32)
    ytr, yte = torch.tensor(rng.integers(0, 4, n)), torch.tensor(rng.integers(0, 4, m))
    got = metrics.knn_accuracy(xtr, ytr, xte, yte, k, distance)
    assert got == old_knn(xtr, ytr, xte, yte, k, distance)


@pytest.mark.parametrize("t", [0.5, 2.0, 1000.0])
def test_uniformity_in_blocks_value_and_gradient(block, t):
    z = randn(40, 5, seed=12, requires_grad=True)
    got, ref = metrics.uniformity(z, t), old_uniformity(z, t)
    assert_close(got, ref, **TOL64)
    assert_close(torch.autograd.grad(got, z)[0], torch.autograd.grad(ref, z)[0], **TOL64)
    with torch.no_grad():
        assert_close(metrics.uniformity(z, t), ref.detach(), **TOL64)
    z32 = z.detach().float()
    assert_close(metrics.uniformity(z32, t), old_uniformity(z32, t), rtol=1e-5, atol=1e-5)


def test_uniformity_of_two_points_and_of_a_collapse(block):
    a = torch.tensor([[1.0, 0.0], [-3.0, 0.0]], dtype=torch.float64)
    assert metrics.uniformity(a).item() == pytest.approx(-8.0)
    assert metrics.uniformity(torch.ones(5, 3)).item() == pytest.approx(0.0, abs=1e-6)
