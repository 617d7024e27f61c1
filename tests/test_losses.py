"""Tests of cl_lessons.losses: looped references, hand-computed values, well-known implementations,
gradients, and loud failures on bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from cl_lessons import losses as L

TOL = {torch.float32: {"rtol": 1e-5, "atol": 1e-5}, torch.float64: {"rtol": 1e-10, "atol": 1e-10}}
DTYPES = [torch.float32, torch.float64]
DISTANCES = ["euclidean", "cosine"]


def randn(*shape, dtype=torch.float64, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(requires_grad)


def labels_for(n, num_classes, seed=0):
    g = torch.Generator().manual_seed(seed + 1000)
    return torch.randint(0, num_classes, (n,), generator=g)


# ----------------------------------------------------------------------------- looped references
# written the plain way, one sample at a time, straight from the papers' formulas


def ref_dist(a, b, distance):
    if distance == "euclidean":
        return torch.sqrt(((a - b) ** 2).sum())
    return 1 - (a @ b) / (a.norm() * b.norm())


def ref_contrastive(z1, z2, y, margin, distance):
    out = []
    for i in range(z1.shape[0]):
        d = ref_dist(z1[i], z2[i], distance)
        if y[i] == 1:
            out.append(d**2)
        else:
            out.append(torch.clamp(margin - d, min=0) ** 2)
    return torch.stack(out)


def ref_triplet(a, p, n, margin, distance):
    out = []
    for i in range(a.shape[0]):
        dap = ref_dist(a[i], p[i], distance)
        dan = ref_dist(a[i], n[i], distance)
        out.append(torch.clamp(dap - dan + margin, min=0))
    return torch.stack(out)


def ref_batch_all(x, labels, margin, distance):
    n = x.shape[0]
    total, count = x.new_zeros(()), 0
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] == labels[a]:
                    continue
                dap, daq = ref_dist(x[a], x[p], distance), ref_dist(x[a], x[q], distance)
                total = total + torch.clamp(dap - daq + margin, min=0)
                count += 1
    return total / count if count else total


def ref_batch_all_nonzero(x, labels, margin, distance):
    # Hermans et al.'s BA≠0: the hinges' sum over the number of active (> 0) ones, a constant
    n = x.shape[0]
    total, active = x.new_zeros(()), 0
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] != labels[a]:
                    h = ref_dist(x[a], x[p], distance) - ref_dist(x[a], x[q], distance) + margin
                    total = total + torch.clamp(h, min=0)
                    active += int(h.item() > 0)
    return total / max(active, 1)


def ref_batch_hard(x, labels, margin, distance):
    n, out = x.shape[0], []
    for a in range(n):
        dpos = [
            ref_dist(x[a], x[p], distance) for p in range(n) if p != a and labels[p] == labels[a]
        ]
        dneg = [ref_dist(x[a], x[q], distance) for q in range(n) if labels[q] != labels[a]]
        if dpos and dneg:
            out.append(torch.clamp(max(dpos) - min(dneg) + margin, min=0))
    return torch.stack(out).mean()


def ref_semihard(x, labels, margin, distance):
    """TF-Addons ``triplet_semihard_loss`` semantics, one positive pair at a time."""
    n, out = x.shape[0], []
    for a in range(n):
        dneg = [ref_dist(x[a], x[q], distance) for q in range(n) if labels[q] != labels[a]]
        if not dneg:
            continue
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            dap = ref_dist(x[a], x[p], distance)
            further = [d for d in dneg if d > dap]
            dan = min(further) if further else max(dneg)
            out.append(torch.clamp(dap - dan + margin, min=0))
    return torch.stack(out).mean()


def ref_info_nce(z1, z2, t):
    """SimCLR's pseudocode: 2N views, l(i, j) = -log softmax over k != i, averaged."""
    z = torch.cat([z1, z2])
    n2 = z.shape[0]
    out = []
    for i in range(n2):
        j = (i + n2 // 2) % n2
        sims = F.cosine_similarity(z[i][None], z, dim=1) / t  # anchor i against every view
        others = torch.cat([sims[:i], sims[i + 1 :]])
        out.append(-(sims[j] - torch.log(torch.exp(others).sum())))
    return torch.stack(out).mean()


def ref_supcon(x, labels, t):
    n, out = x.shape[0], []
    for i in range(n):
        positives = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        s = F.cosine_similarity(x[i][None], x, dim=1) / t  # anchor i against every sample
        log_denom = torch.log(torch.exp(torch.cat([s[:i], s[i + 1 :]])).sum())
        out.append(-sum(s[p] - log_denom for p in positives) / len(positives))
    return torch.stack(out).mean()


# ----------------------------------------------------------------------------- contrastive


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
@pytest.mark.parametrize(("n", "d"), [(1, 2), (7, 3), (32, 16)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_contrastive_matches_loop(dtype, distance, margin, n, d, reduction):
    z1, z2 = randn(n, d, dtype=dtype, seed=1), randn(n, d, dtype=dtype, seed=2)
    y = labels_for(n, 2)
    got = L.contrastive_loss(z1, z2, y, margin, distance, reduction)
    ref = ref_contrastive(z1, z2, y, margin, distance)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    assert got.dtype == dtype
    assert_close(got, ref, **TOL[dtype])


def test_contrastive_hand_values():
    z1 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    z2 = torch.tensor([[3.0, 4.0], [0.5, 0.0], [1.0, 3.0]])
    y = [1, 0, 0]  # similar: d^2 = 25; dissimilar at 0.5: (1 - 0.5)^2; dissimilar at 2: 0
    got = L.contrastive_loss(z1, z2, y, margin=1.0, reduction="none")
    assert_close(got, torch.tensor([25.0, 0.25, 0.0]))
    assert L.contrastive_loss(z1, z2, y).item() == pytest.approx(25.25 / 3)
    # cosine: orthogonal pair has d = 1, identical direction d = 0
    a, b = torch.tensor([[1.0, 0.0], [2.0, 0.0]]), torch.tensor([[0.0, 5.0], [1.0, 0.0]])
    got = L.contrastive_loss(
        a, b, torch.tensor([1, 0]), margin=0.5, distance="cosine", reduction="none"
    )
    assert_close(got, torch.tensor([1.0, 0.25]))


def test_contrastive_label_convention_y1_is_similar():
    a = torch.zeros(1, 2)
    far = torch.tensor([[10.0, 0.0]])
    assert L.contrastive_loss(a, far, [1]).item() == pytest.approx(100.0)  # similar but far: big
    assert L.contrastive_loss(a, far, [0]).item() == 0.0  # dissimilar and far: free


# ----------------------------------------------------------------------------- triplet


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
@pytest.mark.parametrize(("n", "d"), [(1, 2), (9, 4), (64, 32)])
def test_triplet_matches_loop_and_torch(dtype, distance, margin, n, d):
    a, p, q = (randn(n, d, dtype=dtype, seed=s) for s in (1, 2, 3))
    got = L.triplet_loss(a, p, q, margin, distance, reduction="none")
    assert_close(got, ref_triplet(a, p, q, margin, distance), **TOL[dtype])
    if margin == 0:  # torch.nn.TripletMarginLoss refuses margin 0; the loop above covers it
        return
    if distance == "euclidean":
        torch_loss = torch.nn.TripletMarginLoss(margin=margin, p=2, eps=0.0, reduction="none")
    else:
        torch_loss = torch.nn.TripletMarginWithDistanceLoss(
            distance_function=lambda u, v: 1 - F.cosine_similarity(u, v),
            margin=margin,
            reduction="none",
        )
    assert_close(got, torch_loss(a, p, q), **TOL[dtype])
    assert_close(
        L.triplet_loss(a, p, q, margin, distance), torch_loss(a, p, q).mean(), **TOL[dtype]
    )
    assert_close(
        L.triplet_loss(a, p, q, margin, distance, "sum"), torch_loss(a, p, q).sum(), **TOL[dtype]
    )


def test_triplet_hand_values():
    a = torch.zeros(2, 2)
    p = torch.tensor([[3.0, 4.0], [3.0, 4.0]])  # d(a, p) = 5
    n = torch.tensor([[0.0, 6.0], [0.0, 2.0]])  # d(a, n) = 6 and 2
    assert_close(L.triplet_loss(a, p, n, margin=1.0, reduction="none"), torch.tensor([0.0, 4.0]))


# ----------------------------------------------------------------------------- batch triplet


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("mining", ["all", "all_nonzero", "hard", "semihard"])
@pytest.mark.parametrize("margin", [0.1, 1.0])
@pytest.mark.parametrize(("n", "d", "classes"), [(6, 2, 2), (12, 5, 3), (16, 8, 4)])
def test_batch_triplet_matches_loop(dtype, distance, mining, margin, n, d, classes):
    x = randn(n, d, dtype=dtype, seed=n + d)
    y = labels_for(n, classes, seed=n)
    ref = {
        "all": ref_batch_all,
        "all_nonzero": ref_batch_all_nonzero,
        "hard": ref_batch_hard,
        "semihard": ref_semihard,
    }[mining]
    got = L.batch_triplet_loss(x, y, margin, mining, distance)
    assert got.dtype == dtype
    assert_close(got, ref(x, y, margin, distance), **TOL[dtype])


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize(
    "labels",
    [
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],  # P x K: every row an anchor
        [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4],  # unequal classes and a singleton (not an anchor)
    ],
)
def test_batch_hard_gradient_matches_loop(distance, labels):
    # batch-hard has a hand-written backward on the Euclidean path: it must agree with autograd
    # through the looped reference, anchors that are left out included
    x = randn(12, 5, seed=21, requires_grad=True)
    y = torch.tensor(labels)
    (got,) = torch.autograd.grad(L.batch_triplet_loss(x, y, 0.5, "hard", distance), x)
    (ref,) = torch.autograd.grad(ref_batch_hard(x, y, 0.5, distance), x)
    assert got.abs().sum() > 0  # some hinge is active, so the comparison means something
    assert_close(got, ref, **TOL[torch.float64])


def test_batch_hard_refuses_double_backward_instead_of_lying():
    x = randn(6, 3, requires_grad=True)
    y = [0, 0, 1, 1, 2, 2]
    (g,) = torch.autograd.grad(L.batch_triplet_loss(x, y, 1.0, "hard"), x)  # first order works
    assert torch.isfinite(g).all()
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad(L.batch_triplet_loss(x, y, 1.0, "hard"), x, create_graph=True)


# Five points on a line: class A at 0, 1, 4; class B at 2, 3 (margin 1). Hand-computed in the
# module docstring of this test: batch-all 25/18, batch-hard 12/5, semi-hard 9/8. The pair (1, 0)
# has d(a,p) = d(a,n) = 1 for n = 2: a tie, which semi-hard must skip (it needs d(a,n) > d(a,p)).
LINE_X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [4.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
LINE_Y = torch.tensor([0, 0, 0, 1, 1])


@pytest.mark.parametrize(
    ("mining", "expected"), [("all", 25 / 18), ("hard", 12 / 5), ("semihard", 9 / 8)]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_triplet_hand_values(mining, expected, dtype):
    got = L.batch_triplet_loss(LINE_X.to(dtype), LINE_Y, margin=1.0, mining=mining)
    assert got.item() == pytest.approx(expected, rel=1e-12 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize("distance", DISTANCES)
def test_batch_all_nonzero_divides_by_the_active_triplets(distance):
    x = randn(12, 4, seed=3, requires_grad=True)
    y = labels_for(12, 3, seed=3)
    mean_all = L.batch_triplet_loss(x, y, 0.2, "all", distance)
    nonzero = L.batch_triplet_loss(x, y, 0.2, "all_nonzero", distance)
    assert nonzero > mean_all > 0  # some triplets are satisfied, so fewer count
    (got,) = torch.autograd.grad(nonzero, x)
    (ref,) = torch.autograd.grad(ref_batch_all_nonzero(x, y, 0.2, distance), x)
    assert got.abs().sum() > 0
    assert_close(got, ref, **TOL[torch.float64])
    # every triplet satisfied: zero, with a zero gradient (no division by zero)
    far = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.01]], requires_grad=True)
    loss = L.batch_triplet_loss(far, [0, 0, 1, 1], 1.0, "all_nonzero", distance)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(far.grad, torch.zeros_like(far))


def test_batch_all_nonzero_matches_pytorch_metric_learning():
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.reducers import AvgNonZeroReducer

    x, y = randn(24, 6, seed=5), labels_for(24, 4, seed=5)
    ref = pml_losses.TripletMarginLoss(
        margin=0.5, distance=LpDistance(normalize_embeddings=False), reducer=AvgNonZeroReducer()
    )(x, y)
    assert_close(L.batch_triplet_loss(x, y, 0.5, "all_nonzero"), ref, **TOL[torch.float64])


def test_batch_all_matches_pytorch_metric_learning():
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.reducers import MeanReducer

    x, y = randn(24, 6, seed=5), labels_for(24, 4, seed=5)
    ref = pml_losses.TripletMarginLoss(
        margin=0.5, distance=LpDistance(normalize_embeddings=False), reducer=MeanReducer()
    )(x, y)
    assert_close(L.batch_triplet_loss(x, y, 0.5, "all"), ref, **TOL[torch.float64])


def test_batch_triplet_all_in_chunks_gives_the_same_value(monkeypatch):
    # a tiny chunk budget splits the (N, N, N) hinge into many anchor chunks
    x, y = randn(20, 4, seed=9), labels_for(20, 3, seed=9)
    whole = L.batch_triplet_loss(x, y, 0.3, "all")
    monkeypatch.setattr(L.batch_triplet, "_CHUNK_ELEMENTS", 3 * 20 * 20)
    assert_close(L.batch_triplet_loss(x, y, 0.3, "all"), whole, **TOL[torch.float64])
    assert_close(whole, ref_batch_all(x, y, 0.3, "euclidean"), **TOL[torch.float64])


@pytest.mark.parametrize("mining", ["all", "all_nonzero", "hard", "semihard"])
@pytest.mark.parametrize("labels", [[0, 1, 2, 3], [7, 7, 7, 7], [0]])
def test_batch_triplet_without_triplets_is_a_zero_with_gradient(mining, labels):
    x = randn(len(labels), 3, requires_grad=True)
    loss = L.batch_triplet_loss(x, labels, mining=mining)
    assert loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


# ----------------------------------------------------------------------------- InfoNCE


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [0.01, 0.05, 0.1, 0.5])
@pytest.mark.parametrize(("n", "d"), [(1, 2), (5, 3), (16, 16)])
def test_info_nce_matches_loop(dtype, temperature, n, d):
    # 0.01 takes the general (log-softmax) path in float32, the others the symmetric fast path
    z1 = randn(n, d, dtype=dtype, seed=1, requires_grad=True)
    z2 = randn(n, d, dtype=dtype, seed=2, requires_grad=True)
    got = L.info_nce(z1, z2, temperature)
    ref = ref_info_nce(z1.detach().double(), z2.detach().double(), temperature)
    assert got.dtype == dtype
    assert_close(got.double(), ref, **TOL[dtype])
    # the hand-written backward against autograd through the loop
    g = torch.autograd.grad(got, (z1, z2))
    z1r, z2r = z1.detach().double().requires_grad_(), z2.detach().double().requires_grad_()
    gr = torch.autograd.grad(ref_info_nce(z1r, z2r, temperature), (z1r, z2r))
    for a, b in zip(g, gr, strict=True):
        assert_close(a.double(), b, **TOL[dtype])


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
@pytest.mark.parametrize(("n", "d"), [(2, 2), (8, 4), (32, 16)])
def test_info_nce_matches_pytorch_metric_learning(temperature, n, d):
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    z1 = randn(n, d, dtype=torch.float32, seed=3, requires_grad=True)
    z2 = randn(n, d, dtype=torch.float32, seed=4, requires_grad=True)
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    ref = pml_losses.NTXentLoss(temperature=temperature)(torch.cat([z1, z2]), labels)
    got = L.info_nce(z1, z2, temperature)
    assert_close(got, ref, **TOL[torch.float32])
    g, gr = torch.autograd.grad(got, (z1, z2)), torch.autograd.grad(ref, (z1, z2))
    for a, b in zip(g, gr, strict=True):
        assert_close(a, b, **TOL[torch.float32])


def test_info_nce_hand_values():
    # N = 1: each view's only other view is its positive, so the loss is exactly 0
    assert L.info_nce(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]])).item() == 0.0
    # two identical pairs of orthogonal views, T = 1: -log(e / (e + 2)) for every anchor
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    assert L.info_nce(z, z, temperature=1.0).item() == pytest.approx(math.log(1 + 2 / math.e))


