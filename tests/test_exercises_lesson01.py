import pytest
import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex


def cosine(a, b):
    na = a.norm(dim=-1).clamp_min(1e-8)
    nb = b.norm(dim=-1).clamp_min(1e-8)
    return (a * b).sum(-1) / (na * nb)


def pairwise(x, y):
    x2 = (x * x).sum(1, keepdim=True)  # (N, 1)
    y2 = (y * y).sum(1).unsqueeze(0)  # (1, M)
    return (x2 + y2 - 2 * x @ y.T).clamp_min(0).sqrt()


def test_cosine_accepts_correct_solutions():
    assert ex.check_cosine_similarity(cosine)
    assert ex.check_cosine_similarity(lambda a, b: F.cosine_similarity(a, b, dim=-1))
    assert ex.check_cosine_similarity(
        lambda a, b: (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
    )


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, b: torch.dot(a, b), "torch.dot only accepts"),
        (lambda a, b: (a * b).sum(-1), "plain dot products"),
        (lambda a, b: (F.normalize(a, dim=0) * F.normalize(b, dim=0)).sum(-1), "wrong dimension"),
        (lambda a, b: (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)), "zero vector"),
        (lambda a, b: F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T, "diagonal"),
        (lambda a, b: 1 - cosine(a, b), "cosine distance"),
        (lambda a, b: (a * b).sum(-1) / a.norm(dim=-1), "one norm only"),
        (lambda a, b: (a * b).sum() / (a.norm() * b.norm()), "one number"),
    ],
    ids=[
        "torch_dot",
        "no_norm",
        "wrong_dim",
        "nan_at_zero",
        "all_pairs",
        "distance",
        "one_norm",
        "scalar",
    ],
)
def test_cosine_rejects_typical_mistakes(fn, hint):
    result = ex.check_cosine_similarity(fn)
    assert not result
    assert hint in result.message, result.message


def test_pairwise_accepts_correct_solutions():
    assert ex.check_pairwise_distances(pairwise)
    assert ex.check_pairwise_distances(lambda x, y: torch.cdist(x, y))


def _no_clamp(x, y):
    x2 = (x * x).sum(1, keepdim=True)
    return (x2 + (y * y).sum(1) - 2 * x @ y.T).sqrt()


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_no_clamp, "Clamp at 0"),
        (lambda x, y: pairwise(x, y) ** 2, "squared distances"),
        (lambda x, y: pairwise(y, x), "transposed"),
        (lambda x, y: torch.cdist(x, y, p=1), "Manhattan"),
        (
            lambda x, y: ((x * x).sum(1, keepdim=True) + (y * y).sum(1) - 2 * x @ y).sqrt(),
            "x @ y.T",
        ),
        (lambda x, y: ((x * x).sum(1) + (y * y).sum(1) - 2 * (x * y).sum(1)).sqrt(), "shape"),
        (
            lambda x, y: ((x * x).sum(1, keepdim=True) + (y * y).sum(1) + 2 * x @ y.T).sqrt(),
            "Sign error",
        ),
    ],
    ids=["no_clamp", "squared", "transposed", "l1", "no_transpose", "rowwise", "sign"],
)
def test_pairwise_rejects_typical_mistakes(fn, hint):
    result = ex.check_pairwise_distances(fn)
    assert not result
    assert hint in result.message, result.message


def test_stubs_report_not_implemented():
    def stub(*args):
        raise NotImplementedError

    assert "not implemented" in ex.check_cosine_similarity(stub).message
    assert "not implemented" in ex.check_pairwise_distances(stub).message
