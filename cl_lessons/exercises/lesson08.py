"""Checks for lesson 08 (beyond negatives): MoCo's momentum update and queue, collapse std."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)

__all__ = ["check_collapse_std", "check_momentum_update", "check_queue_update"]


def _close(got, want: Tensor) -> bool:
    """True when ``got`` is a tensor-like value of ``want``'s shape and value (no exception)."""
    return same_values(got, want, atol=1e-6, rtol=1e-5)


def _pair(seed: int) -> tuple[nn.Module, nn.Module]:
    """An online net (trainable) and a frozen target net of the same architecture."""
    gen = torch.Generator().manual_seed(seed)
    online = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    target = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        for p in [*online.parameters(), *target.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen))
    target.requires_grad_(False)  # MoCo's key encoder and BYOL's target get no gradient
    return online, target


def _flat(module: nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()]).double()


def _layout(module: nn.Module) -> list[tuple]:
    return [(tuple(p.shape), p.dtype, p.device) for p in module.parameters()]


def _check_layout(module: nn.Module, before: list[tuple], name: str) -> None:
    """The update changed values only, not the shape, dtype or number of the parameters."""
    after = _layout(module)
    if after != before:
        changed = next(
            (f"{b[:2]} -> {a[:2]}" for b, a in zip(before, after, strict=False) if a != b),
            f"{len(before)} -> {len(after)} parameters",
        )
        raise CheckFailed(
            f"the {name} encoder's parameters changed shape, dtype or number ({changed}): "
            "update their values in place, e.g. `p_t.mul_(m).add_(p_o, alpha=1 - m)`, instead "
            "of replacing them."
        )


@exercise_check("Momentum (EMA) update of the target encoder")
def check_momentum_update(fn) -> None:
    """Check ``fn(online, target, m)`` sets each target weight to ``m * target + (1 - m) * online``.

    This is MoCo's key-encoder update ``theta_k <- m theta_k + (1 - m) theta_q`` (He et al.
    2020, Eq. 2) and BYOL's target update (Grill et al. 2020). The update happens in place,
    without gradient tracking, and leaves the online (query) encoder untouched.

    Args:
        fn: the learner's function; two ``nn.Module`` of the same architecture and a float in
            [0, 1]; returns nothing (it changes ``target`` in place).
    """
    m = 0.9
    online, target = _pair(0)
    q0, k0 = _flat(online), _flat(target)
    layout = _layout(online)
    try:
        fn(online, target, m)
    except RuntimeError as err:
        if "leaf" in str(err) or "in-place" in str(err):
            raise CheckFailed(
                "PyTorch refused an in-place change of a parameter that tracks gradients: wrap "
                "the update in `with torch.no_grad():`."
            ) from err
        raise
    _check_layout(online, layout, "online")
    _check_layout(target, layout, "target")
    q1, k1 = _flat(online), _flat(target)
    want = m * k0 + (1 - m) * q0
    if not torch.allclose(q1, q0):
        raise CheckFailed(
            "the online (query) encoder changed: only the target (key) encoder is updated by "
            "the moving average; the online one is trained by the optimiser."
        )
    if torch.allclose(k1, k0):
        raise CheckFailed(
            "the target parameters did not change. Assigning to the loop variable "
            "(`p_t = m * p_t + ...`) only rebinds a name: change the tensor in place, e.g. "
            "`p_t.mul_(m).add_(p_o, alpha=1 - m)` or `p_t.copy_(...)`."
        )
    if torch.allclose(k1, m * q0 + (1 - m) * k0):
        raise CheckFailed(
            "the weights are swapped: the *target* keeps the large share m of its own value, "
            "theta_k <- m theta_k + (1 - m) theta_q."
        )
    if torch.allclose(k1, q0):
        raise CheckFailed(
            "you copied the online encoder into the target: that is m = 0, and the keys would "
            "change as fast as the queries. Keep the share m of the old target."
        )
    if any(p.grad_fn is not None or p.requires_grad for p in target.parameters()):
        raise CheckFailed(
            "the target parameters now carry an autograd graph (grad_fn): do the update "
            "inside `with torch.no_grad():` so no gradient flows into the target encoder."
        )
    expect_close(k1, want, f"target parameters after one update with m = {m}")
    for seed, mm in ((1, 0.99), (2, 0.0), (3, 1.0)):
        online, target = _pair(seed)
        q0, k0 = _flat(online), _flat(target)
        layout = _layout(online)
        fn(online, target, mm)
        _check_layout(target, layout, "target")
        expect_close(_flat(target), mm * k0 + (1 - mm) * q0, f"target parameters with m = {mm}")
    _check_buffers(fn, m)


