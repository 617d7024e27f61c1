"""The checkers the expert review of lessons 00-09 tried with other right and wrong solutions.

Each checker accepts correct alternatives and rejects the wrong solutions the review named, with
the hint that names the mistake (never PyTorch's own message, never a crash of the check).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cl_lessons import exercises as ex
from cl_lessons import losses, models


def rejected(result, *words, absent=()):
    assert not result, result.message
    assert result.checker_error is None, result.message
    assert "your code raised" not in result.message, result.message
    for word in words:
        assert word in result.message, result.message
    for word in absent:
        assert word not in result.message, result.message


# ----------------------------------------------------------------------------- contrastive loss


def _d(z1, z2):
    return (z1 - z2).norm(dim=-1)


def contrastive_right(z1, z2, y, margin):
    d = _d(z1, z2)
    return (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()


def per_group(scale):
    def fn(z1, z2, y, margin):
        d = _d(z1, z2)
        sim = (d[y == 1] ** 2).mean()
        dis = (torch.clamp(margin - d[y == 0], min=0) ** 2).mean()
        return scale * (sim + dis)

    return fn


def test_contrastive_loss_accepts_right_solutions():
    assert ex.check_contrastive_loss(contrastive_right)
    assert ex.check_contrastive_loss(losses.contrastive_loss)
    assert ex.check_contrastive_loss(
        lambda z1, z2, y, m: torch.where(
            y == 1, _d(z1, z2) ** 2, F.relu(m - _d(z1, z2)) ** 2
        ).mean()
    )


@pytest.mark.parametrize("scale", [0.5, 1.0])
def test_contrastive_loss_rejects_the_per_group_mean(scale):
    rejected(ex.check_contrastive_loss(per_group(scale)), "separately", "plain mean")


# ----------------------------------------------------------------------------- float64 results


def test_float64_results_are_accepted():
    assert ex.check_euclidean(lambda a, b: (a.double() - b.double()).norm(dim=-1))
    assert ex.check_euclidean(lambda a, b: torch.linalg.vector_norm(a - b, dim=-1).double())

    def fusion(za, zb, how):
        za, zb = za.double(), zb.double()
        return {"concat": torch.cat([za, zb], 1), "product": za * zb}.get(how, (za - zb).abs())

    assert ex.check_fusion(fusion)

    def scores(u, i, normalize):
        u, i = u.double(), i.double()
        return F.normalize(u, dim=1) @ F.normalize(i, dim=1).T if normalize else u @ i.T

    assert ex.check_two_tower_scores(scores)


def test_float64_wrong_results_get_the_hint_not_a_crash():
    rejected(ex.check_euclidean(lambda a, b: ((a - b) ** 2).sum(-1).double()), "square root")
    rejected(ex.check_euclidean(lambda a, b: (a - b).abs().sum(-1).double()), "Manhattan")

    def fusion(za, zb, how):
        za, zb = za.double(), zb.double()
        return {"concat": torch.cat([za, zb], 1), "product": za * zb}.get(how, za - zb)

    rejected(ex.check_fusion(fusion), "absolute value")

    def scores(u, i, normalize):
        u, i = u.double(), i.double()
        return F.normalize(u, dim=1) @ i.T if normalize else u @ i.T

    rejected(ex.check_two_tower_scores(scores), "BOTH")


# ----------------------------------------------------------------------------- pairwise distances


def _sq_sum(x, y):
    return (x * x).sum(1, keepdim=True) + (y * y).sum(1) - 2 * x @ y.T


UNCLAMPED = {
    "sum": lambda x, y: _sq_sum(x, y).sqrt(),
    "norm": lambda x, y: (
        x.norm(dim=1, keepdim=True) ** 2 + y.norm(dim=1) ** 2 - 2 * x @ y.T
    ).sqrt(),
    "einsum": lambda x, y: (
        torch.einsum("nd,nd->n", x, x)[:, None]
        + torch.einsum("md,md->m", y, y)[None]
        - 2 * torch.einsum("nd,md->nm", x, y)
    ).sqrt(),
    "addmm": lambda x, y: torch.addmm(
        (x * x).sum(1, keepdim=True) + (y * y).sum(1), x, y.T, alpha=-2.0
    ).sqrt(),
    "clamp_after_sqrt": lambda x, y: _sq_sum(x, y).sqrt().clamp_min(0),
}


def test_pairwise_distances_accepts_clamped_expansions():
    assert ex.check_pairwise_distances(lambda x, y: _sq_sum(x, y).clamp_min(0).sqrt())
    assert ex.check_pairwise_distances(lambda x, y: F.relu(_sq_sum(x, y)).sqrt())
    assert ex.check_pairwise_distances(lambda x, y: torch.clamp(_sq_sum(x, y), min=0.0) ** 0.5)


@pytest.mark.parametrize("how", sorted(UNCLAMPED))
def test_pairwise_distances_detects_a_missing_clamp(how):
    rejected(ex.check_pairwise_distances(UNCLAMPED[how]), "NaN", "clamp_min(0)")


# ----------------------------------------------------------------------------- Siamese forward


class Shared(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x2)


class DetachedFirst(Shared):
    def forward(self, x1, x2):
        return self.encoder(x1).detach(), self.encoder(x2)


class NoGradSecond(Shared):
    def forward(self, x1, x2):
        with torch.no_grad():
            z2 = self.encoder(x2)
        return self.encoder(x1), z2


class SharedHead(Shared):
    def __init__(self, encoder):
        super().__init__(encoder)
        self.head = nn.Linear(3, 3)

    def forward(self, x1, x2):
        return self.head(self.encoder(x1)), self.head(self.encoder(x2))


class TwoCopies(Shared):
    def __init__(self, encoder):
        super().__init__(encoder)
        self.other = copy.deepcopy(encoder)

    def forward(self, x1, x2):
        return self.encoder(x1), self.other(x2)


class Frozen(Shared):
    def __init__(self, encoder):
        super().__init__(encoder.requires_grad_(False))


def test_siamese_forward_accepts_one_shared_encoder():
    assert ex.check_siamese_forward(Shared)
    assert ex.check_siamese_forward(models.SiameseNetwork)


@pytest.mark.parametrize("cls", [DetachedFirst, NoGradSecond])
def test_siamese_forward_one_detached_branch_gets_its_own_hint(cls):
    rejected(ex.check_siamese_forward(cls), "detached", "gradient", absent=("wrap forward",))


def test_siamese_forward_shared_extra_layer_is_not_two_encoders():
    rejected(ex.check_siamese_forward(SharedHead), "extra layer", absent=("two encoders",))
    rejected(ex.check_siamese_forward(TwoCopies), "two encoders")
    rejected(ex.check_siamese_forward(Frozen), "trainable", absent=("two encoders",))


# ----------------------------------------------------------------------------- triplet loss


def triplet_right(a, p, n, margin):
    return F.relu((a - p).norm(dim=1) - (a - n).norm(dim=1) + margin).mean()


def test_triplet_loss_accepts_right_solutions():
    assert ex.check_triplet_loss(triplet_right)
    assert ex.check_triplet_loss(losses.triplet_loss)
    assert ex.check_triplet_loss(
        lambda a, p, n, m: torch.clamp(
            F.pairwise_distance(a, p, eps=0.0) - F.pairwise_distance(a, n, eps=0.0) + m, min=0
        ).mean()
    )


def test_triplet_loss_requires_a_differentiable_result():
    rejected(ex.check_triplet_loss(lambda a, p, n, m: triplet_right(a, p, n, m).item()), "gradient")
    rejected(
        ex.check_triplet_loss(lambda a, p, n, m: triplet_right(a, p, n, m).detach()), "gradient"
    )


@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_triplet_loss_explains_torch_refusing_margin_zero(eps):
    def with_torch(a, p, n, margin):
        return nn.TripletMarginLoss(margin=margin, eps=eps)(a, p, n)

    rejected(ex.check_triplet_loss(with_torch), "TripletMarginLoss", "margin 0", "formula")
    rejected(
        ex.check_triplet_loss(lambda a, p, n, m: F.triplet_margin_loss(a, p, n, margin=m)),
        "refuse margin 0",
    )


# ----------------------------------------------------------------------------- InfoNCE


def info_nce_right(z1, z2, temperature):
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))  # (2N, 2N)
    n = z1.shape[0]
    return F.cross_entropy(logits, torch.arange(2 * n).roll(n))


def test_info_nce_accepts_right_solutions():
    assert ex.check_info_nce(info_nce_right)
    assert ex.check_info_nce(losses.info_nce)


def test_info_nce_requires_a_differentiable_result():
    rejected(ex.check_info_nce(lambda z1, z2, t: info_nce_right(z1, z2, t).item()), "gradient")
    rejected(ex.check_info_nce(lambda z1, z2, t: info_nce_right(z1, z2, t).detach()), "gradient")


# ----------------------------------------------------------------------------- momentum update


def ema_parameters(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_t.mul_(m).add_(p_o, alpha=1 - m)


def ema_lerp(online, target, m):
    with torch.no_grad():
        for p_o, p_t in zip(online.parameters(), target.parameters(), strict=True):
            p_t.lerp_(p_o, 1 - m)


def ema_float_state(online, target, m):  # parameters and running statistics, BYOL-style
    with torch.no_grad():
        own, other = target.state_dict(), online.state_dict()
        for k, v in own.items():
            if v.is_floating_point():
                v.mul_(m).add_(other[k], alpha=1 - m)


def ema_state_dict(online, target, m):  # every entry of state_dict(), integers included
    with torch.no_grad():
        own, other = target.state_dict(), online.state_dict()
        for k, v in own.items():
            v.mul_(m).add_(other[k], alpha=1 - m)


def test_momentum_update_accepts_right_solutions():
    assert ex.check_momentum_update(ema_parameters)
    assert ex.check_momentum_update(ema_lerp)
    assert ex.check_momentum_update(ema_float_state)


def test_momentum_update_catches_a_state_dict_ema_that_breaks_on_conv_encoder():
    encoder = models.ConvEncoder(1, 16, 64, width=16)
    target = copy.deepcopy(encoder).requires_grad_(False)
    with pytest.raises(RuntimeError):  # what the learner would meet in lesson 08's training
        ema_state_dict(encoder, target, 0.9)
    rejected(
        ex.check_momentum_update(ema_state_dict), "BatchNorm", "num_batches_tracked", "parameters()"
    )


# ----------------------------------------------------------------------------- PCA


def pca_svd(x):
    xc = x - x.mean(0, keepdim=True)
    return xc @ torch.linalg.svd(xc, full_matrices=False)[2][:2].T


def pca_eigh(x):
    xc = x - x.mean(0, keepdim=True)
    _, vecs = torch.linalg.eigh(xc.T @ xc)  # ascending eigenvalues
    return xc @ vecs[:, [-1, -2]]


def pca_lowrank_full(x):
    u, s, _ = torch.pca_lowrank(x, q=min(x.shape))  # every direction: exact
    return u[:, :2] * s[:2]


def test_pca_accepts_exact_solutions():
    assert ex.check_pca_2d(pca_svd)
    assert ex.check_pca_2d(pca_eigh)
    assert ex.check_pca_2d(pca_lowrank_full)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: (x - x.mean(0)) @ torch.pca_lowrank(x, q=2)[2],  # as lessons 05 and 06 draw
        lambda x: (lambda u, s, v: u * s)(*torch.pca_lowrank(x, q=2)),
    ],
    ids=["projected", "u_times_s"],
)
def test_pca_explains_that_pca_lowrank_is_approximate(fn):
    state = torch.random.get_rng_state()
    rejected(ex.check_pca_2d(fn), "pca_lowrank", "randomised", "exact")
    assert torch.equal(torch.random.get_rng_state(), state)  # the learner's seed is untouched
