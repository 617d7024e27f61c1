import math

import pytest
import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex
from cl_lessons import losses, metrics

# ----------------------------------------------------------------------------- InfoNCE


def _logits(z1, z2, tau, normalise=True, mask=True):
    z = torch.cat([z1, z2])  # (2N, D)
    if normalise:
        z = F.normalize(z, dim=1)
    logits = z @ z.T / tau  # (2N, 2N)
    if mask:
        logits = logits.masked_fill(torch.eye(len(z), dtype=torch.bool), -math.inf)
    return logits


def _partner(n):
    return torch.cat([torch.arange(n, 2 * n), torch.arange(n)])  # (2N,)


def nt_xent_ce(z1, z2, tau):
    return F.cross_entropy(_logits(z1, z2, tau), _partner(len(z1)))


def nt_xent_lse(z1, z2, tau):
    n = len(z1)
    sim = _logits(z1, z2, tau, mask=False)
    pos = torch.cat([sim.diagonal(n), sim.diagonal(-n)])  # (2N,)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), -math.inf)
    return (torch.logsumexp(sim, 1) - pos).mean()


def test_info_nce_accepts_correct_solutions():
    assert ex.check_info_nce(nt_xent_ce)
    assert ex.check_info_nce(nt_xent_lse)
    assert ex.check_info_nce(lambda a, b, t: losses.info_nce(a, b, temperature=t))


def _ce_none(z1, z2, tau, **kw):
    return F.cross_entropy(_logits(z1, z2, tau, **kw), _partner(len(z1)), reduction="none")


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (
            lambda a, b, t: F.cross_entropy(_logits(a, b, t, mask=False), _partner(len(a))),
            "mask the diagonal",
        ),
        (
            lambda a, b, t: F.cross_entropy(_logits(a, b, t, normalise=False), _partner(len(a))),
            "not normalised",
        ),
        (
            lambda a, b, t: F.cross_entropy(_logits(a, b, t * t), _partner(len(a))),
            "temperature twice",
        ),
        (lambda a, b, t: F.cross_entropy(_logits(a, b, 1.0), _partner(len(a))), "no effect"),
        (lambda a, b, t: _ce_none(a, b, t).sum() / len(a), "mean over 2N"),
        (lambda a, b, t: _ce_none(a, b, t)[: len(a)].mean(), "only the first views"),
        (lambda a, b, t: F.cross_entropy(_logits(a, b, t), torch.arange(2 * len(a))), "itself"),
        (lambda a, b, t: _ce_none(a, b, t), "one loss per anchor"),
        (
            # positive index shifted by one: view i "pairs" with view i + N + 1
            lambda a, b, t: F.cross_entropy(
                _logits(a, b, t), (_partner(len(a)) + 1) % (2 * len(a))
            ),
            "positive index",
        ),
        (lambda a, b, t: None, "return"),
    ],
    ids=[
        "no_mask",
        "no_normalise",
        "tau_twice",
        "no_tau",
        "mean_over_n",
        "one_direction",
        "self_as_positive",
        "per_anchor",
        "shifted_positive",
        "none",
    ],
)
def test_info_nce_rejects_typical_mistakes(fn, hint):
    result = ex.check_info_nce(fn)
    assert not result
    assert hint in result.message, result.message


def test_info_nce_rejects_a_fixed_temperature():
    result = ex.check_info_nce(lambda a, b, t: losses.info_nce(a, b, temperature=0.5))
    assert not result and "temperature 0.1" in result.message


def test_info_nce_stub():
    def stub(z1, z2, temperature):
        raise NotImplementedError

    result = ex.check_info_nce(stub)
    assert not result and "not implemented" in result.message


# ----------------------------------------------------------------------------- uniformity


def uniformity_correct(z, t):
    return torch.pdist(F.normalize(z, dim=1)).pow(2).mul(-t).exp().mean().log()


def test_uniformity_accepts_correct_solutions():
    assert ex.check_uniformity(uniformity_correct)
    assert ex.check_uniformity(lambda z, t: metrics.uniformity(z, t=t))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda z, t: torch.pdist(z).pow(2).mul(-t).exp().mean().log(), "not normalised"),
        (lambda z, t: torch.pdist(F.normalize(z, dim=1)).pow(2).mul(-t).mean(), "mean of the logs"),
        (lambda z, t: torch.pdist(F.normalize(z, dim=1)).pow(2).mul(-t).exp().mean(), "log is"),
        (lambda z, t: torch.pdist(F.normalize(z, dim=1)).mul(-t).exp().mean().log(), "squared"),
        (
            lambda z, t: (
                torch.cdist(F.normalize(z, dim=1), F.normalize(z, dim=1))
                .pow(2)
                .mul(-t)
                .exp()
                .mean()
                .log()
            ),
            "i == j",
        ),
        (lambda z, t: uniformity_correct(z, 2.0), "ignores its argument t"),
        (lambda z, t: None, "return"),
    ],
    ids=["no_normalise", "mean_of_log", "no_log", "not_squared", "diagonal", "fixed_t", "none"],
)
def test_uniformity_rejects_typical_mistakes(fn, hint):
    result = ex.check_uniformity(fn)
    assert not result
    assert hint in result.message, result.message


def test_uniformity_stub():
    def stub(z, t):
        raise NotImplementedError

    assert "not implemented" in ex.check_uniformity(stub).message


# ----------------------------------------------------------------------------- alignment


def alignment_correct(z1, z2):
    return (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).pow(2).sum(1).mean()


def _unit_diff(a, b):
    return F.normalize(a, dim=1) - F.normalize(b, dim=1)


def test_alignment_accepts_correct_solutions():
    assert ex.check_alignment(alignment_correct)
    assert ex.check_alignment(metrics.alignment)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, b: (a - b).pow(2).sum(1).mean(), "not normalised"),
        (lambda a, b: _unit_diff(a, b).norm(dim=1).mean(), "*squared*"),
        (lambda a, b: _unit_diff(a, b).pow(2).sum(), "summed over the pairs"),
        (lambda a, b: _unit_diff(a, b).pow(2).mean(), "every coordinate"),
        (lambda a, b: (1 - F.cosine_similarity(a, b)).mean(), "cosine distance"),
        (lambda a, b: _unit_diff(a, b).pow(2).sum(1), "one value per pair"),
        (lambda a, b: None, "return"),
    ],
    ids=["no_normalise", "not_squared", "sum", "per_coordinate", "cosine", "per_pair", "none"],
)
def test_alignment_rejects_typical_mistakes(fn, hint):
    result = ex.check_alignment(fn)
    assert not result
    assert hint in result.message, result.message
