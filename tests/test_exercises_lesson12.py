import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cl_lessons import exercises as ex
from cl_lessons import metrics

bce = F.binary_cross_entropy_with_logits


def _reject(result, hint):
    assert not result
    assert hint in result.message, result.message
    assert result.checker_error is None


# ----------------------------------------------------------------------------- pair BCE loss


def pair_loss(a, p, n):
    s_p, s_n = (a * p).sum(1), (a * n).sum(1)
    return (bce(s_p, torch.ones_like(s_p)) + bce(s_n, torch.zeros_like(s_n))) / 2


def pair_loss_loop(a, p, n):
    terms = []
    for i in range(len(a)):
        sp, sn = torch.dot(a[i], p[i]), torch.dot(a[i], n[i])
        terms.append((-F.logsigmoid(sp) - F.logsigmoid(-sn)) / 2)
    return torch.stack(terms).mean()


def test_pair_bce_loss_accepts_fixes():
    assert ex.check_pair_bce_loss(pair_loss)
    assert ex.check_pair_bce_loss(pair_loss_loop)
    assert ex.check_pair_bce_loss(lambda a, p, n: pair_loss(a, p, n).item())


def _ones(s):
    return torch.ones_like(s)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (
            lambda a, p, n: (
                (bce((a * p).sum(1), 0 * _ones(a[:, 0])) + bce((a * n).sum(1), _ones(a[:, 0]))) / 2
            ),
            "labels are swapped",
        ),
        (
            lambda a, p, n: (
                (bce((p * n).sum(1), _ones(a[:, 0])) + bce((p * n).sum(1), 0 * _ones(a[:, 0]))) / 2
            ),
            "copy-paste",
        ),
        (lambda a, p, n: 2 * pair_loss(a, p, n), "divide by 2"),
        (
            lambda a, p, n: F.cross_entropy(
                (a * p).sum(1, keepdim=True), torch.zeros(len(a), dtype=torch.long)
            ),
            "one logit",
        ),
        (
            lambda a, p, n: F.cross_entropy(
                torch.stack([(a * p).sum(1), (a * n).sum(1)], 1),
                torch.zeros(len(a), dtype=torch.long),
            ),
            "2-way softmax",
        ),
        (
            lambda a, p, n: pair_loss(
                F.normalize(a, dim=1), F.normalize(p, dim=1), F.normalize(n, dim=1)
            ),
            "cosine",
        ),
        (lambda a, p, n: torch.dot(a, p), "your code raised RuntimeError"),
        (lambda a, p, n: pair_loss(a, p, n).reshape(1, 1).expand(3, 1), "expected one number"),
    ],
    ids=["swapped", "same", "sum", "one_logit", "softmax", "cosine", "dot", "shape"],
)
def test_pair_bce_loss_rejects_half_fixes(fn, hint):
    _reject(ex.check_pair_bce_loss(fn), hint)


# ----------------------------------------------------------------------------- squared triplet


def triplet(a, p, n, gamma):
    return ((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + gamma).clamp_min(0).mean()


def test_squared_triplet_accepts_fixes():
    assert ex.check_squared_triplet_loss(triplet)
    assert ex.check_squared_triplet_loss(
        lambda a, p, n, g: F.relu(
            F.pairwise_distance(a, p, eps=0) ** 2 - F.pairwise_distance(a, n, eps=0) ** 2 + g
        ).mean()
    )


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, p, n, g: triplet(a, n, p, g), "sign is flipped"),
        (lambda a, p, n, g: (g + a.pow(2).sum(1)).clamp_min(0).mean(), "triplet_loss(zeros"),
        (lambda a, p, n, g: (g + (a - p).pow(2).sum(1)).mean(), "no negative term"),
        (lambda a, p, n, g: ((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + g).mean(), "hinge"),
        (lambda a, p, n, g: F.triplet_margin_loss(a, p, n, margin=g, eps=0), "squares them"),
        (lambda a, p, n, g: triplet(a, p, n, g) * len(a), "summed"),
        (lambda a, p, n, g: triplet(a, p, n, 1.0), "expected"),
    ],
    ids=["flipped", "article", "no_negative", "no_hinge", "plain", "sum", "fixed_margin"],
)
def test_squared_triplet_rejects_half_fixes(fn, hint):
    _reject(ex.check_squared_triplet_loss(fn), hint)


# ----------------------------------------------------------------------------- InfoNCE


def info_nce(z1, z2, t):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / t
    return F.cross_entropy(s, torch.arange(len(s)))


def info_nce_loop(z1, z2, t):
    out = 0.0
    for i in range(len(z1)):
        sims = torch.stack([F.cosine_similarity(z1[i], z2[k], dim=0) / t for k in range(len(z2))])
        out = out - (sims[i] - torch.logsumexp(sims, 0))
    return out / len(z1)


def test_info_nce_numerator_accepts_fixes():
    assert ex.check_info_nce_numerator(info_nce)
    assert ex.check_info_nce_numerator(info_nce_loop)