def test_info_nce_refuses_double_backward_instead_of_lying():
    z1 = randn(4, 3, requires_grad=True)
    (g,) = torch.autograd.grad(L.info_nce(z1, randn(4, 3, seed=1)), z1)  # first order works
    assert torch.isfinite(g).all()
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad(L.info_nce(z1, randn(4, 3, seed=1)), z1, create_graph=True)


def test_info_nce_is_scale_invariant_and_symmetric():
    z1, z2 = randn(8, 4, seed=1), randn(8, 4, seed=2)
    base = L.info_nce(z1, z2, 0.2)
    assert_close(L.info_nce(3 * z1, 0.5 * z2, 0.2), base, **TOL[torch.float64])
    assert_close(L.info_nce(z2, z1, 0.2), base, **TOL[torch.float64])


# ----------------------------------------------------------------------------- SupCon


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
@pytest.mark.parametrize(("n", "d", "classes"), [(4, 2, 2), (10, 3, 3), (24, 16, 5)])
def test_supcon_matches_loop(dtype, temperature, n, d, classes):
    x, y = randn(n, d, dtype=dtype, seed=n), labels_for(n, classes, seed=d)
    got = L.supcon_loss(x, y, temperature)
    assert got.dtype == dtype
    assert_close(got, ref_supcon(x, y, temperature), **TOL[dtype])


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
@pytest.mark.parametrize(("n", "classes"), [(6, 2), (20, 4), (32, 30)])
def test_supcon_matches_pytorch_metric_learning(temperature, n, classes):
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    x = randn(n, 8, dtype=torch.float32, seed=n, requires_grad=True)
    y = labels_for(n, classes, seed=classes)
    got = L.supcon_loss(x, y, temperature)
    ref = pml_losses.SupConLoss(temperature=temperature)(x, y)
    assert_close(got, ref, **TOL[torch.float32])
    assert_close(
        torch.autograd.grad(got, x)[0], torch.autograd.grad(ref, x)[0], **TOL[torch.float32]
    )


