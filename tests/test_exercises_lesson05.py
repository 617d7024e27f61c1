import pytest
import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex
from cl_lessons import losses, miners
from cl_lessons.exercises.lesson05 import _category_reference


def _d(x, y):
    return (x - y).pow(2).sum(1).sqrt()


def correct_loss(a, p, n, margin):
    return F.relu(_d(a, p) - _d(a, n) + margin).mean()


def correct_category(d_ap, d_an, margin):
    codes = torch.ones_like(d_ap, dtype=torch.long)
    codes[d_an > d_ap + margin] = 0
    codes[d_an <= d_ap] = 2
    return codes


# ----------------------------------------------------------------------------- triplet loss


def test_triplet_loss_accepts_correct_solutions():
    assert ex.check_triplet_loss(correct_loss)
    assert ex.check_triplet_loss(lambda a, p, n, m: losses.triplet_loss(a, p, n, margin=m))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, p, n, m: F.relu(_d(a, p) + m).mean(), "never looks at the negative"),
        (lambda a, p, n, m: (m + _d(a, p) ** 2).mean(), "seed article"),
        (lambda a, p, n, m: (_d(a, p) - _d(a, n) + m).mean(), "clamp is missing"),
        (lambda a, p, n, m: F.relu(_d(a, n) - _d(a, p) + m).mean(), "swapped"),
        (lambda a, p, n, m: F.relu(_d(a, p) ** 2 - _d(a, n) ** 2 + m).mean(), "squared"),
        (lambda a, p, n, m: F.relu(_d(a, p) - _d(a, n) + m).sum(), "mean"),
        (lambda a, p, n, m: F.relu(_d(a, p) - _d(a, n) + m), "one loss per triplet"),
        (lambda a, p, n, m: None, "return"),
    ],
    ids=["no_negative", "seed", "no_clamp", "swapped", "squared", "sum", "per_triplet", "none"],
)
def test_triplet_loss_rejects_typical_mistakes(fn, hint):
    result = ex.check_triplet_loss(fn)
    assert not result
    assert hint in result.message, result.message


def test_triplet_loss_rejects_a_fixed_margin():
    result = ex.check_triplet_loss(lambda a, p, n, m: F.relu(_d(a, p) - _d(a, n) + 1.0).mean())
    assert not result and "margin 0.0" in result.message


def test_triplet_loss_stub():
    def stub(a, p, n, margin):
        raise NotImplementedError

    assert "not implemented" in ex.check_triplet_loss(stub).message


# ----------------------------------------------------------------------------- categories


def test_reference_agrees_with_the_miner():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(12, 2, generator=gen)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    dist = torch.cdist(z, z)
    cats = miners.triplet_categories(dist, labels, 0.4)
    a, p, n = torch.nonzero(miners.triplet_masks(labels), as_tuple=True)
    codes = _category_reference(dist[a, p], dist[a, n], 0.4)
    assert torch.equal(codes == 0, cats.easy[a, p, n])
    assert torch.equal(codes == 1, cats.semihard[a, p, n])
    assert torch.equal(codes == 2, cats.hard[a, p, n])


def test_category_accepts_correct_solutions():
    assert ex.check_triplet_category(correct_category)
    assert ex.check_triplet_category(lambda d_ap, d_an, m: correct_category(d_ap, d_an, m).tolist())


def _with(hard, easy):
    def fn(d_ap, d_an, m):
        return torch.where(hard(d_ap, d_an, m), 2, torch.where(easy(d_ap, d_an, m), 0, 1))

    return fn


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_with(lambda p, n, m: n < p, lambda p, n, m: n > p + m), "exactly as far"),
        (_with(lambda p, n, m: n <= p, lambda p, n, m: n >= p + m), "exactly on the margin"),
        (_with(lambda p, n, m: n <= p, lambda p, n, m: n > p), "forget the margin"),
        (lambda p, n, m: 2 - correct_category(p, n, m), "reversed"),
        (lambda p, n, m: n > p + m, "integer codes"),
        (lambda p, n, m: correct_category(p, n, m)[:-1], "one code per triplet"),
        (_with(lambda p, n, m: n <= p, lambda p, n, m: n > p + 0.5), "misclassified"),
    ],
    ids=["hard_boundary", "margin_boundary", "no_margin", "reversed", "bool", "short", "fixed_m"],
)
def test_category_rejects_typical_mistakes(fn, hint):
    result = ex.check_triplet_category(fn)
    assert not result
    assert hint in result.message, result.message
