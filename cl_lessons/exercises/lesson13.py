"""Checks for lesson 13 (scaling up): a chunked NT-Xent, the backward pass of an all-gather."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

from cl_lessons.exercises._core import CheckFailed, exercise_check, expect_close, returned_tensor

__all__ = ["check_chunked_info_nce", "check_gather_backward"]


class _LargestTensor(TorchDispatchMode):
    """Records the largest number of elements of any tensor an operation creates."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def _nt_xent(z1: Tensor, z2: Tensor, t: float) -> Tensor:
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
    n2 = len(z)
    logits = (z @ z.T / t).fill_diagonal_(float("-inf"))  # (2N, 2N)
    partner = torch.arange(n2).roll(n2 // 2)
    return (torch.logsumexp(logits, 1) - logits[torch.arange(n2), partner]).mean()


@exercise_check("NT-Xent in row blocks (info_nce_chunked)")
def check_chunked_info_nce(fn) -> None:
    """Check ``fn(z1, z2, temperature, chunk_size)`` returns the NT-Xent loss of ``info_nce``
    while never creating a tensor as large as the ``(2N, 2N)`` similarity matrix.

    Args:
        fn: the learner's function: two ``(N, D)`` float tensors, a temperature, a block size
            -> a scalar tensor.
    """
    gen = torch.Generator().manual_seed(13)
    cases = [
        (torch.randn(3, 2, generator=gen, dtype=torch.float64), 0.5, 2, "3 pairs in 2-D"),
        (torch.randn(40, 8, generator=gen, dtype=torch.float64), 0.1, 16, "40 pairs in 8-D"),
        (torch.randn(25, 4, generator=gen, dtype=torch.float64), 0.2, 7, "25 pairs, blocks of 7"),
    ]
    for z, t, chunk, what in cases:
        z1 = z + 0.0
        z2 = z + 0.3 * torch.randn(z.shape, generator=gen, dtype=z.dtype)
        want = _nt_xent(z1, z2, t)
        spy = _LargestTensor()
        with spy:
            got = fn(z1.clone(), z2.clone(), t, chunk)
        got = returned_tensor(got, what, "a scalar tensor (the mean loss)")
        if got.numel() != 1:
            raise CheckFailed(f"{what}: expected one number (the mean), got {tuple(got.shape)}.")
        n2 = 2 * len(z)
        if not abs(float(got.reshape(())) - float(want)) <= 1e-6:  # NaN is wrong too
            unnormalised = _nt_xent_raw(z1, z2, t)
            if abs(float(got.reshape(())) - float(unnormalised)) <= 1e-6:
                raise CheckFailed(f"{what}: L2-normalise the 2N views first (cosine, not dot).")
            expect_close(
                got.reshape(()), want, what, atol=1e-6, rtol=1e-6,
                hint="for each block of anchor rows: logits = block @ z.T / t, the anchor's own "
                "column set to -inf, then logsumexp minus the partner's logit; the mean over 2N.",
            )  # fmt: skip
        if spy.largest >= n2 * n2:
            raise CheckFailed(
                f"{what}: the value is right, but a tensor of {spy.largest:,} elements was "
                f"created, as large as the whole ({n2}, {n2}) matrix: compute the logits of "
                f"{chunk} anchors at a time, never all of them."
            )


def _nt_xent_raw(z1: Tensor, z2: Tensor, t: float) -> Tensor:
    z = torch.cat([z1, z2])
    n2 = len(z)
    logits = (z @ z.T / t).fill_diagonal_(float("-inf"))
    partner = torch.arange(n2).roll(n2 // 2)
    return (torch.logsumexp(logits, 1) - logits[torch.arange(n2), partner]).mean()


@exercise_check("The backward pass of an all-gather")
def check_gather_backward(fn) -> None:
    """Check ``fn(grads, rank)`` returns the gradient for ``rank``'s own rows of a gather.

    ``grads[r]`` is the gradient that process ``r``'s loss sends to the whole gathered tensor
    (``W * B`` rows, in rank order); the answer is the sum over the processes, rows
    ``rank * B`` to ``(rank + 1) * B``.

    Args:
        fn: the learner's function: a list of ``W`` tensors ``(W * B, D)`` and a rank ->
            ``(B, D)``.
    """
    gen = torch.Generator().manual_seed(7)
    for world, rows, rank in ((2, 3, 1), (4, 2, 2), (3, 1, 0)):
        grads = [torch.randn(world * rows, 5, generator=gen, dtype=torch.float64) for _ in
                 range(world)]  # fmt: skip
        what = f"{world} processes, {rows} rows each, rank {rank}"
        got = returned_tensor(fn([g.clone() for g in grads], rank), what, f"a ({rows}, 5) tensor")
        mine = slice(rank * rows, (rank + 1) * rows)
        want = torch.stack(grads).sum(0)[mine]
        if got.shape == want.shape and not torch.allclose(got.double(), want, atol=1e-9):
            if torch.allclose(got.double(), grads[rank][mine], atol=1e-9):
                raise CheckFailed(
                    f"{what}: that is only this process's own gradient, which is what the plain "
                    "all_gather gives: the losses of the other processes also depend on these "
                    "rows, so add their gradients too (an all-reduce sum)."
                )
            if torch.allclose(got.double(), want / world, atol=1e-9):
                raise CheckFailed(
                    f"{what}: you averaged; sum instead: DistributedDataParallel already "
                    "divides the parameter gradients by the number of processes."
                )
            if torch.allclose(got.double(), torch.stack(grads).sum(0)[:rows], atol=1e-9):
                raise CheckFailed(f"{what}: take this rank's rows, rank * B to (rank + 1) * B.")
        expect_close(got, want, what, atol=1e-9, rtol=1e-9,
                     hint="sum the W gradients, then take this rank's rows.")  # fmt: skip
