import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist as scipy_cdist

from cl_lessons import distances as D

ROWWISE = [D.euclidean, D.manhattan, D.cosine_similarity, D.cosine_distance]


def test_closed_form_values():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[3.0, 4.0], [0.0, 1.0], [2.0, 2.0]])
    torch.testing.assert_close(D.euclidean(a, b), torch.tensor([5.0, math.sqrt(2), math.sqrt(2)]))
    torch.testing.assert_close(D.manhattan(a, b), torch.tensor([7.0, 2.0, 2.0]))
    torch.testing.assert_close(D.cosine_similarity(a[1:], b[1:]), torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(D.cosine_distance(a[1:], b[1:]), torch.tensor([1.0, 0.0]))


def test_single_vectors_work():
    assert D.euclidean(torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])).item() == pytest.approx(
        5.0
    )


@pytest.mark.parametrize("n, d", [(1, 2), (7, 3), (64, 128)])
def test_unit_sphere_identity(n, d):
    g = torch.Generator().manual_seed(n * d)
    a = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
    b = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
    torch.testing.assert_close(
        D.euclidean(a, b) ** 2, 2 - 2 * D.cosine_similarity(a, b), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("n, m, d", [(1, 1, 2), (5, 9, 3), (33, 17, 64), (200, 150, 128)])
def test_pairwise_matches_cdist_and_scipy(n, m, d):
    g = torch.Generator().manual_seed(n + m + d)
    x, y = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g) + 0.5
    got = D.pairwise_euclidean(x, y)
    torch.testing.assert_close(got, torch.cdist(x, y), atol=1e-5, rtol=1e-5)
    ref = scipy_cdist(x.double().numpy(), y.double().numpy())
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        D.pairwise_euclidean(x, y, squared=True).numpy(), ref**2, atol=1e-4, rtol=1e-5
    )
    cos_ref = 1 - scipy_cdist(x.double().numpy(), y.double().numpy(), metric="cosine")
    np.testing.assert_allclose(D.pairwise_cosine_similarity(x, y).numpy(), cos_ref, atol=1e-5)


def test_pairwise_with_itself_has_exact_zero_diagonal_and_is_symmetric():
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(0)) * 10 + 100  # far off origin
    dist = D.pairwise_euclidean(x)
    assert torch.equal(dist.diagonal(), torch.zeros(50))
    torch.testing.assert_close(dist, dist.T)
    torch.testing.assert_close(
        dist, torch.cdist(x.double(), x.double()).float(), atol=1e-4, rtol=1e-5
    )


def test_pairwise_gradient_finite_at_zero_distance_unlike_the_naive_formula():
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    x[3] = x[1]  # two identical rows, plus the diagonal
    ours = x.clone().requires_grad_(True)
    D.pairwise_euclidean(ours).sum().backward()
    assert torch.isfinite(ours.grad).all()
    naive = x.clone().requires_grad_(True)
    ((naive[:, None] - naive[None]) ** 2).sum(-1).sqrt().sum().backward()
    assert not torch.isfinite(naive.grad).all(), "the textbook sqrt formula is expected to give NaN"
    theirs = x.clone().requires_grad_(True)
    torch.cdist(theirs, theirs).sum().backward()  # recent PyTorch zeroes it too: we agree with it
    torch.testing.assert_close(ours.grad, theirs.grad, atol=1e-5, rtol=1e-4)


def test_rowwise_gradients_finite_for_identical_and_zero_vectors():
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    b = torch.tensor([[1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    for fn in ROWWISE:
        a.grad = b.grad = None
        out = fn(a, b)
        assert torch.isfinite(out).all(), fn.__name__
        out.sum().backward()
        assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all(), fn.__name__
    zero = torch.zeros(3, 5, requires_grad=True)
    sim = D.pairwise_cosine_similarity(zero, torch.randn(2, 5))
    assert torch.equal(sim, torch.zeros(3, 2))
    sim.sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, v: D.pairwise_euclidean(u, v), (x, y))
    assert torch.autograd.gradcheck(lambda u, v: D.pairwise_cosine_similarity(u, v), (x, y))
    assert torch.autograd.gradcheck(lambda u: D.pairwise_euclidean(u), (x,))
    for fn in ROWWISE:
        assert torch.autograd.gradcheck(fn, (x[:4], y)), fn.__name__


@pytest.mark.parametrize("fn", ROWWISE)
def test_rowwise_shape_errors_name_the_argument(fn):
    with pytest.raises(ValueError, match="a and b"):
        fn(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="a must be"):
        fn([1.0, 2.0], torch.zeros(2))
    with pytest.raises(ValueError, match="floating"):
        fn(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.parametrize("fn", [D.pairwise_euclidean, D.pairwise_cosine_similarity])
def test_pairwise_shape_errors_name_the_argument(fn):
    with pytest.raises(ValueError, match="x must be 2-D"):
        fn(torch.zeros(3))
    with pytest.raises(ValueError, match="y must be 2-D"):
        fn(torch.zeros(3, 2), torch.zeros(2, 2, 1))
    with pytest.raises(ValueError, match="feature dimension"):
        fn(torch.zeros(3, 2), torch.zeros(3, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_result_follows_input_device_and_dtype(dtype):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.randn(4, 3, dtype=dtype, device=device)
    for out in [D.pairwise_euclidean(x), D.pairwise_cosine_similarity(x), D.euclidean(x, x)]:
        assert out.device == x.device and out.dtype == dtype


def test_meta_device_shapes():
    # "works on any device the inputs are on": the meta device runs the same code without data
    x = torch.empty(8, 5, device="meta")
    assert D.pairwise_euclidean(x).shape == (8, 8)
    assert D.pairwise_cosine_similarity(x, x[:3]).shape == (8, 3)
