import pytest
import torch

from cl_lessons import exercises as ex
from cl_lessons import losses


def _d(z1, z2):
    return (z1 - z2).norm(dim=-1)


def correct_loss(z1, z2, y, margin):
    d = _d(z1, z2)
    return (y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()


def correct_grad(d, y, margin):
    return 2 * y * d - 2 * (1 - y) * torch.clamp(margin - d, min=0)


def test_loss_accepts_correct_solutions():
    assert ex.check_contrastive_loss(correct_loss)
    assert ex.check_contrastive_loss(losses.contrastive_loss)
    assert ex.check_contrastive_loss(
        lambda z1, z2, y, m: losses.ContrastiveLoss(margin=m)(z1, z2, y)
    )


def _loss(pull, push, reduce=torch.mean):
    def fn(z1, z2, y, margin):
        d = _d(z1, z2)
        return reduce(pull(d, y) + push(d, y, margin))

    return fn


def _sq_pull(d, y):
    return y * d**2


LOSS_MISTAKES = {
    "swapped": (
        _loss(lambda d, y: (1 - y) * d**2, lambda d, y, m: y * torch.clamp(m - d, min=0) ** 2),
        "label convention",
    ),
    "d2_in_hinge": (
        _loss(_sq_pull, lambda d, y, m: (1 - y) * torch.clamp(m - d**2, min=0) ** 2),
        "not d^2",
    ),
    "d2_in_hinge_unsquared": (
        _loss(_sq_pull, lambda d, y, m: (1 - y) * torch.clamp(m - d**2, min=0)),
        "not d^2",
    ),
    "no_clamp": (_loss(_sq_pull, lambda d, y, m: (1 - y) * (m - d) ** 2), "clamp margin - d"),
    "sum": (
        _loss(_sq_pull, lambda d, y, m: (1 - y) * torch.clamp(m - d, min=0) ** 2, torch.sum),
        "summed",
    ),
    "no_square": (_loss(_sq_pull, lambda d, y, m: (1 - y) * torch.clamp(m - d, min=0)), "Square"),
    "d_not_squared": (
        _loss(lambda d, y: y * d, lambda d, y, m: (1 - y) * torch.clamp(m - d, min=0) ** 2),
        "not d.",
    ),
    "half": (lambda z1, z2, y, m: 0.5 * correct_loss(z1, z2, y, m), "1/2"),
    "per_pair": (
        _loss(_sq_pull, lambda d, y, m: (1 - y) * torch.clamp(m - d, min=0) ** 2, lambda t: t),
        "one loss per pair",
    ),
}


@pytest.mark.parametrize("name", list(LOSS_MISTAKES))
def test_loss_rejects_typical_mistakes(name):
    fn, hint = LOSS_MISTAKES[name]
    result = ex.check_contrastive_loss(fn)
    assert not result
    assert hint in result.message, result.message


def test_grad_accepts_correct_solutions():
    assert ex.check_contrastive_grad(correct_grad)

    def by_autograd(d, y, margin):  # the learner may also let autograd do it
        d = d.clone().requires_grad_(True)
        loss = y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2
        (g,) = torch.autograd.grad(loss.sum(), d)
        return g

    assert ex.check_contrastive_grad(by_autograd)


GRAD_MISTAKES = {
    "push_sign": (lambda d, y, m: 2 * y * d + 2 * (1 - y) * torch.clamp(m - d, min=0), "Sign"),
    "no_clamp": (lambda d, y, m: 2 * y * d - 2 * (1 - y) * (m - d), "flat"),
    "no_factor_2": (lambda d, y, m: y * d - (1 - y) * torch.clamp(m - d, min=0), "factor 2"),
    "swapped": (
        lambda d, y, m: 2 * (1 - y) * d - 2 * y * torch.clamp(m - d, min=0),
        "Swapped labels",
    ),
    "constant_pull": (lambda d, y, m: 2 * y - 2 * (1 - y) * torch.clamp(m - d, min=0), "2d"),
    "scalar": (lambda d, y, m: correct_grad(d, y, m).sum(), "one number"),
}


@pytest.mark.parametrize("name", list(GRAD_MISTAKES))
def test_grad_rejects_typical_mistakes(name):
    fn, hint = GRAD_MISTAKES[name]
    result = ex.check_contrastive_grad(fn)
    assert not result
    assert hint in result.message, result.message


def test_stubs_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    assert "not implemented" in ex.check_contrastive_loss(stub).message
    assert "not implemented" in ex.check_contrastive_grad(stub).message