def _article(z1, z2, t):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / t
    logp = s.log_softmax(1)
    return -logp[~torch.eye(len(s), dtype=torch.bool)].sum() / len(s)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_article, "numerator"),
        (lambda z1, z2, t: F.cross_entropy(z1 @ z2.T / t, torch.arange(len(z1))), "normalised"),
        (lambda z1, z2, t: info_nce(z1, z2, 1.0), "temperature is missing"),
        (lambda z1, z2, t: info_nce(z1, z2, 1 / t), "do not multiply"),
        (lambda z1, z2, t: info_nce(z2, z1, t), "rows must be z1"),
        (lambda z1, z2, t: info_nce(z1, z2, t) * 2, "expected"),
    ],
    ids=["article", "raw", "no_t", "times_t", "transposed", "double"],
)
def test_info_nce_numerator_rejects_half_fixes(fn, hint):
    _reject(ex.check_info_nce_numerator(fn), hint)


# ----------------------------------------------------------------------------- shared Siamese


class Shared(nn.Module):
    def __init__(self, in_dim, emb_dim):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(in_dim, 8), nn.ReLU(), nn.Linear(8, emb_dim))

    def forward(self, x1, x2):
        return self.f(x1), self.f(x2)


class Unshared(Shared):
    def __init__(self, in_dim, emb_dim):
        super().__init__(in_dim, emb_dim)
        self.g = nn.Sequential(nn.Linear(in_dim, 8), nn.ReLU(), nn.Linear(8, emb_dim))

    def forward(self, x1, x2):
        return self.f(x1), self.g(x2)


class Copied(Unshared):
    def __init__(self, in_dim, emb_dim):
        super().__init__(in_dim, emb_dim)
        self.g = copy.deepcopy(self.f)


class SameInput(Shared):
    def forward(self, x1, x2):
        return self.f(x1), self.f(x1)


class TwoHeads(Shared):
    def __init__(self, in_dim, emb_dim):
        super().__init__(in_dim, emb_dim)
        self.h1, self.h2 = nn.Linear(emb_dim, emb_dim), nn.Linear(emb_dim, emb_dim)

    def forward(self, x1, x2):
        return self.h1(self.f(x1)), self.h2(self.f(x2))


class Empty(nn.Module):
    def __init__(self, in_dim, emb_dim):
        super().__init__()

    def forward(self, x1, x2):
        return x1, x2


def test_shared_siamese_accepts_one_encoder():
    assert ex.check_shared_siamese(Shared)


@pytest.mark.parametrize(
    ("cls", "hint"),
    [
        (Unshared, "their own weights"),
        (Copied, "drift apart"),
        (SameInput, "same input"),
        (TwoHeads, "their own weights"),
        (Empty, "no trainable parameters"),
    ],
    ids=["unshared", "copied", "same_input", "two_heads", "empty"],
)
def test_shared_siamese_rejects_half_fixes(cls, hint):
    _reject(ex.check_shared_siamese(cls), hint)


@pytest.mark.parametrize(
    "make",
    [
        lambda z1, z2: None,
        lambda z1, z2: {"z1": z1},
        lambda z1, z2: (z1, "z2"),
        lambda z1, z2: (z1[:2], z2),
        lambda z1, z2: (z1 * math.nan, z2),
        lambda z1, z2: (z1.to(torch.complex64), z2),
        lambda z1, z2: (z1, z2, z1),
    ],
)
def test_shared_siamese_spoiled_outputs_get_plain_hints(make):
    class Spoiled(Shared):
        def forward(self, x1, x2):
            return make(*super().forward(x1, x2))

    result = ex.check_shared_siamese(Spoiled)
    assert not result and result.checker_error is None, result.message
    assert "your code raised" not in result.message


# ----------------------------------------------------------------------------- one-batch test


def overfit_test(loss_fn, x1, x2, y, steps=200):
    torch.manual_seed(0)
    enc = nn.Linear(x1.shape[1], 4)
    opt = torch.optim.Adam(enc.parameters(), lr=0.05)
    for _ in range(steps):
        loss = loss_fn(enc(x1), enc(x2), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        d = (enc(x1) - enc(x2)).norm(dim=1)
    return metrics.roc_auc(-d, y) > 0.9


def loss_fell(loss_fn, x1, x2, y):
    torch.manual_seed(0)
    enc = nn.Linear(x1.shape[1], 4)
    opt = torch.optim.Adam(enc.parameters(), lr=0.05)
    first = None
    for _ in range(100):
        loss = loss_fn(enc(x1), enc(x2), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item() < first


def test_one_batch_overfit_accepts_a_real_test():
    assert ex.check_one_batch_overfit(overfit_test)
    assert ex.check_one_batch_overfit(lambda *a: np.bool_(overfit_test(*a)))
    assert ex.check_one_batch_overfit(lambda *a: torch.tensor(overfit_test(*a)))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (loss_fell, "falling loss proves nothing"),
        (lambda f, x1, x2, y: overfit_test(f, x1, x2, y, steps=0), "rejects"),
        (lambda *a: True, "accepts"),
        (lambda *a: False, "rejects"),
        (
            lambda f, x1, x2, y: not overfit_test(lambda z1, z2, y: f(z1, z2, 1 - y), x1, x2, y),
            "constant loss",
        ),
        (lambda *a: 1, "bool"),
        (lambda *a: None, "bool"),
    ],
    ids=["loss_fell", "untrained", "always", "never", "backwards", "int", "none"],
)
def test_one_batch_overfit_rejects_weak_tests(fn, hint):
    _reject(ex.check_one_batch_overfit(fn), hint)
