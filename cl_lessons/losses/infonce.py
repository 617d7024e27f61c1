"""InfoNCE / NT-Xent, supervised contrastive and SimSiam's negative cosine."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_lessons._checks import check_embeddings, check_labels, check_positive, check_same_shape
from cl_lessons.distances import _cosine_similarity, _unit
from cl_lessons.losses._common import _label_masks, _zero_loss

# exp(s - 1/T) with cos in [-1, 1] lies in [exp(-2/T), 1]; below these exponents it would leave the
# normal range of the dtype, so the symmetric fast path is used only when 2/T stays under them.
_FAST_EXPONENT = {torch.float32: 80.0, torch.float64: 700.0}


class _NTXent(torch.autograd.Function):
    """NT-Xent on L2-normalised views, with a hand-written backward.

    With ``s_ij = z_i . z_j / T`` (``j != i``) and ``P`` the row-wise softmax, the gradient is
    ``dL/dz = ((P + P^T) z - 2 z_partner) / (2N T)``. Autograd would keep the logits, the mask and
    the softmax and run several passes over the ``(2N, 2N)`` matrix; here one buffer is kept.

    Fast path: the logits are symmetric, so with one shift ``c = 1/T`` for every row
    (``s - c <= 0`` because ``|cos| <= 1``) the matrix ``E = exp(s - c)`` is symmetric and
    ``P = E / r`` (``r`` the row sums). Then ``P z + P^T z = (E z) / r + E (z / r)`` is a single
    matrix product ``E @ [z, z / r]``. When ``2/T`` is so large that ``exp(s - c)`` could underflow,
    the general path uses a row-wise log-softmax and two products.
    """

    @staticmethod
    def forward(ctx, z: Tensor, temperature: float) -> Tensor:
        n2 = z.shape[0]
        inv_t = 1.0 / temperature
        partner = torch.arange(n2, device=z.device).roll(n2 // 2)  # (2N,)
        pos = (z * z[partner]).sum(1) * inv_t  # (2N,) positive logits
        logits = torch.mm(z * inv_t, z.T)  # (2N, 2N)
        fast = 2.0 * inv_t <= _FAST_EXPONENT.get(z.dtype, 0.0)
        if fast:
            logits.sub_(inv_t).exp_()  # (2N, 2N) E = exp(s - 1/T), symmetric
            logits.fill_diagonal_(0.0)  # an anchor is not its own negative
            rowsum = logits.sum(1)  # (2N,)
            losses = rowsum.log() + inv_t - pos  # (2N,) log-sum-exp minus positive logit
        else:
            logits.fill_diagonal_(-math.inf)
            logp = torch.log_softmax(logits, 1)  # (2N, 2N)
            del logits
            losses = -logp.gather(1, partner[:, None]).squeeze(1)  # (2N,)
            # probabilities below the smallest normal number would be subnormal, and a matrix
            # product with subnormals runs ~80x slower on x86; they are raised to about 1e-38
            # (float32), which changes the gradient by less than 1e-37 per entry
            logp.clamp_(min=math.log(torch.finfo(logp.dtype).tiny) + 1.0)
            logits = logp.exp_()  # (2N, 2N) P, in place
            rowsum = None
        ctx.save_for_backward(z, logits, rowsum if fast else z.new_empty(0))
        ctx.fast, ctx.inv_t = fast, inv_t
        return losses.mean()

    @staticmethod
    def backward(ctx, grad: Tensor):
        if torch.is_grad_enabled():  # create_graph=True: a second derivative would be wrong
            raise RuntimeError("info_nce has no second derivative (double backward)")
        z, mat, rowsum = ctx.saved_tensors
        n2, dim = z.shape
        if ctx.fast:
            r = rowsum[:, None]  # (2N, 1)
            both = mat @ torch.cat([z, z / r], 1)  # (2N, 2D): [E z, E (z / r)]
            gz = both[:, :dim] / r + both[:, dim:]  # (2N, D) = (P + P^T) z
        else:
            gz = torch.addmm(mat @ z, mat.T, z)  # (2N, D) = P z + P^T z
        gz.sub_(z.roll(n2 // 2, 0), alpha=2.0)  # minus the positives' one-hot terms
        gz.mul_(grad * (ctx.inv_t / n2))
        return gz, None


def info_nce(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """NT-Xent, the InfoNCE loss of SimCLR, on a batch of ``N`` positive pairs.

    The ``2N`` views are L2-normalised. For view ``i`` with partner ``j`` (``z1[k]`` and ``z2[k]``
    are partners) and ``s_ik = cos(z_i, z_k) / temperature``::

        loss_i = -log( exp(s_ij) / sum_{k != i} exp(s_ik) )

    so each anchor has one positive and ``2N - 2`` negatives; the loss is the mean over all ``2N``
    anchors. The same value as pytorch-metric-learning's ``NTXentLoss`` with labels
    ``cat(arange(N), arange(N))``, in ``O(N^2)`` memory and about the time of its matrix products.

    Args:
        z1: embeddings of the first views.
        z2: embeddings of the second views, row ``k`` the partner of ``z1[k]``.
        temperature: softmax temperature, > 0 (SimCLR uses 0.1 to 0.5; smaller is sharper).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs, which are computed in float32).

    Shape:
        ``z1``, ``z2``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf, ``temperature <= 0``.

    Reference:
        Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709 (Oord et al. 2018 for InfoNCE).
    """
    z1 = check_embeddings(z1, "z1")
    z2 = check_embeddings(z2, "z2")
    check_same_shape(z1, z2, "z1", "z2")
    temperature = check_positive(temperature, "temperature")
    z = _unit(torch.cat([z1, z2]))  # (2N, D) on the unit sphere (zero rows stay 0)
    return _NTXent.apply(z, temperature)


def supcon_loss(embeddings: Tensor, labels, temperature: float = 0.1) -> Tensor:
    """Supervised contrastive loss ``L_out`` of Khosla et al. 2020.

    Embeddings are L2-normalised; ``s_ik = cos(z_i, z_k) / temperature``. For anchor ``i`` with
    positives ``P(i)`` (same label, not ``i``) and ``A(i)`` every other sample::

        loss_i = -1/|P(i)| * sum_{p in P(i)} log( exp(s_ip) / sum_{a in A(i)} exp(s_ia) )

    averaged over the anchors that have at least one positive (the others are left out). A batch in
    which no anchor has a positive returns a zero that still carries a gradient.

    Args:
        embeddings: the batch (one view per row; stack several views of a sample as extra rows
            with the same label).
        labels: integer class labels, one per row.
        temperature: > 0 (the paper uses 0.1).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs).

    Shape:
        ``embeddings``: ``(N, D)``; ``labels``: ``(N,)`` -> ``()``.

    Raises:
        ValueError: embeddings not ``(N, D)``, empty, NaN/Inf; labels of the wrong length or not
            integers; ``temperature <= 0``.

    Reference:
        Khosla et al. 2020, https://arxiv.org/abs/2004.11362 (Eq. 2, L_out).
    """
    embeddings = check_embeddings(embeddings, "embeddings")
    labels = check_labels(labels, embeddings.shape[0], embeddings.device)
    temperature = check_positive(temperature, "temperature")
    pos, _ = _label_masks(labels)  # (N, N)
    num_pos = pos.sum(1)  # (N,)
    anchors = num_pos > 0  # (N,)
    if not bool(anchors.any()):
        return _zero_loss(embeddings)
    z = _unit(embeddings)  # (N, D)
    logits = (z @ z.T) / temperature  # (N, N)
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, -math.inf)  # (N, N): A(i) excludes i
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)  # (N, N)
    pos_log_prob = torch.where(pos, log_prob, 0.0).sum(1)  # (N,)
    losses = -pos_log_prob[anchors] / num_pos[anchors]  # (A,)
    return losses.mean()


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """SimSiam / BYOL loss ``-cos(p, stopgrad(z))``, averaged over the batch.

    ``z`` is detached: the gradient reaches only the predictor output ``p``. Use it symmetrised,
    ``0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)``. Minimum -1.

    Args:
        p: predictor outputs.
        z: target projections (no gradient flows into them).

    Returns:
        The loss, a scalar in [-1, 1].

    Shape:
        ``p``, ``z``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: shapes differ or are not ``(N, D)``, empty batch, NaN/Inf.

    Reference:
        Chen & He 2021, SimSiam, https://arxiv.org/abs/2011.10566; Grill et al. 2020, BYOL.
    """
    p = check_embeddings(p, "p")
    z = check_embeddings(z, "z")
    check_same_shape(p, z, "p", "z")
    return -_cosine_similarity(p, z.detach()).mean()
