"""Checks for lesson 09 (embedding explorer): k nearest neighbours, PCA to two dimensions."""

from __future__ import annotations

import torch

from cl_lessons.exercises._core import CheckFailed, exercise_check, expect_close, returned_tensor

__all__ = ["check_knn_indices", "check_pca_2d"]


def _as_tensor(got, what: str, expected: str) -> torch.Tensor:
    return returned_tensor(got, what, expected).detach()


# ------------------------------------------------------------------------------ nearest neighbours


def _distances(x: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x, x)  # (N, N), exact enough in float64


def _reference_knn(x: torch.Tensor, k: int) -> torch.Tensor:
    d = _distances(x)
    d.fill_diagonal_(float("inf"))  # a point is not its own neighbour
    return d.topk(k, dim=1, largest=False).indices  # (N, k), nearest first


def _knn_case(fn, x: torch.Tensor, k: int, what: str) -> None:
    n = x.shape[0]
    got = _as_tensor(fn(x.clone(), k), what, f"a tensor of indices of shape (N, k) = ({n}, {k})")
    d = _distances(x)
    if got.shape == (k, n) and k != n:
        raise CheckFailed(
            f"{what}: expected shape (N, k) = ({n}, {k}), got ({k}, {n}): one row per query, "
            "with its k neighbours along the row (transposed, or sorted along the wrong axis)."
        )
    if got.shape == (n, k + 1):
        raise CheckFailed(
            f"{what}: expected shape (N, k) = ({n}, {k}), got {tuple(got.shape)}: you kept the "
            "query itself as well as its k neighbours; return only the k other points."
        )
    if got.shape != (n, k):
        raise CheckFailed(
            f"{what}: expected shape (N, k) = ({n}, {k}), got {tuple(got.shape)}: row i holds "
            "the indices of the k points nearest to point i."
        )
    if got.is_floating_point() or got.dtype == torch.bool:
        if torch.allclose(got.double(), d.sort(dim=1).values[:, 1 : k + 1], atol=1e-6):
            raise CheckFailed(
                f"{what}: these are the distances to the neighbours; return their indices "
                "(the .indices of topk, or argsort instead of sort)."
            )
        raise CheckFailed(f"{what}: expected integer indices (dtype int64), got dtype {got.dtype}.")
    got = got.long()
    if bool(((got < 0) | (got >= n)).any()):
        raise CheckFailed(f"{what}: indices must lie in [0, N) = [0, {n}).")
    want = _reference_knn(x, k)
    if torch.equal(got, want):
        return
    by_column = d.argsort(dim=0)
    if torch.equal(got, by_column[:, 1 : k + 1]) or torch.equal(got, by_column[:, :k]):
        raise CheckFailed(
            f"{what}: you sorted along the wrong axis: argsort(dim=0) sorts each column, so "
            "row i is not about point i. Sort each row (dim=1): row i lists the distances "
            "from point i."
        )
    arange = torch.arange(n)
    if bool((got == arange[:, None]).any(dim=1).float().mean() > 0.5):
        raise CheckFailed(
            f"{what}: most rows contain the query itself (its distance to itself is 0, so it "
            "is always first): leave it out, e.g. set the diagonal of the distance matrix to "
            "inf before taking the k smallest."
        )
    far = d.clone()
    far.fill_diagonal_(-float("inf"))
    if torch.equal(got, far.topk(k, dim=1).indices) or torch.equal(
        got, d.argsort(dim=1, descending=True)[:, :k]
    ):
        raise CheckFailed(
            f"{what}: these are the k *farthest* points: a nearest neighbour has the smallest "
            "distance (argmin / topk(..., largest=False)), not the largest."
        )
    same_sets = torch.equal(got.sort(dim=1).values, want.sort(dim=1).values)
    if same_sets:
        raise CheckFailed(
            f"{what}: the right neighbours, in the wrong order: list them nearest first "
            "(topk(..., largest=False) and argsort both sort)."
        )
    found = (got[:, :, None] == want[:, None, :]).any(2).float().mean().item()
    raise CheckFailed(
        f"{what}: only {found:.0%} of the neighbours you returned are among the true k nearest. "
        "Compute all pairwise distances (N, N), exclude each point itself, and take the k "
        "smallest of each row."
    )