def _bn_pair(seed: int) -> tuple[nn.Module, nn.Module]:
    """Nets with BatchNorm, whose buffers (running statistics, the integer
    ``num_batches_tracked``) differ between online and target, as in the course's ConvEncoder."""
    gen = torch.Generator().manual_seed(seed)
    nets = []
    for tracked in (7, 3):
        net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
            net[1].running_mean.copy_(torch.randn(4, generator=gen))
            net[1].running_var.copy_(torch.rand(4, generator=gen) + 0.5)
            net[1].num_batches_tracked.fill_(tracked)
        nets.append(net)
    nets[1].requires_grad_(False)
    return nets[0], nets[1]


def _check_buffers(fn, m: float) -> None:
    """The update works on nets with buffers and leaves them usable (MoCo updates parameters
    only; updating the float running statistics by the same average, or copying them, is also
    seen in BYOL code)."""
    online, target = _bn_pair(4)
    q0, k0 = _flat(online), _flat(target)
    layout = _layout(online)
    old = {name: b.clone() for name, b in target.named_buffers()}
    new = dict(online.named_buffers())
    try:
        fn(online, target, m)
    except RuntimeError as err:
        raise CheckFailed(
            "on nets with BatchNorm, like the course's ConvEncoder, your update raised "
            f"RuntimeError: {err}. A module's state_dict() holds its buffers too (running_mean, "
            "running_var and the integer num_batches_tracked, which cannot be scaled by m in "
            "place): loop over zip(online.parameters(), target.parameters()) as MoCo does."
        ) from err
    _check_layout(target, layout, "target")
    what = f"target parameters of a net with BatchNorm, m = {m}"
    expect_close(_flat(target), m * k0 + (1 - m) * q0, what)
    for name, b in target.named_buffers():
        if b.dtype != old[name].dtype or b.shape != old[name].shape:
            raise CheckFailed(
                f"the target's buffer {name} changed dtype or shape ({old[name].dtype} -> "
                f"{b.dtype}): update the parameters (and, if at all, the float buffers) in place."
            )
        if b.is_floating_point() and not any(
            torch.allclose(b, want)
            for want in (old[name], new[name], m * old[name] + (1 - m) * new[name])
        ):
            raise CheckFailed(
                f"the target's buffer {name} holds values that are neither its own, the online "
                "net's, nor their moving average: update parameters() only, as MoCo does."
            )


def _queue_reference(queue: Tensor, keys: Tensor) -> Tensor:
    return torch.cat([queue[keys.shape[0] :], keys.detach()])  # (K, D) oldest row first


@exercise_check("MoCo's queue: enqueue the newest keys, dequeue the oldest")
def check_queue_update(fn) -> None:
    """Check ``fn(queue, keys)`` returns the queue after a FIFO update.

    ``queue`` is ``(K, D)`` with its rows in order of arrival (row 0 the oldest); the ``B`` new
    keys are appended at the end and the ``B`` oldest rows are dropped, so the size stays ``K``
    (He et al. 2020, Sec. 3.2). The keys are detached: no gradient flows through the queue.

    Args:
        fn: the learner's function; ``(K, D)`` queue and ``(B, D)`` keys -> ``(K, D)``.
    """
    queue = torch.arange(12.0).reshape(6, 2)  # rows [0, 1], [2, 3], ... : row i arrived i-th
    w = torch.ones(1, requires_grad=True)
    keys = torch.tensor([[100.0, 101.0], [102.0, 103.0]]) * w  # (2, 2), part of a graph
    want = _queue_reference(queue, keys)
    what = "a 6-row queue after enqueueing 2 keys"
    got_t = returned_tensor(fn(queue.clone(), keys), what, "a tensor of shape (K, D) = (6, 2)")
    if got_t.shape == (8, 2):
        raise CheckFailed(
            "the queue grew from 6 to 8 rows: enqueueing B keys must also dequeue the B "
            "oldest ones, so the queue keeps its size K."
        )
    mistakes = [
        (
            torch.cat([keys, queue[:-2]]).detach(),
            "the new keys went to the front and the *newest* old rows were dropped: with row 0 "
            "the oldest, append the keys at the end and drop the first B rows.",
        ),
        (
            torch.cat([queue[:-2], keys]).detach(),
            "you dropped the newest rows of the queue (the last B) instead of the oldest (the "
            "first B): a queue is first in, first out.",
        ),
        (
            torch.cat([keys, queue[2:]]).detach(),
            "the right rows were dropped but the new keys are at the front: keep the order of "
            "arrival, newest at the end.",
        ),
    ]
    for value, hint in mistakes:
        if _close(got_t.detach(), value):
            raise CheckFailed(hint)
    if got_t.requires_grad:
        raise CheckFailed(
            "the returned queue is still attached to the graph of the keys (requires_grad): "
            "store `keys.detach()`; the queue is a constant dictionary, not trained through."
        )
    expect_close(got_t, want, what)
    gen = torch.Generator().manual_seed(0)
    for k, b in ((32, 8), (10, 10), (9, 1)):
        queue = F.normalize(torch.randn(k, 4, generator=gen), dim=1)
        keys = F.normalize(torch.randn(b, 4, generator=gen), dim=1)
        expect_close(
            fn(queue.clone(), keys.clone()),
            _queue_reference(queue, keys),
            f"a {k}-row queue after enqueueing {b} keys",
        )