def test_supcon_hand_values():
    # anchors 0 and 1 share a direction; anchor 2 has no positive and is left out
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    got = L.supcon_loss(x, [0, 0, 1], temperature=1.0)
    assert got.item() == pytest.approx(math.log(1 + 1 / math.e))


def test_supcon_without_positives_is_a_zero_with_gradient():
    x = randn(5, 3, requires_grad=True)
    loss = L.supcon_loss(x, [0, 1, 2, 3, 4])
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


# ----------------------------------------------------------------------------- negative cosine


def test_negative_cosine_values_and_stop_gradient():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    z = torch.tensor([[1.0, 1.0], [0.0, -1.0]], requires_grad=True)
    loss = L.negative_cosine(p, z)
    assert loss.item() == pytest.approx((-1 / math.sqrt(2) + 1) / 2)
    loss.backward()
    assert z.grad is None  # stop-gradient on the target branch
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize(("n", "d"), [(1, 2), (16, 8)])
def test_negative_cosine_matches_loop(n, d):
    p, z = randn(n, d, seed=1), randn(n, d, seed=2)
    ref = torch.stack([-(p[i] @ z[i]) / (p[i].norm() * z[i].norm()) for i in range(n)]).mean()
    assert_close(L.negative_cosine(p, z), ref, **TOL[torch.float64])


