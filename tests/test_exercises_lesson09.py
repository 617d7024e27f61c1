import numpy as np
import pytest
import torch

from cl_lessons import exercises as ex


# ------------------------------------------------------------------ k nearest neighbours
def knn(x, k):
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return d.topk(k, dim=1, largest=False).indices


def knn_argsort(x, k):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)  # squared distances rank the same
    return d.argsort(dim=1)[:, 1 : k + 1]  # the query is first (distance 0): skip it


def knn_numpy(x, k):
    a = x.numpy()
    d = np.linalg.norm(a[:, None] - a[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1)[:, :k]


def test_knn_accepts_correct_solutions():
    for fn in (knn, knn_argsort, knn_numpy):
        result = ex.check_knn_indices(fn)
        assert result, result


def _with_self(x, k):
    return torch.cdist(x, x).topk(k, dim=1, largest=False).indices


def _farthest(x, k):
    return torch.cdist(x, x).topk(k, dim=1).indices


def _wrong_axis(x, k):
    return torch.cdist(x, x).argsort(dim=0)[:, 1 : k + 1]


def _unsorted(x, k):
    return knn(x, k).flip(1)


def _distances(x, k):
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return d.topk(k, dim=1, largest=False).values


def _one_extra(x, k):
    return torch.cdist(x, x).topk(k + 1, dim=1, largest=False).indices


def _manhattan(x, k):
    d = torch.cdist(x, x, p=1)
    d.fill_diagonal_(float("inf"))
    return d.topk(k, dim=1, largest=False).indices


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_with_self, "query itself"),
        (_farthest, "farthest"),
        (_wrong_axis, "wrong axis"),
        (lambda x, k: knn(x, k).T, "transposed"),
        (_unsorted, "wrong order"),
        (_distances, "distances to the neighbours"),
        (_one_extra, "kept the query"),
        (_manhattan, "are among the true k nearest"),
        (lambda x, k: None, "return"),
    ],
    ids=[
        "self",
        "argmax",
        "axis",
        "transposed",
        "order",
        "values",
        "k_plus_1",
        "l1",
        "none",
    ],
)
def test_knn_rejects_typical_mistakes(fn, hint):
    result = ex.check_knn_indices(fn)
    assert not result
    assert hint in result.message, result.message


def test_knn_stub_reports_not_implemented():
    def stub(x, k):
        raise NotImplementedError

    result = ex.check_knn_indices(stub)
    assert not result and "not implemented" in result.message


# ------------------------------------------------------------------------------ PCA
def pca(x):
    xc = x - x.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    return xc @ vh[:2].T


def pca_eigh(x):
    xc = x - x.mean(0)
    _, vecs = torch.linalg.eigh(xc.T @ xc / (len(x) - 1))  # ascending eigenvalues
    return -(xc @ vecs[:, [-1, -2]])  # a flipped sign is still a correct PCA


def pca_sklearn(x):
    from sklearn.decomposition import PCA

    return PCA(n_components=2).fit_transform(x.numpy())


def test_pca_accepts_correct_solutions():
    for fn in (pca, pca_eigh, pca_sklearn):
        result = ex.check_pca_2d(fn)
        assert result, result


def _no_centring(x):
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    return x @ vh[:2].T


def _u_instead_of_v(x):
    u, _, _ = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    return u[:, :2]


def _columns_of_vh(x):
    xc = x - x.mean(0)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    return xc @ vh[:, :2]


def _smallest(x):
    xc = x - x.mean(0)
    _, vecs = torch.linalg.eigh(xc.T @ xc)
    return xc @ vecs[:, :2]  # eigh is ascending: these are the two smallest


def _three(x):
    xc = x - x.mean(0)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    return xc @ vh[:3].T


def _project_raw(x):
    _, _, vh = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    return x @ vh[:2].T


def _standardised(x):
    z = (x - x.mean(0)) / x.std(0)
    _, _, vh = torch.linalg.svd(z, full_matrices=False)
    return z @ vh[:2].T


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_no_centring, "Centre the data first"),
        (_u_instead_of_v, "U[:, :2]"),
        (_columns_of_vh, "ROWS"),
        (_smallest, "SMALLEST"),
        (_three, "expected 2 components"),
        (lambda x: pca(x).T, "transpose"),
        (lambda x: pca(x)[:, [1, 0]], "swapped"),
        (_project_raw, "projected the uncentred data"),
        (_standardised, "standardised"),
        (lambda x: x - x.mean(0), "(N, D)"),
    ],
    ids=[
        "no_centre",
        "U",
        "vh_columns",
        "smallest",
        "three",
        "transposed",
        "swapped",
        "uncentred_projection",
        "standardised",
        "all_components",
    ],
)
def test_pca_rejects_typical_mistakes(fn, hint):
    result = ex.check_pca_2d(fn)
    assert not result
    assert hint in result.message, result.message


def test_pca_accepts_either_sign_per_axis():
    assert ex.check_pca_2d(lambda x: pca(x) * torch.tensor([-1.0, 1.0], dtype=x.dtype))
    assert ex.check_pca_2d(lambda x: -pca(x))