def _std_reference(z: Tensor, correction: int = 1) -> Tensor:
    return F.normalize(z, dim=1).std(dim=0, correction=correction).mean()


@exercise_check("Collapse diagnostic: std of L2-normalised embeddings")
def check_collapse_std(fn) -> None:
    """Check ``fn(z)`` returns the mean over dimensions of the per-dimension std of ``z/||z||``.

    The diagnostic of SimSiam (Chen & He 2021, Sec. 4.1): L2-normalise each embedding, take the
    standard deviation of every output dimension over the samples, average over dimensions. It
    is 0 for a collapsed embedding and about ``1/sqrt(d)`` for embeddings spread over the sphere.
    Either standard-deviation convention (divide by N or by N - 1) is accepted.

    Args:
        fn: the learner's function; ``(N, d)`` -> a scalar tensor.
    """
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(64, 8, generator=gen) * torch.linspace(0.5, 4.0, 64)[:, None] + 0.3  # (64, 8)
    what = "64 random 8-D embeddings of different lengths"
    got_t = returned_tensor(fn(z.clone()), what, "a scalar tensor")
    if got_t.shape == (8,):
        raise CheckFailed(
            "you returned one std per dimension: average them into one number (.mean())."
        )
    if got_t.shape == (64,) or _close(got_t, F.normalize(z, dim=1).std(dim=1).mean()):
        raise CheckFailed(
            "that is a std over the dimensions of each sample; the diagnostic is the std of "
            "each dimension *over the samples* (dim=0), then the mean over dimensions."
        )
    unnormalised = [z.std(dim=0, correction=c).mean() for c in (0, 1)]
    if any(_close(got_t, u) for u in unnormalised):
        raise CheckFailed(
            "L2-normalise each row first (F.normalize(z, dim=1)): otherwise the std measures "
            "the scale of the embeddings, and a network can shrink or grow it freely."
        )
    variances = [F.normalize(z, dim=1).var(dim=0, correction=c).mean() for c in (0, 1)]
    if any(_close(got_t, v) for v in variances):
        raise CheckFailed("that is the variance: take the standard deviation (.std, or sqrt).")
    wants = [_std_reference(z, c) for c in (0, 1)]
    if not any(_close(got_t, w) for w in wants):
        expect_close(got_t, wants[1], what)
    collapsed = torch.ones(50, 16) * torch.linspace(1, 3, 50)[:, None]  # one direction, any length
    expect_close(
        fn(collapsed.clone()),
        torch.tensor(0.0),
        "50 embeddings that all point the same way (complete collapse)",
        atol=1e-5,
    )
    spread = torch.randn(4000, 32, generator=gen)  # (4000, 32) isotropic: about 1/sqrt(32)
    what = "4000 isotropic 32-D embeddings"
    got_t = returned_tensor(fn(spread.clone()), what, "a scalar tensor")
    if got_t.numel() != 1:
        raise CheckFailed(f"{what}: expected a scalar (0-d tensor), got shape {tuple(got_t.shape)}")
    value = float(got_t.detach().reshape(()).double())
    if not abs(value - 32**-0.5) <= 0.01:  # NaN too
        raise CheckFailed(
            f"for 4000 isotropic 32-D embeddings expected about 1/sqrt(32) = 0.177, got {value:.3f}"
        )