# ----------------------------------------------------------------------------- gradients


GRAD_CASES = {
    "contrastive-euclidean": lambda x, y: L.contrastive_loss(x[:4], x[4:], y[:4] % 2, 1.5),
    "contrastive-cosine": lambda x, y: L.contrastive_loss(x[:4], x[4:], y[:4] % 2, 0.8, "cosine"),
    "triplet-euclidean": lambda x, y: L.triplet_loss(x[:2], x[2:4], x[4:6], 2.0),
    "triplet-cosine": lambda x, y: L.triplet_loss(x[:2], x[2:4], x[4:6], 1.0, "cosine"),
    "batch-all": lambda x, y: L.batch_triplet_loss(x, y, 1.0, "all"),
    "batch-hard": lambda x, y: L.batch_triplet_loss(x, y, 1.0, "hard"),
    "batch-semihard": lambda x, y: L.batch_triplet_loss(x, y, 1.0, "semihard"),
    "batch-semihard-cosine": lambda x, y: L.batch_triplet_loss(x, y, 0.5, "semihard", "cosine"),
    "info-nce-fast": lambda x, y: L.info_nce(x[:4], x[4:], 0.1),
    "info-nce-general": lambda x, y: L.info_nce(x[:4], x[4:], 0.002),
    "supcon": lambda x, y: L.supcon_loss(x, y, 0.2),
    # z is a constant: negative_cosine stops its gradient, so gradcheck differentiates p only
    "negative-cosine": lambda x, y: L.negative_cosine(x[:4], torch.ones(4, 3, dtype=x.dtype)),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradcheck_float64(case):
    x = randn(8, 3, seed=11, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    assert torch.autograd.gradcheck(lambda t: GRAD_CASES[case](t, y), (x,))


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradients_finite_when_embeddings_coincide(case):
    x = randn(8, 3, seed=12)
    x[1] = x[0]  # anchor and positive coincide
    x[4] = x[0]  # and a negative / pair partner too
    x[5] = x[1]
    x.requires_grad_()
    y = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    loss = GRAD_CASES[case](x, y)
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_batch_triplet_all_ties_give_finite_gradients():
    x = torch.zeros(6, 4, requires_grad=True)  # every embedding collapsed to one point
    for mining in ["all", "hard", "semihard"]:
        loss = L.batch_triplet_loss(x, [0, 0, 1, 1, 2, 2], margin=0.5, mining=mining)
        (grad,) = torch.autograd.grad(loss, x)
        assert loss.item() == pytest.approx(0.5)  # collapse costs exactly the margin
        assert torch.isfinite(grad).all()


# ----------------------------------------------------------------------------- low precision


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_at_small_temperature_is_finite(dtype):
    z1, z2 = randn(64, 32, dtype=dtype, seed=1), randn(64, 32, dtype=dtype, seed=2)
    z1.requires_grad_()
    y = labels_for(64, 4)
    for loss_fn, ref_fn in [
        (lambda a: L.info_nce(a, z2, 0.05), lambda a: L.info_nce(a.float(), z2.float(), 0.05)),
        (lambda a: L.supcon_loss(a, y, 0.05), lambda a: L.supcon_loss(a.float(), y, 0.05)),
        (lambda a: L.batch_triplet_loss(a, y, 0.2, "semihard"), None),
        (lambda a: L.contrastive_loss(a, z2, y % 2), None),
    ]:
        loss = loss_fn(z1)
        assert loss.dtype == torch.float32
        assert torch.isfinite(loss)
        if ref_fn is not None:  # computed in float32 from the same low-precision numbers
            assert_close(loss, ref_fn(z1.detach()), rtol=1e-5, atol=1e-5)
        (grad,) = torch.autograd.grad(loss, z1)
        assert grad.dtype == dtype and torch.isfinite(grad).all()


# ----------------------------------------------------------------------------- modules


def test_modules_equal_functions():
    x, y = randn(10, 4, seed=1), labels_for(10, 3)
    z = randn(10, 4, seed=2)
    w = randn(10, 4, seed=3)
    pairs = y % 2
    assert_close(
        L.ContrastiveLoss(0.7, "cosine", "sum")(x, z, pairs),
        L.contrastive_loss(x, z, pairs, 0.7, "cosine", "sum"),
    )
    assert_close(L.TripletLoss(0.3)(x, z, w), L.triplet_loss(x, z, w, 0.3))
    assert_close(
        L.BatchTripletLoss(0.4, "semihard")(x, y), L.batch_triplet_loss(x, y, 0.4, "semihard")
    )
    assert_close(L.NTXentLoss(0.2)(x, z), L.info_nce(x, z, 0.2))
    assert_close(L.SupConLoss(0.3)(x, y), L.supcon_loss(x, y, 0.3))
    assert_close(L.NegativeCosineLoss()(x, z), L.negative_cosine(x, z))
    assert "margin=0.4" in repr(L.BatchTripletLoss(0.4, "semihard"))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: L.ContrastiveLoss(margin=-1), "margin"),
        (lambda: L.ContrastiveLoss(distance="l3"), "distance"),
        (lambda: L.TripletLoss(reduction="avg"), "reduction"),
        (lambda: L.BatchTripletLoss(mining="easy"), "mining"),
        (lambda: L.NTXentLoss(temperature=0), "temperature"),
        (lambda: L.SupConLoss(temperature=-0.1), "temperature"),
    ],
)
def test_module_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------------- bad input