@exercise_check("k nearest neighbours, without the query itself")
def check_knn_indices(fn) -> None:
    """Check ``fn(x, k)`` returns, for each row of ``x``, the indices of its k nearest other rows.

    The result has shape ``(N, k)``, nearest first, and never contains the query itself.

    Args:
        fn: the learner's function, taking ``x`` ``(N, D)`` and an int ``k``.
    """
    # five points on a line: the answer can be checked by eye
    line = torch.tensor([[0.0], [1.0], [3.0], [7.0], [15.0]], dtype=torch.float64)
    _knn_case(fn, line, 2, "5 points on a line, k = 2")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    x[:20] *= 3.0  # two scales, so that distances vary a lot
    _knn_case(fn, x, 5, "40 random 6-D points, k = 5")
    _knn_case(fn, x[:12, :2], 1, "12 random 2-D points, k = 1")


# ------------------------------------------------------------------------------ PCA


def _pca_reference(x: torch.Tensor) -> torch.Tensor:
    xc = x - x.mean(dim=0, keepdim=True)  # (N, D)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)  # rows of vh: principal directions
    return xc @ vh[:2].T  # (N, 2)


def _align_signs(got: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Flip each column of ``got`` to point the same way as ``ref`` (PCA axes have no sign)."""
    signs = torch.sign((got * ref).sum(dim=0))  # (2,)
    signs[signs == 0] = 1.0
    return got * signs


def _matches(got: torch.Tensor, ref: torch.Tensor) -> bool:
    if got.shape != ref.shape:
        return False
    aligned = _align_signs(got, ref)
    return bool(torch.allclose(aligned, ref, atol=1e-6, rtol=1e-5))


_SEED = 0  # the global seed the learner's function runs under (pca_lowrank draws from it)


def _lowrank_pca(x: torch.Tensor) -> list[torch.Tensor]:
    """What ``torch.pca_lowrank(x, q=2)`` gives under the learner's seed, projected both ways."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        u, s, v = torch.pca_lowrank(x, q=2)  # randomised: niter=2 subspace iterations
    return [u * s, (x - x.mean(dim=0, keepdim=True)) @ v]


def _pca_case(fn, x: torch.Tensor, what: str) -> None:
    n, dim = x.shape
    with torch.random.fork_rng(devices=[]):  # the learner's random state stays as it was
        torch.manual_seed(_SEED)
        out = fn(x.clone())
    got = _as_tensor(out, what, f"a tensor of shape (N, 2) = ({n}, 2)")
    if got.shape == (2, n):
        raise CheckFailed(
            f"{what}: expected shape (N, 2) = ({n}, 2), got (2, {n}): one row per point, "
            "its two coordinates along the row (transpose)."
        )
    if got.shape == (n, dim):
        raise CheckFailed(
            f"{what}: expected shape (N, 2), got (N, D) = {tuple(got.shape)}: keep only the "
            "first two components (the top-2 principal directions)."
        )
    if got.ndim == 2 and got.shape[0] == n and got.shape[1] != 2:
        raise CheckFailed(
            f"{what}: expected 2 components, got {got.shape[1]}: project on the top-2 "
            "principal directions only."
        )
    if got.shape != (n, 2):
        raise CheckFailed(f"{what}: expected shape (N, 2) = ({n}, 2), got {tuple(got.shape)}.")
    got = got.to(torch.float64)
    if not bool(torch.isfinite(got).all()):
        raise CheckFailed(f"{what}: your result contains NaN or Inf.")
    want = _pca_reference(x)
    if _matches(got, want):
        return
    xc = x - x.mean(dim=0, keepdim=True)
    u, _, vh = torch.linalg.svd(xc, full_matrices=False)
    _, _, vh_raw = torch.linalg.svd(x, full_matrices=False)
    hint = ""
    if _matches(got, x @ vh_raw[:2].T) or _matches(got, xc @ vh_raw[:2].T):
        hint = (
            "Centre the data first (subtract the mean of each feature): without centring, "
            "the first direction points at the mean instead of along the largest variance."
        )
    elif _matches(got, x @ vh[:2].T):
        hint = (
            "You found the right directions but projected the uncentred data: project the "
            "centred data, (x - mean) @ V[:, :2]."
        )
    elif _matches(got, u[:, :2]):
        hint = (
            "U[:, :2] are the scores divided by the singular values (unit length): the "
            "projection is (x - mean) @ Vh[:2].T, which equals U[:, :2] * S[:2]."
        )
    elif _matches(got, xc @ vh[:, :2]):
        hint = (
            "torch.linalg.svd returns Vh, whose ROWS are the principal directions: use "
            "Vh[:2].T, not Vh[:, :2] (numpy's svd too)."
        )
    elif _matches(got, xc @ vh[-2:].T) or _matches(got, xc @ vh[[-1, -2]].T):
        hint = (
            "These are the directions of the two SMALLEST variances: torch.linalg.eigh sorts "
            "eigenvalues in ascending order, so the top-2 are the last two, largest first."
        )
    elif _matches(got, want[:, [1, 0]]):
        hint = "Your two columns are swapped: the first component has the largest variance."
    elif any(_matches(got, approx) for approx in _lowrank_pca(x)):
        worst = float((_align_signs(got, want) - want).abs().max())
        hint = (
            "torch.pca_lowrank is a randomised approximation (Halko et al. 2011): with q=2 and "
            f"its default niter=2 it is off by up to {worst:.2g} here, and its answer changes "
            "with the random seed. Good enough for a picture (lessons 05 and 06 draw embeddings "
            "with it), but this exercise asks for the exact PCA: centre, torch.linalg.svd, "
            "project on Vh[:2].T (or keep every direction, pca_lowrank(x, q=min(x.shape)), "
            "and take the first two)."
        )
    else:
        std = xc.std(dim=0, keepdim=True)
        _, _, vh_std = torch.linalg.svd(xc / std, full_matrices=False)
        if _matches(got, (xc / std) @ vh_std[:2].T):
            hint = (
                "You standardised the features (divided by their standard deviation): PCA "
                "here only centres them, so features keep their own scale."
            )
    if hint:
        raise CheckFailed(f"{what}: {hint}")
    expect_close(
        _align_signs(got, want),
        want,
        f"{what} (compared up to the sign of each axis)",
        atol=1e-6,
        hint="Centre, take the SVD, project on the top-2 right singular vectors (exactly: a "
        "randomised method such as torch.pca_lowrank is only approximate).",
    )


@exercise_check("PCA to two dimensions")
def check_pca_2d(fn) -> None:
    """Check ``fn(x)`` returns the projection of ``x`` on its top-2 principal directions.

    Each axis may come out with either sign (a principal direction ``v`` and ``-v`` are equally
    valid), so the comparison flips each column to the reference's sign first.

    Args:
        fn: the learner's function, taking ``x`` ``(N, D)`` and returning ``(N, 2)``.
    """
    gen = torch.Generator().manual_seed(0)
    scales = torch.tensor([5.0, 2.0, 1.0, 0.5, 0.2], dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
    x = (torch.randn(40, 5, generator=gen, dtype=torch.float64) * scales) @ rotation.T
    x = x + torch.tensor([20.0, -10.0, 5.0, 0.0, 3.0], dtype=torch.float64)  # far from the origin
    _pca_case(fn, x, "40 points in 5-D, far from the origin")
    # features of very different scales, so that standardising changes the answer
    y = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    y = y @ torch.randn(4, 4, generator=gen, dtype=torch.float64)
    y = y * torch.tensor([10.0, 1.0, 0.1, 3.0], dtype=torch.float64) + 1.0
    _pca_case(fn, y, "30 points in 4-D with features on different scales")