X = torch.randn(4, 3)
Y = torch.randn(4, 3)
LAB = torch.tensor([0, 0, 1, 1])
NAN = X.clone()
NAN[1, 2] = float("nan")
INF = X.clone()
INF[0, 0] = float("inf")

BAD_CALLS = [
    # mismatched shapes
    (lambda: L.contrastive_loss(X, Y[:3], [1, 0, 1, 0]), "z1 and z2"),
    (lambda: L.triplet_loss(X, Y, Y[:, :2]), "anchor and negative"),
    (lambda: L.info_nce(X, Y[:2]), "z1 and z2"),
    (lambda: L.negative_cosine(X, Y[:, :2]), "p and z"),
    # 1-D and 3-D embeddings
    (lambda: L.contrastive_loss(X[0], Y[0], [1]), "z1 must be 2-D"),
    (lambda: L.triplet_loss(X[None], Y[None], Y[None]), "anchor must be 2-D"),
    (lambda: L.batch_triplet_loss(X[0], LAB), "embeddings must be 2-D"),
    (lambda: L.info_nce(X[None], Y[None]), "z1 must be 2-D"),
    (lambda: L.supcon_loss(X[0], LAB), "embeddings must be 2-D"),
    (lambda: L.negative_cosine(X[0], Y[0]), "p must be 2-D"),
    # empty batch
    (lambda: L.contrastive_loss(X[:0], Y[:0], []), "z1 is an empty batch"),
    (lambda: L.triplet_loss(X[:0], Y[:0], Y[:0]), "anchor is an empty batch"),
    (lambda: L.batch_triplet_loss(X[:0], []), "embeddings is an empty batch"),
    (lambda: L.info_nce(X[:0], Y[:0]), "z1 is an empty batch"),
    (lambda: L.supcon_loss(X[:0], []), "embeddings is an empty batch"),
    # NaN / Inf
    (lambda: L.contrastive_loss(X, NAN, [1, 0, 1, 0]), "z2 contains NaN"),
    (lambda: L.triplet_loss(X, Y, INF), "negative contains NaN or Inf"),
    (lambda: L.batch_triplet_loss(NAN, LAB), "embeddings contains NaN"),
    (lambda: L.info_nce(INF, Y), "z1 contains NaN or Inf"),
    (lambda: L.supcon_loss(NAN, LAB), "embeddings contains NaN"),
    (lambda: L.negative_cosine(X, INF), "z contains NaN or Inf"),
    # margin < 0, temperature <= 0
    (lambda: L.contrastive_loss(X, Y, [1, 0, 1, 0], margin=-1), "margin must be >= 0, got -1"),
    (lambda: L.triplet_loss(X, Y, Y, margin=-0.5), "margin must be >= 0"),
    (lambda: L.batch_triplet_loss(X, LAB, margin=-0.1), "margin must be >= 0"),
    (
        lambda: L.contrastive_loss(X, Y, [1, 0, 1, 0], margin=float("nan")),
        "margin must be a finite",
    ),
    (lambda: L.info_nce(X, Y, temperature=0), "temperature must be > 0, got 0"),
    (lambda: L.info_nce(X, Y, temperature=-0.1), "temperature must be > 0"),
    (lambda: L.supcon_loss(X, LAB, temperature=0.0), "temperature must be > 0"),
    (lambda: L.info_nce(X, Y, temperature=float("inf")), "temperature must be a finite"),
    # binary labels outside {0, 1}
    (lambda: L.contrastive_loss(X, Y, [1, 0, 2, 0]), r"y must be binary labels in \{0, 1\}"),
    (lambda: L.contrastive_loss(X, Y, torch.tensor([1.0, 0.5, 0.0, 1.0])), "y must be binary"),
    (lambda: L.contrastive_loss(X, Y, torch.tensor([-1, 1, 1, -1])), "y must be binary"),
    (lambda: L.contrastive_loss(X, Y, [1, 0, float("nan"), 1]), "y contains NaN"),
    # labels length different from the batch
    (lambda: L.contrastive_loss(X, Y, [1, 0, 1]), "y has length 3 but the batch has 4 rows"),
    (lambda: L.batch_triplet_loss(X, [0, 1, 1]), "labels has length 3"),
    (lambda: L.supcon_loss(X, [0, 1, 1, 0, 1]), "labels has length 5"),
    (lambda: L.batch_triplet_loss(X, torch.tensor([[0, 1], [1, 0]])), "labels must be 1-D"),
    (lambda: L.supcon_loss(X, torch.tensor([0.5, 1, 1, 0])), "labels must hold integer"),
    # wrong types and choices
    (lambda: L.contrastive_loss(X.numpy(), Y, [1, 0, 1, 0]), "z1 must be a torch.Tensor"),
    (lambda: L.triplet_loss(X.long(), Y, Y), "anchor must be a floating-point tensor"),
    (
        lambda: L.contrastive_loss(X, Y, [1, 0, 1, 0], distance="manhattan"),
        "distance must be one of",
    ),
    (lambda: L.triplet_loss(X, Y, Y, reduction="avg"), "reduction must be one of"),
    (lambda: L.batch_triplet_loss(X, LAB, mining="batch_hard"), "mining must be one of"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_finite_check_sees_inf_pairs_and_allows_sums_that_overflow():
    # the check sums the tensor first: +inf and -inf sum to NaN and must still be caught, while
    # finite entries whose sum overflows float32 are valid input and must pass
    both = X.clone()
    both[0, 0], both[1, 1] = float("inf"), float("-inf")
    with pytest.raises(ValueError, match="embeddings contains NaN or Inf"):
        L.batch_triplet_loss(both, LAB)
    # float16 tops out at 65504: a sum of ordinary large activations overflows, the entries do not
    big = (randn(4, 3, seed=3) * 1000 + 30000).half()
    assert math.isinf(float(big.sum()))  # the sum overflows ...
    assert torch.isfinite(L.batch_triplet_loss(big, LAB, mining="hard"))  # ... the input is valid
